// Generates the demo shops. Live is built first, as structured records; staging is then derived
// from it the way a real staging database drifts: cloned from live on 2025-01-01 (so it lacks
// what happened later), renumbered by a re-import (copies get other ids, and ids that exist on
// both sides mean different records), trimmed to about a third, then edited by testers who also
// added records of their own. Every staging copy keeps its natural key, so the sync pairs it
// with its live original by `match`.
#include "demo/demo.h"

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <utility>

#include "connectors/connector.h"
#include "core/ascii.h"
#include "core/temporal.h"
#include "core/value.h"

namespace tether {
namespace {

namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// Randomness and time, both independent of the standard library's version.

// splitmix64: std distributions differ between library versions; this does not.
class Rng {
 public:
  // One stream per table, so changing how one table is generated leaves the others alone.
  Rng(uint64_t seed, std::string_view stream) : state_(seed) {
    for (unsigned char c : stream) state_ = (state_ ^ c) * 0x100000001b3ULL;
  }

  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n), n > 0; the modulo bias is irrelevant at these sizes.
  int64_t Below(int64_t n) { return static_cast<int64_t>(Next() % static_cast<uint64_t>(n)); }
  int64_t Between(int64_t lo, int64_t hi) { return lo + Below(hi - lo + 1); }
  bool Percent(int p) { return Below(100) < p; }
  template <typename C>
  const auto& Pick(const C& items) {
    return items[static_cast<size_t>(Below(static_cast<int64_t>(std::size(items))))];
  }
  template <typename T>
  void Shuffle(std::vector<T>* v) {
    for (size_t i = v->size(); i > 1; --i) {
      std::swap((*v)[i - 1], (*v)[static_cast<size_t>(Below(static_cast<int64_t>(i)))]);
    }
  }

 private:
  uint64_t state_;
};

constexpr int64_t kHour = 3600;
constexpr int64_t kDay = 24 * kHour;

// Seconds since 1970-01-01 UTC at midnight of a date.
int64_t Midnight(int y, int m, int d) { return DaysFromCivil(y, m, d) * kDay; }

const int64_t kCustomersFrom = Midnight(2023, 1, 1);
const int64_t kOrdersFrom = Midnight(2024, 1, 1);
const int64_t kSnapshot = Midnight(2025, 1, 1);  // staging was cloned from live then
const int64_t kDeStoreOpens = Midnight(2025, 3, 1);
const int64_t kNow = Midnight(2026, 1, 1) - 1;  // live as of the end of 2025
const int64_t kBeforeSnapshot = kSnapshot - 1;

// "2024-03-05 14:07:09", or "2024-03-05" without the time.
std::string FormatTime(int64_t t, bool with_time = true) {
  std::string text = UtcSecondsText(t);
  return with_time ? text : text.substr(0, 10);
}

std::string Format(const char* fmt, int64_t n) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), fmt, static_cast<long long>(n));
  return buf;
}

// Value helpers, so rows read like records.
Value Int(int64_t v) { return Value::Int(v); }
Value Text(std::string v) { return Value::Text(std::move(v)); }
Value Time(int64_t t) { return Value::Text(FormatTime(t)); }
Value Money(int64_t cents) {
  const int64_t a = cents < 0 ? -cents : cents;
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%s%lld.%02lld", cents < 0 ? "-" : "",
                static_cast<long long>(a / 100), static_cast<long long>(a % 100));
  return Value::Decimal(buf);
}

// ---------------------------------------------------------------------------------------------
// Word lists.

struct Name {
  const char* display;
  const char* ascii;  // for email addresses
};
constexpr Name kFirstNames[] = {
    {"Emma", "emma"},     {"Liam", "liam"},     {"Olivia", "olivia"}, {"Noah", "noah"},
    {"Ava", "ava"},       {"Lucas", "lucas"},   {"Mia", "mia"},       {"Leo", "leo"},
    {"Chloé", "chloe"},   {"Hugo", "hugo"},     {"Zoë", "zoe"},       {"Jürgen", "juergen"},
    {"Sofia", "sofia"},   {"Elias", "elias"},   {"Léa", "lea"},       {"Oscar", "oscar"},
    {"Hannah", "hannah"}, {"Arthur", "arthur"}, {"Nora", "nora"},     {"Felix", "felix"},
    {"Inès", "ines"},     {"Jack", "jack"},     {"Clara", "clara"},   {"Louis", "louis"},
    {"Grace", "grace"},   {"Paul", "paul"},     {"Ella", "ella"},     {"Max", "max"},
    {"Alice", "alice"},   {"Tom", "tom"},
};
constexpr Name kLastNames[] = {
    {"Smith", "smith"},       {"Martin", "martin"},       {"Müller", "mueller"},
    {"Dubois", "dubois"},     {"Schmidt", "schmidt"},     {"Johnson", "johnson"},
    {"Bernard", "bernard"},   {"Schneider", "schneider"}, {"Brown", "brown"},
    {"Petit", "petit"},       {"Fischer", "fischer"},     {"Wilson", "wilson"},
    {"Moreau", "moreau"},     {"Weber", "weber"},         {"Taylor", "taylor"},
    {"Laurent", "laurent"},   {"Meyer", "meyer"},         {"Davies", "davies"},
    {"Lefèvre", "lefevre"},   {"Wagner", "wagner"},       {"Evans", "evans"},
    {"Girard", "girard"},     {"Becker", "becker"},       {"Clarke", "clarke"},
    {"Roux", "roux"},         {"Hoffmann", "hoffmann"},   {"Walker", "walker"},
    {"Fontaine", "fontaine"}, {"Schulz", "schulz"},       {"Wright", "wright"},
};

struct Country {
  const char* code;
  const char* cities[6];
  const char* streets[5];
  bool number_first;  // "12 Main Street" or "Hauptstraße 12"
};
// Indexed like the live stores: default (US), fr, de.
constexpr Country kCountries[] = {
    {"US",
     {"New York", "Chicago", "Austin", "Seattle", "Denver", "Boston"},
     {"Main Street", "Oak Avenue", "Maple Drive", "Park Road", "Cedar Lane"},
     true},
    {"FR",
     {"Paris", "Lyon", "Marseille", "Toulouse", "Nantes", "Lille"},
     {"rue de la Paix", "avenue Victor Hugo", "boulevard Voltaire", "rue du Moulin",
      "place de la République"},
     true},
    {"DE",
     {"Berlin", "Hamburg", "München", "Köln", "Leipzig", "Dresden"},
     {"Hauptstraße", "Bahnhofstraße", "Gartenweg", "Schillerstraße", "Lindenallee"},
     false},
};

struct Level2 {
  const char* name;
  const char* children[2];
  const char* nouns[2];  // what a product in each child category is called
};
struct Root {
  const char* name;
  const char* sku_prefix;
  Level2 children[3];
};
constexpr Root kCategoryTree[] = {
    {"Women",
     "WOM",
     {{"Clothing", {"Tops", "Bottoms"}, {"Blouse", "Skirt"}},
      {"Shoes", {"Sneakers", "Boots"}, {"Sneaker", "Ankle Boot"}},
      {"Accessories", {"Bags", "Watches"}, {"Tote Bag", "Watch"}}}},
    {"Men",
     "MEN",
     {{"Clothing", {"Shirts", "Trousers"}, {"Shirt", "Chinos"}},
      {"Shoes", {"Sneakers", "Boots"}, {"Sneaker", "Chelsea Boot"}},
      {"Accessories", {"Belts", "Wallets"}, {"Belt", "Wallet"}}}},
    {"Home",
     "HOM",
     {{"Kitchen", {"Cookware", "Cutlery"}, {"Skillet", "Knife Set"}},
      {"Bedroom", {"Bedding", "Lamps"}, {"Duvet Cover", "Table Lamp"}},
      {"Garden", {"Tools", "Planters"}, {"Trowel", "Planter"}}}},
    {"Kids",
     "KID",
     {{"Clothing", {"Pyjamas", "Jackets"}, {"Pyjama Set", "Rain Jacket"}},
      {"Toys", {"Puzzles", "Plush"}, {"Puzzle", "Plush Bear"}},
      {"School", {"Backpacks", "Stationery"}, {"Backpack", "Notebook"}}}},
};

