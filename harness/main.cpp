// The `eidetic` executable: everything lives in harness/cli.cpp.
#include <iostream>

#include "harness/cli.h"

int main(int argc, char** argv) {
  return eidetic::harness::run_cli(argc, argv, std::cout, std::cerr);
}
