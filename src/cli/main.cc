// The `tether` binary: hands argv to the CLI face and turns anything thrown into an exit code.
#include <cstdio>
#include <exception>

#include "cli/cli.h"

int main(int argc, char** argv) {
  try {
    return tether::cli::Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tether: internal error: %s\n", e.what());
    return 1;
  }
}