constexpr const char* kAdjectives[] = {"Classic", "Essential", "Everyday", "Premium", "Vintage",
                                       "Urban",   "Cozy",      "Sport",    "Eco",     "Deluxe"};
constexpr const char* kColors[] = {"Navy", "Black", "White", "Olive",   "Sand",
                                   "Red",  "Grey",  "Teal",  "Mustard", "Charcoal"};
constexpr const char* kBlurbs[] = {
    "Made to last, easy to love.",         "Our best seller, now in new colours.",
    "Responsibly sourced materials.",      "Designed in-house and tested by our team.",
    "A customer favourite since day one.",
};
constexpr const char* kSuppliers[] = {"Acme Textiles", "Nordic Goods", "Atelier Martin",
                                      "Kessler GmbH", "Pacific Trading"};
constexpr const char* kPaymentMethods[] = {"card",   "card",    "card",         "paypal",
                                           "paypal", "checkmo", "bank_transfer"};
constexpr const char* kCarriers[] = {"UPS", "DHL", "FedEx", "Colissimo"};
constexpr const char* kRefundReasons[] = {"Damaged in transit", "Wrong size", "Changed mind",
                                          "Not as described"};

struct PageSpec {
  const char* slug;
  const char* title;
};
constexpr PageSpec kPages[] = {
    {"home", "Home"},
    {"about-us", "About Us"},
    {"contact", "Contact"},
    {"faq", "Frequently Asked Questions"},
    {"shipping-policy", "Shipping Policy"},
    {"returns", "Returns & Refunds"},
    {"privacy-policy", "Privacy Policy"},
    {"terms-of-service", "Terms of Service"},
    {"careers", "Careers"},
    {"press", "Press"},
    {"store-locator", "Store Locator"},
    {"size-guide", "Size Guide"},
    {"gift-cards", "Gift Cards"},
    {"sustainability", "Sustainability"},
    {"loyalty-program", "Loyalty Program"},
    {"blog", "Blog"},
    {"lookbook-spring", "Spring Lookbook"},
    {"lookbook-autumn", "Autumn Lookbook"},
    {"black-friday", "Black Friday"},
    {"holiday-gift-guide", "Holiday Gift Guide"},
};

struct CouponSpec {
  const char* code;
  const char* type;
  int64_t cents;  // percent x 100 for "percent"
};
constexpr CouponSpec kNamedCoupons[] = {
    {"WELCOME10", "percent", 1000},   {"SUMMER24", "percent", 1500},
    {"WINTER24", "percent", 2000},    {"SPRING25", "percent", 1000},
    {"SUMMER25", "percent", 1500},    {"BLACKFRIDAY", "percent", 3000},
    {"CYBERMONDAY", "percent", 2500}, {"FREESHIP", "fixed", 495},
    {"VIP20", "percent", 2000},       {"NEWSLETTER5", "fixed", 500},
};

// "-2", "-3", ... for the copies of named things at scale > 1.
std::string ScaleSuffix(int s) { return s == 0 ? "" : "-" + std::to_string(s + 1); }

// ---------------------------------------------------------------------------------------------
// Tables, live and staging side by side.

enum class Fate : uint8_t { kSynced, kInvalid, kFiltered };

struct Table {
  std::string name;
  std::string entity;
  std::vector<std::string> columns;
  bool has_id = true;  // column 0 is the row's own id, and live ids are 1..n in row order
  std::vector<std::pair<size_t, const Table*>> refs;  // column index -> the table it refers to
  std::vector<size_t> not_synced;                     // columns the pipeline excludes

  std::vector<Row> live;
  std::vector<Fate> fate;               // per live row
  std::vector<int64_t> staging_id_of;   // per live row: its copy's staging id, 0 when none
  std::vector<int64_t> staging_row_of;  // per live row: its copy's index in `staging`, or -1
  std::vector<Row> staging;
  int64_t staging_only = 0;

  size_t AddLive(Row row, Fate f = Fate::kSynced) {
    assert(row.size() == columns.size());
    assert(!has_id || row[0].as_int() == static_cast<int64_t>(live.size()) + 1);
    live.push_back(std::move(row));
    fate.push_back(f);
    staging_id_of.push_back(0);
    staging_row_of.push_back(-1);
    return live.size() - 1;
  }
  int64_t NextLiveId() const { return static_cast<int64_t>(live.size()) + 1; }
};

enum class IdOrder {
  kShuffled,    // a re-import in no particular order
  kSequential,  // renumbered in the same order
};

// Gives the future staging copies of live rows `copies`, then `extra` staging-only rows, their
// staging ids; returns the extras' ids. A copy never keeps its live id, so an engine pairing rows
// by id instead of by match key gets every one of them wrong.
std::vector<int64_t> AssignStagingIds(Table* t, const std::vector<size_t>& copies, size_t extra,
                                      IdOrder order, Rng* rng) {
  assert(t->has_id);
  const size_t total = copies.size() + extra;
  std::vector<int64_t> ids(total);
  for (size_t k = 0; k < total; ++k) ids[k] = static_cast<int64_t>(k) + 1;
  if (order == IdOrder::kShuffled) rng->Shuffle(&ids);
  for (int pass = 0; pass < 8 && total > 1; ++pass) {
    bool clean = true;
    for (size_t k = 0; k < copies.size(); ++k) {
      if (ids[k] == static_cast<int64_t>(copies[k]) + 1) {
        std::swap(ids[k], ids[(k + 1) % total]);
        clean = false;
      }
    }
    if (clean) break;
  }
  for (size_t k = 0; k < copies.size(); ++k) t->staging_id_of[copies[k]] = ids[k];
  return std::vector<int64_t>(ids.begin() + static_cast<std::ptrdiff_t>(copies.size()), ids.end());
}

// Live row `index` as staging would hold it: references (and the own id) turned into staging ids.
Result<Row> RemapToStaging(const Table& t, size_t index) {
  Row row = t.live[index];
  if (t.has_id) row[0] = Int(t.staging_id_of[index]);
  for (const auto& [col, parent] : t.refs) {
    if (row[col].is_null()) continue;
    const int64_t live_id = row[col].as_int();
    const int64_t staging_id = parent->staging_id_of[static_cast<size_t>(live_id - 1)];
    if (staging_id == 0) {
      return Status::Internal("demo generator: the staging copy of " + t.name + " row " +
                              t.live[index][0].ToText() + " refers to " + parent->name + " " +
                              std::to_string(live_id) + ", which staging does not hold");
    }
    row[col] = Int(staging_id);
  }
  return row;
}

// Appends the staging copy of live row `index` (see AssignStagingIds), then lets `drift` change
// it the way a stale or hand-edited staging row would differ.
Status AddCopy(Table* t, size_t index, const std::function<void(Row*)>& drift = nullptr) {
  if (t->has_id && t->staging_id_of[index] == 0) {
    return Status::Internal("demo generator: no staging id for " + t->name + " row " +
                            std::to_string(index + 1));
  }
  TETHER_ASSIGN_OR_RETURN(Row row, RemapToStaging(*t, index));
  if (drift) drift(&row);
  t->staging_row_of[index] = static_cast<int64_t>(t->staging.size());
  if (!t->has_id) t->staging_id_of[index] = 1;  // only "present"
  t->staging.push_back(std::move(row));
  return Status::OK();
}

void AddStagingOnly(Table* t, Row row) {
  assert(row.size() == t->columns.size());
  t->staging.push_back(std::move(row));
  ++t->staging_only;
}

