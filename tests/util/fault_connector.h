// FaultConnector: a Connector that forwards every call to a real one and fails, drops or delays
// the calls a FaultPlan's rules pick — the fault-injecting wrapper tests put around real
// connectors through a run's connector factory (RunEnv::open_connector), as LevelDB's tests do
// with an EnvWrapper. A FaultPlan may be shared by connectors on several threads: its methods
// are thread-safe; each FaultConnector, like any connector, is used by one thread at a time.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "connectors/connector.h"
#include "core/clock.h"

namespace tether::testing {

// The calls a rule can pick.
enum class Call {
  kBegin,
  kCommit,
  kInsert,
  kUpdate,
  kUpsert,
  kDelete,
  kScan,  // opening a scan
  kNext,  // a scan's Next
  kLookup,
  kQuery,
  kBulkAdd,     // BulkWriter::Add
  kBulkFinish,  // BulkWriter::Finish
  kDescribe,    // DescribeTable
  kEnsureTable,
};

struct FaultRule {
  std::string connection;  // the connection whose calls count; empty: every connection
  Call call = Call::kInsert;
  int nth = 1;  // fires at the nth such call (1-based) of the plan's connectors, once
  // What the call returns. The default is a lost connection (retryable); a permanent error is
  // e.g. Status::Constraint.
  Status status = Status::Connection("connection lost (injected fault)");
  // The connection is lost with the call: every later call of that connector fails like this
  // one, until the connection is opened again through the factory. The session itself ends
  // when the connector is destroyed (the server then rolls its open transaction back and lets
  // go of its locks), as a server ends a lost client's session once it notices; the real
  // streams and bulk writers of the connector stay valid until then.
  bool drop = false;
  // Insert/Upsert/BulkAdd: the first `at_row - 1` rows reach the system before the call fails
  // (a batch that fails part way). 0: none do.
  size_t at_row = 0;
  // Nonzero: the call is not failed but delayed this long on the plan's clock, then forwarded.
  std::chrono::milliseconds delay{0};
  // With drop: the session outlives the connector by this long in real time, holding its locks
  // and its open transaction, as a server that has not yet noticed its client is gone.
  std::chrono::milliseconds linger{0};
};

class FaultPlan {
 public:
  // `clock` waits out delays (a test clock advances without sleeping); null: the real clock.
  explicit FaultPlan(RunClock* clock = nullptr) : clock_(clock ? clock : RealClock()) {}
  // Waits for the sessions still lingering (FaultRule::linger) to end.
  ~FaultPlan();

  void Add(FaultRule rule);
  // A factory that opens connections with `real` and wraps each in a FaultConnector of this plan.
  // The plan must outlive the connectors.
  ConnectorFactory Factory(ConnectorFactory real = OpenConnector);
  // Rules that have fired; calls of a kind counted on `connection` (empty: all).
  int fired() const;
  int calls(Call call, const std::string& connection = "") const;
  // How many connectors the factory has opened on `connection`.
  int opened(const std::string& connection) const;

  // For FaultConnector: counts the call and returns the rule it fires, if any.
  std::optional<FaultRule> Count(const std::string& connection, Call call);
  RunClock* clock() const { return clock_; }
  // For FaultConnector: ends `session` once `linger` has passed.
  void Linger(std::unique_ptr<Connector> session, std::chrono::milliseconds linger);

 private:
  RunClock* clock_;
  mutable std::mutex mu_;
  std::vector<FaultRule> rules_;
  std::vector<bool> done_;
  std::map<std::pair<std::string, Call>, int> calls_;
  std::map<std::string, int> opened_;
  int fired_ = 0;
  std::vector<std::thread> lingering_;
};

class FaultConnector : public Connector {
 public:
  FaultConnector(std::unique_ptr<Connector> real, FaultPlan* plan);
  ~FaultConnector() override;

