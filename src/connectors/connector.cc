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

}  // namespace

Result<std::unique_ptr<BulkWriter>> Connector::StartBulkInsert(
    const std::string& table, const std::vector<std::string>& columns) {
  return std::unique_ptr<BulkWriter>(std::make_unique<InsertEach>(this, table, columns));
}

Result<RangeChecksum> Connector::Checksum(const ChecksumRequest& request) {
  (void)request;
  return Status::InvalidArgument(
      connection_name() + ": range checksums are not available for " + std::string(engine()));
}

Result<std::vector<Row>> Connector::KeySplits(const std::string& table,
                                              const std::vector<std::string>& key_columns,
                                              const KeyRange& range,
                                              const std::vector<Condition>& conditions,
                                              size_t every) {
  (void)table, (void)key_columns, (void)range, (void)conditions, (void)every;
  return Status::InvalidArgument(
      connection_name() + ": key splits are not available for " + std::string(engine()));
}

}  // namespace tether
