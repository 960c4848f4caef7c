// tether diff / verify (compare/diff.h) and selective sync over the nine engine pairs: rows pair
// by identity key, link or match key through the mapping; only-in-source, only-in-target and
// changed fields are found, and formatting differences between engines (decimal scale,
// fractional seconds) are not differences. A diff writes nothing.
#include "compare/diff.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "util/engine_fixture.h"

namespace tether::testing {
namespace {

class Differences : public DiffObserver {
 public:
  void OnDifference(const Difference& d) override { all.push_back(d); }
  std::vector<Difference> all;
};

// "kind source_id/target_id" per difference, plus "column: before -> after" per field: compact
// enough to compare whole diffs at once.
std::vector<std::string> Describe(const std::vector<Difference>& ds) {
  std::vector<std::string> out;
  for (const Difference& d : ds) {
    std::string line =
        d.entity + " " + std::string(DiffKindName(d.kind)) + " " + d.source_id + "/" + d.target_id;
    for (const FieldChange& c : d.fields) {
      line += " " + c.column + ": " + c.before.ToText() + " -> " + c.after.ToText();
      if (c.before.kind() == ValueKind::kText && c.before.as_string().empty()) line += "(empty)";
    }
    out.push_back(line);
  }
  std::sort(out.begin(), out.end());
  return out;
}

class DiffTest : public EngineTest {
 protected:
  // With checksums (the default), then again without: both must find the same differences.
  Result<DiffReport> Diff(std::vector<std::string> entities = {}) {
    DiffRequest req;
    req.pipeline = "p";
    req.entities = std::move(entities);
    req.checksums = false;
    found_ = Differences();
    Result<DiffReport> by_rows = RunDiff(config_, req, &found_);
    const std::vector<std::string> row_by_row = Describe(found_.all);
    req.checksums = true;
    found_ = Differences();
    Result<DiffReport> report = RunDiff(config_, req, &found_);
    if (report.ok() && by_rows.ok()) {
      EXPECT_EQ(Describe(found_.all), row_by_row) << "checksums and rows disagree";
      for (size_t i = 0; i < report->entities.size(); ++i) {
        const EntityDiff &a = report->entities[i], &b = by_rows->entities[i];
        EXPECT_EQ(a.unchanged, b.unchanged) << a.entity << ": " << a.method;
        methods_[a.entity] = a.method;
      }
    }
    return report;
  }
  static const EntityDiff& Of(const DiffReport& r, const std::string& entity) {
    for (const EntityDiff& e : r.entities) {
      if (e.entity == entity) return e;
    }
    static EntityDiff none;
    ADD_FAILURE() << "no entity " << entity << " in the diff";
    return none;
  }
  Differences found_;
  std::map<std::string, std::string> methods_;  // entity -> how the last Diff compared it
};

constexpr char kProductDdl[] =
    "CREATE TABLE product (id INTEGER PRIMARY KEY, sku VARCHAR(20) NOT NULL, name TEXT, "
    "price DECIMAL(12,2), qty INTEGER, note TEXT, seen DATETIME(6))";
constexpr char kProductRows[] =
    "INSERT INTO product VALUES "
    "(1, 'A-1', 'Anvil', 12.50, 100, 'x', '2024-03-01 10:00:00.5'),"
    "(2, 'A-2', 'Bolt', 0.10, 7, NULL, '2024-03-01 10:00:00'),"
    "(3, 'A-3', 'Cog', 3.00, 1, '', NULL),"
    "(4, 'A-4', 'Drill', 99.99, 0, 'y', '1999-12-31 23:59:59.123456')";

TEST_P(DiffTest, FindsRowsOnlyOnOneSideAndChangedFieldsWithDeltas) {
  Source(kProductDdl);
  // The target keeps prices at another scale and seconds to the millisecond: equal values
  // printed differently are not differences.
  Target(
      "CREATE TABLE product (id INTEGER PRIMARY KEY, sku VARCHAR(20) NOT NULL, name TEXT, "
      "price DECIMAL(14,4), qty INTEGER, note TEXT, seen DATETIME(6))");
  Source(kProductRows);
  Target(kProductRows);
  Source("INSERT INTO product VALUES (5, 'A-5', 'Epoxy', 1.00, 3, 'z', NULL)");
  Target("INSERT INTO product VALUES (99, 'Z-9', 'Stray', 1.00, 1, NULL, NULL)");
  Target("UPDATE product SET qty = 105 WHERE id = 1");    // the source says 100: Δ -5
  Target("UPDATE product SET note = '' WHERE id = 2");    // NULL in the source
  Target("UPDATE product SET note = NULL WHERE id = 3");  // '' in the source
  Configure("entities:\n  product: { table: product, keys: identity, delete: ignore }\n" +
            Pipeline("product"));
  const std::string before = TargetSnapshot();
  auto report = Diff();
  ASSERT_OK(report);
  EXPECT_EQ(Describe(found_.all),
            (std::vector<std::string>{
                "product changed 1/1 qty: 105 -> 100", "product changed 2/2 note:  -> NULL(empty)",
                "product changed 3/3 note: NULL -> ", "product only_in_source 5/",
                "product only_in_target 99/99"}));
  const EntityDiff& e = Of(*report, "product");
  EXPECT_EQ(e.unchanged, 1);  // id 4
  EXPECT_EQ(e.changed, 3);
  EXPECT_EQ(e.only_in_source, 1);
  EXPECT_EQ(e.only_in_target, 1);
  EXPECT_EQ(e.invalid, 0);
  EXPECT_TRUE(Contains(e.method, "checksums:")) << e.method;
  EXPECT_FALSE(report->equal());
  EXPECT_TRUE(TargetSnapshot() == before) << "a diff wrote to the target";
}

TEST_P(DiffTest, VerifyPassesAfterASyncAndFailsOnOneChangedByte) {
  Both(kProductDdl);
  Source(kProductRows);
  Configure("entities:\n  product: { table: product, keys: identity }\n" + Pipeline("product"));
  auto first = Diff();
  ASSERT_OK(first);
  EXPECT_EQ(Of(*first, "product").only_in_source, 4);
  ASSERT_OK(Sync());
  auto after = Diff();
  ASSERT_OK(after);
  EXPECT_TRUE(after->equal()) << ::testing::PrintToString(Describe(found_.all));
  EXPECT_EQ(Of(*after, "product").unchanged, 4);

  Target("UPDATE product SET name = 'Anvim' WHERE id = 1");
  auto changed = Diff();
  ASSERT_OK(changed);
  EXPECT_FALSE(changed->equal());
  EXPECT_EQ(Describe(found_.all),
            std::vector<std::string>{"product changed 1/1 name: Anvim -> Anvil"});
}

TEST_P(DiffTest, TextAndCompositeKeysPairByValue) {
  Both(
      "CREATE TABLE sku (code VARCHAR(20) PRIMARY KEY, label TEXT);"
      "CREATE TABLE line (order_no INTEGER NOT NULL, line_no INTEGER NOT NULL, sku TEXT, "
      "qty INTEGER, PRIMARY KEY (order_no, line_no))");
  Source(
      "INSERT INTO sku VALUES ('007', 'seven'), ('A b', 'space'), ('Ω', 'omega');"
      "INSERT INTO line VALUES (1, 1, 'A', 2), (1, 2, 'B', 1), (2, 1, 'A', 5)");
  Target(
      "INSERT INTO sku VALUES ('007', 'seven'), ('A b', 'spaced'), ('7', 'other');"
      "INSERT INTO line VALUES (1, 1, 'A', 2), (1, 2, 'B', 3), (3, 1, 'C', 1)");
  Configure(
      "entities:\n"
      "  sku: { table: sku, key: [code], keys: identity }\n"
      "  line: { table: line, key: [order_no, line_no], keys: identity }\n" +
      Pipeline("sku, line"));
  auto report = Diff();
  ASSERT_OK(report);
  EXPECT_EQ(Describe(found_.all),
            (std::vector<std::string>{
                "line changed [1,2]/[1,2] qty: 3 -> 1", "line only_in_source [2,1]/",
                "line only_in_target [3,1]/[3,1]", "sku changed A b/A b label: spaced -> space",
                "sku only_in_source Ω/", "sku only_in_target 7/7"}));
  EXPECT_EQ(Of(*report, "sku").unchanged, 1);
  EXPECT_EQ(Of(*report, "line").unchanged, 1);
}

TEST_P(DiffTest, MappedKeysPairByLinkAndByMatchKey) {
  Both(
      "CREATE TABLE customer (id INTEGER PRIMARY KEY, email VARCHAR(40) NOT NULL UNIQUE, "
      "name TEXT)");
  Source("INSERT INTO customer VALUES (1, 'ann@x', 'Ann'), (2, 'bob@x', 'Bob')");
  Configure("entities:\n  customer: { table: customer, match: [email] }\n" + Pipeline("customer"));
  ASSERT_OK(Sync());  // target ids 1 and 2, linked
  // The target numbers its rows its own way from here on.
  Target(
      "INSERT INTO customer VALUES (50, 'cy@x', 'Cy'), (51, 'dee@x', 'Dee');"
      "UPDATE customer SET name = 'Annie' WHERE email = 'ann@x'");
  Source(
      "INSERT INTO customer VALUES (7, 'cy@x', 'Cy'), (8, 'eve@x', 'Eve');"
      "DELETE FROM customer WHERE id = 2");
  auto report = Diff();
  ASSERT_OK(report);
  // ann: linked, changed; bob: linked, gone from the source; cy: unlinked but equal by match
  // key; dee: no source record; eve: only in the source.
  auto dst_id = [&](const std::string& email) {
    return Dst("SELECT id FROM customer WHERE email = '" + email + "'").at(0);
  };
  EXPECT_EQ(Describe(found_.all),
            (std::vector<std::string>{
                "customer changed 1/" + dst_id("ann@x") + " name: Annie -> Ann",
                "customer only_in_source 8/", "customer only_in_target /" + dst_id("dee@x"),
                "customer only_in_target 2/" + dst_id("bob@x")}));
  EXPECT_EQ(Of(*report, "customer").unchanged, 1);
}

// A join table keyed by references to mapped parents pairs with the target's rows through the
// parents' links, as a sync pairs them; so does a table keyed by a reference to such an entity.
TEST_P(DiffTest, KeysMadeOfReferencesToMappedParentsPairThroughTheirLinks) {
  Both(R"(
    CREATE TABLE product (id INTEGER PRIMARY KEY, sku VARCHAR(20) NOT NULL UNIQUE, name TEXT);
    CREATE TABLE category (id INTEGER PRIMARY KEY, slug VARCHAR(20) NOT NULL UNIQUE);
    CREATE TABLE product_category (product_id INTEGER NOT NULL, category_id INTEGER NOT NULL,
                                   position INTEGER, PRIMARY KEY (product_id, category_id));
    CREATE TABLE product_extra (product_id INTEGER PRIMARY KEY, warranty INTEGER);
    CREATE TABLE extra_note (id INTEGER PRIMARY KEY, product_id INTEGER, note TEXT);
  )");
  Source(R"(
    INSERT INTO product VALUES (1, 'P-1', 'One'), (2, 'P-2', 'Two');
    INSERT INTO category VALUES (1, 'shoes'), (2, 'hats');
    INSERT INTO product_category VALUES (1, 1, 1), (1, 2, 2), (2, 2, 1);
    INSERT INTO product_extra VALUES (1, 12), (2, 24);
    INSERT INTO extra_note VALUES (1, 2, 'two'), (2, 1, 'one');
  )");
  // Other ids on the target: its (1, 2) is the source's (2, 1), which the source does not have;
  // T-ONLY in sale is the target's own.
  Target(R"(
    INSERT INTO product VALUES (2, 'P-1', 'One'), (1, 'P-2', 'Two'), (5, 'T-ONLY', 'T');
    INSERT INTO category VALUES (2, 'shoes'), (1, 'hats'), (7, 'sale');
    INSERT INTO product_category VALUES (2, 2, 1), (1, 2, 4), (5, 7, 3);
  )");
  Configure(R"(
entities:
  product: { table: product, match: [sku] }
  category: { table: category, match: [slug] }
  product_category:
    table: product_category
    key: [product_id, category_id]
    keys: identity
    references: { product_id: product, category_id: category }
  extra: { table: product_extra, key: product_id, keys: identity, references: { product_id: product } }
  note: { table: extra_note, keys: identity, references: { product_id: extra } }
)" + Pipeline("product, category, product_category, extra, note"));
  ASSERT_OK(Sync());
  auto report = Diff();
  ASSERT_OK(report);
  // Rows left by delete: ignore: the target's (1, 2) pairs with the source's (2, 1), which is
  // gone; (5, 7), product 5 and category 7 pair with nothing.
  EXPECT_EQ(Describe(found_.all),
            (std::vector<std::string>{"category only_in_target /7", "product only_in_target /5",
                                      "product_category only_in_target /[5,7]",
                                      "product_category only_in_target [2,1]/[1,2]"}));
  EXPECT_EQ(Of(*report, "product_category").unchanged, 3);
  EXPECT_EQ(Of(*report, "extra").unchanged, 2);
  EXPECT_EQ(Of(*report, "note").unchanged, 2);
  EXPECT_TRUE(Contains(methods_["note"], "no checksums: column 'product_id' refers to"))
      << methods_["note"];
  EXPECT_EQ(Dst("SELECT n.note, p.sku FROM extra_note n JOIN product p ON p.id = n.product_id "
                "ORDER BY 1"),
            (std::vector<std::string>{"one|P-1", "two|P-2"}));
}

// verify checks that a sync has nothing left to do: target rows the delete policy keeps (delete:
// ignore, or rows no source record was ever linked to) are reported as kept and leave the report
// in step; a row a sync would delete does not.
TEST_P(DiffTest, TargetRowsThePolicyKeepsAreKeptAndLeaveTheReportInStep) {
  Both(
      "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT);"
      "CREATE TABLE customer (id INTEGER PRIMARY KEY, email VARCHAR(40) NOT NULL, name TEXT)");
  Source(
      "INSERT INTO item VALUES (1, 'Anvil'), (2, 'Bolt');"
      "INSERT INTO customer VALUES (1, 'ann@x', 'Ann'), (2, 'bob@x', 'Bob')");
  Target(
      "INSERT INTO item VALUES (9, 'Own');"
      "INSERT INTO customer VALUES (50, 'own@x', 'Own')");
  Configure(
      "entities:\n"
      "  item: { table: item, keys: identity, delete: ignore }\n"
      "  customer: { table: customer, match: [email], delete: propagate }\n" +
      Pipeline("item, customer"));
  ASSERT_OK(Sync());
  auto synced = Diff();
  ASSERT_OK(synced);
  EXPECT_EQ(Describe(found_.all),
            (std::vector<std::string>{"customer only_in_target /" + Dst("SELECT id FROM customer "
                                                                        "WHERE email = 'own@x'")[0],
                                      "item only_in_target 9/9"}));
  for (const Difference& d : found_.all) EXPECT_TRUE(d.kept) << d.entity << " " << d.target_id;
  EXPECT_EQ(Of(*synced, "item").kept, 1);
  EXPECT_EQ(Of(*synced, "customer").kept, 1);
  EXPECT_FALSE(synced->equal());
  EXPECT_TRUE(synced->in_step());

  // Gone from the source: delete: ignore keeps the item; delete: propagate would delete bob.
  Source("DELETE FROM item WHERE id = 2; DELETE FROM customer WHERE id = 2");
  auto gone = Diff();
  ASSERT_OK(gone);
  EXPECT_EQ(Of(*gone, "item").only_in_target, 2);
  EXPECT_EQ(Of(*gone, "item").kept, 2);
  EXPECT_EQ(Of(*gone, "customer").only_in_target, 2);
  EXPECT_EQ(Of(*gone, "customer").kept, 1);
  EXPECT_TRUE(Of(*gone, "item").in_step());
  EXPECT_FALSE(gone->in_step());
  ASSERT_OK(Sync());
  auto after = Diff();
  ASSERT_OK(after);
  EXPECT_EQ(Of(*after, "item").only_in_target, 2);  // 9 and 2, both kept
  EXPECT_EQ(Of(*after, "item").kept, 2);
  EXPECT_EQ(Of(*after, "customer").only_in_target, 1);
  EXPECT_TRUE(after->in_step());
}

TEST_P(DiffTest, ARecordTheSyncWouldRefuseIsInvalidWithItsReason) {
  Source("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT)");
  Target("CREATE TABLE item (id INTEGER PRIMARY KEY, name VARCHAR(3))");
  Source("INSERT INTO item VALUES (1, 'abc'), (2, 'abcdef')");
  Target("INSERT INTO item VALUES (1, 'abc')");
  Configure("entities:\n  item: { table: item, keys: identity }\n" + Pipeline("item"));
  auto report = Diff();
  ASSERT_OK(report);
  ASSERT_EQ(found_.all.size(), 1u);
  EXPECT_EQ(found_.all[0].kind, DiffKind::kInvalid);
  EXPECT_EQ(found_.all[0].source_id, "2");
  EXPECT_TRUE(Contains(found_.all[0].reason, "name")) << found_.all[0].reason;
  EXPECT_FALSE(report->equal());
}

TEST_P(DiffTest, SelectiveSyncTouchesOnlyTheChosenRecords) {
  Both(
      "CREATE TABLE customer (id INTEGER PRIMARY KEY, name TEXT);"
      "CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customer(id), "
      "total INTEGER)");
  Source(
      "INSERT INTO customer VALUES (1, 'Ann'), (2, 'Bob'), (3, 'Cy');"
      "INSERT INTO orders VALUES (10, 1, 5), (11, 2, 6), (12, 3, 7), (13, 3, 8)");
  Target(
      "INSERT INTO customer VALUES (1, 'Ann'), (2, 'Bob');"
      "INSERT INTO orders VALUES (10, 1, 50), (11, 2, 60), (14, 2, 9)");
  Configure(
      "entities:\n"
      "  customer: { table: customer, keys: identity }\n"
      "  orders: { table: orders, keys: identity, delete: propagate,"
      " references: { customer_id: customer } }\n" +
      Pipeline("customer, orders"));
  SyncRequest req;
  req.mode = SyncMode::kKeys;
  req.keys["orders"] = {"11", "12", "14"};  // changed; new with a new parent; gone
  auto report = Sync(req);
  ASSERT_OK(report);
  EXPECT_EQ(Dst("SELECT id, customer_id, total FROM orders ORDER BY id"),
            (std::vector<std::string>{"10|1|50", "11|2|6", "12|3|7"}));
  EXPECT_EQ(Dst("SELECT id, name FROM customer ORDER BY id"),
            (std::vector<std::string>{"1|Ann", "2|Bob", "3|Cy"}));  // parent pulled first
  // What was not chosen still differs.
  auto diff = Diff({"orders"});
  ASSERT_OK(diff);
  EXPECT_EQ(Describe(found_.all), (std::vector<std::string>{"orders changed 10/10 total: 50 -> 5",
                                                            "orders only_in_source 13/"}));
}

TEST_P(DiffTest, SelectiveSyncRefusesAKeyItsEntityCannotHave) {
  Both("CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT)");
  Configure("entities:\n  item: { table: item, keys: identity }\n" + Pipeline("item"));
  const std::string before = TargetSnapshot();
  SyncRequest req;
  req.mode = SyncMode::kKeys;
  req.keys["item"] = {"1", "abc"};
  ASSERT_CODE(Sync(req), StatusCode::kInvalidArgument);
  SyncRequest other;
  other.mode = SyncMode::kKeys;
  other.keys["nope"] = {"1"};
  ASSERT_CODE(Sync(other), StatusCode::kInvalidArgument);
  EXPECT_TRUE(TargetSnapshot() == before);
}

TETHER_ALL_PAIRS(DiffTest);

}  // namespace
}  // namespace tether::testing
