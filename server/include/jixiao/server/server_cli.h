// jixiao-server's command line. Exit codes: 0 success, 2 bad usage or input.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace jixiao::server {

int run_server_cli(const std::vector<std::string>& args, const std::string& exe_path, std::ostream& out,
                   std::ostream& err);

}  // namespace jixiao::server
