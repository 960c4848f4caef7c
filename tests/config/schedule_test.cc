// Tests for ParseSchedule and Schedule::Next: every form and error, interval ticks aligned on the
// epoch, cron ticks across month, year and leap-day boundaries, cron's day-of-month /
// day-of-week rule, expressions that never fire, and Next checked against a minute-by-minute scan.
#include "config/schedule.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "util/test_util.h"

namespace tether {
namespace {

namespace chr = std::chrono;
using TimePoint = chr::system_clock::time_point;

// A UTC date and time.
TimePoint ScheduleAt(int y, unsigned m, unsigned d, int h = 0, int mi = 0, int s = 0) {
  return TimePoint(chr::sys_days(chr::year(y) / m / d) + chr::hours(h) + chr::minutes(mi) +
                   chr::seconds(s));
}

std::string Text(TimePoint t) {
  if (t == TimePoint::max()) return "never";
  const chr::sys_days day = chr::floor<chr::days>(t);
  const chr::year_month_day ymd(day);
  const chr::hh_mm_ss hms(chr::floor<chr::seconds>(t - day));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u %02d:%02d:%02d", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buf;
}

Schedule ParseOrFail(const std::string& text) {
  Result<Schedule> s = ParseSchedule(text);
  EXPECT_TRUE(s.ok()) << text << ": " << s.status().ToString();
  return s.ok() ? *s : Schedule{};
}

// The next tick of `text` after `after`, as text.
std::string Next(const std::string& text, TimePoint after) {
  return Text(ParseOrFail(text).Next(after));
}

template <size_t N>
std::vector<int> Bits(const std::bitset<N>& b) {
  std::vector<int> out;
  for (size_t i = 0; i < N; ++i) {
    if (b[i]) out.push_back(static_cast<int>(i));
  }
  return out;
}

using Ints = std::vector<int>;

TEST(ParseScheduleTest, Intervals) {
  struct Case {
    std::string text;
    int64_t seconds;
    std::string normalized;
  };
  for (const Case& c : std::vector<Case>{{"every 30s", 30, "every 30s"},
                                         {"every 5m", 300, "every 5m"},
                                         {"every 1h", 3600, "every 1h"},
                                         {"every 1d", 86400, "every 1d"},
                                         {"5m", 300, "every 5m"},
                                         {"every 1s", 1, "every 1s"},
                                         {"every 90s", 90, "every 90s"},
                                         {"every 120s", 120, "every 2m"},
                                         {"every 90m", 5400, "every 90m"},
                                         {"every 48h", 172800, "every 2d"},
                                         {"every 2000ms", 2, "every 2s"},
                                         {"every 45", 45, "every 45s"},
                                         {"  EVERY   15m ", 900, "every 15m"}}) {
    SCOPED_TRACE(c.text);
    Result<Schedule> s = ParseSchedule(c.text);
    ASSERT_OK(s);
    EXPECT_EQ(s->kind, Schedule::Kind::kEvery);
    EXPECT_EQ(s->every.count(), c.seconds);
    EXPECT_EQ(s->text, c.normalized);
  }
}

TEST(ParseScheduleTest, CronFields) {
  Schedule s = ParseOrFail("*/15 9-17 * * *");
  EXPECT_EQ(s.kind, Schedule::Kind::kCron);
  EXPECT_EQ(Bits(s.minutes), (Ints{0, 15, 30, 45}));
  EXPECT_EQ(Bits(s.hours), (Ints{9, 10, 11, 12, 13, 14, 15, 16, 17}));
  EXPECT_EQ(Bits(s.days_of_month).size(), 31u);
  EXPECT_FALSE(s.days_of_month[0]);
  EXPECT_EQ(Bits(s.months), (Ints{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}));
  EXPECT_EQ(Bits(s.days_of_week).size(), 7u);
  EXPECT_TRUE(s.any_day_of_month);
  EXPECT_TRUE(s.any_day_of_week);

  EXPECT_EQ(Bits(ParseOrFail("1,2,5-7,59 * * * *").minutes), (Ints{1, 2, 5, 6, 7, 59}));
  EXPECT_EQ(Bits(ParseOrFail("10-50/20 * * * *").minutes), (Ints{10, 30, 50}));
  EXPECT_EQ(Bits(ParseOrFail("5/20 * * * *").minutes), (Ints{5, 25, 45}));
  EXPECT_EQ(Bits(ParseOrFail("0 */5 * * *").hours), (Ints{0, 5, 10, 15, 20}));
  EXPECT_EQ(Bits(ParseOrFail("0 0 1-31/10 * *").days_of_month), (Ints{1, 11, 21, 31}));
  EXPECT_EQ(Bits(ParseOrFail("0 0 * JAN,mar-May,Dec *").months), (Ints{1, 3, 4, 5, 12}));
  EXPECT_EQ(Bits(ParseOrFail("0 0 * 2-3,jUl *").months), (Ints{2, 3, 7}));
  EXPECT_EQ(Bits(ParseOrFail("0 0 * * MON-FRI").days_of_week), (Ints{1, 2, 3, 4, 5}));
  EXPECT_EQ(Bits(ParseOrFail("0 0 * * sun,Sat").days_of_week), (Ints{0, 6}));
  EXPECT_EQ(Bits(ParseOrFail("0 0 * * 7").days_of_week), (Ints{0}));
  EXPECT_EQ(Bits(ParseOrFail("0 0 * * 5-7").days_of_week), (Ints{0, 5, 6}));
  EXPECT_EQ(Bits(ParseOrFail("0 0 * * 0-7").days_of_week), (Ints{0, 1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(Bits(ParseOrFail("0 0 * * */2").days_of_week), (Ints{0, 2, 4, 6}));

  // Restricted means "does not start with *" (crontab(5)).
  Schedule dom = ParseOrFail("0 0 1 * *");
  EXPECT_FALSE(dom.any_day_of_month);
  EXPECT_TRUE(dom.any_day_of_week);
  Schedule step = ParseOrFail("0 0 */2 * MON");
  EXPECT_TRUE(step.any_day_of_month);
  EXPECT_FALSE(step.any_day_of_week);

  EXPECT_EQ(ParseOrFail("  */5\t*  *   * * ").text, "*/5 * * * *");
  EXPECT_EQ(ParseOrFail("0 9 * * mon-FRI").text, "0 9 * * mon-FRI");
}

TEST(ParseScheduleTest, Macros) {
  struct Case {
    std::string macro;
    std::string cron;
  };
  for (const Case& c : std::vector<Case>{{"@hourly", "0 * * * *"},
                                         {"@daily", "0 0 * * *"},
                                         {"@midnight", "0 0 * * *"},
                                         {"@weekly", "0 0 * * 0"},
                                         {"@monthly", "0 0 1 * *"},
                                         {"@yearly", "0 0 1 1 *"},
                                         {"@annually", "0 0 1 1 *"}}) {
    SCOPED_TRACE(c.macro);
    Schedule macro = ParseOrFail(c.macro);
    Schedule cron = ParseOrFail(c.cron);
    EXPECT_EQ(macro.text, c.macro);
    cron.text = c.macro;
    EXPECT_EQ(macro, cron);
  }
  EXPECT_EQ(ParseOrFail("@DAILY").text, "@daily");
}

TEST(ParseScheduleTest, TextParsesBackToTheSameSchedule) {
  for (const std::string text :
       {"every 30s", "5m", "every 120s", "every 2000ms", "every 36h", "@weekly", "@Monthly",
        " */5  * * * * ", "0 0 29 2 *", "0 12 13 * FRI", "5/20 1-5/2 1,15 jan-jun 7"}) {
    SCOPED_TRACE(text);
    Schedule s = ParseOrFail(text);
    Result<Schedule> again = ParseSchedule(s.text);
    ASSERT_OK(again);
    EXPECT_EQ(*again, s);
  }
}

TEST(ParseScheduleTest, Errors) {
  const std::vector<std::string> bad = {
      "",
      "   ",
      "every",
      "every 0s",
      "every 0",
      "every 500ms",
      "every 1500ms",
      "every 5x",
      "every -5m",
      "every 5 m",
      "every 1w",
      "every 5m 0",
      "5x",
      "often",
      "hourly",
      "@reboot",
      "@every 5m",
      "* * * *",
      "* * * * * *",
      "60 * * * *",
      "* 24 * * *",
      "* * 0 * *",
      "* * 32 * *",
      "* * * 0 *",
      "* * * 13 *",
      "* * * * 8",
      "*/0 * * * *",
      "*/ * * * *",
      "5-1 * * * *",
      "1,,2 * * * *",
      ",1 * * * *",
      "-5 * * * *",
      "5- * * * *",
      "*-5 * * * *",
      "1-2-3 * * * *",
      "* * * FOO *",
      "* * * * MONDAY",
      "* * * MON *",
      "* * * * JAN",
      "JAN * * * *",
      "? * * * *",
      "L * * * *",
      "1.5 * * * *",
      "99999 * * * *",
  };
  for (const std::string& text : bad) {
    SCOPED_TRACE("'" + text + "'");
    Result<Schedule> s = ParseSchedule(text);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  }
  // The messages name the field at fault.
  EXPECT_EQ(ParseSchedule("0 25 * * *").status().message(),
            "cron field 2 (hour): 25 is out of range 0-23");
  EXPECT_NE(ParseSchedule("* * * * 8").status().message().find("field 5 (day-of-week)"),
            std::string::npos);
  EXPECT_NE(ParseSchedule("* * *").status().message().find("5-field cron expression"),
            std::string::npos);
}

TEST(ScheduleNextTest, IntervalsTickOnMultiplesSinceTheEpoch) {
  EXPECT_EQ(Next("every 5m", ScheduleAt(2024, 3, 1, 12, 3, 10)), "2024-03-01 12:05:00");
  // Strictly after: a tick is not its own next tick.
  EXPECT_EQ(Next("every 5m", ScheduleAt(2024, 3, 1, 12, 5)), "2024-03-01 12:10:00");
  EXPECT_EQ(Next("every 5m", ScheduleAt(2024, 3, 1, 12, 5) - chr::milliseconds(1)),
            "2024-03-01 12:05:00");
  EXPECT_EQ(Next("every 5m", ScheduleAt(2024, 3, 1, 12, 5) + chr::nanoseconds(1)),
            "2024-03-01 12:10:00");
  EXPECT_EQ(Next("every 1d", ScheduleAt(2024, 2, 28, 23, 59, 59)), "2024-02-29 00:00:00");
  EXPECT_EQ(Next("every 1h", ScheduleAt(1969, 12, 31, 23, 30)), "1970-01-01 00:00:00");
  EXPECT_EQ(Next("every 1h", ScheduleAt(1969, 12, 31, 22, 0)), "1969-12-31 23:00:00");
  EXPECT_EQ(Next("every 30s", TimePoint{}), "1970-01-01 00:00:30");

  // An interval that does not divide a day still counts from the epoch, not from midnight:
  // 2024-01-01 00:00:00 is 1704067200 s = 4057302 * 420 + 360.
  EXPECT_EQ(Next("every 7m", ScheduleAt(2024, 1, 1)), "2024-01-01 00:01:00");
  for (int64_t every : {1, 7, 45, 420, 3601, 86400 * 3}) {
    Schedule s = ParseOrFail("every " + std::to_string(every) + "s");
    for (TimePoint after = ScheduleAt(2023, 12, 31, 23, 0, 17); after < ScheduleAt(2024, 1, 2);
         after += chr::seconds(4999)) {
      const TimePoint next = s.Next(after);
      const int64_t secs = chr::duration_cast<chr::seconds>(next.time_since_epoch()).count();
      EXPECT_EQ(secs % every, 0) << every << " after " << Text(after);
      EXPECT_GT(next, after);
      EXPECT_LE(next - after, chr::seconds(every));
    }
  }
}

TEST(ScheduleNextTest, CronAcrossMonthAndYearEnds) {
  EXPECT_EQ(Next("0 0 1 1 *", ScheduleAt(2023, 12, 31, 23, 59, 30)), "2024-01-01 00:00:00");
  EXPECT_EQ(Next("0 0 1 1 *", ScheduleAt(2024, 1, 1)), "2025-01-01 00:00:00");
  EXPECT_EQ(Next("30 23 31 * *", ScheduleAt(2024, 4, 1)),
            "2024-05-31 23:30:00");  // April has no 31st
  EXPECT_EQ(Next("30 23 31 * *", ScheduleAt(2024, 5, 31, 23, 30)), "2024-07-31 23:30:00");
  EXPECT_EQ(Next("59 23 31 12 *", ScheduleAt(2024, 1, 1)), "2024-12-31 23:59:00");
  EXPECT_EQ(Next("0 0 * * *", ScheduleAt(2024, 12, 31, 0, 0)), "2025-01-01 00:00:00");
  EXPECT_EQ(Next("*/20 */6 * * *", ScheduleAt(2024, 12, 31, 23, 50)), "2025-01-01 00:00:00");
  EXPECT_EQ(Next("0 0 30 * *", ScheduleAt(2023, 1, 30, 1)),
            "2023-03-30 00:00:00");  // skips February
}

TEST(ScheduleNextTest, CronStrictlyAfterAndWithinTheHour) {
  EXPECT_EQ(Next("*/15 * * * *", ScheduleAt(2024, 3, 1, 10, 15)), "2024-03-01 10:30:00");
  EXPECT_EQ(Next("*/15 * * * *", ScheduleAt(2024, 3, 1, 10, 14, 59)), "2024-03-01 10:15:00");
  EXPECT_EQ(Next("*/15 * * * *", ScheduleAt(2024, 3, 1, 10, 15) + chr::milliseconds(500)),
            "2024-03-01 10:30:00");
  EXPECT_EQ(Next("*/15 * * * *", ScheduleAt(2024, 3, 1, 10, 50)), "2024-03-01 11:00:00");
  EXPECT_EQ(Next("5-59/20 * * * *", ScheduleAt(2024, 3, 1, 10, 46)), "2024-03-01 11:05:00");
  EXPECT_EQ(Next("10 9-17/4 * * *", ScheduleAt(2024, 3, 1, 13, 11)), "2024-03-01 17:10:00");
  EXPECT_EQ(Next("10 9-17/4 * * *", ScheduleAt(2024, 3, 1, 17, 10)), "2024-03-02 09:10:00");
  EXPECT_EQ(Next("* * * * *", ScheduleAt(2024, 3, 1, 23, 59, 59)), "2024-03-02 00:00:00");
  EXPECT_EQ(Next("0 0 * * *", ScheduleAt(1969, 12, 31, 12)), "1970-01-01 00:00:00");
}

TEST(ScheduleNextTest, LeapDay) {
  EXPECT_EQ(Next("0 0 29 2 *", ScheduleAt(2023, 3, 1)), "2024-02-29 00:00:00");
  EXPECT_EQ(Next("0 0 29 2 *", ScheduleAt(2024, 2, 29)), "2028-02-29 00:00:00");
  EXPECT_EQ(Next("0 0 29 2 *", ScheduleAt(2024, 2, 28, 23, 59)), "2024-02-29 00:00:00");
  // 2100 is not a leap year: the longest gap, 8 years, is still found.
  EXPECT_EQ(Next("0 0 29 2 *", ScheduleAt(2096, 3, 1)), "2104-02-29 00:00:00");
}

TEST(ScheduleNextTest, DayOfMonthOrDayOfWeekWhenBothAreRestricted) {
  // 2024-10: Fridays are the 4th, 11th, 18th, 25th; the 13th is a Sunday.
  EXPECT_EQ(Next("0 12 13 * FRI", ScheduleAt(2024, 10, 1)), "2024-10-04 12:00:00");
  EXPECT_EQ(Next("0 12 13 * FRI", ScheduleAt(2024, 10, 11, 12)), "2024-10-13 12:00:00");
  EXPECT_EQ(Next("0 12 13 * FRI", ScheduleAt(2024, 10, 13, 12)), "2024-10-18 12:00:00");
  // Only one restricted: it alone decides.
  EXPECT_EQ(Next("0 12 13 * *", ScheduleAt(2024, 10, 1)), "2024-10-13 12:00:00");
  EXPECT_EQ(Next("0 12 * * 5", ScheduleAt(2024, 10, 5)), "2024-10-11 12:00:00");
  // A field starting with '*' is not restricted (crontab(5)): "*/2" and Monday must both hold.
  // 2024-03: Mondays are the 4th, 11th, 18th, 25th; the first odd one is the 11th.
  EXPECT_EQ(Next("0 0 */2 * MON", ScheduleAt(2024, 3, 1)), "2024-03-11 00:00:00");
  EXPECT_EQ(Next("0 0 1-31/2 * MON", ScheduleAt(2024, 3, 1)), "2024-03-03 00:00:00");
}

TEST(ScheduleNextTest, NamesAndSunday) {
  EXPECT_EQ(Next("0 9 * * MON-FRI", ScheduleAt(2024, 3, 1, 9)),
            "2024-03-04 09:00:00");  // Fri -> Mon
  EXPECT_EQ(Next("0 0 * * 7", ScheduleAt(2024, 3, 1)), "2024-03-03 00:00:00");
  EXPECT_EQ(Next("0 0 * * sun", ScheduleAt(2024, 3, 1)), "2024-03-03 00:00:00");
  EXPECT_EQ(Next("0 0 1 jan,JUL *", ScheduleAt(2024, 2, 1)), "2024-07-01 00:00:00");
  EXPECT_EQ(Next("0 0 1 jan,JUL *", ScheduleAt(2024, 7, 1)), "2025-01-01 00:00:00");
}

TEST(ScheduleNextTest, Macros) {
  EXPECT_EQ(Next("@hourly", ScheduleAt(2024, 3, 1, 10)), "2024-03-01 11:00:00");
  EXPECT_EQ(Next("@daily", ScheduleAt(2024, 2, 28, 23)), "2024-02-29 00:00:00");
  EXPECT_EQ(Next("@weekly", ScheduleAt(2024, 3, 2, 12)), "2024-03-03 00:00:00");  // Sat -> Sun
  EXPECT_EQ(Next("@monthly", ScheduleAt(2024, 12, 15)), "2025-01-01 00:00:00");
  EXPECT_EQ(Next("@yearly", ScheduleAt(2024, 6, 1)), "2025-01-01 00:00:00");
}

TEST(ScheduleNextTest, ImpossibleExpressionsNeverFire) {
  for (const std::string text :
       {"0 0 31 2 *", "0 0 30 2 *", "0 0 31 4,6,9,11 *", "59 23 31 FEB,APR,JUN *"}) {
    SCOPED_TRACE(text);
    Schedule s = ParseOrFail(text);
    EXPECT_EQ(Text(s.Next(ScheduleAt(2024, 1, 1))), "never");
    EXPECT_EQ(Text(s.Next(ScheduleAt(1900, 1, 1))), "never");
  }
  // Bounded by 8 years of days at most: many calls stay quick.
  Schedule s = ParseOrFail("0 0 31 2 *");
  for (int i = 0; i < 200; ++i) EXPECT_EQ(s.Next(ScheduleAt(2000 + i, 1, 1)), TimePoint::max());
  // ... while an expression that fires once a year is found however late in the search.
  EXPECT_EQ(Next("0 0 31 4,6,9,11,12 *", ScheduleAt(2024, 1, 1)), "2024-12-31 00:00:00");
}

TEST(ScheduleNextTest, BeyondWhatTimePointHolds) {
  const TimePoint max = TimePoint::max();  // 2262-04-11 with nanoseconds
  EXPECT_EQ(ParseOrFail("every 1d").Next(max - chr::hours(1)), max);
  EXPECT_EQ(ParseOrFail("every 1s").Next(max), max);
  EXPECT_EQ(ParseOrFail("0 0 1 1 *").Next(max - chr::hours(24 * 30)), max);
  EXPECT_EQ(ParseOrFail("* * * * *").Next(max), max);
  EXPECT_EQ(ParseOrFail("every 999999999d").Next(ScheduleAt(2024, 1, 1)), max);
}

// Next against a scan of every minute, from a chain of ticks and from odd starting points.
TEST(ScheduleNextTest, AgreesWithAMinuteByMinuteScan) {
  auto day_matches = [](const Schedule& s, chr::sys_days day) {
    const chr::year_month_day ymd(day);
    const bool dom = s.days_of_month[static_cast<unsigned>(ymd.day())];
    const bool dow = s.days_of_week[chr::weekday(day).c_encoding()];
    const bool day_ok = s.any_day_of_month || s.any_day_of_week ? dom && dow : dom || dow;
    return s.months[static_cast<unsigned>(ymd.month())] && day_ok;
  };
  // Minute by minute, over two years at most; a day that does not match is passed over whole
  // (its 1,440 minutes counted), which keeps the scan quick in a sanitizer build.
  auto scan = [&](const Schedule& s, TimePoint after) {
    TimePoint t = chr::floor<chr::minutes>(after) + chr::minutes(1);
    for (int i = 0; i < 2 * 366 * 1440;) {
      const chr::sys_days day = chr::floor<chr::days>(t);
      if (!day_matches(s, day)) {
        const TimePoint next_day = day + chr::days(1);
        i += static_cast<int>(chr::duration_cast<chr::minutes>(next_day - t).count());
        t = next_day;
        continue;
      }
      const chr::hh_mm_ss hms(t - day);
      if (s.minutes[hms.minutes().count()] && s.hours[hms.hours().count()]) return t;
      ++i;
      t += chr::minutes(1);
    }
    return TimePoint::max();
  };
  for (const std::string text :
       {"*/7 3-5 * * *", "0 0 13 * FRI", "0 12 1,15 * MON", "30 2 * FEB-APR SUN", "0 0 */3 * *",
        "5 4 * * SAT,SUN", "59 23 31 * *", "0 */6 1-7 * 1", "0 0 */2 * 1", "15 10 29 2,3 *",
        "0 0 1 */4 *", "45 23 28-31 * 6"}) {
    SCOPED_TRACE(text);
    Schedule s = ParseOrFail(text);
    TimePoint after = ScheduleAt(2023, 12, 30, 23, 58, 30);
    for (int i = 0; i < 25; ++i) {
      const TimePoint expected = scan(s, after);
      ASSERT_EQ(Text(s.Next(after)), Text(expected)) << "after " << Text(after);
      after = expected;
    }
    for (TimePoint odd = ScheduleAt(2024, 2, 27, 5, 17, 3); odd < ScheduleAt(2024, 3, 3);
         odd += chr::seconds(7919)) {
      ASSERT_EQ(Text(s.Next(odd)), Text(scan(s, odd))) << "after " << Text(odd);
    }
  }
}

}  // namespace
}  // namespace tether
