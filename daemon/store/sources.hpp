// Per-source state: cursor, validators, failures, next poll.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "daemon/event.hpp"
#include "daemon/expected.hpp"
#include "daemon/store/database.hpp"

namespace herald {

struct SourceState {
  std::string source;
  std::string cursor;
  std::string etag;
  std::string last_modified;
  std::string content_hash;  // of the last body parsed, to skip unchanged bodies
  int64_t last_success = 0;
  int64_t last_attempt = 0;
  std::string last_error;
  int64_t error_count = 0;           // total failures
  int64_t consecutive_failures = 0;  // since the last success, drives backoff
  int64_t next_poll_at = 0;
};

// The result of one successful poll, committed atomically.
struct PollCommit {
  std::string source;
  std::vector<Event> events;
  std::vector<bool> announce;  // per event: false = record as seen, do not route
  std::string cursor, etag, last_modified, content_hash;
  int64_t now = 0;
  int64_t next_poll_at = 0;
};

class SourceStore {
 public:
  explicit SourceStore(Database& db) : m_db(db) {}

  // Every reader answers an error (temporary) rather than throwing; a source
  // never polled has a state of zeros.
  Expected<SourceState> source_state(const std::string& source);
  // Inserts the new events (existing keys are ignored) and advances the
  // source's state in one transaction. Returns how many events were new.
  Expected<int> commit_poll(const PollCommit& poll);
  // Records a failed poll: error text, counters, when to try next. The cursor does not move.
  Status record_poll_failure(const std::string& source, const std::string& error, int64_t now,
                             int64_t next_poll_at);

 private:
  Database& m_db;
};

}  // namespace herald
