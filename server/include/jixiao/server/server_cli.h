// jixiao-server's command line: init, import-units, import-users, user …,
// backup, restore, verify-audit, status, serve, templates (see --help and
// docs/server-admin.md).
//
// Exit codes: 0 success; 1 the operation was refused or failed (the reason
// in Chinese on `err`); 2 bad usage (unknown command or option, missing
// argument).
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace jixiao::server {

// `args` exclude the program name; `exe_path` locates the installed
// templates and workflow definitions. Passwords not given in a file are
// read from `in`: without echo when `in` is std::cin on a terminal, else its
// first line.
int run_server_cli(const std::vector<std::string>& args, const std::string& exe_path, std::istream& in,
                   std::ostream& out, std::ostream& err);
// The same with std::cin.
int run_server_cli(const std::vector<std::string>& args, const std::string& exe_path, std::ostream& out,
                   std::ostream& err);

}  // namespace jixiao::server
