// Crash safety of a one-way run: `tether sync` is SIGKILLed at seeded random moments while it
// copies ~110,000 related rows with mapped keys; runs are repeated until one finishes, and the
// target must then equal the source row for row through the links, with no duplicate, no lost
// record and no dangling reference (DESIGN.md, "A one-way run").
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "util/test_util.h"

namespace tether::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kCategories = 500;
constexpr int kCrashCustomers = 20000;
constexpr int kCrashProducts = 20000;
constexpr int kCrashOrders = 30000;
constexpr int kCrashItems = 40000;
constexpr int kSourceRows =
    kCategories + kCrashCustomers + kCrashProducts + kCrashOrders + kCrashItems;

constexpr char kSchema[] = R"sql(
CREATE TABLE category (id INTEGER PRIMARY KEY, parent_id INTEGER, slug TEXT NOT NULL,
                       name TEXT NOT NULL, position INTEGER);
CREATE TABLE customer (id INTEGER PRIMARY KEY, email TEXT NOT NULL, firstname TEXT,
                       lastname TEXT, created_at DATETIME);
CREATE TABLE product (id INTEGER PRIMARY KEY, sku TEXT NOT NULL, name TEXT NOT NULL,
                      category_id INTEGER, price DECIMAL(12,2), qty INTEGER, in_stock BOOLEAN,
                      updated_at DATETIME);
CREATE TABLE sales_order (id INTEGER PRIMARY KEY, increment_id TEXT NOT NULL, customer_id INTEGER,
                          status TEXT, grand_total DECIMAL(12,2), created_at DATETIME);
CREATE TABLE sales_order_item (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL,
                               product_id INTEGER, sku TEXT NOT NULL, qty INTEGER,
                               price DECIMAL(12,2));
)sql";

// Non-unique on purpose: a duplicate written by tether must show up in the checks below instead
// of being refused by the database. Foreign keys are not declared for the same reason.
constexpr char kTargetIndexes[] = R"sql(
CREATE INDEX category_slug ON category (slug);
CREATE INDEX customer_email ON customer (email);
CREATE INDEX product_sku ON product (sku);
CREATE INDEX sales_order_increment ON sales_order (increment_id);
CREATE INDEX sales_order_item_match ON sales_order_item (order_id, sku);
)sql";

constexpr char kCrashConfig[] = R"yaml(
connections:
  src: { url: "sqlite:source.db" }
  dst: { url: "sqlite:target.db" }

entities:
  category:
    table: category
    key: id
    keys: mapped
    match: [slug]
    references: { parent_id: category }
  customer:
    table: customer
    key: id
    keys: mapped
    match: [email]
  product:
    table: product
    key: id
    keys: mapped
    match: [sku]
    references: { category_id: category }
  order:
    table: sales_order
    key: id
    keys: mapped
    match: [increment_id]
    references: { customer_id: customer }
  order_item:
    table: sales_order_item
    key: id
    keys: mapped
    match: [order_id, sku]
    references: { order_id: order, product_id: product }

pipelines:
  crash:
    source: src
    target: dst
    entities: [order_item, order, product, customer, category]
    on_duplicate: update
    on_invalid: skip
    batch_size: 500
)yaml";

struct EntitySpec {
  std::string entity;
  std::string table;
  std::vector<std::string> columns;  // every non-key column but the references
  std::vector<std::pair<std::string, std::string>> references;  // column -> parent entity
  std::vector<std::string> match;
};

const std::vector<EntitySpec>& Entities() {
  static const std::vector<EntitySpec> kEntities = {
      {"category", "category", {"slug", "name", "position"}, {{"parent_id", "category"}}, {"slug"}},
      {"customer", "customer", {"email", "firstname", "lastname", "created_at"}, {}, {"email"}},
      {"product",
       "product",
       {"sku", "name", "price", "qty", "in_stock", "updated_at"},
       {{"category_id", "category"}},
       {"sku"}},
      {"order",
       "sales_order",
       {"increment_id", "status", "grand_total", "created_at"},
       {{"customer_id", "customer"}},
       {"increment_id"}},
      {"order_item",
       "sales_order_item",
       {"sku", "qty", "price"},
       {{"order_id", "order"}, {"product_id", "product"}},
       {"order_id", "sku"}},
  };
  return kEntities;
}

