// The `tether` binary: hands argv to the CLI face and turns anything thrown into an exit code.
#include <malloc.h>

#include <cstdio>
#include <exception>

#include "cli/cli.h"

namespace {

// A sync allocates and frees every batch's rows, many of them on the read-ahead thread. glibc's
// defaults give freed memory back to the kernel after each batch and fault it in again for the
// next (measured: 16k page faults and ~1.3 CPU-s more for a 1M-row copy); keeping a few MB
// around for reuse costs nothing next to the batches themselves.
void TuneAllocator() {
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  mallopt(M_TOP_PAD, 16 << 20);
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
}

}  // namespace

int main(int argc, char** argv) {
  TuneAllocator();
  try {
    return tether::cli::Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tether: internal error: %s\n", e.what());
    return 1;
  }
}
