#include "core/temporal.h"

#include <gtest/gtest.h>

namespace tether {
namespace {

TEST(TemporalTest, DatesAreCheckedAndKeptAsIs) {
  EXPECT_EQ(CanonicalDate("2024-02-29"), "2024-02-29");
  EXPECT_EQ(CanonicalDate("2024-02-29 00:00:00"), "2024-02-29");
  EXPECT_EQ(CanonicalDate("2023-02-29"), std::nullopt);
  EXPECT_EQ(CanonicalDate("2024-13-01"), std::nullopt);
  EXPECT_EQ(CanonicalDate("2024-01-01 10:00:00"), std::nullopt);  // not a whole day
  EXPECT_EQ(CanonicalDate("0000-00-00"), std::nullopt);           // MySQL's zero date
  EXPECT_EQ(CanonicalDate("yesterday"), std::nullopt);
}

TEST(TemporalTest, DatesSpanPostgresqlsRange) {
  // Years of more than four digits, and years before 1 AD as PostgreSQL writes them.
  EXPECT_EQ(CanonicalDate("10000-01-01"), "10000-01-01");
  EXPECT_EQ(CanonicalDate("5874897-12-31"), "5874897-12-31");
  EXPECT_EQ(CanonicalDate("0044-03-15 BC"), "0044-03-15 BC");
  EXPECT_EQ(CanonicalDate("4714-11-24 BC"), "4714-11-24 BC");
  EXPECT_EQ(CanonicalDate("0001-02-29 BC"), "0001-02-29 BC");  // year 0 is a leap year
  EXPECT_EQ(CanonicalDate("0002-02-29 BC"), std::nullopt);
  EXPECT_EQ(CanonicalDate("0000-01-01"), "0001-01-01 BC");  // year 0 is 1 BC
  EXPECT_EQ(CanonicalDate("0000-01-01 BC"), std::nullopt);
  EXPECT_EQ(CanonicalDate("12345678-01-01"), std::nullopt);
  EXPECT_EQ(CanonicalDate("999-01-01"), std::nullopt);
  EXPECT_EQ(CanonicalTimestamp("10000-01-01 00:00:00+00", true), "10000-01-01 00:00:00+00:00");
  EXPECT_EQ(CanonicalTimestamp("0044-03-15 12:00:00.5+00 BC", true),
            "0044-03-15 12:00:00.5+00:00 BC");
  EXPECT_EQ(CanonicalTimestamp("0044-03-15 12:00:00 BC", false), "0044-03-15 12:00:00 BC");
  EXPECT_EQ(CanonicalTimestamp("0044-03-15 BC", false), "0044-03-15 00:00:00 BC");
  // A zone moves a time across the era.
  EXPECT_EQ(CanonicalTimestamp("0001-01-01 01:00:00+02:00", true), "0001-12-31 23:00:00+00:00 BC");
  EXPECT_EQ(CanonicalTimestamp("9999-12-31 23:00:00-02:00", false), "10000-01-01 01:00:00");
}

TEST(TemporalTest, TimesDropTrailingFractionZeros) {
  EXPECT_EQ(CanonicalTime("13:05"), "13:05:00");
  EXPECT_EQ(CanonicalTime("13:05:09.250000"), "13:05:09.25");
  EXPECT_EQ(CanonicalTime("13:05:09.000"), "13:05:09");
  EXPECT_EQ(CanonicalTime("24:00:00"), "24:00:00");
  EXPECT_EQ(CanonicalTime("24:00:01"), std::nullopt);
  EXPECT_EQ(CanonicalTime("13:60:00"), std::nullopt);
}

TEST(TemporalTest, TimestampsWithoutZone) {
  EXPECT_EQ(CanonicalTimestamp("2024-03-01T13:05:09", false), "2024-03-01 13:05:09");
  EXPECT_EQ(CanonicalTimestamp("2024-03-01 13:05:09.123456", false), "2024-03-01 13:05:09.123456");
  EXPECT_EQ(CanonicalTimestamp("2024-03-01", false), "2024-03-01 00:00:00");
  // A zone in the input is applied: the result is the UTC wall time.
  EXPECT_EQ(CanonicalTimestamp("2024-03-01T01:00:00+02:00", false), "2024-02-29 23:00:00");
  EXPECT_EQ(CanonicalTimestamp("2024-03-01 13:05:09Z", false), "2024-03-01 13:05:09");
  EXPECT_EQ(CanonicalTimestamp("2024-03-01 25:00:00", false), std::nullopt);
}

TEST(TemporalTest, TimestampsWithZoneAreUtc) {
  EXPECT_EQ(CanonicalTimestamp("2024-03-01 13:05:09.5+00", true), "2024-03-01 13:05:09.5+00:00");
  EXPECT_EQ(CanonicalTimestamp("2024-03-01 13:05:09", true), "2024-03-01 13:05:09+00:00");
  EXPECT_EQ(CanonicalTimestamp("2023-12-31T22:30:00-0230", true), "2024-01-01 01:00:00+00:00");
  EXPECT_EQ(CanonicalTimestamp("2024-01-01 00:30:00+05:30", true), "2023-12-31 19:00:00+00:00");
  EXPECT_EQ(CanonicalTimestamp("2024-01-01 00:30:00 +05:30", true), "2023-12-31 19:00:00+00:00");
  EXPECT_EQ(CanonicalTimestamp("2024-01-01 00:30:00+5", true), std::nullopt);
}

TEST(TemporalTest, FractionDigits) {
  EXPECT_EQ(FractionDigits("2024-03-01 13:05:09"), 0);
  EXPECT_EQ(FractionDigits("2024-03-01 13:05:09.123+00:00"), 3);
  EXPECT_EQ(FractionDigits("13:05:09.5"), 1);
}

}  // namespace
}  // namespace tether