const EntitySpec& Spec(const std::string& entity) {
  for (const EntitySpec& e : Entities()) {
    if (e.entity == entity) return e;
  }
  ADD_FAILURE() << "no entity " << entity;
  return Entities()[0];
}

// A raw sqlite3 connection that fails the test on any error.
class Db {
 public:
  explicit Db(const std::string& path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) ADD_FAILURE() << "cannot open " << path;
    sqlite3_busy_timeout(db_, 10000);
  }
  ~Db() {
    for (auto& [sql, st] : stmts_) sqlite3_finalize(st);
    sqlite3_close(db_);
  }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  void Exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      ADD_FAILURE() << (err ? err : "?") << "\nin: " << sql;
    }
    sqlite3_free(err);
  }

  // Binds values (int64, double, text or NULL) and steps once; for INSERTs.
  using Param = std::variant<std::nullptr_t, int64_t, double, std::string>;
  void Insert(const std::string& sql, const std::vector<Param>& params) {
    sqlite3_stmt*& st = stmts_[sql];
    if (!st && sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sqlite3_errmsg(db_) << " in: " << sql;
      return;
    }
    for (size_t i = 0; i < params.size(); ++i) {
      int n = static_cast<int>(i + 1);
      const Param& p = params[i];
      if (std::holds_alternative<int64_t>(p)) {
        sqlite3_bind_int64(st, n, std::get<int64_t>(p));
      } else if (std::holds_alternative<double>(p)) {
        sqlite3_bind_double(st, n, std::get<double>(p));
      } else if (std::holds_alternative<std::string>(p)) {
        sqlite3_bind_text(st, n, std::get<std::string>(p).c_str(), -1, SQLITE_TRANSIENT);
      } else {
        sqlite3_bind_null(st, n);
      }
    }
    if (sqlite3_step(st) != SQLITE_DONE) ADD_FAILURE() << sqlite3_errmsg(db_) << " in: " << sql;
    sqlite3_reset(st);
  }

  // Rows as '|'-joined text (NULL as "NULL").
  std::vector<std::string> Rows(const std::string& sql) {
    std::vector<std::string> out;
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << sqlite3_errmsg(db_) << " in: " << sql;
      return out;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      std::string line;
      for (int i = 0; i < sqlite3_column_count(st); ++i) {
        if (i) line += '|';
        const unsigned char* t = sqlite3_column_text(st, i);
        line += t ? reinterpret_cast<const char*>(t) : "NULL";
      }
      out.push_back(std::move(line));
    }
    if (rc != SQLITE_DONE) ADD_FAILURE() << sqlite3_errmsg(db_) << " in: " << sql;
    sqlite3_finalize(st);
    return out;
  }

  int64_t Count(const std::string& sql) {
    std::vector<std::string> r = Rows(sql);
    if (r.size() != 1) {
      ADD_FAILURE() << "expected one row from: " << sql;
      return -1;
    }
    return std::stoll(r[0]);
  }

 private:
  sqlite3* db_ = nullptr;
  std::map<std::string, sqlite3_stmt*> stmts_;
};

std::string Date(std::mt19937_64& rng) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "2024-%02d-%02d %02d:%02d:%02d", static_cast<int>(rng() % 12 + 1),
                static_cast<int>(rng() % 28 + 1), static_cast<int>(rng() % 24),
                static_cast<int>(rng() % 60), static_cast<int>(rng() % 60));
  return buf;
}

double CrashMoney(std::mt19937_64& rng) { return static_cast<double>(rng() % 100000 + 1) / 100.0; }

std::string Sku(int product) { return "SKU-" + std::to_string(100000 + product); }

// The source shop. Rows are numbered so that references point both forwards and backwards
// (a category's parent often has a higher id, in a later batch), some orders are guests'.
struct SourceShop {
  std::vector<int> category_parent;                     // by id; 0 = root
  std::vector<int> order_customer;                      // by id; 0 = guest
  std::vector<std::vector<std::pair<int, int>>> items;  // by order id: (item id, product id)
};