// What the sync should do to each live row; see DemoTableSummary.
Result<DemoTableSummary> Summarize(const Table& t) {
  DemoTableSummary s;
  s.table = t.name;
  s.entity = t.entity;
  s.live_rows = static_cast<int64_t>(t.live.size());
  s.staging_rows = static_cast<int64_t>(t.staging.size());
  s.staging_only = t.staging_only;
  for (size_t i = 0; i < t.live.size(); ++i) {
    if (t.fate[i] == Fate::kInvalid) {
      ++s.expect_invalid;
      continue;
    }
    if (t.fate[i] == Fate::kFiltered) {
      ++s.expect_filtered;
      continue;
    }
    if (t.staging_row_of[i] < 0) {
      ++s.expect_insert;
      continue;
    }
    TETHER_ASSIGN_OR_RETURN(Row source, RemapToStaging(t, i));
    const Row& target = t.staging[static_cast<size_t>(t.staging_row_of[i])];
    bool changed = false;
    for (size_t c = t.has_id ? 1 : 0; c < t.columns.size() && !changed; ++c) {
      if (std::find(t.not_synced.begin(), t.not_synced.end(), c) != t.not_synced.end()) continue;
      if (source[c].IsEmpty()) continue;  // on_duplicate: merge keeps the target's value
      changed = source[c] != target[c];
    }
    ++(changed ? s.expect_update : s.expect_unchanged);
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// The shop.

struct Address {
  std::string street, city, postcode, country;
};

struct CustomerInfo {
  std::string email, first, last;
  int store = 0;  // 0 default, 1 fr, 2 de
  int64_t created = 0;
  bool valid = true;
  bool staged = false;
  Address billing, shipping;
};

struct ProductInfo {
  std::string sku, name;
  int64_t price = 0;  // cents
  bool valid = true;
  bool staged = false;
};

enum class OrderFate { kComplete, kClosed, kCanceled };

struct OrderInfo {
  int64_t created = 0;
  int customer = -1;  // index into customers, -1 for a guest
  bool staged = false;
  OrderFate fate = OrderFate::kComplete;
  int64_t cancel_at = 0, invoice_at = 0, ship_at = 0, memo_at = 0;
  int64_t total = 0;
};

// Order status as of time t, from what had happened by then.
std::string StatusAt(const OrderInfo& o, int64_t t) {
  if (o.fate == OrderFate::kCanceled) return t >= o.cancel_at ? "canceled" : "pending";
  if (o.fate == OrderFate::kClosed && o.memo_at <= t) return "closed";
  if (o.ship_at <= t) return "complete";
  if (o.invoice_at <= t) return "processing";
  return "pending";
}

class ShopBuilder {
 public:
  explicit ShopBuilder(const DemoOptions& options) : seed_(options.seed), scale_(options.scale) {
    Define(&store_, "store", "store", {"id", "code", "name", "is_active"});
    Define(&customer_, "customer", "customer",
           {"id", "email", "firstname", "lastname", "store_id", "created_at", "updated_at"});
    customer_.refs = {{4, &store_}};
    Define(&address_, "customer_address", "customer_address",
           {"id", "customer_id", "type", "street", "city", "postcode", "country"});
    address_.refs = {{1, &customer_}};
    Define(&category_, "category", "category", {"id", "parent_id", "slug", "name", "position"});
    category_.refs = {{1, &category_}};
    Define(&product_, "product", "product",
           {"id", "sku", "name", "price", "category_id", "status", "description", "internal_note",
            "updated_at"});
    product_.refs = {{4, &category_}};
    product_.not_synced = {7};
    Define(&product_category_, "product_category", "product_category",
           {"product_id", "category_id", "position"});
    product_category_.has_id = false;
    product_category_.refs = {{0, &product_}, {1, &category_}};
    Define(&stock_, "stock", "stock", {"id", "product_id", "qty", "in_stock"});
    stock_.refs = {{1, &product_}};
    Define(&order_, "sales_order", "order",
           {"id", "increment_id", "customer_id", "customer_email", "store_id", "status",
            "grand_total", "created_at"});
    order_.refs = {{2, &customer_}, {4, &store_}};
    Define(&item_, "sales_order_item", "order_item",
           {"id", "order_id", "product_id", "sku", "name", "qty", "price"});
    item_.refs = {{1, &order_}, {2, &product_}};
    Define(&order_address_, "sales_order_address", "order_address",
           {"id", "order_id", "type", "firstname", "lastname", "street", "city", "postcode",
            "country"});
    order_address_.refs = {{1, &order_}};
    Define(&payment_, "sales_order_payment", "order_payment",
           {"id", "order_id", "method", "amount"});
    payment_.refs = {{1, &order_}};
    Define(&invoice_, "invoice", "invoice",
           {"id", "increment_id", "order_id", "grand_total", "created_at"});
    invoice_.refs = {{2, &order_}};
    Define(&shipment_, "shipment", "shipment",
           {"id", "increment_id", "order_id", "carrier", "tracking_number", "created_at"});
    shipment_.refs = {{2, &order_}};
    Define(&creditmemo_, "creditmemo", "creditmemo",
           {"id", "increment_id", "order_id", "grand_total", "reason", "created_at"});
    creditmemo_.refs = {{2, &order_}};
    Define(&subscriber_, "newsletter_subscriber", "newsletter_subscriber",
           {"id", "email", "customer_id", "status"});
    subscriber_.refs = {{2, &customer_}};
    Define(&page_, "cms_page", "cms_page",
           {"id", "slug", "title", "content", "is_active", "updated_at"});
    Define(&coupon_, "coupon", "coupon", {"id", "code", "discount_type", "discount", "expires_at"});
  }
  ShopBuilder(const ShopBuilder&) = delete;
  ShopBuilder& operator=(const ShopBuilder&) = delete;

  Status Build() {
    TETHER_RETURN_IF_ERROR(BuildStores());
    TETHER_RETURN_IF_ERROR(BuildCustomers());
    TETHER_RETURN_IF_ERROR(BuildCategories());
    TETHER_RETURN_IF_ERROR(BuildProducts());
    TETHER_RETURN_IF_ERROR(BuildOrders());
    TETHER_RETURN_IF_ERROR(BuildSubscribers());
    TETHER_RETURN_IF_ERROR(BuildPages());
    TETHER_RETURN_IF_ERROR(BuildCoupons());
    return Status::OK();
  }

  // Parents before children: the order to create rows in.
  std::vector<const Table*> tables() const { return tables_; }

 private:
  void Define(Table* t, std::string name, std::string entity, std::vector<std::string> columns) {
    t->name = std::move(name);
    t->entity = std::move(entity);
    t->columns = std::move(columns);
    tables_.push_back(t);
  }

  Rng RngFor(std::string_view stream) const { return Rng(seed_, stream); }

  Address RandomAddress(Rng* rng, int country) const {
    const Country& c = kCountries[country];
    const std::string number = std::to_string(rng->Between(1, 180));
    const std::string street = rng->Pick(c.streets);
    Address a;
    a.street = c.number_first ? number + " " + street : street + " " + number;
    a.city = rng->Pick(c.cities);
    a.postcode = Format("%05lld", rng->Between(1000, 99999));
    a.country = c.code;
    return a;
  }

  // Stores do not scale: live has default, fr and de (opened 2025-03, after the clone); staging
  // has fr and default with their ids swapped, plus its own "qa" store.
  Status BuildStores() {
    store_.AddLive({Int(1), Text("default"), Text("Main Store"), Int(1)});
    store_.AddLive({Int(2), Text("fr"), Text("Boutique France"), Int(1)});
    store_.AddLive({Int(3), Text("de"), Text("Shop Deutschland"), Int(1)});
    store_.staging_id_of[0] = 2;
    store_.staging_id_of[1] = 1;
    qa_store_id_ = 3;
    TETHER_RETURN_IF_ERROR(AddCopy(&store_, 1, [](Row* r) { (*r)[2] = Text("French Store"); }));
    TETHER_RETURN_IF_ERROR(AddCopy(&store_, 0));
    AddStagingOnly(&store_, {Int(qa_store_id_), Text("qa"), Text("QA Store"), Int(0)});
    return Status::OK();
  }

  // Customers sign up from 2023 on, ids in sign-up order. Staging holds every second customer who
  // signed up before the clone; a quarter of those have since changed their last name on live,
  // some moved store. One live customer has a malformed email.
  Status BuildCustomers() {
    Rng rng = RngFor("customer");
    const int64_t n = 300 * scale_;
    const int64_t span = kNow - 30 * kDay - kCustomersFrom;
    const int64_t invalid_index = n - 7;
    std::vector<size_t> copies;
    std::vector<int> drift;  // per copy: 0 none, 1 last name, 2 store
    std::vector<int64_t> staging_updated;
    for (int64_t i = 0; i < n; ++i) {
      CustomerInfo c;
      const int64_t id = i + 1;
      c.created = kCustomersFrom + span * i / n + rng.Below(span / n);
      const Name& first = rng.Pick(kFirstNames);
      const Name& last = rng.Pick(kLastNames);
      c.first = first.display;
      c.last = last.display;
      c.valid = i != invalid_index;
      c.email = std::string(first.ascii) + "." + last.ascii + std::to_string(id) +
                (c.valid ? "@example.com" : "(at)example.com");
      if (c.created >= kDeStoreOpens) {
        const int64_t r = rng.Below(10);
        c.store = r < 6 ? 0 : r < 8 ? 1 : 2;
      } else {
        c.store = rng.Percent(70) ? 0 : 1;
      }
      c.staged = c.valid && c.created < kSnapshot && id % 2 == 0;
      int64_t updated = std::min(kNow, c.created + rng.Below(300 * kDay));
      if (c.staged) {
        const size_t j = copies.size();
        const int kind = j % 4 == 1 ? 1 : j % 9 == 4 ? 2 : 0;
        const int64_t before = std::min(kBeforeSnapshot, c.created + rng.Below(60 * kDay));
        if (kind != 0) {
          staging_updated.push_back(before);
          updated = rng.Between(kSnapshot, kNow);
        } else {
          updated = before;
          staging_updated.push_back(before);
        }
        copies.push_back(static_cast<size_t>(i));
        drift.push_back(kind);
      }
      c.billing = RandomAddress(&rng, c.store);
      if (rng.Percent(60)) c.shipping = RandomAddress(&rng, c.store);
      customer_.AddLive({Int(id), Text(c.email), Text(c.first), Text(c.last), Int(c.store + 1),
                         Time(c.created), Time(updated)},
                        c.valid ? Fate::kSynced : Fate::kInvalid);
      customers_.push_back(std::move(c));
    }

    const int64_t qa_count = 5 * scale_;
    const std::vector<int64_t> qa_ids = AssignStagingIds(
        &customer_, copies, static_cast<size_t>(qa_count), IdOrder::kShuffled, &rng);
    for (size_t j = 0; j < copies.size(); ++j) {
      const CustomerInfo& c = customers_[copies[j]];
      const int kind = drift[j];
      const int64_t updated = staging_updated[j];
      std::string old_last = rng.Pick(kLastNames).display;  // the name before marrying
      if (old_last == c.last) old_last = c.last == "Smith" ? "Martin" : "Smith";
      TETHER_RETURN_IF_ERROR(AddCopy(&customer_, copies[j], [&](Row* r) {
        (*r)[6] = Time(updated);
        if (kind == 1) (*r)[3] = Text(old_last);
        if (kind == 2) (*r)[4] = Int(store_.staging_id_of[c.store == 0 ? 1 : 0]);
      }));
    }
    for (int64_t k = 0; k < qa_count; ++k) {
      const int64_t created = Midnight(2025, 2, 1) + k * kDay;
      AddStagingOnly(&customer_, {Int(qa_ids[static_cast<size_t>(k)]),
                                  Text("qa.tester" + std::to_string(k + 1) + "@staging.test"),
                                  Text("QA"), Text("Tester " + std::to_string(k + 1)),
                                  Int(qa_store_id_), Time(created), Time(created)});
    }
    qa_customer_ids_ = qa_ids;

    // Addresses: a billing one for everyone valid, a shipping one for some. Staging has those of
    // its customers; one in six of them is an old address the customer has since changed.
    std::vector<size_t> address_copies;
    for (size_t i = 0; i < customers_.size(); ++i) {
      const CustomerInfo& c = customers_[i];
      if (!c.valid) continue;
      for (int type = 0; type < 2; ++type) {
        const Address& a = type == 0 ? c.billing : c.shipping;
        if (a.street.empty()) continue;
        const size_t row =
            address_.AddLive({Int(address_.NextLiveId()), Int(static_cast<int64_t>(i) + 1),
                              Text(type == 0 ? "billing" : "shipping"), Text(a.street),
                              Text(a.city), Text(a.postcode), Text(a.country)});
        if (c.staged) address_copies.push_back(row);
      }
    }
    const std::vector<int64_t> qa_address_ids = AssignStagingIds(
        &address_, address_copies, static_cast<size_t>(qa_count), IdOrder::kShuffled, &rng);
    for (size_t j = 0; j < address_copies.size(); ++j) {
      const Address old = RandomAddress(&rng, 0);
      TETHER_RETURN_IF_ERROR(AddCopy(&address_, address_copies[j], [&](Row* r) {
        if (j % 6 == 2) (*r)[3] = Text(old.street);
      }));
    }
    for (int64_t k = 0; k < qa_count; ++k) {
      const Address a = RandomAddress(&rng, 0);
      AddStagingOnly(&address_, {Int(qa_address_ids[static_cast<size_t>(k)]),
                                 Int(qa_ids[static_cast<size_t>(k)]), Text("billing"),
                                 Text(a.street), Text(a.city), Text(a.postcode), Text(a.country)});
    }
    return Status::OK();
  }

  // A tree per root (4 roots per scale unit), three levels, rows breadth first so parents come
  // first. Live added one leaf under every third level-2 category after the clone; on live some
  // leaves were renamed (staging has the old lower-case spelling) and some moved (staging still
  // has them under their old parent). Staging has its own "qa-sandbox" branch.
  Status BuildCategories() {
    Rng rng = RngFor("category");
    struct Node {
      int64_t parent = 0;  // live id
      std::string slug, name;
      int level = 1;
      int root = 0;  // index in kCategoryTree
      int64_t position = 0;
    };
    std::vector<Node> nodes;
    std::vector<int64_t> roots, level2;
    for (int s = 0; s < scale_; ++s) {
      for (int r = 0; r < 4; ++r) {
        const std::string suffix = ScaleSuffix(s);
        nodes.push_back(
            {0, AsciiLower(kCategoryTree[r].name) + suffix,
             std::string(kCategoryTree[r].name) + (s ? " " + std::to_string(s + 1) : ""), 1, r, r});
        roots.push_back(static_cast<int64_t>(nodes.size()));
      }
    }
    for (int64_t root_id : roots) {
      const Node root = nodes[static_cast<size_t>(root_id - 1)];
      for (int c = 0; c < 3; ++c) {
        const Level2& l2 = kCategoryTree[root.root].children[c];
        nodes.push_back({root_id, root.slug + "-" + AsciiLower(l2.name), l2.name, 2, root.root, c});
        level2.push_back(static_cast<int64_t>(nodes.size()));
      }
    }
    struct Leaf {
      int64_t id;
      bool staged;
      std::string noun;
    };
    std::vector<Leaf> leaves;
    for (size_t g = 0; g < level2.size(); ++g) {
      const Node parent = nodes[static_cast<size_t>(level2[g] - 1)];
      const Level2& l2 = kCategoryTree[parent.root].children[parent.position];
      for (int c = 0; c < 2; ++c) {
        std::string name = l2.children[c];
        nodes.push_back({level2[g], parent.slug + "-" + AsciiLower(name), name, 3, parent.root, c});
        leaves.push_back(
            {static_cast<int64_t>(nodes.size()), !(g % 3 == 2 && c == 1), l2.nouns[c]});
      }
    }

    std::vector<bool> in_staging(nodes.size(), true);
    for (const Leaf& l : leaves) in_staging[static_cast<size_t>(l.id - 1)] = l.staged;
    std::vector<size_t> copies;
    for (size_t i = 0; i < nodes.size(); ++i) {
      const Node& n = nodes[i];
      category_.AddLive({Int(static_cast<int64_t>(i) + 1), n.parent ? Int(n.parent) : Value::Null(),
                         Text(n.slug), Text(n.name), Int(n.position)});
      if (in_staging[i]) copies.push_back(i);
    }
    const std::vector<int64_t> qa_ids =
        AssignStagingIds(&category_, copies, 2, IdOrder::kShuffled, &rng);
    int64_t staged_leaf = 0;
    for (size_t i : copies) {
      const Node& n = nodes[i];
      const bool leaf = n.level == 3;
      const int64_t t = leaf ? staged_leaf++ : -1;
      // The level-2 category after this leaf's parent, which staging still files it under.
      int64_t old_parent = 0;
      if (leaf && t % 10 == 7) {
        auto it = std::find(level2.begin(), level2.end(), n.parent);
        old_parent = level2[static_cast<size_t>(it - level2.begin() + 1) % level2.size()];
      }
      TETHER_RETURN_IF_ERROR(AddCopy(&category_, i, [&](Row* r) {
        if (leaf && t % 7 == 3) (*r)[3] = Text(AsciiLower(n.name));
        if (old_parent) (*r)[1] = Int(category_.staging_id_of[static_cast<size_t>(old_parent - 1)]);
      }));
    }
    AddStagingOnly(&category_, {Int(qa_ids[0]), Value::Null(), Text("qa-sandbox"),
                                Text("QA Sandbox"), Int(99)});
    AddStagingOnly(&category_, {Int(qa_ids[1]), Int(qa_ids[0]), Text("qa-sandbox-fixtures"),
                                Text("Fixtures"), Int(0)});
    qa_category_id_ = qa_ids[0];
    qa_fixture_category_id_ = qa_ids[1];

    for (const Leaf& l : leaves) {
      leaves_.push_back(l.id);
      leaf_nouns_.push_back(l.noun);
      leaf_roots_.push_back(nodes[static_cast<size_t>(l.id - 1)].root);
      if (l.staged) staged_leaves_.push_back(leaves_.size() - 1);
    }
    return Status::OK();
  }

  // Products, each filed under a leaf category (plus, for some, a second one), with a stock row.
  // Staging holds every third product; on live since the clone some prices, names and statuses
  // changed, and stock moved for a third of them. A few live products have no description, which
  // staging still has: with on_duplicate merge, staging keeps it. Two live products are invalid:
  // a sku with a space and lower case, and a negative price.
  Status BuildProducts() {
    Rng rng = RngFor("product");
    const int64_t n = 500 * scale_;
    struct Drift {
      size_t live_index;
      int64_t staging_updated;
      int64_t old_price;
      std::string old_name;
      bool status, keeps_description;
    };
    std::vector<Drift> drifts;
    std::vector<std::vector<std::pair<int64_t, int64_t>>> assignments;  // (category id, position)
    for (int64_t i = 0; i < n + 2; ++i) {
      const int64_t id = i + 1;
      const bool valid = i < n;
      ProductInfo p;
      p.valid = valid;
      p.staged = valid && id % 3 == 1;
      const size_t leaf =
          p.staged ? staged_leaves_[static_cast<size_t>(
                         rng.Below(static_cast<int64_t>(staged_leaves_.size())))]
                   : static_cast<size_t>(rng.Below(static_cast<int64_t>(leaves_.size())));
      const std::string prefix = kCategoryTree[leaf_roots_[leaf]].sku_prefix;
      p.sku = prefix + Format("-%05lld", id);
      if (i == n) p.sku = AsciiLower(prefix) + Format(" %05lld", id);  // invalid: fails the pattern
      const size_t adjective = static_cast<size_t>(rng.Below(std::size(kAdjectives)));
      const std::string color = rng.Pick(kColors);
      p.name = std::string(kAdjectives[adjective]) + " " + color + " " + leaf_nouns_[leaf];
      const int64_t cents_kind = rng.Below(4);
      p.price = rng.Between(3, 200) * 100 - (cents_kind < 2 ? 1 : cents_kind == 2 ? 50 : 0);
      if (i == n + 1) p.price = -500;  // invalid: fails min 0
      const bool enabled = rng.Percent(92);
      std::optional<std::string> description = p.name + ". " + std::string(rng.Pick(kBlurbs));
      std::optional<std::string> note;
      if (rng.Percent(25)) {
        note = "Supplier: " + std::string(rng.Pick(kSuppliers)) + "; reorder at " +
               std::to_string(rng.Between(5, 40));
      }
      int64_t updated = rng.Between(kOrdersFrom, kNow);
      if (p.staged) {
        const size_t j = drifts.size();
        Drift d{static_cast<size_t>(i),
                rng.Between(kOrdersFrom, kBeforeSnapshot),
                p.price,
                p.name,
                j % 11 == 6,
                j % 40 == 2};
        if (j % 5 == 0) {  // live raised it by about 10 %
          d.old_price = p.price * 100 / 110 / 100 * 100 + 99;
          if (d.old_price == p.price) d.old_price += 100;
        }
        if (j % 7 == 3) {
          d.old_name = std::string(kAdjectives[(adjective + 1) % std::size(kAdjectives)]) + " " +
                       color + " " + leaf_nouns_[leaf];
        }
        const bool changed = d.old_price != p.price || d.old_name != p.name || d.status;
        updated = changed ? rng.Between(kSnapshot, kNow) : d.staging_updated;
        if (!changed) d.staging_updated = updated;
        if (d.keeps_description) description.reset();
        drifts.push_back(std::move(d));
      }
      product_.AddLive(
          {Int(id), Text(p.sku), Text(p.name), Money(p.price), Int(leaves_[leaf]),
           Text(enabled ? "enabled" : "disabled"), description ? Text(*description) : Value::Null(),
           note ? Text(*note) : Value::Null(), Time(updated)},
          valid ? Fate::kSynced : Fate::kInvalid);
      // A second category for some, among those staging has if the product is there too.
      std::vector<std::pair<int64_t, int64_t>> cats = {{leaves_[leaf], rng.Below(50)}};
      if (rng.Percent(30)) {
        const size_t other =
            p.staged ? staged_leaves_[static_cast<size_t>(
                           rng.Below(static_cast<int64_t>(staged_leaves_.size())))]
                     : static_cast<size_t>(rng.Below(static_cast<int64_t>(leaves_.size())));
        if (leaves_[other] != leaves_[leaf]) cats.emplace_back(leaves_[other], rng.Below(50));
      }
      assignments.push_back(std::move(cats));
      products_.push_back(std::move(p));
    }

    std::vector<size_t> copies;
    for (const Drift& d : drifts) copies.push_back(d.live_index);
    const int64_t qa_count = 5 * scale_;
    const std::vector<int64_t> qa_ids = AssignStagingIds(
        &product_, copies, static_cast<size_t>(qa_count), IdOrder::kShuffled, &rng);
    for (size_t j = 0; j < drifts.size(); ++j) {
      const Drift& d = drifts[j];
      TETHER_RETURN_IF_ERROR(AddCopy(&product_, d.live_index, [&](Row* r) {
        (*r)[2] = Text(d.old_name);
        (*r)[3] = Money(d.old_price);
        if (d.status) (*r)[5] = Text((*r)[5].as_string() == "enabled" ? "disabled" : "enabled");
        if (d.keeps_description) (*r)[6] = Text("Legacy description, only on staging.");
        if (j % 3 == 0) (*r)[7] = Text("QA: price checked");
        (*r)[8] = Time(d.staging_updated);
      }));
    }
    for (int64_t k = 0; k < qa_count; ++k) {
      AddStagingOnly(
          &product_,
          {Int(qa_ids[static_cast<size_t>(k)]), Text(Format("QA-TEST-%04lld", k + 1)),
           Text("Test Product " + std::to_string(k + 1)), Money(100), Int(qa_fixture_category_id_),
           Text("enabled"), Text("Staging only."), Value::Null(), Time(Midnight(2025, 2, 3))});
    }
    qa_product_ids_ = qa_ids;

    // product_category: the join table, keyed by its two references.
    size_t pc_copies = 0;
    for (size_t i = 0; i < products_.size(); ++i) {
      if (!products_[i].valid) continue;
      for (const auto& [category_id, position] : assignments[i]) {
        const size_t row = product_category_.AddLive(
            {Int(static_cast<int64_t>(i) + 1), Int(category_id), Int(position)});
        if (products_[i].staged) {
          const size_t j = pc_copies++;
          TETHER_RETURN_IF_ERROR(AddCopy(&product_category_, row, [&, at = position](Row* r) {
            if (j % 9 == 4) (*r)[2] = Int(at + 100);
          }));
        }
      }
    }
    for (int64_t k = 0; k < qa_count; ++k) {
      AddStagingOnly(&product_category_,
                     {Int(qa_ids[static_cast<size_t>(k)]), Int(qa_fixture_category_id_), Int(0)});
    }
    for (size_t j = 0; j < 3 && j < copies.size(); ++j) {  // testers filed real products there too
      AddStagingOnly(&product_category_,
                     {Int(product_.staging_id_of[copies[j]]), Int(qa_category_id_), Int(0)});
    }

    // stock: one row per valid product.
    std::vector<size_t> stock_copies;
    std::vector<int64_t> stock_qty;
    for (size_t i = 0; i < products_.size(); ++i) {
      if (!products_[i].valid) continue;
      const int64_t qty = rng.Percent(10) ? 0 : rng.Between(1, 250);
      const size_t row = stock_.AddLive(
          {Int(stock_.NextLiveId()), Int(static_cast<int64_t>(i) + 1), Int(qty), Int(qty > 0)});
      if (products_[i].staged) {
        stock_copies.push_back(row);
        stock_qty.push_back(qty);
      }
    }
    const std::vector<int64_t> qa_stock_ids = AssignStagingIds(
        &stock_, stock_copies, static_cast<size_t>(qa_count), IdOrder::kShuffled, &rng);
    for (size_t j = 0; j < stock_copies.size(); ++j) {
      int64_t delta = rng.Between(-10, 15);
      if (delta == 0) delta = 5;
      const int64_t old_qty = std::max<int64_t>(0, stock_qty[j] + delta);
      TETHER_RETURN_IF_ERROR(AddCopy(&stock_, stock_copies[j], [&](Row* r) {
        if (j % 3 == 0) {
          (*r)[2] = Int(old_qty == stock_qty[j] ? old_qty + 5 : old_qty);
          (*r)[3] = Int((*r)[2].as_int() > 0);
        }
      }));
    }
    for (int64_t k = 0; k < qa_count; ++k) {
      AddStagingOnly(&stock_, {Int(qa_stock_ids[static_cast<size_t>(k)]),
                               Int(qa_ids[static_cast<size_t>(k)]), Int(999), Int(1)});
    }
    return Status::OK();
  }

  // Orders over 2024-2025 with their items, addresses, payment, invoices, shipments and credit
  // memos. Staging holds the orders placed before the clone by customers it has (and guests),
  // renumbered in order, as they stood then: orders placed just before the clone are still
  // pending or processing there, and lack the documents live created after the clone.
  Status BuildOrders() {
    Rng rng = RngFor("order");
    const int64_t n = 1000 * scale_;
    std::vector<int64_t> created(static_cast<size_t>(n));
    for (int64_t& t : created) t = rng.Between(kOrdersFrom, kNow - kHour);
    std::sort(created.begin(), created.end());

    std::vector<int64_t> customer_created;
    for (const CustomerInfo& c : customers_) customer_created.push_back(c.created);
    std::vector<size_t> valid_products, staged_products;
    for (size_t i = 0; i < products_.size(); ++i) {
      if (products_[i].valid) valid_products.push_back(i);
      if (products_[i].staged) staged_products.push_back(i);
    }

    std::vector<size_t> copies;
    for (int64_t i = 0; i < n; ++i) {
      const int64_t id = i + 1;
      OrderInfo o;
      o.created = created[static_cast<size_t>(i)];
      const int64_t signed_up =
          std::upper_bound(customer_created.begin(), customer_created.end(), o.created) -
          customer_created.begin();
      if (signed_up > 0 && !rng.Percent(10)) {
        o.customer = static_cast<int>(rng.Below(signed_up));
        if (!customers_[static_cast<size_t>(o.customer)].valid) --o.customer;
      }
      const CustomerInfo* customer =
          o.customer >= 0 ? &customers_[static_cast<size_t>(o.customer)] : nullptr;
      int store = customer ? customer->store
                           : static_cast<int>(rng.Below(o.created >= kDeStoreOpens ? 3 : 2));
      o.staged = o.created < kSnapshot && (!customer || customer->staged);

      const int64_t fate = rng.Below(100);
      o.fate = fate < 5   ? OrderFate::kCanceled
               : fate < 8 ? OrderFate::kClosed
                          : OrderFate::kComplete;
      o.cancel_at = o.created + rng.Between(kHour, 3 * kDay);
      o.invoice_at = o.created + rng.Between(60, 36 * kHour);
      o.ship_at = o.invoice_at + rng.Between(kDay, 5 * kDay);
      o.memo_at = o.ship_at + rng.Between(7 * kDay, 30 * kDay);

      // Items: 1-4 distinct products, from those staging has when the order is in staging too.
      const std::vector<size_t>& pool = o.staged ? staged_products : valid_products;
      const int64_t r = rng.Below(10);
      const int64_t count = r < 4 ? 1 : r < 7 ? 2 : r < 9 ? 3 : 4;
      std::vector<size_t> picked;
      while (static_cast<int64_t>(picked.size()) < count) {
        const size_t p = rng.Pick(pool);
        if (std::find(picked.begin(), picked.end(), p) == picked.end()) picked.push_back(p);
      }
      int64_t subtotal = 0;
      for (size_t p : picked) {
        const ProductInfo& product = products_[p];
        const int64_t qty = rng.Between(1, 3);
        subtotal += qty * product.price;
        item_.AddLive({Int(item_.NextLiveId()), Int(id), Int(static_cast<int64_t>(p) + 1),
                       Text(product.sku), Text(product.name), Int(qty), Money(product.price)});
      }
      o.total = subtotal + (subtotal >= 5000 ? 0 : 495);

      const std::string email =
          customer ? customer->email : "guest." + std::to_string(id) + "@example.org";
      order_.AddLive({Int(id), Text(Format("1%08lld", id)),
                      customer ? Int(o.customer + 1) : Value::Null(), Text(email), Int(store + 1),
                      Text(StatusAt(o, kNow)), Money(o.total), Time(o.created)});
      if (o.staged) copies.push_back(static_cast<size_t>(i));

      const Name& first = rng.Pick(kFirstNames);
      const Name& last = rng.Pick(kLastNames);
      const std::string firstname = customer ? customer->first : first.display;
      const std::string lastname = customer ? customer->last : last.display;
      const Address billing = customer ? customer->billing : RandomAddress(&rng, store);
      const Address shipping =
          customer && !customer->shipping.street.empty() ? customer->shipping : billing;
      for (int type = 0; type < 2; ++type) {
        const Address& a = type == 0 ? billing : shipping;
        order_address_.AddLive({Int(order_address_.NextLiveId()), Int(id),
                                Text(type == 0 ? "billing" : "shipping"), Text(firstname),
                                Text(lastname), Text(a.street), Text(a.city), Text(a.postcode),
                                Text(a.country)});
      }
      payment_.AddLive(
          {Int(payment_.NextLiveId()), Int(id), Text(rng.Pick(kPaymentMethods)), Money(o.total)});
      if (o.fate != OrderFate::kCanceled && o.invoice_at <= kNow) {
        const int64_t doc = invoice_.NextLiveId();
        invoice_.AddLive(
            {Int(doc), Text(Format("2%08lld", doc)), Int(id), Money(o.total), Time(o.invoice_at)});
      }
      if (o.fate != OrderFate::kCanceled && o.ship_at <= kNow) {
        const int64_t doc = shipment_.NextLiveId();
        const std::string carrier = rng.Pick(kCarriers);
        shipment_.AddLive({Int(doc), Text(Format("3%08lld", doc)), Int(id), Text(carrier),
                           Text(carrier.substr(0, 2) + Format("%010lld", rng.Below(10000000000))),
                           Time(o.ship_at)});
      }
      if (o.fate == OrderFate::kClosed && o.memo_at <= kNow) {
        const int64_t doc = creditmemo_.NextLiveId();
        creditmemo_.AddLive({Int(doc), Text(Format("4%08lld", doc)), Int(id), Money(o.total),
                             Text(rng.Pick(kRefundReasons)), Time(o.memo_at)});
      }
      orders_.push_back(o);
    }

    // Staging: the staged orders as of the clone, then a few test orders of its own.
    const int64_t qa_count = 3 * scale_;
    const std::vector<int64_t> qa_ids = AssignStagingIds(
        &order_, copies, static_cast<size_t>(qa_count), IdOrder::kSequential, &rng);
    for (size_t i : copies) {
      TETHER_RETURN_IF_ERROR(AddCopy(
          &order_, i, [&](Row* r) { (*r)[5] = Text(StatusAt(orders_[i], kBeforeSnapshot)); }));
    }
    for (int64_t k = 0; k < qa_count; ++k) {
      AddStagingOnly(&order_,
                     {Int(qa_ids[static_cast<size_t>(k)]), Text(Format("QA%07lld", k + 1)),
                      Int(qa_customer_ids_[static_cast<size_t>(k) % qa_customer_ids_.size()]),
                      Text("qa.tester" + std::to_string(k % (5 * scale_) + 1) + "@staging.test"),
                      Int(qa_store_id_), Text("pending"), Money(100 + 495),
                      Time(Midnight(2025, 2, 10) + k * kDay)});
    }

    // Children of orders: staging has those of its orders that existed at the clone.
    auto order_of = [](const Table& t, size_t row, size_t col) {
      return static_cast<size_t>(t.live[row][col].as_int() - 1);
    };
    auto copy_children = [&](Table* t, size_t order_col, int64_t time_col, size_t qa_rows,
                             const std::function<Row(int64_t id, size_t k)>& qa_row) -> Status {
      std::vector<size_t> child_copies;
      for (size_t row = 0; row < t->live.size(); ++row) {
        const size_t o = order_of(*t, row, order_col);
        if (!orders_[o].staged) continue;
        if (time_col >= 0 &&
            t->live[row][static_cast<size_t>(time_col)].as_string() > FormatTime(kBeforeSnapshot)) {
          continue;
        }
        child_copies.push_back(row);
      }
      const std::vector<int64_t> ids =
          AssignStagingIds(t, child_copies, qa_rows, IdOrder::kSequential, &rng);
      for (size_t row : child_copies) TETHER_RETURN_IF_ERROR(AddCopy(t, row));
      for (size_t k = 0; k < qa_rows; ++k) AddStagingOnly(t, qa_row(ids[k], k));
      return Status::OK();
    };
    const size_t qa = static_cast<size_t>(qa_count);
    auto qa_order = [&](size_t k) { return Int(qa_ids[k]); };
    TETHER_RETURN_IF_ERROR(copy_children(&item_, 1, -1, qa, [&](int64_t id, size_t k) {
      const size_t p = k % qa_product_ids_.size();
      return Row{Int(id),
                 qa_order(k),
                 Int(qa_product_ids_[p]),
                 Text(Format("QA-TEST-%04lld", static_cast<int64_t>(p) + 1)),
                 Text("Test Product " + std::to_string(p + 1)),
                 Int(1),
                 Money(100)};
    }));
    TETHER_RETURN_IF_ERROR(copy_children(&order_address_, 1, -1, 2 * qa, [&](int64_t id, size_t k) {
      return Row{Int(id),        qa_order(k / 2), Text(k % 2 ? "shipping" : "billing"),
                 Text("QA"),     Text("Tester"),  Text("1 Test Street"),
                 Text("Austin"), Text("73301"),   Text("US")};
    }));
    TETHER_RETURN_IF_ERROR(copy_children(&payment_, 1, -1, qa, [&](int64_t id, size_t k) {
      return Row{Int(id), qa_order(k), Text("checkmo"), Money(100 + 495)};
    }));
    auto none = [](int64_t, size_t) { return Row{}; };
    TETHER_RETURN_IF_ERROR(copy_children(&invoice_, 2, 4, 0, none));
    TETHER_RETURN_IF_ERROR(copy_children(&shipment_, 2, 5, 0, none));
    TETHER_RETURN_IF_ERROR(copy_children(&creditmemo_, 2, 5, 0, none));
    return Status::OK();
  }

  // Subscribers: customers (same email) and guests. Staging holds every third one it can (its
  // customers, guests), and for a quarter of them still has the status from before they changed
  // it. One live guest typed a malformed email.
  Status BuildSubscribers() {
    Rng rng = RngFor("newsletter_subscriber");
    std::vector<size_t> candidates;
    for (size_t i = 0; i < customers_.size(); ++i) {
      if (customers_[i].valid) candidates.push_back(i);
    }
    rng.Shuffle(&candidates);
    const int64_t n = 200 * scale_;
    size_t next_customer = 0;
    std::vector<size_t> copies;
    for (int64_t k = 0; k <= n; ++k) {
      const int64_t id = k + 1;
      const bool invalid = k == n;
      std::optional<size_t> customer;
      if (!invalid && rng.Percent(70) && next_customer < candidates.size()) {
        customer = candidates[next_customer++];
      }
      const std::string email = invalid    ? "newsletter.fan(at)example.net"
                                : customer ? customers_[*customer].email
                                           : "reader" + std::to_string(id) + "@example.net";
      const bool subscribed = rng.Percent(85);
      subscriber_.AddLive({Int(id), Text(email),
                           customer ? Int(static_cast<int64_t>(*customer) + 1) : Value::Null(),
                           Text(subscribed ? "subscribed" : "unsubscribed")},
                          invalid ? Fate::kInvalid : Fate::kSynced);
      if (!invalid && k % 3 == 0 && (!customer || customers_[*customer].staged)) {
        copies.push_back(static_cast<size_t>(k));
      }
    }
    const int64_t qa_count = 3 * scale_;
    const std::vector<int64_t> qa_ids = AssignStagingIds(
        &subscriber_, copies, static_cast<size_t>(qa_count), IdOrder::kShuffled, &rng);
    for (size_t j = 0; j < copies.size(); ++j) {
      TETHER_RETURN_IF_ERROR(AddCopy(&subscriber_, copies[j], [&](Row* r) {
        if (j % 4 == 1) {
          (*r)[3] = Text((*r)[3].as_string() == "subscribed" ? "unsubscribed" : "subscribed");
        }
      }));
    }
    for (int64_t k = 0; k < qa_count; ++k) {
      const size_t q = static_cast<size_t>(k);
      AddStagingOnly(&subscriber_,
                     {Int(qa_ids[q]), Text("qa.tester" + std::to_string(k + 1) + "@staging.test"),
                      Int(qa_customer_ids_[q % qa_customer_ids_.size()]), Text("subscribed")});
    }
    return Status::OK();
  }

  // CMS pages; drafts (is_active = 0) stay on live by the entity's filter. Staging holds every
  // third published page, half of them with their old content.
  Status BuildPages() {
    Rng rng = RngFor("cms_page");
    std::vector<size_t> copies;
    for (int s = 0; s < scale_; ++s) {
      for (const PageSpec& spec : kPages) {
        const int64_t id = page_.NextLiveId();
        const bool active = rng.Percent(85);
        const std::string title = std::string(spec.title) + (s ? " " + std::to_string(s + 1) : "");
        const size_t row =
            page_.AddLive({Int(id), Text(spec.slug + ScaleSuffix(s)), Text(title),
                           Text("<h1>" + title + "</h1><p>" + rng.Pick(kBlurbs) + "</p>"),
                           Int(active), Time(rng.Between(kOrdersFrom, kNow))},
                          active ? Fate::kSynced : Fate::kFiltered);
        if (active && id % 3 == 0) copies.push_back(row);
      }
    }
    const std::vector<int64_t> qa_ids =
        AssignStagingIds(&page_, copies, 1, IdOrder::kShuffled, &rng);
    for (size_t j = 0; j < copies.size(); ++j) {
      const int64_t old_time = rng.Between(kOrdersFrom, kBeforeSnapshot);
      TETHER_RETURN_IF_ERROR(AddCopy(&page_, copies[j], [&](Row* r) {
        if (j % 2 == 1) {
          (*r)[3] = Text("<h1>" + (*r)[2].as_string() + "</h1><p>Coming soon.</p>");
          (*r)[5] = Time(old_time);
        }
      }));
    }
    AddStagingOnly(&page_, {Int(qa_ids[0]), Text("qa-test-page"), Text("QA Test Page"),
                            Text("<p>Lorem ipsum</p>"), Int(1), Time(Midnight(2025, 2, 1))});
    return Status::OK();
  }

  // Coupons; staging holds every third, some with last season's discount, plus a 100 % coupon
  // that must never reach live.
  Status BuildCoupons() {
    Rng rng = RngFor("coupon");
    std::vector<size_t> copies;
    for (int s = 0; s < scale_; ++s) {
      for (int k = 0; k < 30; ++k) {
        const int64_t id = coupon_.NextLiveId();
        std::string code, type;
        int64_t cents = 0;
        if (k < static_cast<int>(std::size(kNamedCoupons))) {
          code = kNamedCoupons[k].code + ScaleSuffix(s);
          type = kNamedCoupons[k].type;
          cents = kNamedCoupons[k].cents;
        } else {
          code = Format("PROMO-%05lld", id);
          type = rng.Percent(75) ? "percent" : "fixed";
          cents = rng.Between(1, 6) * 500;
        }
        const Value expires =
            rng.Percent(20)
                ? Value::Null()
                : Text(FormatTime(rng.Between(Midnight(2024, 3, 1), Midnight(2026, 6, 30)), false));
        const size_t row =
            coupon_.AddLive({Int(id), Text(code), Text(type), Money(cents), expires});
        if (id % 3 == 0) copies.push_back(row);
      }
    }
    const std::vector<int64_t> qa_ids =
        AssignStagingIds(&coupon_, copies, 1, IdOrder::kShuffled, &rng);
    for (size_t j = 0; j < copies.size(); ++j) {
      TETHER_RETURN_IF_ERROR(AddCopy(&coupon_, copies[j], [&](Row* r) {
        if (j % 3 == 1) {
          const std::string& s = (*r)[3].as_string();
          (*r)[3] = Money(std::stoll(s.substr(0, s.find('.'))) * 100 + 500);
        }
      }));
    }
    AddStagingOnly(&coupon_, {Int(qa_ids[0]), Text("QA-100OFF"), Text("percent"), Money(10000),
                              Value::Null()});
    return Status::OK();
  }

  uint64_t seed_;
  int scale_;
  std::vector<const Table*> tables_;

  Table store_, customer_, address_, category_, product_, product_category_, stock_, order_, item_,
      order_address_, payment_, invoice_, shipment_, creditmemo_, subscriber_, page_, coupon_;

  std::vector<CustomerInfo> customers_;
  std::vector<ProductInfo> products_;
  std::vector<OrderInfo> orders_;
  std::vector<int64_t> leaves_;          // live ids of leaf categories
  std::vector<std::string> leaf_nouns_;  // per leaf
  std::vector<int> leaf_roots_;          // per leaf: index in kCategoryTree
  std::vector<size_t> staged_leaves_;    // indexes into leaves_ that staging holds
  int64_t qa_store_id_ = 0;
  int64_t qa_category_id_ = 0;
  int64_t qa_fixture_category_id_ = 0;
  std::vector<int64_t> qa_customer_ids_;
  std::vector<int64_t> qa_product_ids_;
};

// ---------------------------------------------------------------------------------------------
// Files.

Status RemoveDatabase(const fs::path& path) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    fs::path p = path;
    p += suffix;
    std::error_code ec;
    fs::remove(p, ec);
    if (ec) return Status::Io("cannot remove " + p.string() + ": " + ec.message());
  }
  return Status::OK();
}

