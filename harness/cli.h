// harness/cli.h: the `eidetic` command line. run_cli() is main() without the process around it,
// so tests call it directly.
#pragma once

#include <iosfwd>

namespace eidetic::harness {

// Parses argv, runs the subcommand, returns the exit code. Errors are printed to `err` as one
// line starting with "eidetic: error: " and give a non-zero code.
int run_cli(int argc, char** argv, std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace eidetic::harness