SourceShop WriteSource(const std::string& path, uint64_t seed) {
  std::mt19937_64 rng(seed);
  SourceShop shop;
  Db db(path);
  db.Exec(kSchema);
  db.Exec("BEGIN");
  // A tree: ids in random order, each node's parent comes earlier in that order.
  std::vector<int> order(kCategories);
  std::iota(order.begin(), order.end(), 1);
  std::shuffle(order.begin(), order.end(), rng);
  shop.category_parent.assign(kCategories + 1, 0);
  for (size_t k = 10; k < order.size(); ++k) shop.category_parent[order[k]] = order[rng() % k];
  for (int id = 1; id <= kCategories; ++id) {
    db.Insert("INSERT INTO category VALUES (?,?,?,?,?)",
              {int64_t{id},
               shop.category_parent[id] ? Db::Param(int64_t{shop.category_parent[id]}) : nullptr,
               "cat-" + std::to_string(id), "Category " + std::to_string(id),
               static_cast<int64_t>(rng() % 50)});
  }
  for (int id = 1; id <= kCrashCustomers; ++id) {
    db.Insert(
        "INSERT INTO customer VALUES (?,?,?,?,?)",
        {int64_t{id}, "customer" + std::to_string(id) + "@example.com",
         "First" + std::to_string(rng() % 1000), "Last" + std::to_string(rng() % 5000), Date(rng)});
  }
  for (int id = 1; id <= kCrashProducts; ++id) {
    db.Insert("INSERT INTO product VALUES (?,?,?,?,?,?,?,?)",
              {int64_t{id}, Sku(id), "Product " + std::to_string(id),
               static_cast<int64_t>(rng() % kCategories + 1), CrashMoney(rng),
               static_cast<int64_t>(rng() % 500), static_cast<int64_t>(rng() % 4 != 0), Date(rng)});
  }
  shop.order_customer.assign(kCrashOrders + 1, 0);
  for (int id = 1; id <= kCrashOrders; ++id) {
    int customer = rng() % 20 == 0 ? 0 : static_cast<int>(rng() % kCrashCustomers + 1);
    shop.order_customer[id] = customer;
    db.Insert("INSERT INTO sales_order VALUES (?,?,?,?,?,?)",
              {int64_t{id}, "1" + std::to_string(100000000 + id),
               customer ? Db::Param(int64_t{customer}) : nullptr,
               rng() % 3 ? std::string("complete") : std::string("processing"), CrashMoney(rng),
               Date(rng)});
  }
  // Every order has an item; the others go to random orders, never twice the same product.
  shop.items.assign(kCrashOrders + 1, {});
  std::vector<int> item_order(kCrashItems);
  for (int i = 0; i < kCrashItems; ++i) {
    item_order[i] = i < kCrashOrders ? i + 1 : static_cast<int>(rng() % kCrashOrders + 1);
  }
  std::shuffle(item_order.begin(), item_order.end(), rng);
  for (int id = 1; id <= kCrashItems; ++id) {
    int o = item_order[id - 1];
    int product;
    for (;;) {
      product = static_cast<int>(rng() % kCrashProducts + 1);
      bool taken = false;
      for (auto& [item, p] : shop.items[o]) taken = taken || p == product;
      if (!taken) break;
    }
    shop.items[o].push_back({id, product});
    db.Insert("INSERT INTO sales_order_item VALUES (?,?,?,?,?,?)",
              {int64_t{id}, int64_t{o}, int64_t{product}, Sku(product),
               static_cast<int64_t>(rng() % 5 + 1), CrashMoney(rng)});
  }
  db.Exec("COMMIT");
  return shop;
}

