// The `eidetic` executable: everything lives in harness/cli.cpp.
#include <ios>
#include <iostream>

#include "harness/cli.h"

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  return eidetic::harness::run_cli(argc, argv, std::cin, std::cout, std::cerr);
}
