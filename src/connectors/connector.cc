#include "connectors/connector.h"

#include <utility>

namespace tether {
namespace {

// The default bulk insert: each Add is one Insert, in the caller's transaction.
class InsertEach final : public BulkWriter {
 public:
  InsertEach(Connector* to, std::string table, std::vector<std::string> columns)
      : to_(to), table_(std::move(table)), columns_(std::move(columns)) {}

  Status Add(std::vector<Row> rows) override {
    if (rows.empty()) return Status::OK();
    return to_->Insert(table_, columns_, rows, {}).status();
  }
  Status Finish() override { return Status::OK(); }

 private:
  Connector* to_;
  std::string table_;
  std::vector<std::string> columns_;
};

Status NoChecksums(const Connector& c) {
  return Status::InvalidArgument(c.connection_name() + ": range checksums are not available for " +
                                 std::string(c.engine()));
}

}  // namespace

Result<std::unique_ptr<BulkWriter>> Connector::StartBulkInsert(
    const std::string& table, const std::vector<std::string>& columns) {
  return std::unique_ptr<BulkWriter>(std::make_unique<InsertEach>(this, table, columns));
}

Result<bool> Connector::LookupUsesIndex(const LookupRequest& request) {
  (void)request;
  return true;
}

Result<RangeChecksum> Connector::Checksum(const ChecksumRequest& request) {
  (void)request;
  return NoChecksums(*this);
}

Result<std::vector<BucketChecksum>> Connector::ChecksumBuckets(const ChecksumRequest& request,
                                                               const KeyBuckets& buckets) {
  (void)request;
  (void)buckets;
  return NoChecksums(*this);
}

Result<std::optional<std::pair<int64_t, int64_t>>> Connector::KeyBounds(
    const ChecksumRequest& request) {
  (void)request;
  return NoChecksums(*this);
}

Result<std::vector<Row>> Connector::RowHashes(const ChecksumRequest& request) {
  (void)request;
  return NoChecksums(*this);
}

Result<std::vector<Row>> Connector::KeySplits(const std::string& table,
                                              const std::vector<std::string>& key_columns,
                                              const KeyRange& range,
                                              const std::vector<Condition>& conditions,
                                              size_t every) {
  const std::string what = connection_name() + ": splitting the keys of " + table;
  if (!capabilities().checksums) {
    return Status::InvalidArgument(what + ": not available for " + std::string(engine()));
  }
  if (key_columns.empty()) return Status::InvalidArgument(what + ": no key columns");
  if (every == 0) return Status::InvalidArgument(what + ": a part needs at least one row");
  // Walks the key index: each step passes over every - 1 keys and reads the cut and the key after
  // it (no cut at the range's last row). A step costs the database `every` index entries; no key
  // but the cuts leaves it.
  ScanRequest step;
  step.table = table;
  step.columns = key_columns;
  step.key_columns = key_columns;
  step.after_key = range.after;
  step.upto_key = range.upto;
  step.conditions = conditions;
  step.limit = 2;
  step.skip = every - 1;
  std::vector<Row> cuts;
  for (;;) {
    Row cut, next;
    bool more = false;
    {
      TETHER_ASSIGN_OR_RETURN(std::unique_ptr<RowStream> rows, Scan(step));
      TETHER_ASSIGN_OR_RETURN(bool any, rows->Next(&cut));
      if (any) {
        TETHER_ASSIGN_OR_RETURN(more, rows->Next(&next));
      }
    }
    if (!more) return cuts;
    step.after_key = cut;
    cuts.push_back(std::move(cut));
  }
}

}  // namespace tether