// The target: same schema, rows numbered on their own. Some rows are source records under other
// ids with stale values (tether must pair them by match key and update them), others are the
// target's own (tether must leave them alone).
void WriteTarget(const std::string& path, const SourceShop& shop, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Db db(path);
  db.Exec(kSchema);
  db.Exec(kTargetIndexes);
  db.Exec("BEGIN");
  auto sample = [&](int n, int k) {
    std::vector<int> ids(n);
    std::iota(ids.begin(), ids.end(), 1);
    std::shuffle(ids.begin(), ids.end(), rng);
    ids.resize(k);
    return ids;
  };
  // category: 60 known slugs (flat: the parents are remapped by the run), 40 own.
  std::map<int, int> category_of;  // source id -> target id
  int next = 1;
  for (int src : sample(kCategories, 60)) {
    category_of[src] = next;
    db.Insert("INSERT INTO category VALUES (?,?,?,?,?)",
              {int64_t{next++}, nullptr, "cat-" + std::to_string(src), std::string("Old name"),
               int64_t{99}});
  }
  for (int i = 0; i < 40; ++i) {
    db.Insert("INSERT INTO category VALUES (?,?,?,?,?)",
              {int64_t{next++}, int64_t{1}, "staging-cat-" + std::to_string(i),
               std::string("Staging only"), int64_t{0}});
  }
  // customer: 2,000 known emails, 1,000 own.
  std::map<int, int> customer_of;
  next = 1;
  std::vector<int> known_customers = sample(kCrashCustomers, 2000);
  for (size_t k = 0; k < known_customers.size() + 1000; ++k) {
    bool known = k < known_customers.size();
    if (known) customer_of[known_customers[k]] = next;
    db.Insert("INSERT INTO customer VALUES (?,?,?,?,?)",
              {int64_t{next++},
               known ? "customer" + std::to_string(known_customers[k]) + "@example.com"
                     : "tester" + std::to_string(k) + "@staging.test",
               std::string("Stale"), std::string("Name"), std::string("2020-01-01 00:00:00")});
  }
  // product: 2,000 known skus (stale price and stock), 1,000 own.
  std::map<int, int> product_of;
  next = 1;
  std::vector<int> known_products = sample(kCrashProducts, 2000);
  for (size_t k = 0; k < known_products.size() + 1000; ++k) {
    bool known = k < known_products.size();
    if (known) product_of[known_products[k]] = next;
    db.Insert("INSERT INTO product VALUES (?,?,?,?,?,?,?,?)",
              {int64_t{next++}, known ? Sku(known_products[k]) : "STAGING-" + std::to_string(k),
               std::string("Stale product"), static_cast<int64_t>(rng() % 100 + 1), 1.5, int64_t{0},
               int64_t{0}, std::string("2020-01-01 00:00:00")});
  }
  // sales_order: 2,000 known increment ids with some of their items, 500 own orders.
  next = 1;
  int next_item = 1;
  std::vector<int> known_orders = sample(kCrashOrders, 2000);
  for (size_t k = 0; k < known_orders.size() + 500; ++k) {
    bool known = k < known_orders.size();
    int order_id = next++;
    int src = known ? known_orders[k] : 0;
    auto c = known ? customer_of.find(shop.order_customer[src]) : customer_of.end();
    db.Insert(
        "INSERT INTO sales_order VALUES (?,?,?,?,?,?)",
        {int64_t{order_id}, known ? "1" + std::to_string(100000000 + src) : "9" + std::to_string(k),
         c != customer_of.end() ? Db::Param(int64_t{c->second}) : nullptr, std::string("pending"),
         0.0, std::string("2020-01-01 00:00:00")});
    if (known) {
      for (auto& [item, product] : shop.items[src]) {
        if (rng() % 4 == 0) continue;  // this item is missing on the target
        auto p = product_of.find(product);
        db.Insert("INSERT INTO sales_order_item VALUES (?,?,?,?,?,?)",
                  {int64_t{next_item++}, int64_t{order_id},
                   p != product_of.end() ? Db::Param(int64_t{p->second}) : nullptr, Sku(product),
                   int64_t{42}, 0.01});
      }
    } else {
      db.Insert("INSERT INTO sales_order_item VALUES (?,?,?,?,?,?)",
                {int64_t{next_item++}, int64_t{order_id}, int64_t{1}, std::string("STAGING-0"),
                 int64_t{1}, 2.5});
    }
  }
  db.Exec("COMMIT");
}

