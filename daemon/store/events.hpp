// Events: stored once by key, routed once.
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

struct StoredEvent {
  int64_t id = 0;
  Event event;
};

// Events pushed by one inbound request (webhook delivery, API batch).
struct InboundItem {
  std::string source;
  std::string delivery_id;  // the sender's delivery id; empty = no dedup by delivery
  std::vector<Event> events;
  std::vector<bool> announce = {};  // per event: false = no route can take it: stored routed
};

// A count by two keys, for /metrics and herald status.
struct CountRow {
  std::string first, second;
  int64_t count = 0;
};

class EventStore {
 public:
  explicit EventStore(Database& db) : m_db(db) {}

  // Every reader answers an error (temporary) rather than throwing.
  // Inserts events pushed to herald (webhooks, API) in one transaction; returns how many were new.
  Expected<int> insert_events(const std::vector<Event>& events, int64_t now);
  // Group commit of inbound requests: every item in one transaction. Per item,
  // true when stored, false when its delivery id was seen before (nothing stored).
  Expected<std::vector<bool>> ingest(const std::vector<InboundItem>& items, int64_t now);
  // Events received in [from, to) (Unix s) whose kind is listed (all when empty), by id.
  Expected<std::vector<StoredEvent>> events_received_between(int64_t from, int64_t to,
                                                             const std::vector<std::string>& kinds);
  Expected<std::vector<StoredEvent>> unrouted_events(int limit);
  Expected<int64_t> count_events();
  // Stored events by (source, kind).
  Expected<std::vector<CountRow>> count_events_by_source_kind();
  // Those of `keys` that are already stored as event keys.
  Expected<std::vector<std::string>> existing_event_keys(const std::vector<std::string>& keys);
  // The stored event with this key, if any.
  Expected<std::optional<StoredEvent>> event_by_key(const std::string& key);

 private:
  Database& m_db;
};

}  // namespace herald
