// Crash safety across engines: `tether sync` from PostgreSQL to MySQL/MariaDB and back is
// SIGKILLed at seeded random moments while it copies related rows with mapped keys (the target
// numbers its rows itself and its tables are created by --create-tables); runs are repeated until
// one finishes, and the target must then equal the source through the natural keys, with no
// duplicate, no lost record and no dangling reference, and a rerun must change nothing.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "e2e_util.h"
#include "util/test_database.h"

namespace tether::e2e {
namespace {

using ::tether::testing::PortableRows;
using ::tether::testing::TestDatabase;

constexpr int kServerCrashCustomers = 3000;
constexpr int kServerCrashProducts = 3000;
constexpr int kServerCrashOrders = 8000;
constexpr int kServerCrashItems = 16000;

struct Pair {
  std::string source, target;
};

class ServerCrashTest : public ::testing::TestWithParam<Pair> {};

void Fill(Connector& c, const std::string& table, const std::vector<std::string>& columns, int rows,
          const std::function<Row(int)>& make) {
  std::vector<Row> batch;
  for (int i = 1; i <= rows; ++i) {
    batch.push_back(make(i));
    if (batch.size() == 1000 || i == rows) {
      auto inserted = c.Insert(table, columns, batch, {});
      ASSERT_TRUE(inserted.ok()) << inserted.status().ToString();
      batch.clear();
    }
  }
}

TableDef Table(const std::string& name, std::vector<ColumnDef> columns) {
  TableDef t;
  t.name = name;
  t.columns = std::move(columns);
  t.primary_key = {"id"};
  return t;
}

ColumnDef Text(const char* name) {
  ColumnDef c(name, TypeClass::kText, true);
  c.max_length = 64;
  return c;
}

ColumnDef ServerCrashMoney(const char* name) {
  ColumnDef c(name, TypeClass::kDecimal);
  c.precision = 12;
  c.scale = 2;
  return c;
}

void MakeSource(const TestDatabase& db) {
  auto c = db.Open("src");
  ASSERT_NE(c, nullptr);
  ColumnDef id("id", TypeClass::kInteger, true);
  ASSERT_OK(c->EnsureTable(Table("customer", {id, Text("email"), Text("name")})));
  ASSERT_OK(c->EnsureTable(Table("product", {id, Text("sku"), ServerCrashMoney("price")})));
  ASSERT_OK(c->EnsureTable(
      Table("sales_order", {id, Text("increment_id"), ColumnDef("customer_id", TypeClass::kInteger),
                            ServerCrashMoney("total")})));
  ASSERT_OK(c->EnsureTable(
      Table("sales_order_item", {id, ColumnDef("order_id", TypeClass::kInteger, true),
                                 ColumnDef("product_id", TypeClass::kInteger), Text("sku"),
                                 ColumnDef("qty", TypeClass::kInteger)})));
  // Ids in the source are sparse and large, so they collide with nothing the target generates.
  Fill(*c, "customer", {"id", "email", "name"}, kServerCrashCustomers, [](int i) {
    return Row{Value::Int(i * 7), Value::Text("c" + std::to_string(i) + "@example.com"),
               Value::Text("Customer \xC3\xA9 " + std::to_string(i))};
  });
  Fill(*c, "product", {"id", "sku", "price"}, kServerCrashProducts, [](int i) {
    return Row{Value::Int(i * 3), Value::Text("SKU-" + std::to_string(i)),
               Value::Decimal(std::to_string(i % 500) + "." + std::to_string(10 + i % 90))};
  });
  Fill(*c, "sales_order", {"id", "increment_id", "customer_id", "total"}, kServerCrashOrders,
       [](int i) {
         return Row{Value::Int(i * 5), Value::Text("O-" + std::to_string(i)),
                    i % 10 == 0 ? Value() : Value::Int((1 + i % kServerCrashCustomers) * 7),
                    Value::Decimal(std::to_string(i) + ".5")};
       });
  Fill(*c, "sales_order_item", {"id", "order_id", "product_id", "sku", "qty"}, kServerCrashItems,
       [](int i) {
         int product = 1 + (i * 13) % kServerCrashProducts;
         return Row{Value::Int(i * 11), Value::Int((1 + i % kServerCrashOrders) * 5),
                    Value::Int(product * 3), Value::Text("SKU-" + std::to_string(product)),
                    Value::Int(1 + i % 4)};
       });
}

constexpr char kServerCrashEntities[] = R"(
entities:
  customer: { table: customer, match: [email] }
  product: { table: product, match: [sku] }
  order:
    table: sales_order
    match: [increment_id]
    references: { customer_id: customer }
  order_item:
    table: sales_order_item
    match: [order_id, sku]
    references: { order_id: order, product_id: product }
pipelines:
  p:
    source: src
    target: dst
    entities: [order_item, order, product, customer]
    batch_size: 250
)";

// The data as natural keys, comparable across engines that number rows differently.
const char* const kChecks[] = {
    "SELECT email, name FROM customer ORDER BY 1",
    "SELECT sku, price FROM product ORDER BY 1",
    "SELECT o.increment_id, c.email, o.total FROM sales_order o "
    "LEFT JOIN customer c ON c.id = o.customer_id ORDER BY 1",
    "SELECT o.increment_id, i.sku, p.sku, i.qty FROM sales_order_item i "
    "JOIN sales_order o ON o.id = i.order_id LEFT JOIN product p ON p.id = i.product_id "
    "ORDER BY 1, 2",
};

TEST_P(ServerCrashTest, KilledRunsResumeToAnExactCopy) {
  TestDatabase src(GetParam().source), dst(GetParam().target);
  ASSERT_TRUE(src.ok() && dst.ok());
  MakeSource(src);
  TempDir dir;
  WriteFile(dir.File("tether.yaml"), "connections:\n  src: { url: \"" + src.url() +
                                         "\" }\n  dst: { url: \"" + dst.url() + "\" }\n" +
                                         kServerCrashEntities);
  std::mt19937 rng(20261122);
  std::uniform_int_distribution<int> delay_ms(50, 600);
  int kills = 0;
  int finished = -1;
  for (int attempt = 0; attempt < 40 && finished < 0; ++attempt) {
    pid_t pid = ::tether::testing::StartTether(
        {"-q", "-c", dir.File("tether.yaml"), "sync", "--create-tables"}, dir.path().string(), -1,
        -1, {"TETHER_CONFIG="});
    ASSERT_GT(pid, 0);
    const bool kill_this = kills < 8;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(delay_ms(rng));
    int status = 0;
    pid_t done = 0;
    while ((done = waitpid(pid, &status, WNOHANG)) == 0) {
      if (kill_this && std::chrono::steady_clock::now() >= deadline) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        ++kills;
        done = pid;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (WIFEXITED(status)) {
      ASSERT_EQ(WEXITSTATUS(status), 0) << "run " << attempt << " failed";
      finished = attempt;
    }
  }
  ASSERT_GE(finished, 0) << "no run finished";
  EXPECT_GE(kills, 5) << "finished after " << kills << " kills";

  for (const char* check : kChecks) {
    EXPECT_EQ(PortableRows(dst, check), PortableRows(src, check)) << check;
  }
  // No duplicates and no dangling references.
  EXPECT_EQ(PortableRows(dst, "SELECT count(*) FROM sales_order_item"),
            std::vector<std::string>{std::to_string(kServerCrashItems)});
  EXPECT_EQ(PortableRows(dst,
                         "SELECT count(*) FROM sales_order_item i LEFT JOIN sales_order o "
                         "ON o.id = i.order_id WHERE o.id IS NULL"),
            std::vector<std::string>{"0"});
  EXPECT_EQ(PortableRows(dst, "SELECT count(*) FROM tether_runs WHERE status = 'running'"),
            std::vector<std::string>{"0"});

  CommandResult again = Tether({"-c", dir.File("tether.yaml"), "sync"}, dir.path().string());
  EXPECT_EQ(again.exit_code, 0) << Show(again);
  EXPECT_TRUE(Contains(again.out, "nothing to do")) << Show(again);
}

INSTANTIATE_TEST_SUITE_P(Engines, ServerCrashTest,
                         ::testing::Values(Pair{"postgres", "mysql"}, Pair{"mysql", "postgres"}),
                         [](const ::testing::TestParamInfo<Pair>& info) {
                           return info.param.source + "_to_" + info.param.target;
                         });

}  // namespace
}  // namespace tether::e2e
