// Column mapping (exclude, include, rename, default, values), entity selection, and the errors
// that stop a run before anything is written: unknown names, missing tables and columns,
// unusable keys.
#include <gtest/gtest.h>

#include "util/engine_fixture.h"

namespace tether::testing {
namespace {

class MappingTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    Source(R"(
      CREATE TABLE product (id INTEGER PRIMARY KEY, sku TEXT NOT NULL, title TEXT,
                            state INTEGER, status TEXT, internal_note TEXT);
      INSERT INTO product VALUES (1, 'A', 'Alpha', 1, NULL, 'secret'),
                                 (2, 'B', 'Beta', 0, 'retired', 'also secret'),
                                 (3, 'C', 'Gamma', 2, NULL, NULL);
    )");
    Target(R"(
      CREATE TABLE product (id INTEGER PRIMARY KEY, sku TEXT NOT NULL UNIQUE, name TEXT,
                            state TEXT, status TEXT NOT NULL, internal_note TEXT, origin TEXT);
      INSERT INTO product VALUES (5, 'B', 'Old', 'on', 'x', 'target note', NULL);
    )");
  }
};

TEST_P(MappingTest, ExcludeRenameDefaultAndValueMaps) {
  Configure(R"(
entities:
  product:
    table: product
    match: [sku]
    columns:
      exclude: [internal_note]
      rename: { title: name }
      default: { status: active, origin: live }
      values: { state: { 1: "on", 0: "off" } }
)" + Pipeline("product"));
  auto report = Sync();
  ASSERT_OK(report);
  EXPECT_EQ(CountsOf(*report, "product"), (RunCounts{.read = 3, .inserted = 2, .updated = 1}));
  EXPECT_EQ(Dst("SELECT id, sku, name, state, status, coalesce(internal_note, 'NULL'), origin "
                "FROM product ORDER BY sku"),
            (std::vector<std::string>{"6|A|Alpha|on|active|NULL|live",
                                      "5|B|Beta|off|retired|target note|live",
                                      "7|C|Gamma|2|active|NULL|live"}));
  auto updates = Records("product", Action::kUpdate);
  ASSERT_EQ(updates.size(), 1u);
  std::vector<std::string> changed;
  for (const FieldChange& c : updates[0].changes) changed.push_back(c.column);
  EXPECT_EQ(changed, (std::vector<std::string>{"name", "state", "status", "origin"}));

  auto again = Sync();
  ASSERT_OK(again);
  EXPECT_EQ(CountsOf(*again, "product"), (RunCounts{.read = 3, .unchanged = 3}));
  // An excluded column changing on the source changes nothing.
  Source("UPDATE product SET internal_note = 'changed' WHERE id = 2");
  auto third = Sync();
  ASSERT_OK(third);
  EXPECT_FALSE(Total(*third).Changed());
}

TEST_P(MappingTest, IncludeListCarriesKeysAndMatchKeysToo) {
  Target("ALTER TABLE product ADD COLUMN title TEXT");
  Configure(R"(
entities:
  product:
    table: product
    match: [sku]
    columns:
      include: [title]
      default: { status: active }
)" + Pipeline("product"));
  auto report = Sync();
  ASSERT_OK(report);
  EXPECT_EQ(
      Dst("SELECT sku, coalesce(title, 'NULL'), coalesce(state, 'NULL'), status "
          "FROM product ORDER BY sku"),
      (std::vector<std::string>{"A|Alpha|NULL|active", "B|Beta|on|active", "C|Gamma|NULL|active"}));
}

TEST_P(MappingTest, SourceAndTargetTablesMayDiffer) {
  Target(R"(
    CREATE TABLE item (id INTEGER PRIMARY KEY, sku TEXT NOT NULL UNIQUE, title TEXT, state INTEGER,
                       status TEXT, internal_note TEXT);
  )");
  Configure(R"(
entities:
  product: { source_table: product, target_table: item, match: [sku] }
)" + Pipeline("product"));
  auto report = Sync();
  ASSERT_OK(report);
  EXPECT_EQ(Dst("SELECT count(*) FROM item"), std::vector<std::string>{"3"});
  EXPECT_EQ(Dst("SELECT count(*) FROM product"), std::vector<std::string>{"1"});
}

TEST_P(MappingTest, AColumnWithNoTargetCounterpartIsNamed) {
  Configure(R"(
entities:
  product: { table: product, match: [sku] }
)" + Pipeline("product"));
  std::string before = TargetSnapshot();
  auto r = Sync();
  ASSERT_CODE(r, StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("title"), std::string::npos) << r.status().ToString();
  EXPECT_TRUE(TargetSnapshot() == before);
}

class SelectionTest : public EngineTest {
 protected:
  void SetUp() override {
    EngineTest::SetUp();
    Both(R"(
      CREATE TABLE customer (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE);
      CREATE TABLE coupon (id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE);
      CREATE TABLE country (code TEXT PRIMARY KEY, name TEXT);
    )");
    Source(R"(
      INSERT INTO customer VALUES (1, 'a@x'), (2, 'b@x');
      INSERT INTO coupon VALUES (1, 'TEN');
      INSERT INTO country VALUES ('FR', 'France'), ('DE', 'Germany');
    )");
  }
  void ConfigureWith(const std::string& extra_entities, const std::string& list) {
    Configure(R"(
entities:
  customer: { table: customer, match: [email] }
  coupon: { table: coupon, match: [code] }
)" + extra_entities +
              Pipeline(list) + "  q:\n    source: src\n    target: dst\n    entities: [coupon]\n");
  }
  std::string before_;
};

