// Expected instants were computed independently with Python's zoneinfo (tzdata 2025b) by
// scanning real time minute by minute; each is commented with its local time.
#include <catch2/catch.hpp>
#include <vector>

#include "daemon/schedule.hpp"

using namespace herald;

namespace {

CronSchedule must_parse(std::string_view expr, std::string_view tz) {
  auto s = CronSchedule::parse(expr, tz);
  INFO(expr << " in " << tz << ": " << (s ? "" : s.error().message));
  REQUIRE(s.ok());
  return *s;
}

// Every fire time in [from, to).
std::vector<int64_t> fires_between(const CronSchedule& s, int64_t from, int64_t to) {
  std::vector<int64_t> out;
  for (int64_t t = s.next_after(from - 1); t < to; t = s.next_after(t)) {
    out.push_back(t);
    if (out.size() > 100'000) break;
  }
  return out;
}

std::string parse_error(std::string_view expr, std::string_view tz = "UTC") {
  auto s = CronSchedule::parse(expr, tz);
  if (s.ok()) return "(parsed)";
  CHECK(s.error().kind == ErrorKind::bad_input);
  return s.error().message;
}

int64_t sum(const std::vector<int64_t>& v) {
  int64_t total = 0;
  for (auto t : v) total += t;
  return total;
}

}  // namespace

TEST_CASE("schedule: a daily digest in London keeps 08:00 local across both DST changes",
          "[schedule]") {
  auto s = must_parse("0 8 * * *", "Europe/London");
  // From 2026-03-28 00:00Z.
  auto spring = fires_between(s, 1774656000, 1774656000 + 3 * 86400);
  CHECK(spring == std::vector<int64_t>{
                      1774684800,  // 2026-03-28 08:00 GMT
                      1774767600,  // 2026-03-29 08:00 BST (the day clocks go forward)
                      1774854000,  // 2026-03-30 08:00 BST
                  });
  // From 2026-10-24 00:00Z.
  auto autumn = fires_between(s, 1792800000, 1792800000 + 3 * 86400);
  CHECK(autumn == std::vector<int64_t>{
                      1792825200,  // 2026-10-24 08:00 BST
                      1792915200,  // 2026-10-25 08:00 GMT (the day clocks go back)
                      1793001600,  // 2026-10-26 08:00 GMT
                  });
}

TEST_CASE("schedule: weekly 01:30 on Sunday fires once on both DST Sundays in London",
          "[schedule]") {
  auto s = must_parse("30 1 * * 0", "Europe/London");
  // 01:30 does not exist on 2026-03-29: the digest goes out when the gap ends.
  CHECK(s.next_after(1774143000 - 1) == 1774143000);  // 2026-03-22 01:30 GMT
  CHECK(s.next_after(1774143000) == 1774746000);      // 2026-03-29 02:00 BST (01:00Z)
  CHECK(s.next_after(1774746000) == 1775349000);      // 2026-04-05 01:30 BST
  // 01:30 happens twice on 2026-10-25: only the first one fires.
  CHECK(s.next_after(1792283400) == 1792888200);  // 2026-10-25 01:30 BST (00:30Z)
  CHECK(s.next_after(1792888200) == 1793496600);  // 2026-11-01 01:30 GMT
  // Asked from inside the repeated hour, after the second 01:30 GMT has begun.
  CHECK(s.next_after(1792888200 + 3600 + 60) == 1793496600);
}

TEST_CASE("schedule: New York 02:00 on spring-forward day and 01:30 on fall-back day",
          "[schedule]") {
  auto at2 = must_parse("0 2 * * *", "America/New_York");
  CHECK(at2.next_after(1772866800 - 1) == 1772866800);  // 2026-03-07 02:00 EST
  CHECK(at2.next_after(1772866800) == 1772953200);      // 2026-03-08 03:00 EDT, 02:00 skipped
  CHECK(at2.next_after(1772953200) == 1773036000);      // 2026-03-09 02:00 EDT

  auto at130 = must_parse("30 1 * * *", "America/New_York");
  CHECK(at130.next_after(1793424600 - 1) == 1793424600);  // 2026-10-31 01:30 EDT
  CHECK(at130.next_after(1793424600) == 1793511000);      // 2026-11-01 01:30 EDT (05:30Z)
  CHECK(at130.next_after(1793511000) == 1793601000);      // 2026-11-02 01:30 EST
  // From the second 01:30 (EST, 06:30Z) it is tomorrow's turn.
  CHECK(at130.next_after(1793511000 + 3600) == 1793601000);
}

TEST_CASE("schedule: a daily schedule fires exactly once per local day for a whole year",
          "[schedule]") {
  struct Case {
    const char* zone;
    const char* expr;
    int64_t year_start;  // 2026-01-01 00:00 local
    int64_t year_end;    // 2027-01-01 00:00 local
    int64_t first;
    int64_t last;
    int64_t sum;
  };
  const Case cases[] = {
      // first 2026-01-01 08:00 GMT, last 2026-12-31 08:00 GMT
      {"Europe/London", "0 8 * * *", 1767225600, 1798761600, 1767254400, 1798704000, 650786652000},
      // first 2026-01-01 01:30 GMT, last 2026-12-31 01:30 GMT (one gap day, one repeat day)
      {"Europe/London", "30 1 * * *", 1767225600, 1798761600, 1767231000, 1798680600, 650778109200},
      // first 2026-01-01 02:00 EST, last 2026-12-31 02:00 EST
      {"America/New_York", "0 2 * * *", 1767243600, 1798779600, 1767250800, 1798700400,
       650785240800},
      // first 2026-01-01 01:30 EST, last 2026-12-31 01:30 EST
      {"America/New_York", "30 1 * * *", 1767243600, 1798779600, 1767249000, 1798698600,
       650784580200},
      // first 2026-01-01 00:00 UTC, last 2026-12-31 00:00 UTC
      {"UTC", "@daily", 1767225600, 1798761600, 1767225600, 1798675200, 650776896000},
  };
  for (const auto& c : cases) {
    INFO(c.expr << " in " << c.zone);
    auto s = must_parse(c.expr, c.zone);
    auto fires = fires_between(s, c.year_start, c.year_end);
    REQUIRE(fires.size() == 365);
    CHECK(fires.front() == c.first);
    CHECK(fires.back() == c.last);
    CHECK(sum(fires) == c.sum);
    for (size_t i = 1; i < fires.size(); ++i) {
      INFO("fire " << i << " at " << fires[i]);
      CHECK(fires[i] - fires[i - 1] >= 23 * 3600);
      CHECK(fires[i] - fires[i - 1] <= 25 * 3600);
    }
  }
}

TEST_CASE("schedule: every 15 minutes keeps a 15-minute real rhythm across DST changes",
          "[schedule]") {
  struct Case {
    const char* zone;
    int64_t day_start;  // local midnight
    int64_t day_end;    // next local midnight
    size_t count;       // real hours in the day * 4
    int64_t sum;
  };
  const Case cases[] = {
      {"Europe/London", 1774742400, 1774825200, 92, 163280068200},      // 2026-03-29, 23 h
      {"Europe/London", 1792882800, 1792972800, 100, 179292735000},     // 2026-10-25, 25 h
      {"America/New_York", 1772946000, 1773028800, 92, 163114799400},   // 2026-03-08, 23 h
      {"America/New_York", 1793505600, 1793595600, 100, 179355015000},  // 2026-11-01, 25 h
  };
  for (const auto& c : cases) {
    INFO("*/15 in " << c.zone << " from " << c.day_start);
    auto s = must_parse("*/15 * * * *", c.zone);
    auto fires = fires_between(s, c.day_start, c.day_end);
    CHECK(fires.size() == c.count);
    CHECK(sum(fires) == c.sum);
    REQUIRE(!fires.empty());
    CHECK(fires.front() == c.day_start);
    for (size_t i = 1; i < fires.size(); ++i) CHECK(fires[i] - fires[i - 1] == 900);
  }

  auto london = must_parse("*/15 * * * *", "Europe/London");
  // Spring: 00:45 GMT, then 02:00 BST (the gap's 01:xx collapse into it), 02:15 BST.
  CHECK(london.next_after(1774745100 - 1) == 1774745100);
  CHECK(london.next_after(1774745100) == 1774746000);
  CHECK(london.next_after(1774746000) == 1774746900);
  // Autumn: 01:45 BST (00:45Z), then 01:00 GMT (01:00Z), 01:15 GMT.
  CHECK(london.next_after(1792888200 + 900) == 1792890000);
  CHECK(london.next_after(1792890000) == 1792890900);
}

TEST_CASE("schedule: in a repeated hour fixed times fire once and wildcard times twice",
          "[schedule]") {
  // 2026-10-25 in London: 01:00-01:59 BST is 00:00-00:59Z, 01:00-01:59 GMT is 01:00-01:59Z.
  const int64_t first_hour = 1792886400;  // 2026-10-25 01:00 BST
  const int64_t next_day = 1792976400;    // 2026-10-26 01:00 GMT
  auto fixed = must_parse("0,15,30,45 1 * * *", "Europe/London");
  CHECK(fires_between(fixed, first_hour, next_day) ==
        std::vector<int64_t>{first_hour, first_hour + 900, first_hour + 1800, first_hour + 2700});

  auto wildcard = must_parse("*/15 1 * * *", "Europe/London");
  auto fires = fires_between(wildcard, first_hour, next_day);
  REQUIRE(fires.size() == 8);
  for (size_t i = 0; i < fires.size(); ++i) CHECK(fires[i] == first_hour + 900 * int64_t(i));

  auto hourly = must_parse("@hourly", "Europe/London");
  CHECK(fires_between(hourly, first_hour - 3600, first_hour + 3 * 3600) ==
        std::vector<int64_t>{first_hour - 3600, first_hour, first_hour + 3600, first_hour + 7200});
}

TEST_CASE("schedule: @weekly fires Sundays at local midnight", "[schedule]") {
  auto s = must_parse("@weekly", "Europe/London");
  auto fires = fires_between(s, 1767225600, 1798761600);  // the year 2026 in London
  REQUIRE(fires.size() == 52);
  CHECK(fires[0] == 1767484800);  // 2026-01-04 00:00 GMT
  CHECK(fires[1] == 1768089600);  // 2026-01-11 00:00 GMT
  CHECK(sum(fires) == 92711066400);
  auto same = must_parse("0 0 * * sun", "Europe/London");
  CHECK(fires_between(same, 1767225600, 1798761600) == fires);
  auto seven = must_parse("0 0 * * 7", "Europe/London");
  CHECK(seven.next_after(1767225600) == 1767484800);
}

TEST_CASE("schedule: day-of-month and day-of-week restricted together match either", "[schedule]") {
  const int64_t from = 1772280000;  // 2026-02-28 12:00 UTC
  auto either = must_parse("0 9 1 * fri", "UTC");
  CHECK(fires_between(either, from, 1775260800) ==  // until 2026-04-04 00:00 UTC
        std::vector<int64_t>{
            1772355600,  // Sun 2026-03-01 (the 1st)
            1772787600,  // Fri 2026-03-06
            1773392400,  // Fri 2026-03-13
            1773997200,  // Fri 2026-03-20
            1774602000,  // Fri 2026-03-27
            1775034000,  // Wed 2026-04-01 (the 1st)
            1775206800,  // Fri 2026-04-03
        });
  // A day-of-month field that begins with '*' does not trigger the OR rule (Vixie cron).
  auto both = must_parse("0 9 */2 * 5", "UTC");
  CHECK(fires_between(both, from, 1775260800) ==
        std::vector<int64_t>{1773392400, 1774602000, 1775206800});  // odd-dated Fridays
  auto dom_only = must_parse("0 9 1 * *", "UTC");
  CHECK(fires_between(dom_only, from, 1775260800) == std::vector<int64_t>{1772355600, 1775034000});
}

TEST_CASE("schedule: ranges, lists, steps and names", "[schedule]") {
  const int64_t monday = 1772409600;  // 2026-03-02 00:00 UTC, a Monday
  auto s = must_parse("0,30 9-17/4 * mar-apr mon-fri", "UTC");
  auto fires = fires_between(s, monday, monday + 7 * 86400);
  CHECK(fires.size() == 5 * 3 * 2);  // weekdays x {09,13,17} x {:00,:30}
  CHECK(fires.front() == monday + 9 * 3600);
  CHECK(fires.back() == monday + 4 * 86400 + 17 * 3600 + 1800);                      // Fri 17:30
  CHECK(must_parse("0 0 * * 5-7", "UTC").next_after(monday) == monday + 4 * 86400);  // Fri
  CHECK(must_parse("0 0 * * SAT", "UTC").next_after(monday) == monday + 5 * 86400);
  // Feb 29 only: from 2026 the next one is 2028-02-29 12:00 UTC, then 2032.
  auto leap = must_parse("0 12 29 feb *", "UTC");
  CHECK(leap.next_after(1767225600) == 1835438400);
  CHECK(leap.next_after(1835438400) == 1961668800);
  // Strictly after: a fire time itself is not returned again.
  CHECK(must_parse("* * * * *", "UTC").next_after(monday) == monday + 60);
  CHECK(must_parse("* * * * *", "UTC").next_after(monday - 1) == monday);
  CHECK(must_parse("@daily", "UTC").next_after(253402300800) == CronSchedule::k_never);
}

TEST_CASE("schedule: bad expressions and zones are rejected with precise messages", "[schedule]") {
  CHECK(parse_error("0 25 * * *") == "field 2 (hour): 25 is out of range 0-23");
  CHECK(parse_error("0 8 * * *", "Mars/Base") == "unknown time zone 'Mars/Base'");
  CHECK(parse_error("0 8 * * *", "") == "empty time zone name");
  CHECK(parse_error("60 8 * * *") == "field 1 (minute): 60 is out of range 0-59");
  CHECK(parse_error("0 8 0 * *") == "field 3 (day-of-month): 0 is out of range 1-31");
  CHECK(parse_error("0 8 * 13 *") == "field 4 (month): 13 is out of range 1-12");
  CHECK(parse_error("0 8 * * 8") == "field 5 (day-of-week): 8 is out of range 0-7");
  CHECK(parse_error("0 8 * foo *") == "field 4 (month): 'foo' is not a number or a month name");
  CHECK(parse_error("0 8 * * funday") ==
        "field 5 (day-of-week): 'funday' is not a number or a day name");
  CHECK(parse_error("x 8 * * *") == "field 1 (minute): 'x' is not a number");
  CHECK(parse_error("*/0 * * * *") == "field 1 (minute): step 0 must be at least 1");
  CHECK(parse_error("0 8 5-2 * *") == "field 3 (day-of-month): range '5-2' runs backwards");
  CHECK(parse_error("0 8,,9 * * *") == "field 2 (hour): empty item in list '8,,9'");
  CHECK(parse_error("5/10 * * * *") ==
        "field 1 (minute): a step needs '*' or a range before it, as in '*/15' or '0-30/15', "
        "not '5/10'");
  CHECK(parse_error("0 8 * *") ==
        "expected 5 fields (minute hour day-of-month month day-of-week), got 4 in '0 8 * *'");
  CHECK(parse_error("0 8 * * * *").rfind("expected 5 fields", 0) == 0);
  CHECK(parse_error("").rfind("expected 5 fields", 0) == 0);
  CHECK(parse_error("0 0 31 feb,apr *") ==
        "schedule '0 0 31 feb,apr *' never fires: no chosen month has a chosen day-of-month");
  CHECK(parse_error("@reboot").rfind("unknown schedule macro '@reboot'", 0) == 0);
  CHECK(parse_error(std::string(300, '1')) == "cron expression is longer than 256 characters");
}
