#include "util/fault_connector.h"

#include <algorithm>
#include <utility>

namespace tether::testing {

void FaultPlan::Add(FaultRule rule) {
  std::lock_guard<std::mutex> lk(mu_);
  rules_.push_back(std::move(rule));
  done_.push_back(false);
}

ConnectorFactory FaultPlan::Factory(ConnectorFactory real) {
  return
      [this, real = std::move(real)](const std::string& name,
                                     const std::string& url) -> Result<std::unique_ptr<Connector>> {
        TETHER_ASSIGN_OR_RETURN(std::unique_ptr<Connector> conn, real(name, url));
        {
          std::lock_guard<std::mutex> lk(mu_);
          ++opened_[name];
        }
        return std::unique_ptr<Connector>(std::make_unique<FaultConnector>(std::move(conn), this));
      };
}

FaultPlan::~FaultPlan() {
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lk(mu_);
    threads.swap(lingering_);
  }
  for (std::thread& t : threads) t.join();
}

void FaultPlan::Linger(std::unique_ptr<Connector> session, std::chrono::milliseconds linger) {
  std::lock_guard<std::mutex> lk(mu_);
  lingering_.emplace_back([session = std::move(session), linger]() mutable {
    std::this_thread::sleep_for(linger);
    session.reset();
  });
}

int FaultPlan::fired() const {
  std::lock_guard<std::mutex> lk(mu_);
  return fired_;
}

int FaultPlan::calls(Call call, const std::string& connection) const {
  std::lock_guard<std::mutex> lk(mu_);
  int n = 0;
  for (const auto& [key, count] : calls_) {
    if (key.second == call && (connection.empty() || key.first == connection)) n += count;
  }
  return n;
}

int FaultPlan::opened(const std::string& connection) const {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = opened_.find(connection);
  return it == opened_.end() ? 0 : it->second;
}

std::optional<FaultRule> FaultPlan::Count(const std::string& connection, Call call) {
  std::lock_guard<std::mutex> lk(mu_);
  ++calls_[{connection, call}];
  for (size_t i = 0; i < rules_.size(); ++i) {
    const FaultRule& r = rules_[i];
    if (done_[i] || r.call != call) continue;
    if (!r.connection.empty() && r.connection != connection) continue;
    int seen = 0;
    for (const auto& [key, count] : calls_) {
      if (key.second == call && (r.connection.empty() || key.first == r.connection)) seen += count;
    }
    if (seen < r.nth) continue;
    done_[i] = true;
    ++fired_;
    return r;
  }
  return std::nullopt;
}

namespace {

class FaultStream : public RowStream {
 public:
  FaultStream(std::unique_ptr<RowStream> real, FaultConnector* owner)
      : real_(std::move(real)), owner_(owner) {}
  Result<bool> Next(Row* row) override {
    TETHER_RETURN_IF_ERROR(owner_->Check(Call::kNext));
    return real_->Next(row);
  }

 private:
  std::unique_ptr<RowStream> real_;
  FaultConnector* owner_;
};

class FaultBulkWriter : public BulkWriter {
 public:
  FaultBulkWriter(std::unique_ptr<BulkWriter> real, FaultConnector* owner)
      : real_(std::move(real)), owner_(owner) {}
  Status Add(std::vector<Row> rows) override {
    std::optional<FaultRule> rule;
    TETHER_RETURN_IF_ERROR(owner_->Check(Call::kBulkAdd, &rule));
    if (rule) {
      rows.resize(std::min(rows.size(), rule->at_row - 1));
      if (!rows.empty()) TETHER_RETURN_IF_ERROR(real_->Add(std::move(rows)));
      return owner_->Fail(*rule);
    }
    return real_->Add(std::move(rows));
  }
  Status Finish() override {
    TETHER_RETURN_IF_ERROR(owner_->Check(Call::kBulkFinish));
    return real_->Finish();
  }

 private:
  std::unique_ptr<BulkWriter> real_;
  FaultConnector* owner_;
};

}  // namespace

FaultConnector::FaultConnector(std::unique_ptr<Connector> real, FaultPlan* plan)
    : real_(std::move(real)),
      plan_(plan),
      name_(real_->connection_name()),
      engine_(real_->engine()),
      capabilities_(real_->capabilities()) {}

FaultConnector::~FaultConnector() {
  if (linger_.count() > 0) plan_->Linger(std::move(real_), linger_);
}

