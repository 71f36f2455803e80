// The office client's command line. Each subcommand is a function of its
// arguments and two streams, so tests drive it without a process.
//
// Exit codes: 0 success (for `check`: no 错误), 1 the form has 错误,
// 2 the input cannot be read or the command line is wrong.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace jixiao::client {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFindings = 1;
inline constexpr int kExitUnreadable = 2;

// `args` excludes the program name; `exe_path` is argv[0] (to find templates).
int run_cli(const std::vector<std::string>& args, const std::string& exe_path, std::ostream& out, std::ostream& err);

}  // namespace jixiao::client
