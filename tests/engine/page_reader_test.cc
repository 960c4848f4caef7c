// PageReader over every engine: pages in key order add up to the whole table whether the page
// size divides the row count or not, with and without a read-ahead connection; a resume point
// starts after its key; an error reaches the caller and stays.
#include "engine/page_reader.h"

#include <gtest/gtest.h>

#include "util/test_database.h"

namespace tether::testing {
namespace {

class PageReaderTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    db_ = std::make_unique<TestDatabase>(GetParam());
    ASSERT_TRUE(db_->ok());
    db_->Exec(PortableSql(GetParam(), "CREATE TABLE item (id INTEGER PRIMARY KEY, name TEXT)"));
    std::string insert = "INSERT INTO item (id, name) VALUES ";
    for (int i = 1; i <= kRows; ++i) {
      insert += (i > 1 ? ",(" : "(") + std::to_string(i * 3) + ",'n" + std::to_string(i) + "')";
    }
    db_->Exec(PortableSql(GetParam(), insert));
    source_ = db_->Open("src");
    ahead_ = db_->Open("src");
    ASSERT_TRUE(source_ && ahead_);
  }

  ScanRequest Scan(size_t page, std::optional<Row> after = {}) const {
    ScanRequest s;
    s.table = "item";
    s.columns = {"name", "id"};
    s.key_columns = {"id"};
    s.after_key = std::move(after);
    s.limit = page;
    return s;
  }

  // Every id the reader hands out, in order, and how many pages it took.
  std::pair<std::vector<int64_t>, int> ReadAll(PageReader& reader) const {
    std::vector<int64_t> ids;
    int pages = 0;
    for (;;) {
      Result<std::vector<Row>> page = reader.Next();
      EXPECT_TRUE(page.ok()) << page.status().ToString();
      if (!page.ok() || page->empty()) break;
      ++pages;
      for (const Row& r : *page) ids.push_back(r[1].as_int());
    }
    return {ids, pages};
  }

  static constexpr int kRows = 25;
  std::unique_ptr<TestDatabase> db_;
  std::unique_ptr<Connector> source_, ahead_;
};

TEST_P(PageReaderTest, PagesAddUpToTheTableInKeyOrder) {
  std::vector<int64_t> want;
  for (int i = 1; i <= kRows; ++i) want.push_back(i * 3);
  for (size_t page : {size_t{1}, size_t{5}, size_t{7}, size_t{25}, size_t{100}}) {
    for (bool ahead : {false, true}) {
      SCOPED_TRACE("page " + std::to_string(page) + (ahead ? " read ahead" : " on demand"));
      PageReader reader(source_.get(), Scan(page), {1}, ahead ? ahead_.get() : nullptr);
      auto [ids, pages] = ReadAll(reader);
      EXPECT_EQ(ids, want);
      EXPECT_EQ(pages, static_cast<int>((kRows + page - 1) / page));
      // The end stays the end.
      Result<std::vector<Row>> again = reader.Next();
      ASSERT_TRUE(again.ok());
      EXPECT_TRUE(again->empty());
    }
  }
}

TEST_P(PageReaderTest, StartsAfterTheResumeKey) {
  for (bool ahead : {false, true}) {
    PageReader reader(source_.get(), Scan(4, Row{Value::Int(60)}), {1},
                      ahead ? ahead_.get() : nullptr);
    auto [ids, pages] = ReadAll(reader);
    EXPECT_EQ(ids, (std::vector<int64_t>{63, 66, 69, 72, 75}));
    EXPECT_EQ(pages, 2);
  }
}

TEST_P(PageReaderTest, AnErrorReachesTheCallerAndStays) {
  for (bool ahead : {false, true}) {
    ScanRequest s = Scan(10);
    s.table = "no_such_table";
    PageReader reader(source_.get(), s, {1}, ahead ? ahead_.get() : nullptr);
    Result<std::vector<Row>> page = reader.Next();
    ASSERT_FALSE(page.ok());
    EXPECT_NE(page.status().message().find("no_such_table"), std::string::npos)
        << page.status().ToString();
    if (ahead) {
      EXPECT_FALSE(reader.Next().ok());
    }
  }
}

TEST_P(PageReaderTest, StoppingEarlyLeavesNothingRunning) {
  // The reader is destroyed while its thread has a page waiting: the destructor must not hang.
  PageReader reader(source_.get(), Scan(2), {1}, ahead_.get());
  Result<std::vector<Row>> first = reader.Next();
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->size(), 2u);
}

INSTANTIATE_TEST_SUITE_P(Engines, PageReaderTest, ::testing::ValuesIn(AllEngines()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace tether::testing