Status FaultConnector::Check(Call call, std::optional<FaultRule>* fired) {
  TETHER_RETURN_IF_ERROR(lost_);
  std::optional<FaultRule> rule = plan_->Count(name_, call);
  if (fired) *fired = rule;
  if (!rule) return Status::OK();
  if (rule->delay.count() > 0) {
    (void)plan_->clock()->SleepFor(rule->delay);
    if (fired) fired->reset();
    return Status::OK();
  }
  if (rule->at_row > 0 && fired) return Status::OK();  // the caller writes some rows first
  if (fired) fired->reset();
  return Fail(*rule);
}

Status FaultConnector::Fail(const FaultRule& rule) {
  if (rule.drop) {
    lost_ = rule.status;
    linger_ = rule.linger;
  }
  return rule.status;
}

Status FaultConnector::Alive() const { return lost_; }

template <typename Write>
Status FaultConnector::Partly(const std::optional<FaultRule>& rule, const std::vector<Row>& rows,
                              Write write) {
  const size_t before = std::min(rows.size(), rule->at_row - 1);
  if (before > 0) {
    TETHER_RETURN_IF_ERROR(write(std::vector<Row>(rows.begin(), rows.begin() + before)));
  }
  return Fail(*rule);
}

Status FaultConnector::Ping() {
  TETHER_RETURN_IF_ERROR(Alive());
  return real_->Ping();
}

Result<std::optional<TableSchema>> FaultConnector::DescribeTable(const std::string& table) {
  TETHER_RETURN_IF_ERROR(Check(Call::kDescribe));
  return real_->DescribeTable(table);
}

Result<std::vector<std::string>> FaultConnector::TableNames() {
  TETHER_RETURN_IF_ERROR(Alive());
  return real_->TableNames();
}

Status FaultConnector::EnsureTable(const TableDef& def) {
  TETHER_RETURN_IF_ERROR(Check(Call::kEnsureTable));
  return real_->EnsureTable(def);
}

std::vector<std::string> FaultConnector::TableDdl(const TableDef& def) const {
  return real_->TableDdl(def);
}

std::vector<std::string> FaultConnector::AddColumnsDdl(
    const std::string& table, const std::vector<ColumnDef>& columns) const {
  return real_->AddColumnsDdl(table, columns);
}

std::vector<std::string> FaultConnector::TrackingDdl(const TrackedTable& t, bool install) const {
  return real_->TrackingDdl(t, install);
}

Status FaultConnector::ExecuteScript(const std::string& sql) {
  TETHER_RETURN_IF_ERROR(Alive());
  return real_->ExecuteScript(sql);
}

Result<std::vector<Row>> FaultConnector::Query(const std::string& sql, const Row& params) {
  TETHER_RETURN_IF_ERROR(Check(Call::kQuery));
  return real_->Query(sql, params);
}

Result<std::unique_ptr<RowStream>> FaultConnector::Scan(const ScanRequest& request) {
  TETHER_RETURN_IF_ERROR(Check(Call::kScan));
  TETHER_ASSIGN_OR_RETURN(std::unique_ptr<RowStream> stream, real_->Scan(request));
  return std::unique_ptr<RowStream>(std::make_unique<FaultStream>(std::move(stream), this));
}

Result<std::vector<Row>> FaultConnector::Lookup(const LookupRequest& request) {
  TETHER_RETURN_IF_ERROR(Check(Call::kLookup));
  return real_->Lookup(request);
}

Result<bool> FaultConnector::LookupUsesIndex(const LookupRequest& request) {
  TETHER_RETURN_IF_ERROR(Alive());
  return real_->LookupUsesIndex(request);
}

Result<RangeChecksum> FaultConnector::Checksum(const ChecksumRequest& request) {
  TETHER_RETURN_IF_ERROR(Alive());
  return real_->Checksum(request);
}

Result<std::vector<BucketChecksum>> FaultConnector::ChecksumBuckets(const ChecksumRequest& request,
                                                                    const KeyBuckets& buckets) {
  TETHER_RETURN_IF_ERROR(Alive());
  return real_->ChecksumBuckets(request, buckets);
}

Result<std::optional<std::pair<int64_t, int64_t>>> FaultConnector::KeyBounds(
    const ChecksumRequest& request) {
  TETHER_RETURN_IF_ERROR(Alive());
  return real_->KeyBounds(request);
}

Result<std::vector<Row>> FaultConnector::RowHashes(const ChecksumRequest& request) {
  TETHER_RETURN_IF_ERROR(Alive());
  return real_->RowHashes(request);
}

