// `sync --keys FILE` given something that is not a file of keys: a device that never ends, a file
// without line breaks, a folder, a system file. Each is refused (exit 2) naming the file and
// line — never quoting the file's text — with bounded memory, and nothing is written.
#include <string>

#include "e2e_util.h"

namespace tether::e2e {
namespace {

constexpr int kKeysFileUsage = 2;

class KeysFileTest : public ::testing::Test {
 protected:
  // Runs `sync -e item --keys path`: it must be refused, naming `place`, and write nothing.
  CommandResult Refused(const std::string& path, const std::string& place) {
    const std::string before = ReadFile(shop_.staging());
    CommandResult r = shop_.Run({"sync", "-e", "item", "--keys", path});
    EXPECT_EQ(r.exit_code, kKeysFileUsage) << Show(r);
    EXPECT_TRUE(Contains(r.err, place)) << Show(r);
    EXPECT_TRUE(ReadFile(shop_.staging()) == before) << "staging changed";
    return r;
  }
  SmallShop shop_;
};

TEST_F(KeysFileTest, ADeviceThatNeverEndsIsRefusedAtOnce) {
  CommandResult r = Refused("/dev/zero", "/dev/zero:1");
  EXPECT_TRUE(Contains(r.err, "NUL")) << Show(r);
}

TEST_F(KeysFileTest, ALineLongerThanAnyKeyFileHoldsIsRefused) {
  WriteFile(shop_.dir() + "/long.txt", "1\n" + std::string((16 << 20) + 1, '7'));
  Refused("long.txt", "long.txt:2");
}

TEST_F(KeysFileTest, AFolderIsRefused) { Refused(shop_.dir(), "is a folder"); }

TEST_F(KeysFileTest, AFileThatIsNoKeyListIsNamedNeverQuoted) {
  WriteFile(shop_.dir() + "/shadow",
            "root:$y$j9T$Q7secret.hash.text$9Zq:19700:0:99999:7:::\n"
            "daemon:*:19700:0:99999:7:::\n");
  CommandResult r = Refused("shadow", "shadow:1");
  EXPECT_FALSE(Contains(r.err, "secret.hash")) << Show(r);
  EXPECT_FALSE(Contains(r.err, "root")) << Show(r);
  // With several entities, a line is ENTITY<TAB>KEY: the entity is not echoed either.
  WriteFile(shop_.dir() + "/tabs.txt", "secret-name\t1\n");
  CommandResult tabs = shop_.Run({"sync", "--keys", "tabs.txt"});
  EXPECT_EQ(tabs.exit_code, kKeysFileUsage) << Show(tabs);
  EXPECT_TRUE(Contains(tabs.err, "tabs.txt:1")) << Show(tabs);
  EXPECT_FALSE(Contains(tabs.err, "secret-name")) << Show(tabs);
}

}  // namespace
}  // namespace tether::e2e
