#include "adapters/sources/tracker/cursor.hpp"

#include <algorithm>

#include "adapters/sources/tracker/tracker_events.hpp"
#include "daemon/util.hpp"

namespace herald::tracker {

std::string Cursor::text() const {
  std::string out = time;
  for (size_t i = 0; i < ids.size(); ++i) out += (i ? "," : " ") + ids[i];
  return out;
}

bool Cursor::listed(const std::string& id) const {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

bool Cursor::seen(int64_t at, const std::string& id) const {
  return at < ms || (at == ms && (listed(id) || listed(hidden(id))));
}

std::string Cursor::hidden(const std::string& id) { return "~" + sha256_hex(id).substr(0, 16); }

void Cursor::advance(int64_t at, const std::string& at_text, const std::string& id) {
  if (at > ms) {
    ms = at;
    time = trim(at_text);  // parse_jira_time_ms() accepts surrounding blanks
    ids.clear();
  }
  if (at == ms && !id.empty() && !listed(id)) ids.push_back(id);
}

std::optional<Cursor> parse_cursor(const std::string& text) {
  auto space = text.find(' ');
  Cursor c;
  c.time = text.substr(0, space);
  auto ms = parse_jira_time_ms(c.time);
  if (!ms) return std::nullopt;
  c.ms = *ms;
  if (space != std::string::npos)
    for (auto& id : split(text.substr(space + 1), ','))
      if (!id.empty()) c.ids.push_back(id);
  return c;
}

Cursor start_cursor(const std::string& stored, int64_t max_age_ms, int64_t interval_ms,
                    int64_t now, std::vector<std::string>& warnings) {
  if (!stored.empty()) {
    if (auto c = parse_cursor(stored)) return *c;
    warnings.push_back("unreadable cursor '" + one_line(stored) + "'; starting a new window");
  }
  const int64_t lookback = (max_age_ms > 0 ? max_age_ms : interval_ms) / 1000;
  return Cursor{format_rfc3339(now - lookback), (now - lookback) * 1000, {}};
}

}  // namespace herald::tracker
