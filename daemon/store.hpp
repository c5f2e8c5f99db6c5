// The store: SQLite in WAL mode, one database owner (daemon/store/database)
// and a small store per concept over it: events, source state, the outbox
// (messages and one delivery per message x recipient), digests and
// destination state, subscribers, the audit log of admin actions, notices,
// the supported critical-patch list.
// Invariant: an event is inserted in the same transaction that advances its
// source's cursor, and outbox rows in the same transaction that marks the
// event routed. All methods are thread-safe (one connection, one mutex) and
// answer errors as values. Another process holding the write lock (herald
// outbox retry beside the daemon) is waited for, up to a bounded time; then
// the call answers a temporary error.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "daemon/expected.hpp"
#include "daemon/store/audit.hpp"
#include "daemon/store/database.hpp"
#include "daemon/store/destinations.hpp"
#include "daemon/store/digests.hpp"
#include "daemon/store/events.hpp"
#include "daemon/store/notices.hpp"
#include "daemon/store/outbox.hpp"
#include "daemon/store/patches.hpp"
#include "daemon/store/sources.hpp"
#include "daemon/store/subscribers.hpp"

namespace herald {

class Store {
 public:
  // Opens (creating if needed) and migrates the database. Errors: cannot open,
  // schema from a newer herald, migration failure.
  static Expected<std::unique_ptr<Store>> open(const std::string& path);
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  using CountRow = herald::CountRow;

  EventStore& events() { return m_events; }
  SourceStore& sources() { return m_sources; }
  OutboxStore& outbox() { return m_outbox; }
  DigestStore& digests() { return m_digests; }
  DestinationStore& destinations() { return m_destinations; }
  SubscriberStore& subscribers() { return m_subscribers; }
  AuditStore& audit() { return m_audit; }
  NoticeStore& notices() { return m_notices; }
  PatchStore& patches() { return m_patches; }
  Database& database() { return *m_db; }

  Expected<int> schema_version() const { return m_db->schema_version(); }
  // How long a call waits for another connection's write lock (default 30 s).
  void set_busy_timeout(std::chrono::milliseconds wait) { m_db->set_busy_timeout(wait); }
  // A trivial read; ok when the database answers.
  Status health_check() { return m_db->health_check(); }

 private:
  explicit Store(std::unique_ptr<Database> db)
      : m_db(std::move(db)),
        m_events(*m_db),
        m_sources(*m_db),
        m_outbox(*m_db),
        m_digests(*m_db),
        m_destinations(*m_db),
        m_subscribers(*m_db),
        m_audit(*m_db),
        m_notices(*m_db),
        m_patches(*m_db) {}

  std::unique_ptr<Database> m_db;
  EventStore m_events;
  SourceStore m_sources;
  OutboxStore m_outbox;
  DigestStore m_digests;
  DestinationStore m_destinations;
  SubscriberStore m_subscribers;
  AuditStore m_audit;
  NoticeStore m_notices;
  PatchStore m_patches;
};

inline Expected<std::unique_ptr<Store>> Store::open(const std::string& path) {
  auto db = Database::open(path);
  if (!db) return db.error();
  return std::unique_ptr<Store>(new Store(std::move(*db)));
}

}  // namespace herald
