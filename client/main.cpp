#include <iostream>
#include <string>
#include <vector>

#include "jixiao/client/cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return jixiao::client::run_cli(args, argc > 0 ? argv[0] : "", std::cout, std::cerr);
}
