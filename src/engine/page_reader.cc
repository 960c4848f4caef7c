#include "engine/page_reader.h"

namespace tether {

PageReader::PageReader(Connector* source, ScanRequest scan, std::vector<int> key_positions,
                       Connector* ahead)
    : source_(source), scan_(std::move(scan)), key_positions_(std::move(key_positions)) {
  if (ahead) {
    source_ = ahead;
    thread_ = std::thread([this] { Loop(); });
  }
}

PageReader::~PageReader() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

Result<std::vector<Row>> PageReader::Read(Connector* connector) {
  std::vector<Row> rows;
  if (done_) return rows;
  rows.reserve(scan_.limit);
  TETHER_ASSIGN_OR_RETURN(auto stream, connector->Scan(scan_));
  Row row;
  for (;;) {
    TETHER_ASSIGN_OR_RETURN(bool more, stream->Next(&row));
    if (!more) break;
    rows.push_back(std::move(row));
  }
  // A short page is the last one: no need to ask again for nothing.
  if (rows.empty() || (scan_.limit > 0 && rows.size() < scan_.limit)) done_ = true;
  if (!rows.empty()) {
    Row last;
    for (int p : key_positions_) last.push_back(rows.back()[p]);
    scan_.after_key = std::move(last);
  }
  return rows;
}

void PageReader::Loop() {
  for (;;) {
    Result<std::vector<Row>> page = Read(source_);
    const bool last = !page.ok() || page->empty();
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return stop_ || !ready_; });
    if (stop_) return;
    ready_ = std::move(page);
    cv_.notify_all();
    if (last) return;
  }
}

Result<std::vector<Row>> PageReader::Next() {
  if (!thread_.joinable()) return Read(source_);
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [this] { return ready_.has_value(); });
  Result<std::vector<Row>> page = std::move(*ready_);
  // An error or the end stays for every later call; a page is taken.
  if (page.ok() && !page->empty()) {
    ready_.reset();
    cv_.notify_all();
  } else {
    ready_ = page;
  }
  return page;
}

}  // namespace tether
