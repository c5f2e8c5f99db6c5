// Cron schedules in a named time zone.
//
// A schedule matches wall-clock times (minute resolution) in its zone; fire times are real
// instants (Unix seconds). Wall-clock times map to instants through the system tz database
// (Debian's libdate-tz, built with USE_OS_TZDB, reads /usr/share/zoneinfo). Where the two
// differ on daylight-saving days, herald follows Vixie cron and adds one rule of its own:
//
// - Spring forward: a matching wall time that does not exist (01:30 in Europe/London on the
//   last Sunday of March) fires once, at the first instant after the gap (02:00 BST), for
//   every schedule. A digest is never skipped. Several matching times in the gap, and a match
//   at the end of the gap itself, collapse into that one instant.
// - Fall back: a matching wall time that occurs twice (01:30 on the last Sunday of October)
//   fires at its first occurrence only when the schedule names a fixed hour and minute, so a
//   daily or weekly digest is never sent twice. A schedule whose minute or hour field begins
//   with '*' ("*/15 * * * *", "0 * * * *") describes a rhythm of real time, so, as in Vixie
//   cron, it also fires at the second occurrence: every 15 minutes stays every 15 minutes.
// No real instant ever fires twice, and fire times strictly increase.
//
// Algorithm. For a wall time L, let p(L) be the first instant at which the wall clock reads L
// or later: the instant itself if L exists, its first occurrence if it repeats, the end of the
// gap if it does not exist. p is non-decreasing, and p(L) > t exactly when L is later than
// every wall time shown up to t (the "high-water mark", which lags the clock only in a
// repeated hour). The next primary fire time is therefore p(next match after the high-water
// mark). Wildcard schedules also take the earliest instant after t whose own wall time
// matches, searched offset period by offset period; the result is the smaller of the two.
// Matching wall times are found field by field on the proleptic Gregorian calendar.
//
// Cron syntax is Vixie cron's: numbers, a-b, lists, */n and a-b/n steps, month and weekday
// names (jan, mon), 7 as Sunday, and the day rule: when both day-of-month and day-of-week are
// restricted (neither field begins with '*'), a day matches either; otherwise both.
//
// Limit: Debian's zoneinfo files list transitions up to 2037, and libdate-tz does not apply
// the POSIX rule stored after them, so from 2038 on a zone keeps its last offset.
#ifndef USE_OS_TZDB
#define USE_OS_TZDB 1
#endif

#include "daemon/schedule.hpp"

#include <date/date.h>
#include <date/tz.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <exception>

#include "daemon/util.hpp"

#if !USE_OS_TZDB
#error "Debian's libdate-tz is built with USE_OS_TZDB=1; link the CMake target date::date-tz"
#endif