TEST_P(SelectionTest, OnlyTheSelectedEntitiesRun) {
  ConfigureWith("", "customer, coupon");
  auto report = Sync(Only({"coupon"}));
  ASSERT_OK(report);
  ASSERT_EQ(report->entities.size(), 1u);
  EXPECT_EQ(report->entities[0].entity, "coupon");
  EXPECT_EQ(Dst("SELECT count(*) FROM customer"), std::vector<std::string>{"0"});
  EXPECT_EQ(Dst("SELECT count(*) FROM coupon"), std::vector<std::string>{"1"});

  SyncRequest other;
  other.pipeline = "q";
  auto q = Sync(other);
  ASSERT_OK(q);
  EXPECT_EQ(CountsOf(*q, "coupon"), (RunCounts{.read = 1, .linked = 1}));
  // Pipelines keep their links apart: q found p's coupon by its match key, and linked it.
  EXPECT_EQ(Dst("SELECT pipeline FROM tether_links WHERE entity = 'coupon' ORDER BY 1"),
            (std::vector<std::string>{"p", "q"}));
}

TEST_P(SelectionTest, UnknownEntityOrPipeline) {
  ConfigureWith("", "customer, coupon");
  std::string before = TargetSnapshot();
  ASSERT_CODE(Sync(Only({"nosuch"})), StatusCode::kInvalidArgument);
  SyncRequest req;
  req.pipeline = "nosuch";
  ASSERT_CODE(Sync(req), StatusCode::kInvalidArgument);
  SyncRequest not_in_q = Only({"customer"});  // an entity, but not one of q's
  not_in_q.pipeline = "q";
  ASSERT_CODE(Sync(not_in_q), StatusCode::kInvalidArgument);
  EXPECT_TRUE(TargetSnapshot() == before);
  EXPECT_FALSE(TargetHasStateTables());
}

TEST_P(SelectionTest, MissingTableIsNamed) {
  ConfigureWith("  gift: { table: gift_card, match: [code] }\n", "customer, gift");
  std::string before = TargetSnapshot();
  auto r = Sync();
  ASSERT_CODE(r, StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("gift_card"), std::string::npos) << r.status().ToString();
  // Missing on the target only.
  Source("CREATE TABLE gift_card (id INTEGER PRIMARY KEY, code TEXT)");
  r = Sync();
  ASSERT_CODE(r, StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("gift_card"), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().message().find("dst"), std::string::npos) << r.status().ToString();
  EXPECT_TRUE(TargetSnapshot() == before);
  ASSERT_CODE(CheckPipelines(config_, {"p"}), StatusCode::kNotFound);
  EXPECT_OK(CheckPipelines(config_, {"q"}));
}

TEST_P(SelectionTest, MissingColumnIsNamed) {
  ConfigureWith("  c2: { table: customer, match: [login] }\n", "c2");
  std::string before = TargetSnapshot();
  auto r = Sync();
  ASSERT_CODE(r, StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("login"), std::string::npos) << r.status().ToString();
  EXPECT_TRUE(TargetSnapshot() == before);
}

TEST_P(SelectionTest, MappedKeysNeedAGeneratedTargetKey) {
  ConfigureWith("  country: { table: country, key: code, match: [name] }\n", "country");
  std::string before = TargetSnapshot();
  ASSERT_CODE(Sync(), StatusCode::kConfig);
  EXPECT_TRUE(TargetSnapshot() == before);
  // With identity keys the same table syncs, key for key.
  ConfigureWith("  country: { table: country, key: code, keys: identity }\n", "country");
  auto report = Sync();
  ASSERT_OK(report);
  EXPECT_EQ(Dst("SELECT code, name FROM country ORDER BY code"),
            (std::vector<std::string>{"DE|Germany", "FR|France"}));
  Source("UPDATE country SET name = 'République française' WHERE code = 'FR'");
  auto again = Sync();
  ASSERT_OK(again);
  EXPECT_EQ(CountsOf(*again, "country"), (RunCounts{.read = 2, .updated = 1, .unchanged = 1}));
  EXPECT_EQ(Dst("SELECT name FROM country WHERE code = 'FR'"),
            std::vector<std::string>{"République française"});
}

TEST_P(SelectionTest, OnlyATextMatchColumnCanBeNormalised) {
  ConfigureWith("  c2: { table: customer, match: [{ column: id, normalize: lower }] }\n", "c2");
  std::string before = TargetSnapshot();
  auto r = Sync();
  ASSERT_CODE(r, StatusCode::kConfig);
  EXPECT_NE(r.status().message().find("'id'"), std::string::npos) << r.status().ToString();
  EXPECT_TRUE(TargetSnapshot() == before);
}

TETHER_ALL_PAIRS(MappingTest);
TETHER_ALL_PAIRS(SelectionTest);

}  // namespace
}  // namespace tether::testing
