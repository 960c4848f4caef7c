// A password interpolated into a connection URL from ${PASS} must never be printed: not in
// normal output, not with -v, not in JSON or CSV, not in an error message, not in tether's
// own state tables.
#include <string>
#include <vector>

#include "e2e/e2e_util.h"

namespace tether::e2e {
namespace {

constexpr char kSecret[] = "Hunter2-Sup3rS3cret";

// Runs every command with PASS set and checks that no output holds `secret`.
void ExpectNeverPrinted(const SmallShop& shop, const std::vector<std::vector<std::string>>& runs,
                        const std::string& secret, const std::string& env_value) {
  for (const std::vector<std::string>& args : runs) {
    std::string command = "tether";
    for (const std::string& a : args) command += " " + a;
    CommandResult r = shop.Run(args, {"PASS=" + env_value});
    EXPECT_FALSE(Contains(r.out, secret)) << command << " printed the secret\n" << Show(r);
    EXPECT_FALSE(Contains(r.err, secret)) << command << " printed the secret\n" << Show(r);
  }
}

const std::vector<std::vector<std::string>> kCommands = {
    {"check"},
    {"plan"},
    {"plan", "-v", "--format", "json"},
    {"plan", "--format", "csv"},
    {"sync", "-v"},
    {"sync", "--format", "json"},
    {"sync", "nosuchpipeline"},
    {"sync", "--entity", "nosuchentity"},
    {"runs"},
    {"runs", "--format", "json"},
    {"links", "find", "--entity", "item", "--source-id", "1", "--format", "json"},
    {"links", "failed", "--entity", "item"},
};

TEST(SecretsTest, PasswordInAnUnusableUrlIsNeverPrinted) {
  const std::vector<std::pair<std::string, std::string>> urls = {
      {"sqlite:live.db?password=${PASS}", "sqlite:staging.db"},
      {"sqlite:live.db?create=1&key=${PASS}&mode=rw", "sqlite:staging.db"},
      {"sqlite:live.db", "postgres://sync:${PASS}@127.0.0.1:5432/shop?sslmode=require"},
      {"sqlite:live.db", "postgresql://127.0.0.1/shop?user=sync&password=${PASS}"},
      {"sqlite:live.db", "mysql://sync:${PASS}@db.internal/shop"},
      {"https://api.example.com/v1?api_key=${PASS}", "sqlite:staging.db"},
  };
  for (const auto& [live, staging] : urls) {
    SCOPED_TRACE(live + " / " + staging);
    SmallShop shop;
    shop.WriteConfig(SmallShop::Config(live, staging));
    const std::string before = ReadFile(shop.staging());
    ExpectNeverPrinted(shop, kCommands, kSecret, kSecret);
    CommandResult r = shop.Run({"sync"}, {std::string("PASS=") + kSecret});
    EXPECT_NE(r.exit_code, 0) << Show(r);
    EXPECT_TRUE(ReadFile(shop.staging()) == before);
  }
}

TEST(SecretsTest, PasswordOfAnotherConnectionIsNeverPrintedWhileSyncing) {
  // A third connection, not used by the pipeline, carries the password; the pipeline works.
  SmallShop shop;
  std::string text = SmallShop::Config();
  text.replace(text.find("entities:\n"), 0,
               "  crm: { url: \"postgres://sync:${PASS}@crm.internal:5432/crm\" }\n");
  shop.WriteConfig(text);
  ExpectNeverPrinted(shop, kCommands, kSecret, kSecret);
  CommandResult sync = shop.Run({"sync"}, {std::string("PASS=") + kSecret});
  EXPECT_EQ(sync.exit_code, 0) << Show(sync);
  CommandResult check = shop.Run({"check"}, {std::string("PASS=") + kSecret});
  EXPECT_NE(check.exit_code, 0) << "crm cannot be reached\n" << Show(check);
  EXPECT_TRUE(Contains(check.err, "crm")) << Show(check);
  // Nor is it kept in tether's state tables.
  for (const std::string& table :
       SqliteRows(shop.staging(),
                  "SELECT name FROM sqlite_master WHERE type = 'table' AND "
                  "name LIKE 'tether%'")) {
    for (const std::string& row : Dump(shop.staging(), table)) {
      EXPECT_FALSE(Contains(row, kSecret)) << table << ": " << row;
    }
  }
}

TEST(SecretsTest, PasswordFromDotEnvIsNeverPrinted) {
  SmallShop shop;
  WriteFile(shop.dir() + "/.env", std::string("PASS=") + kSecret + "\n");
  shop.WriteConfig(
      SmallShop::Config("sqlite:live.db", "postgres://sync:${PASS}@127.0.0.1:5432/shop"));
  for (const std::vector<std::string>& args : kCommands) {
    CommandResult r = shop.Run(args);
    EXPECT_NE(r.exit_code, 0) << Show(r);
    EXPECT_FALSE(Contains(r.out + r.err, kSecret)) << Show(r);
  }
}

TEST(SecretsTest, PasswordNextToAConfigErrorIsNeverPrinted) {
  SmallShop shop;
  std::string text = SmallShop::Config("sqlite:live.db", "postgres://sync:${PASS}@h/shop");
  text.replace(text.find("    key: id\n"), 12, "    key: id\n    kee: id\n");
  shop.WriteConfig(text);
  CommandResult r = shop.Run({"sync"}, {std::string("PASS=") + kSecret});
  EXPECT_EQ(r.exit_code, 3) << Show(r);
  EXPECT_TRUE(Contains(r.err, "kee")) << Show(r);
  EXPECT_FALSE(Contains(r.out + r.err, kSecret)) << Show(r);
}

// BUG: the URL redaction guesses where a password ends, and a password holding URL-reserved
// characters leaks in part. With PASS='p@ss?w=rd' in postgres://sync:${PASS}@host/db, the
// message shows 'postgres://sync:***@ss?w=rd@127.0.0.1:5432/shop'; with
// mysql://h/db?user=u&password=${PASS} and PASS='x&y9Secret' it shows 'password=***&y9Secret'
// (a space or ';' leaks the same way). tether knows which characters came from ${PASS}.
TEST(SecretsTest, PasswordWithUrlReservedCharactersIsNeverPrinted) {
  struct Case {
    std::string url, password, tail;
  };
  const std::vector<Case> cases = {
      {"postgres://sync:${PASS}@127.0.0.1:5432/shop", "p@ss?w=rd9Tail", "w=rd9Tail"},
      {"postgres://sync:${PASS}@127.0.0.1:5432/shop", "pa:ss/w@rd9Tail", "rd9Tail"},
      {"mysql://127.0.0.1/shop?user=sync&password=${PASS}&ssl=1", "x&y9Secret", "y9Secret"},
      {"mysql://127.0.0.1/shop?user=sync&password=${PASS}", "two words9", "words9"},
      {"mysql://127.0.0.1/shop?user=sync&password=${PASS}", "semi;colon9", "colon9"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.url + " with PASS=" + c.password);
    SmallShop shop;
    shop.WriteConfig(SmallShop::Config("sqlite:live.db", c.url));
    ExpectNeverPrinted(shop, {{"check"}, {"sync"}}, c.tail, c.password);
  }
}

}  // namespace
}  // namespace tether::e2e
