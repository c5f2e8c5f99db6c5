// Cron schedules in a named time zone: when a digest is due, computed from injected time.
#pragma once

#include <bitset>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "daemon/expected.hpp"

namespace date {
class time_zone;
}

namespace herald {

// A 5-field cron expression (or @hourly, @daily, @weekly, @monthly, @yearly) evaluated in one
// IANA time zone. Immutable after parse; copies share the process-wide time zone database.
// Daylight-saving rules are described at the top of schedule.cpp.
class CronSchedule {
 public:
  // Returned by next_after when the schedule has no fire time before the year 10000.
  static constexpr int64_t k_never = std::numeric_limits<int64_t>::max();

  // Parses `expr` ("0 8 * * mon-fri", "@weekly") in zone `tz` ("Europe/London", "UTC").
  // bad_input names the field and the offending value; permanent_error if the system time zone
  // database cannot be read.
  static Expected<CronSchedule> parse(std::string_view expr, std::string_view tz);

  // The first fire time strictly after `after` (Unix seconds, UTC), or k_never.
  int64_t next_after(int64_t after) const;

  // The expression as given (macros are kept as written).
  const std::string& expression() const { return m_expression; }
  // The canonical name of the time zone.
  const std::string& zone_name() const { return m_zone_name; }

 private:
  CronSchedule() = default;

  int64_t next_local_match(int64_t local) const;
  bool day_matches(int64_t days) const;
  int64_t wall_high_water(int64_t t) const;
  int64_t first_instant_at_or_after(int64_t local) const;
  int64_t next_wall_match_instant(int64_t after, int64_t limit) const;

  std::bitset<60> m_minutes;
  std::bitset<24> m_hours;
  std::bitset<32> m_days_of_month;  // 1-31
  std::bitset<13> m_months;         // 1-12
  std::bitset<7> m_days_of_week;    // 0 = Sunday
  bool m_dom_star = false;          // the field began with '*' (Vixie cron's day rule)
  bool m_dow_star = false;
  bool m_wildcard = false;  // minute or hour field began with '*': repeats in a repeated hour
  const date::time_zone* m_zone = nullptr;
  std::string m_expression;
  std::string m_zone_name;
};

}  // namespace herald