Status FillDatabase(Connector* db, const std::vector<const Table*>& tables, bool staging) {
  TETHER_RETURN_IF_ERROR(db->ExecuteScript(std::string(DemoSchemaSql())));
  constexpr size_t kChunk = 500;  // rows per Insert call, well under any bound-parameter limit
  for (const Table* t : tables) {
    const std::vector<Row>& rows = staging ? t->staging : t->live;
    for (size_t start = 0; start < rows.size(); start += kChunk) {
      const auto first = rows.begin() + static_cast<std::ptrdiff_t>(start);
      const auto last =
          rows.begin() + static_cast<std::ptrdiff_t>(std::min(rows.size(), start + kChunk));
      Result<std::vector<Row>> inserted =
          db->Insert(t->name, t->columns, std::vector<Row>(first, last), {});
      if (!inserted.ok()) return inserted.status().WithContext(t->name);
    }
  }
  return Status::OK();
}

Status WriteDatabase(const std::string& connection_name, const fs::path& path,
                     const std::vector<const Table*>& tables, bool staging) {
  TETHER_RETURN_IF_ERROR(RemoveDatabase(path));
  TETHER_ASSIGN_OR_RETURN(std::unique_ptr<Connector> db,
                          OpenConnector(connection_name, "sqlite:" + path.string() + "?create=1"));
  // One transaction, schema included: a single sync to disk instead of one per statement.
  TETHER_RETURN_IF_ERROR(db->Begin());
  Status status = FillDatabase(db.get(), tables, staging);
  if (!status.ok()) {
    Status rollback = db->Rollback();
    (void)rollback;  // the first error is the one worth reporting
    return status.WithContext("demo: writing " + path.string());
  }
  return db->Commit();
}

}  // namespace

