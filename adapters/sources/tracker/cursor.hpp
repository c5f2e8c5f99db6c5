// The poll cursor shared by the tracker sources (Jira, GitHub). Trackers
// filter "updated since" with coarse precision (Jira: the minute; GitHub: the
// second), so a poll re-reads the boundary and drops what it already took:
// the cursor is the newest instant read plus the ids of the issues read at
// exactly that instant. Stored as "<time as the tracker wrote it> id,id,...".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace herald::tracker {

struct Cursor {
  std::string time;             // the tracker's own text, or herald's "...Z" before any issue
  int64_t ms = 0;               // the same instant, Unix milliseconds
  std::vector<std::string> ids;  // issues read with exactly this instant

  std::string text() const;
  bool listed(const std::string& id) const;
  // True when an issue read at `at` was taken by an earlier poll (a withheld
  // issue is listed under its hidden() form).
  bool seen(int64_t at, const std::string& id) const;
  // Takes an issue read at `at` (an empty id moves the instant only).
  void advance(int64_t at, const std::string& at_text, const std::string& id);
  // How a withheld (restricted) issue is listed: not by its key.
  static std::string hidden(const std::string& id);
};

// Reads a stored cursor; nullopt when it is unreadable.
std::optional<Cursor> parse_cursor(const std::string& text);

// Where a poll starts: the stored cursor, or, when there is none (or it is
// unreadable, which adds a warning), now minus max_age (else one interval).
Cursor start_cursor(const std::string& stored, int64_t max_age_ms, int64_t interval_ms,
                    int64_t now, std::vector<std::string>& warnings);

}  // namespace herald::tracker
