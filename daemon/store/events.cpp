// Events: what sources and inbound requests stored, and what routing reads.
#include "daemon/store/events.hpp"

#include <algorithm>

#include "daemon/store/sqlite.hpp"

namespace herald {

using namespace store_sql;

Expected<int> EventStore::insert_events(const std::vector<Event>& events, int64_t now) {
  std::lock_guard lock(m_db.mutex());
  return guarded("insert events", [&]() -> Expected<int> {
    Transaction tx(conn(m_db));
    int added = EventInserter(m_db).insert(events, nullptr, now);
    tx.commit();
    return added;
  });
}

Expected<std::vector<bool>> EventStore::ingest(const std::vector<InboundItem>& items, int64_t now) {
  std::lock_guard lock(m_db.mutex());
  return guarded("ingest", [&]() -> Expected<std::vector<bool>> {
    Transaction tx(conn(m_db));
    Stmt seen(conn(m_db),
              "INSERT INTO inbound_deliveries(source, delivery_id, received_at) VALUES(?,?,?) "
              "ON CONFLICT DO NOTHING");
    EventInserter inserter(m_db);
    std::vector<bool> stored;
    stored.reserve(items.size());
    for (const auto& item : items) {
      if (!item.delivery_id.empty()) {
        seen.bind(1, item.source).bind(2, item.delivery_id).bind(3, now);
        seen.run();
        if (sqlite3_changes(m_db.raw()) == 0) {
          stored.push_back(false);
          continue;
        }
      }
      inserter.insert(item.events, &item.announce, now);
      stored.push_back(true);
    }
    tx.commit();
    return stored;
  });
}

Expected<std::vector<StoredEvent>> EventStore::events_received_between(
    int64_t from, int64_t to, const std::vector<std::string>& kinds) {
  std::lock_guard lock(m_db.mutex());
  return guarded("events received", [&]() -> Expected<std::vector<StoredEvent>> {
    std::vector<StoredEvent> out;
    Stmt st(conn(m_db),
            "SELECT id, kind, body FROM events WHERE received_at >= ? AND received_at < ? "
            "ORDER BY id");
    st.bind(1, from).bind(2, to);
    while (st.step()) {
      if (!kinds.empty() && std::find(kinds.begin(), kinds.end(), st.text(1)) == kinds.end())
        continue;
      StoredEvent se;
      se.id = st.i64(0);
      se.event = event_from_json(nlohmann::json::parse(st.text(2)));
      out.push_back(std::move(se));
    }
    return out;
  });
}

Expected<std::vector<StoredEvent>> EventStore::unrouted_events(int limit) {
  return guarded("unrouted events", [&]() -> Expected<std::vector<StoredEvent>> {
    std::vector<std::pair<int64_t, std::string>> rows;
    {
      std::lock_guard lock(m_db.mutex());  // JSON is parsed after, so writers are not held up
      Stmt st(conn(m_db), "SELECT id, body FROM events WHERE routed = 0 ORDER BY id LIMIT ?");
      st.bind(1, int64_t{limit});
      while (st.step()) rows.emplace_back(st.i64(0), st.text(1));
    }
    std::vector<StoredEvent> out;
    out.reserve(rows.size());
    for (auto& [id, body] : rows) out.push_back({id, event_from_json(nlohmann::json::parse(body))});
    return out;
  });
}

Expected<int64_t> EventStore::count_events() {
  std::lock_guard lock(m_db.mutex());
  return guarded("count events", [&]() -> Expected<int64_t> {
    Stmt st(conn(m_db), "SELECT COUNT(*) FROM events");
    return st.step() ? st.i64(0) : 0;
  });
}

Expected<std::vector<CountRow>> EventStore::count_events_by_source_kind() {
  std::lock_guard lock(m_db.mutex());
  return guarded("count events", [&]() -> Expected<std::vector<CountRow>> {
    std::vector<CountRow> out;
    Stmt st(conn(m_db),
            "SELECT source, kind, COUNT(*) FROM events GROUP BY source, kind "
            "ORDER BY source, kind");
    while (st.step()) out.push_back({st.text(0), st.text(1), st.i64(2)});
    return out;
  });
}

Expected<std::vector<std::string>> EventStore::existing_event_keys(
    const std::vector<std::string>& keys) {
  std::lock_guard lock(m_db.mutex());
  return guarded("existing keys", [&]() -> Expected<std::vector<std::string>> {
    std::vector<std::string> out;
    Stmt st(conn(m_db), "SELECT 1 FROM events WHERE key = ?");
    for (const auto& k : keys) {
      st.bind(1, k);
      if (st.step()) out.push_back(k);
      st.reset();
    }
    return out;
  });
}

Expected<std::optional<StoredEvent>> EventStore::event_by_key(const std::string& key) {
  std::lock_guard lock(m_db.mutex());
  return guarded("event by key", [&]() -> Expected<std::optional<StoredEvent>> {
    Stmt st(conn(m_db), "SELECT id, body FROM events WHERE key = ?");
    st.bind(1, key);
    if (!st.step()) return std::optional<StoredEvent>{};
    return std::optional<StoredEvent>(
        StoredEvent{st.i64(0), event_from_json(nlohmann::json::parse(st.text(1)))});
  });
}

}  // namespace herald