namespace tether {
namespace {

TEST(DurationTest, UnitsAndRefusals) {
  EXPECT_EQ(ParseDurationMs("500ms"), 500);
  EXPECT_EQ(ParseDurationMs("5s"), 5000);
  EXPECT_EQ(ParseDurationMs("30"), 30000);
  EXPECT_EQ(ParseDurationMs("2m"), 120000);
  EXPECT_EQ(ParseDurationMs("1h"), 3600000);
  for (const char* bad : {"", "0s", "-5s", "5 s", "5sec", "s", "1.5s", "9999999999s"}) {
    EXPECT_EQ(ParseDurationMs(bad), std::nullopt) << bad;
  }
}

TEST(WallClockTest, UtcSecondsTextIsTheInverseOfUtcSeconds) {
  EXPECT_EQ(UtcSecondsText(0), "1970-01-01 00:00:00");
  EXPECT_EQ(UtcSecondsText(-1), "1969-12-31 23:59:59");
  EXPECT_EQ(UtcSecondsText(*UtcSeconds("2024-02-29 13:05:09")), "2024-02-29 13:05:09");
}

TEST(WallClockTest, IsoUtcRoundTrips) {
  const SystemTime t = *ParseIsoUtc("2026-11-22T02:26:38.123Z");
  EXPECT_EQ(IsoUtc(t), "2026-11-22T02:26:38.123Z");
  EXPECT_EQ(IsoUtc(*ParseIsoUtc("2026-11-22 02:26:38Z")), "2026-11-22T02:26:38.000Z");
  EXPECT_EQ(IsoUtc(SystemTime(std::chrono::milliseconds(-1))), "1969-12-31T23:59:59.999Z");
  EXPECT_FALSE(ParseIsoUtc("yesterday").has_value());
  EXPECT_EQ(UtcNow().size(), 24u);
}

TEST(DateBoundTest, ADateAloneEndsAtTheStartOfTheNextDay) {
  EXPECT_EQ(*ParseDateBound("2024-12-31", true), std::make_pair(std::string("2025-01-01"), false));
  EXPECT_EQ(*ParseDateBound("2024-02-28", true), std::make_pair(std::string("2024-02-29"), false));
  EXPECT_EQ(*ParseDateBound("2024-12-31", false), std::make_pair(std::string("2024-12-31"), true));
  EXPECT_EQ(*ParseDateBound("2024-12-31 10:30", true),
            std::make_pair(std::string("2024-12-31 10:30"), true));
}

TEST(DateBoundTest, NoSuchDateOrTimeIsRefused) {
  for (const char* bad : {"2025-02-29", "2025-13-01", "2025-00-10", "2025-01-01 24:00",
                          "2025-01-01 10:60:00", "31/01/2024", "2025-1-1"}) {
    auto b = ParseDateBound(bad, true);
    ASSERT_FALSE(b.ok()) << bad;
    EXPECT_EQ(b.status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace tether