Result<std::vector<Row>> FaultConnector::KeySplits(const std::string& table,
                                                   const std::vector<std::string>& key_columns,
                                                   const KeyRange& range,
                                                   const std::vector<Condition>& conditions,
                                                   size_t every) {
  TETHER_RETURN_IF_ERROR(Alive());
  return real_->KeySplits(table, key_columns, range, conditions, every);
}

Result<int64_t> FaultConnector::Count(const std::string& table,
                                      const std::vector<Condition>& conditions) {
  TETHER_RETURN_IF_ERROR(Alive());
  return real_->Count(table, conditions);
}

Result<std::vector<Row>> FaultConnector::Insert(const std::string& table,
                                                const std::vector<std::string>& columns,
                                                const std::vector<Row>& rows,
                                                const std::vector<std::string>& returning) {
  std::optional<FaultRule> rule;
  TETHER_RETURN_IF_ERROR(Check(Call::kInsert, &rule));
  if (rule) {
    return Partly(rule, rows, [&](std::vector<Row> part) {
      return real_->Insert(table, columns, part, returning).status();
    });
  }
  return real_->Insert(table, columns, rows, returning);
}

Status FaultConnector::Update(const std::string& table, const std::vector<std::string>& key_columns,
                              const std::vector<std::string>& set_columns,
                              const std::vector<Row>& rows) {
  TETHER_RETURN_IF_ERROR(Check(Call::kUpdate));
  return real_->Update(table, key_columns, set_columns, rows);
}

Status FaultConnector::Upsert(const std::string& table, const std::vector<std::string>& columns,
                              const std::vector<std::string>& conflict_columns,
                              const std::vector<Row>& rows) {
  std::optional<FaultRule> rule;
  TETHER_RETURN_IF_ERROR(Check(Call::kUpsert, &rule));
  if (rule) {
    return Partly(rule, rows, [&](std::vector<Row> part) {
      return real_->Upsert(table, columns, conflict_columns, part);
    });
  }
  return real_->Upsert(table, columns, conflict_columns, rows);
}

Status FaultConnector::Delete(const std::string& table, const std::vector<std::string>& key_columns,
                              const std::vector<Row>& keys) {
  TETHER_RETURN_IF_ERROR(Check(Call::kDelete));
  return real_->Delete(table, key_columns, keys);
}

Result<std::unique_ptr<BulkWriter>> FaultConnector::StartBulkInsert(
    const std::string& table, const std::vector<std::string>& columns) {
  TETHER_RETURN_IF_ERROR(Alive());
  TETHER_ASSIGN_OR_RETURN(std::unique_ptr<BulkWriter> writer,
                          real_->StartBulkInsert(table, columns));
  return std::unique_ptr<BulkWriter>(std::make_unique<FaultBulkWriter>(std::move(writer), this));
}

Status FaultConnector::Begin() {
  TETHER_RETURN_IF_ERROR(Check(Call::kBegin));
  return real_->Begin();
}

Status FaultConnector::Commit() {
  Status st = Check(Call::kCommit);
  if (!st.ok() && lost_.ok()) {
    (void)real_->Rollback();  // a refused commit commits nothing
  }
  TETHER_RETURN_IF_ERROR(st);
  return real_->Commit();
}

Status FaultConnector::Rollback() {
  TETHER_RETURN_IF_ERROR(Alive());
  return real_->Rollback();
}

Status FaultConnector::Savepoint(const std::string& name) {
  TETHER_RETURN_IF_ERROR(Alive());
  return real_->Savepoint(name);
}

Status FaultConnector::ReleaseSavepoint(const std::string& name) {
  TETHER_RETURN_IF_ERROR(Alive());
  return real_->ReleaseSavepoint(name);
}

Status FaultConnector::RollbackToSavepoint(const std::string& name) {
  TETHER_RETURN_IF_ERROR(Alive());
  return real_->RollbackToSavepoint(name);
}

Result<bool> FaultConnector::TryLock(const std::string& name) {
  TETHER_RETURN_IF_ERROR(Alive());
  return real_->TryLock(name);
}

Status FaultConnector::ReleaseLock(const std::string& name) {
  TETHER_RETURN_IF_ERROR(Alive());
  return real_->ReleaseLock(name);
}

Result<std::string> FaultConnector::DatabaseMark() {
  TETHER_RETURN_IF_ERROR(Alive());
  return real_->DatabaseMark();
}

Result<bool> FaultConnector::SameDatabase(const std::string& mark) {
  TETHER_RETURN_IF_ERROR(Alive());
  return real_->SameDatabase(mark);
}

}  // namespace tether::testing