// A `tether` child we can kill; its output goes to files for the failure messages.
class Child {
 public:
  Child(const std::vector<std::string>& args, const std::string& cwd, const std::string& out,
        const std::string& err)
      : out_(out), err_(err) {
    int out_fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err_fd = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_ = StartTether(args, cwd, out_fd, err_fd);
    close(out_fd);
    close(err_fd);
  }
  ~Child() {
    if (pid_ > 0 && !status_) {
      kill(pid_, SIGKILL);
      Wait();
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  // The exit status once the child ended, without blocking.
  std::optional<int> Poll() {
    if (status_) return status_;
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) == pid_) status_ = st;
    return status_;
  }
  int Wait() {
    if (status_) return *status_;
    int st = 0;
    while (waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
    status_ = st;
    return st;
  }
  void Kill() { kill(pid_, SIGKILL); }
  std::string Output() const { return ReadFile(out_) + ReadFile(err_); }
  const std::string& out_path() const { return out_; }

 private:
  pid_t pid_ = -1;
  std::string out_, err_;
  std::optional<int> status_;
};

// Links written so far (committed batches only), or -1 when they cannot be read now.
int64_t LinksCommitted(const std::string& target) {
  sqlite3* db = nullptr;
  int64_t n = -1;
  // Read-only: a hot journal left by a kill is for tether to roll back, not for this probe.
  if (sqlite3_open_v2(target.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_busy_timeout(db, 50);
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM tether_links", -1, &st, nullptr) ==
            SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      n = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return n;
}

// Mismatches of one query, with a few examples, as a failure message.
void ExpectNone(Db& db, const std::string& what, const std::string& select_from_where) {
  int64_t n = db.Count("SELECT count(*) " + select_from_where);
  if (n == 0) return;
  std::vector<std::string> rows = db.Rows("SELECT * " + select_from_where + " LIMIT 5");
  std::string examples;
  for (const std::string& r : rows) examples += "\n  " + r;
  ADD_FAILURE() << what << ": " << n << " rows, e.g." << examples;
}

std::string LinkJoin(const std::string& alias, const std::string& entity,
                     const std::string& source_expr) {
  return " LEFT JOIN main.tether_links AS " + alias + " ON " + alias + ".pipeline = 'crash' AND " +
         alias + ".entity = '" + entity + "' AND " + alias + ".source_id = CAST(" + source_expr +
         " AS TEXT)";
}

// Every check that does not depend on how the run went: the target equals the source through
// the links, and nothing else changed.
void VerifyTarget(const std::string& target, const std::string& source,
                  const std::string& initial_target) {
  Db db(target);
  db.Exec("ATTACH '" + source + "' AS s; ATTACH '" + initial_target + "' AS i;");
  for (const EntitySpec& e : Entities()) {
    SCOPED_TRACE(e.entity);
    const std::string& t = e.table;
    // 1. Every source row has one synced link to a target row equal to it, references remapped.
    std::string from = "FROM s." + t + " AS src" + LinkJoin("l", e.entity, "src.id") +
                       " LEFT JOIN main." + t + " AS dst ON dst.id = CAST(l.target_id AS INTEGER)";
    std::string differs = "l.source_id IS NULL OR l.status IS NOT 'synced' OR dst.id IS NULL";
    for (const std::string& c : e.columns) {
      differs += " OR src." + c + " IS NOT dst." + c + " OR typeof(src." + c + ") != typeof(dst." +
                 c + ")";
    }
    int r = 0;
    for (const auto& [column, parent] : e.references) {
      std::string alias = "p" + std::to_string(r++);
      from += LinkJoin(alias, parent, "src." + column);
      differs += " OR (src." + column + " IS NULL AND dst." + column + " IS NOT NULL)";
      differs += " OR (src." + column + " IS NOT NULL AND (" + alias +
                 ".target_id IS NULL OR dst." + column + " IS NOT CAST(" + alias +
                 ".target_id AS INTEGER)))";
    }
    ExpectNone(db, "source rows not equal to their target row through the links",
               from + " WHERE " + differs);

    // 2. The link registry: one link per source row and per target row, each to a real row.
    std::string links =
        "FROM main.tether_links WHERE pipeline = 'crash' AND entity = '" + e.entity + "'";
    EXPECT_EQ(db.Count("SELECT count(*) " + links), db.Count("SELECT count(*) FROM s." + t));
    ExpectNone(db, "links to a source row that does not exist",
               links + " AND CAST(source_id AS INTEGER) NOT IN (SELECT id FROM s." + t + ")");
    ExpectNone(db, "links to a target row that does not exist",
               links +
                   " AND (target_id IS NULL OR CAST(target_id AS INTEGER) NOT IN (SELECT id "
                   "FROM main." +
                   t + "))");
    ExpectNone(
        db, "target rows with more than one link",
        "FROM (SELECT target_id, count(*) AS n " + links + " GROUP BY target_id HAVING n > 1)");
    ExpectNone(
        db, "source rows with more than one link",
        "FROM (SELECT source_id, count(*) AS n " + links + " GROUP BY source_id HAVING n > 1)");

    // 3. No duplicate: natural keys unique, and exactly source + the target's own rows.
    std::string match;
    for (const std::string& m : e.match) match += (match.empty() ? "" : ", ") + m;
    ExpectNone(db, "duplicate natural keys in the target",
               "FROM (SELECT " + match + ", count(*) AS n FROM main." + t + " GROUP BY " + match +
                   " HAVING n > 1)");
    std::string own = "FROM i." + t +
                      " AS o WHERE o.id NOT IN (SELECT CAST(target_id AS "
                      "INTEGER) " +
                      links + ")";
    EXPECT_EQ(db.Count("SELECT count(*) FROM main." + t),
              db.Count("SELECT count(*) FROM s." + t) + db.Count("SELECT count(*) " + own))
        << "target rows are not the source's plus the target's own";
    EXPECT_GT(db.Count("SELECT count(*) " + own), 0) << "the target's own rows are gone";

    // 4. The target's own rows (never linked) are untouched.
    std::string all_columns = "id";
    for (const std::string& c : e.columns) all_columns += ", " + c;
    for (const auto& [column, parent] : e.references) all_columns += ", " + column;
    ExpectNone(db, "target-only rows changed or deleted",
               "FROM (SELECT " + all_columns + " " + own + " EXCEPT SELECT " + all_columns +
                   " FROM main." + t + ")");

    // 5. Every reference in the target points at an existing row.
    for (const auto& [column, parent] : e.references) {
      ExpectNone(db, "dangling " + column,
                 "FROM main." + t + " AS c WHERE c." + column + " IS NOT NULL AND c." + column +
                     " NOT IN (SELECT id FROM main." + Spec(parent).table + ")");
    }
  }
  // Every killed run that got registered is marked interrupted by the next one.
  ExpectNone(db, "runs still marked running", "FROM main.tether_runs WHERE status = 'running'");
  ExpectNone(db, "checkpoints left mid-entity",
             "FROM main.tether_checkpoints WHERE pipeline = 'crash' AND position IS NOT NULL");
}

TEST(CrashTest, KilledRunsResumeToAnExactCopy) {
  const uint64_t seed = 20261122;
  TempDir dir;
  const std::string source = dir.File("source.db");
  const std::string target = dir.File("target.db");
  const std::string initial = dir.File("initial_target.db");
  auto t0 = Clock::now();
  SourceShop shop = WriteSource(source, seed);
  WriteTarget(target, shop, seed + 1);
  ASSERT_FALSE(::testing::Test::HasFailure());
  std::filesystem::copy_file(target, initial);
  WriteFile(dir.File("tether.yaml"), kCrashConfig);
  std::printf("[ crash    ] data written in %.1f s\n",
              std::chrono::duration<double>(Clock::now() - t0).count());

  // Kill moments: five spread over the run by committed progress (one per fifth of the first 95%
  // of the links, at a random point in it, then a random delay that lands anywhere inside the
  // next batch or its commit), and two at a random delay after start (startup, journal recovery,
  // re-reading the entities an earlier run finished).
  std::mt19937_64 rng(seed);
  struct Kill {
    int64_t after_links;  // -1: no threshold, just the delay
    int delay_ms;
  };
  std::vector<Kill> kills;
  constexpr int kSpread = 5;
  for (int k = 0; k < kSpread; ++k) {
    double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
    kills.push_back({static_cast<int64_t>((k + u) * 0.95 * kSourceRows / kSpread),
                     static_cast<int>(rng() % 120)});
  }
  kills.insert(kills.begin() + 1 + static_cast<int>(rng() % 2),
               {-1, static_cast<int>(rng() % 400)});
  kills.insert(kills.begin() + 4 + static_cast<int>(rng() % 3),
               {-1, static_cast<int>(rng() % 400)});

  const std::vector<std::string> sync_args = {"-c",  "tether.yaml", "sync", "--batch-size",
                                              "500", "--format",    "json"};
  int killed = 0;
  std::string final_out;
  for (size_t attempt = 0;; ++attempt) {
    ASSERT_LT(attempt, kills.size() + 3) << "runs keep failing";
    std::string out = dir.File("run" + std::to_string(attempt) + ".out");
    std::string err = dir.File("run" + std::to_string(attempt) + ".err");
    auto start = Clock::now();
    Child child(sync_args, dir.path().string(), out, err);
    std::optional<Kill> kill;
    if (attempt < kills.size()) kill = kills[attempt];
    bool sent = false;
    if (kill) {
      int64_t links = -1;
      while (!child.Poll()) {
        if (kill->after_links >= 0) links = LinksCommitted(target);
        if (links >= kill->after_links) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(kill->delay_ms));
      if (!child.Poll()) {
        child.Kill();
        sent = true;
      }
    }
    int status = child.Wait();
    double secs = std::chrono::duration<double>(Clock::now() - start).count();
    if (sent && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
      ++killed;
      int64_t links = LinksCommitted(target);
      bool hot = std::filesystem::exists(target + "-journal");
      std::printf("[ crash    ] run %zu killed after %.2f s: %s links committed%s\n", attempt, secs,
                  links >= 0 ? std::to_string(links).c_str() : "?",
                  hot ? ", journal left behind" : "");
      continue;
    }
    ASSERT_TRUE(WIFEXITED(status)) << "run " << attempt << " died: " << child.Output();
    ASSERT_EQ(WEXITSTATUS(status), 0) << "run " << attempt << ":\n" << child.Output();
    std::printf("[ crash    ] run %zu finished in %.2f s\n", attempt, secs);
    final_out = ReadFile(out);
    break;
  }
  EXPECT_GE(killed, 5) << "runs finished before they could be killed: the kill schedule does "
                          "not fit this build's speed";

  nlohmann::json finished = nlohmann::json::parse(final_out, nullptr, false);
  ASSERT_TRUE(finished.is_object()) << final_out;
  EXPECT_EQ(finished["total"]["failed"], 0) << final_out;
  EXPECT_EQ(finished["total"]["skipped"], 0) << final_out;

  VerifyTarget(target, source, initial);

  // One more run has nothing to do.
  CommandResult again = RunTether(sync_args, dir.path().string());
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  nlohmann::json j = nlohmann::json::parse(again.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << again.out;
  EXPECT_EQ(j["resumed"], false);
  EXPECT_EQ(j["total"]["read"], kSourceRows) << again.out;
  EXPECT_EQ(j["total"]["unchanged"], kSourceRows) << again.out;
  for (const char* count : {"inserted", "updated", "linked", "deleted", "skipped", "failed"}) {
    EXPECT_EQ(j["total"][count], 0) << count << " in the no-op run:\n" << again.out;
  }
  VerifyTarget(target, source, initial);
  std::printf("[ crash    ] %d kills, %.1f s in all\n", killed,
              std::chrono::duration<double>(Clock::now() - t0).count());
}

}  // namespace
}  // namespace tether::testing