namespace herald {

namespace {

constexpr int64_t k_day = 86'400;
constexpr int64_t k_earliest = -62'135'596'800;  // 0001-01-01T00:00:00Z
constexpr int64_t k_latest = 253'402'300'800;    // 10000-01-01T00:00:00Z
constexpr size_t k_max_expression = 256;

constexpr std::array<std::string_view, 12> k_month_names = {
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 7> k_day_names = {"sun", "mon", "tue", "wed",
                                                         "thu", "fri", "sat"};

struct FieldSpec {
  const char* name;
  int min;
  int max;
  const std::string_view* names;  // names[i] stands for min + i
  size_t name_count;
  const char* name_kind;
};

const std::array<FieldSpec, 5> k_fields = {{
    {"minute", 0, 59, nullptr, 0, nullptr},
    {"hour", 0, 23, nullptr, 0, nullptr},
    {"day-of-month", 1, 31, nullptr, 0, nullptr},
    {"month", 1, 12, k_month_names.data(), k_month_names.size(), "month name"},
    {"day-of-week", 0, 7, k_day_names.data(), k_day_names.size(), "day name"},
}};

struct Macro {
  std::string_view name;
  std::string_view expansion;
};

constexpr std::array<Macro, 7> k_macros = {{
    {"@yearly", "0 0 1 1 *"},
    {"@annually", "0 0 1 1 *"},
    {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"},
    {"@daily", "0 0 * * *"},
    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
}};

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

std::string quoted(std::string_view s) {
  auto text = one_line(s);
  if (text.size() > 40) text = text.substr(0, 40) + "...";
  return "'" + text + "'";
}

// A field's error message prefix: "field 2 (hour): ".
std::string where(size_t index) {
  return "field " + std::to_string(index + 1) + " (" + k_fields[index].name + "): ";
}

Expected<int> parse_number(std::string_view token, size_t index) {
  const auto& spec = k_fields[index];
  if (token.empty()) return bad_input(where(index) + "a value is missing");
  bool digits =
      std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (digits) {
    if (token.size() > 4) {
      return bad_input(where(index) + quoted(token) + " is out of range " +
                       std::to_string(spec.min) + "-" + std::to_string(spec.max));
    }
    int value = 0;
    for (char c : token) value = value * 10 + (c - '0');
    if (value < spec.min || value > spec.max) {
      return bad_input(where(index) + std::to_string(value) + " is out of range " +
                       std::to_string(spec.min) + "-" + std::to_string(spec.max));
    }
    return value;
  }
  for (size_t i = 0; i < spec.name_count; ++i) {
    if (iequals(token, spec.names[i])) return spec.min + static_cast<int>(i);
  }
  std::string what = spec.name_kind ? std::string("a number or a ") + spec.name_kind : "a number";
  return bad_input(where(index) + quoted(token) + " is not " + what);
}

// Parses one field into a bit mask of its values (bit v for value v).
Expected<uint64_t> parse_field(std::string_view text, size_t index) {
  const auto& spec = k_fields[index];
  uint64_t mask = 0;
  for (const auto& item : split(text, ',')) {
    if (item.empty()) return bad_input(where(index) + "empty item in list " + quoted(text));
    std::string_view base = item;
    int step = 1;
    if (auto slash = base.find('/'); slash != std::string_view::npos) {
      auto step_text = base.substr(slash + 1);
      base = base.substr(0, slash);
      bool digits = !step_text.empty() && step_text.size() <= 4 &&
                    std::all_of(step_text.begin(), step_text.end(),
                                [](char c) { return c >= '0' && c <= '9'; });
      if (!digits) return bad_input(where(index) + quoted(step_text) + " is not a valid step");
      step = std::stoi(std::string(step_text));
      if (step < 1) return bad_input(where(index) + "step 0 must be at least 1");
    }
    int lo = 0;
    int hi = 0;
    if (base == "*") {
      lo = spec.min;
      hi = index == 4 ? 6 : spec.max;
    } else if (auto dash = base.find('-'); dash != std::string_view::npos) {
      auto from = parse_number(base.substr(0, dash), index);
      if (!from) return from.error();
      auto to = parse_number(base.substr(dash + 1), index);
      if (!to) return to.error();
      if (*from > *to) {
        return bad_input(where(index) + "range " + quoted(base) + " runs backwards");
      }
      lo = *from;
      hi = *to;
    } else {
      auto value = parse_number(base, index);
      if (!value) return value.error();
      if (item.find('/') != std::string::npos) {
        return bad_input(where(index) + "a step needs '*' or a range before it, as in " +
                         "'*/15' or '0-30/15', not " + quoted(item));
      }
      lo = hi = *value;
    }
    for (int v = lo; v <= hi; v += step) mask |= uint64_t{1} << (index == 4 && v == 7 ? 0 : v);
  }
  return mask;
}

int days_in_month(int year, unsigned month) {
  auto last = date::year{year} / date::month{month} / date::last;
  return static_cast<int>(static_cast<unsigned>(last.day()));
}

}  // namespace

Expected<CronSchedule> CronSchedule::parse(std::string_view expr, std::string_view tz) {
  if (expr.size() > k_max_expression) {
    return bad_input("cron expression is longer than " + std::to_string(k_max_expression) +
                     " characters");
  }
  std::string text = trim(expr);
  if (!text.empty() && text[0] == '@') {
    auto macro = std::find_if(k_macros.begin(), k_macros.end(),
                              [&](const Macro& m) { return iequals(text, m.name); });
    if (macro == k_macros.end()) {
      return bad_input("unknown schedule macro " + quoted(text) +
                       " (known: @hourly @daily @midnight @weekly @monthly @yearly @annually)");
    }
    text = std::string(macro->expansion);
  }
  std::vector<std::string> fields;
  for (auto& part : split(text, ' ')) {
    for (auto& piece : split(part, '\t')) {
      if (!piece.empty()) fields.push_back(std::move(piece));
    }
  }
  if (fields.size() != 5) {
    return bad_input("expected 5 fields (minute hour day-of-month month day-of-week), got " +
                     std::to_string(fields.size()) + " in " + quoted(expr));
  }
  std::array<uint64_t, 5> masks{};
  for (size_t i = 0; i < fields.size(); ++i) {
    auto mask = parse_field(fields[i], i);
    if (!mask) return mask.error();
    masks[i] = *mask;
  }

  CronSchedule s;
  s.m_minutes = std::bitset<60>(masks[0]);
  s.m_hours = std::bitset<24>(masks[1]);
  s.m_days_of_month = std::bitset<32>(masks[2]);
  s.m_months = std::bitset<13>(masks[3]);
  s.m_days_of_week = std::bitset<7>(masks[4]);
  s.m_dom_star = fields[2][0] == '*';
  s.m_dow_star = fields[4][0] == '*';
  s.m_wildcard = fields[0][0] == '*' || fields[1][0] == '*';
  s.m_expression = std::string(expr);

  // With day-of-month alone restricting days, some chosen month must have a chosen day.
  if (!s.m_dom_star || s.m_dow_star) {
    bool possible = false;
    for (unsigned m = 1; m <= 12 && !possible; ++m) {
      if (!s.m_months[m]) continue;
      int longest = m == 2 ? 29 : days_in_month(2001, m);
      for (int d = 1; d <= longest && !possible; ++d) possible = s.m_days_of_month[d];
    }
    if (!possible) {
      return bad_input("schedule " + quoted(expr) +
                       " never fires: no chosen month has a chosen day-of-month");
    }
  }

  if (tz.empty()) return bad_input("empty time zone name");
  try {
    date::get_tzdb();
  } catch (const std::exception& e) {
    return permanent_error(std::string("time zone database unavailable: ") + e.what());
  }
  try {
    s.m_zone = date::locate_zone(tz);
  } catch (const std::exception&) {
    return bad_input("unknown time zone " + quoted(tz));
  }
  try {
    // Loads the zone's file now, so that next_after cannot throw later.
    s.m_zone->get_info(date::sys_seconds{});
  } catch (const std::exception& e) {
    return permanent_error("time zone " + quoted(tz) + " cannot be read: " + e.what());
  }
  s.m_zone_name = std::string(s.m_zone->name());
  return s;
}

bool CronSchedule::day_matches(int64_t days) const {
  date::sys_days day{date::days{days}};
  date::year_month_day ymd{day};
  bool dom = m_days_of_month[static_cast<unsigned>(ymd.day())];
  bool dow = m_days_of_week[date::weekday{day}.c_encoding()];
  if (!m_dom_star && !m_dow_star) return dom || dow;
  return dom && dow;
}

// The first matching wall time (local seconds, minute-aligned) strictly after `local`.
int64_t CronSchedule::next_local_match(int64_t local) const {
  int64_t minute_index = floor_div(local, 60) + 1;
  int64_t days = floor_div(minute_index, 1440);
  int minute_of_day = static_cast<int>(minute_index - days * 1440);
  int hour = minute_of_day / 60;
  int minute = minute_of_day % 60;
  for (;;) {
    date::year_month_day ymd{date::sys_days{date::days{days}}};
    if (static_cast<int>(ymd.year()) > 9999) return k_never;
    if (!m_months[static_cast<unsigned>(ymd.month())]) {
      auto next = date::year_month_day{ymd.year() / ymd.month() / 1} + date::months{1};
      days = date::sys_days{next}.time_since_epoch().count();
      hour = minute = 0;
      continue;
    }
    if (!day_matches(days)) {
      ++days;
      hour = minute = 0;
      continue;
    }
    while (hour < 24 && !m_hours[hour]) {
      ++hour;
      minute = 0;
    }
    if (hour == 24) {
      ++days;
      hour = minute = 0;
      continue;
    }
    while (minute < 60 && !m_minutes[minute]) ++minute;
    if (minute == 60) {
      ++hour;
      minute = 0;
      if (hour == 24) {
        ++days;
        hour = 0;
      }
      continue;
    }
    return days * k_day + hour * 3600 + minute * 60;
  }
}

// The latest wall time the clock has shown at or before instant t.
int64_t CronSchedule::wall_high_water(int64_t t) const {
  auto info = m_zone->get_info(date::sys_seconds{std::chrono::seconds{t}});
  int64_t high = t + info.offset.count();
  int64_t begin = info.begin.time_since_epoch().count();
  for (int i = 0; i < 8 && begin > t - 2 * k_day; ++i) {
    auto prev = m_zone->get_info(date::sys_seconds{std::chrono::seconds{begin - 1}});
    high = std::max(high, begin - 1 + prev.offset.count());
    begin = prev.begin.time_since_epoch().count();
  }
  return high;
}

// p(L): the first instant at which the wall clock reads `local` or later.
int64_t CronSchedule::first_instant_at_or_after(int64_t local) const {
  if (local == k_never) return k_never;
  auto info = m_zone->get_info(date::local_seconds{std::chrono::seconds{local}});
  if (info.result == date::local_info::nonexistent) {
    return info.second.begin.time_since_epoch().count();
  }
  return local - info.first.offset.count();
}

// The first instant in (after, limit) whose own wall time matches, else `limit`.
int64_t CronSchedule::next_wall_match_instant(int64_t after, int64_t limit) const {
  int64_t t = after + 1;
  while (t < limit) {
    auto info = m_zone->get_info(date::sys_seconds{std::chrono::seconds{t}});
    int64_t offset = info.offset.count();
    int64_t local = next_local_match(t + offset - 1);
    if (local == k_never) return limit;
    int64_t candidate = local - offset;
    int64_t end = info.end.time_since_epoch().count();
    if (candidate < end) return std::min(candidate, limit);
    t = end;
  }
  return limit;
}

int64_t CronSchedule::next_after(int64_t after) const {
  if (after >= k_latest) return k_never;
  after = std::max(after, k_earliest);
  int64_t primary = first_instant_at_or_after(next_local_match(wall_high_water(after)));
  if (!m_wildcard) return primary;
  return next_wall_match_instant(after, primary);
}

}  // namespace herald
