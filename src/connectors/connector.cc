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

}  // namespace tether