Status GenerateDemo(const DemoOptions& options, DemoSummary* summary) {
  if (options.scale < 1 || options.scale > 1000) {
    return Status::InvalidArgument("demo scale must be between 1 and 1000, not " +
                                   std::to_string(options.scale));
  }
  const fs::path dir = options.dir.empty() ? fs::path(".") : fs::path(options.dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::Io("cannot create folder " + dir.string() + ": " + ec.message());

  auto shop = std::make_unique<ShopBuilder>(options);
  TETHER_RETURN_IF_ERROR(shop->Build());

  DemoSummary result;
  result.live_path = (dir / "live.db").string();
  result.staging_path = (dir / "staging.db").string();
  result.config_path = (dir / "tether.yaml").string();
  TETHER_RETURN_IF_ERROR(WriteDatabase("live", result.live_path, shop->tables(), false));
  TETHER_RETURN_IF_ERROR(WriteDatabase("staging", result.staging_path, shop->tables(), true));

  if (!fs::exists(result.config_path, ec)) {
    std::ofstream out(result.config_path, std::ios::binary | std::ios::trunc);
    out << DemoConfigYaml();
    out.close();
    if (!out) return Status::Io("cannot write " + result.config_path);
    result.config_written = true;
  }

  for (const Table* t : shop->tables()) {
    TETHER_ASSIGN_OR_RETURN(DemoTableSummary s, Summarize(*t));
    result.tables.push_back(std::move(s));
  }
  if (summary) *summary = std::move(result);
  return Status::OK();
}

}  // namespace tether