  const std::string& connection_name() const override { return name_; }
  std::string_view engine() const override { return engine_; }
  Capabilities capabilities() const override { return capabilities_; }
  Status Ping() override;
  Result<std::optional<TableSchema>> DescribeTable(const std::string& table) override;
  Result<std::vector<std::string>> TableNames() override;
  Status EnsureTable(const TableDef& def) override;
  std::vector<std::string> TableDdl(const TableDef& def) const override;
  std::vector<std::string> AddColumnsDdl(const std::string& table,
                                         const std::vector<ColumnDef>& columns) const override;
  std::vector<std::string> TrackingDdl(const TrackedTable& t, bool install) const override;
  Status ExecuteScript(const std::string& sql) override;
  Result<std::vector<Row>> Query(const std::string& sql, const Row& params) override;
  Result<std::unique_ptr<RowStream>> Scan(const ScanRequest& request) override;
  Result<std::vector<Row>> Lookup(const LookupRequest& request) override;
  Result<bool> LookupUsesIndex(const LookupRequest& request) override;
  Result<RangeChecksum> Checksum(const ChecksumRequest& request) override;
  Result<std::vector<BucketChecksum>> ChecksumBuckets(const ChecksumRequest& request,
                                                      const KeyBuckets& buckets) override;
  Result<std::optional<std::pair<int64_t, int64_t>>> KeyBounds(
      const ChecksumRequest& request) override;
  Result<std::vector<Row>> RowHashes(const ChecksumRequest& request) override;
  Result<std::vector<Row>> KeySplits(const std::string& table,
                                     const std::vector<std::string>& key_columns,
                                     const KeyRange& range,
                                     const std::vector<Condition>& conditions,
                                     size_t every) override;
  Result<int64_t> Count(const std::string& table,
                        const std::vector<Condition>& conditions) override;
  Result<std::vector<Row>> Insert(const std::string& table, const std::vector<std::string>& columns,
                                  const std::vector<Row>& rows,
                                  const std::vector<std::string>& returning) override;
  Status Update(const std::string& table, const std::vector<std::string>& key_columns,
                const std::vector<std::string>& set_columns, const std::vector<Row>& rows) override;
  Status Upsert(const std::string& table, const std::vector<std::string>& columns,
                const std::vector<std::string>& conflict_columns,
                const std::vector<Row>& rows) override;
  Status Delete(const std::string& table, const std::vector<std::string>& key_columns,
                const std::vector<Row>& keys) override;
  Result<std::unique_ptr<BulkWriter>> StartBulkInsert(
      const std::string& table, const std::vector<std::string>& columns) override;
  Status Begin() override;
  Status Commit() override;
  Status Rollback() override;
  Status Savepoint(const std::string& name) override;
  Status ReleaseSavepoint(const std::string& name) override;
  Status RollbackToSavepoint(const std::string& name) override;
  Result<bool> TryLock(const std::string& name) override;
  Status ReleaseLock(const std::string& name) override;
  Result<std::string> DatabaseMark() override;
  Result<bool> SameDatabase(const std::string& mark) override;

  // OK to go on with a call of kind `call`, or the status it fails with (the connection dropped
  // first when the rule says so). With `rule`: a rule that fails part way (at_row) is returned
  // there with OK, for the caller to write the rows before it and then Fail.
  Status Check(Call call, std::optional<FaultRule>* rule = nullptr);
  // Fails as `rule` says (the connection dropped first when it says so).
  Status Fail(const FaultRule& rule);
  // The status of every call once the connection is lost (OK while it is not).
  Status Lost() const { return lost_; }

 private:
  // A call that has no rule kind: fails only once the connection is lost.
  Status Alive() const;
  // Forwards the first rows of a failing Insert/Upsert (FaultRule::at_row).
  template <typename Write>
  Status Partly(const std::optional<FaultRule>& rule, const std::vector<Row>& rows, Write write);

  std::unique_ptr<Connector> real_;
  FaultPlan* plan_;
  std::string name_;
  std::string engine_;
  Capabilities capabilities_;
  Status lost_;
  std::chrono::milliseconds linger_{0};  // of the rule that dropped the connection
};

}  // namespace tether::testing
