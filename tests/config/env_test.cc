// Tests for ${VAR} interpolation and the .env reader.
#include "config/env.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <string>

#include "util/test_util.h"

namespace tether::config_internal {
namespace {

using ::tether::testing::TempDir;
using ::tether::testing::WriteFile;

EnvLookup EnvMapEnv(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(Interpolate, Variables) {
  EnvLookup env = EnvMapEnv({{"A", "x"}, {"B_2", "y"}, {"EMPTY", ""}});
  EXPECT_EQ(*Interpolate("plain", env), "plain");
  EXPECT_EQ(*Interpolate("${A}", env), "x");
  EXPECT_EQ(*Interpolate("<${A}|${B_2}>", env), "<x|y>");
  EXPECT_EQ(*Interpolate("${EMPTY}", env), "");
}

TEST(Interpolate, Defaults) {
  EnvLookup env = EnvMapEnv({{"A", "x"}, {"EMPTY", ""}});
  EXPECT_EQ(*Interpolate("${A:-d}", env), "x");
  EXPECT_EQ(*Interpolate("${UNSET:-d}", env), "d");
  EXPECT_EQ(*Interpolate("${UNSET:-}", env), "");
  EXPECT_EQ(*Interpolate("${UNSET:-a b:c}", env), "a b:c");
  EXPECT_EQ(*Interpolate("${EMPTY:-d}", env), "d");  // as in a shell
}

TEST(Interpolate, Dollars) {
  EnvLookup env = EnvMapEnv({{"A", "x"}});
  EXPECT_EQ(*Interpolate("pa$$word", env), "pa$word");
  EXPECT_EQ(*Interpolate("$${A}", env), "${A}");
  EXPECT_EQ(*Interpolate("$$$${A}", env), "$${A}");
  EXPECT_EQ(*Interpolate("$A $ 5$", env), "$A $ 5$");
  EXPECT_EQ(*Interpolate("$$${A}", env), "$x");
}

TEST(Interpolate, UnsetNamesTheVariable) {
  auto r = Interpolate("postgres://u:${DB_PASS}@h", EnvMapEnv({}));
  ASSERT_CODE(r, StatusCode::kConfig);
  EXPECT_NE(r.status().message().find("DB_PASS"), std::string::npos);
  ASSERT_CODE(Interpolate("${A}", EnvLookup()), StatusCode::kConfig);
}

TEST(Interpolate, Malformed) {
  EnvLookup env = EnvMapEnv({{"A", "x"}});
  ASSERT_CODE(Interpolate("${A", env), StatusCode::kConfig);
  ASSERT_CODE(Interpolate("${}", env), StatusCode::kConfig);
  ASSERT_CODE(Interpolate("${1A}", env), StatusCode::kConfig);
  ASSERT_CODE(Interpolate("${A B}", env), StatusCode::kConfig);
  ASSERT_CODE(Interpolate("${:-x}", env), StatusCode::kConfig);
}

TEST(DotEnv, Syntax) {
  TempDir dir;
  WriteFile(dir.File(".env"),
            "# a comment\n"
            "\n"
            "PLAIN=value\n"
            "  SPACED = some value  \n"
            "export EXPORTED=yes\n"
            "DOUBLE=\"quoted # not a comment\"\n"
            "SINGLE='single # value'\n"
            "EMPTY=\n"
            "HASH=abc#def\n"
            "COMMENTED=abc # comment\n"
            "QUOTED_COMMENT=\"q\" # comment\n"
            "CRLF=win\r\n"
            "URL=postgres://u:p@h/db?x=1\n"
            "PLAIN=again\n");
  auto r = ReadDotEnv(dir.File(".env"));
  ASSERT_OK(r);
  const auto& v = *r;
  EXPECT_EQ(v.at("PLAIN"), "again");  // the last line wins
  EXPECT_EQ(v.at("SPACED"), "some value");
  EXPECT_EQ(v.at("EXPORTED"), "yes");
  EXPECT_EQ(v.at("DOUBLE"), "quoted # not a comment");
  EXPECT_EQ(v.at("SINGLE"), "single # value");
  EXPECT_EQ(v.at("EMPTY"), "");
  EXPECT_EQ(v.at("HASH"), "abc#def");
  EXPECT_EQ(v.at("COMMENTED"), "abc");
  EXPECT_EQ(v.at("QUOTED_COMMENT"), "q");
  EXPECT_EQ(v.at("CRLF"), "win");
  EXPECT_EQ(v.at("URL"), "postgres://u:p@h/db?x=1");
  EXPECT_EQ(v.size(), 11u);
}

TEST(DotEnv, MissingFileIsEmpty) {
  TempDir dir;
  auto r = ReadDotEnv(dir.File(".env"));
  ASSERT_OK(r);
  EXPECT_TRUE(r->empty());
}

TEST(DotEnv, MalformedLinesNameFileAndLine) {
  TempDir dir;
  const std::string path = dir.File(".env");
  for (const char* bad :
       {"no equals sign", "BAD KEY=1", "1X=2", "=value", "Q=\"unterminated", "Q='a' trailing"}) {
    WriteFile(path, std::string("OK=1\n# c\n") + bad + "\n");
    auto r = ReadDotEnv(path);
    ASSERT_CODE(r, StatusCode::kConfig);
    EXPECT_EQ(r.status().message().rfind(path + ":3:", 0), 0u)
        << bad << ": " << r.status().message();
  }
}

TEST(DotEnv, ProcessEnvironmentFirst) {
  setenv("TETHER_ENV_TEST_X", "process", 1);
  unsetenv("TETHER_ENV_TEST_Y");
  EnvLookup env = ProcessEnvThen({{"TETHER_ENV_TEST_X", "file"}, {"TETHER_ENV_TEST_Y", "file"}});
  EXPECT_EQ(env("TETHER_ENV_TEST_X"), "process");
  EXPECT_EQ(env("TETHER_ENV_TEST_Y"), "file");
  EXPECT_EQ(env("TETHER_ENV_TEST_Z"), std::nullopt);
  unsetenv("TETHER_ENV_TEST_X");
}

}  // namespace
}  // namespace tether::config_internal
