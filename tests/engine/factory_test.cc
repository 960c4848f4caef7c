// What the engine opens besides a run's own connections goes through the RunEnv's factory too:
// `tether check`'s connections and the tables it describes, and the tables a run creates with
// create_tables. A fault injected there reaches the caller as the injected status.
#include <gtest/gtest.h>

#include "util/engine_fixture.h"
#include "util/fault_connector.h"

namespace tether::testing {
namespace {

class FactoryTest : public EngineTest {};

TEST_P(FactoryTest, CheckAndCreateTablesGoThroughTheRunsFactory) {
  Source(
      "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT);"
      "INSERT INTO item VALUES (1, 'one'), (2, 'two');");
  Configure("entities:\n  item: { table: item, keys: identity }\n" + Pipeline("item"));
  const Status injected = Status::PermissionDenied("not allowed (injected)");

  // The target refuses to create the missing table.
  FaultPlan plan;
  plan.Add({.connection = "dst", .call = Call::kEnsureTable, .status = injected});
  SyncRequest create;
  create.create_tables = true;
  create.env.open_connector = plan.Factory();
  ASSERT_CODE(Sync(create), StatusCode::kPermissionDenied);
  EXPECT_EQ(plan.fired(), 1);
  ASSERT_OK(Sync(create));  // the rule has fired: the table is created now
  EXPECT_EQ(Dst("SELECT id, name FROM item ORDER BY id"),
            Src("SELECT id, name FROM item ORDER BY id"));

  // tether check opens its connections and describes the target's tables through the factory.
  FaultPlan check;
  check.Add({.connection = "dst", .call = Call::kDescribe, .status = injected});
  RunEnv env;
  env.open_connector = check.Factory();
  ASSERT_CODE(CheckPipelines(config_, {"p"}, nullptr, env), StatusCode::kPermissionDenied);
  EXPECT_EQ(check.fired(), 1);
  EXPECT_GE(check.opened("src"), 1);
  EXPECT_OK(CheckPipelines(config_, {"p"}, nullptr, env));
}

TETHER_ALL_PAIRS(FactoryTest);

}  // namespace
}  // namespace tether::testing
