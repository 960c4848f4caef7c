// PageReader: the source pages of one entity, in key order (keyset pages, never OFFSET). With
// a connection of its own it reads one page ahead on a background thread, so that reading the
// next page overlaps deciding and writing the current one; without, it reads on demand.
#pragma once

#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "connectors/connector.h"

namespace tether {

class PageReader {
 public:
  // `scan` is the first page (its after_key is where to start; its limit the page size).
  // `key_positions`: where the key columns are in scan.columns. `ahead`, when not null, is a
  // connection to the same source used by the reading thread only.
  PageReader(Connector* source, ScanRequest scan, std::vector<int> key_positions, Connector* ahead);
  ~PageReader();  // stops the thread, after the page it is reading
  PageReader(const PageReader&) = delete;
  PageReader& operator=(const PageReader&) = delete;

  // The next page; empty at the end.
  Result<std::vector<Row>> Next();

 private:
  Result<std::vector<Row>> Read(Connector* connector);
  void Loop();

  Connector* source_;
  ScanRequest scan_;
  std::vector<int> key_positions_;
  bool done_ = false;  // the last page read was the last one

  // Read-ahead: at most one page waits for the consumer.
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Result<std::vector<Row>>> ready_;
  bool stop_ = false;
};

}  // namespace tether
