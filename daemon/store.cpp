// SQLite store. WAL mode, synchronous=FULL so that what herald acknowledged
// survives power loss as well as kill -9. Migrations are a list of SQL
// scripts; PRAGMA user_version records how many were applied.
#include "daemon/store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <filesystem>
#include <stdexcept>

namespace herald {

namespace {

struct StmtDeleter {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};

// A prepared statement with positional binding; throws on SQL errors, which
// the Store methods turn into Error values at their edge.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : m_db(db) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string("prepare: ") + sqlite3_errmsg(db));
    m_stmt.reset(s);
  }
  Stmt& bind(int i, int64_t v) { check(sqlite3_bind_int64(m_stmt.get(), i, v)); return *this; }
  Stmt& bind(int i, const std::string& v) {
    check(sqlite3_bind_text(m_stmt.get(), i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
    return *this;
  }
  Stmt& bind_null(int i) { check(sqlite3_bind_null(m_stmt.get(), i)); return *this; }
  // Returns true while a row is available.
  bool step() {
    int rc = sqlite3_step(m_stmt.get());
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw std::runtime_error(std::string("step: ") + sqlite3_errmsg(m_db));
  }
  void run() {
    step();
    reset();
  }
  void reset() {
    sqlite3_reset(m_stmt.get());
    sqlite3_clear_bindings(m_stmt.get());
  }
  bool is_null(int col) const { return sqlite3_column_type(m_stmt.get(), col) == SQLITE_NULL; }
  int64_t i64(int col) const { return sqlite3_column_int64(m_stmt.get(), col); }
  std::string text(int col) const {
    const auto* p = sqlite3_column_text(m_stmt.get(), col);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<size_t>(sqlite3_column_bytes(m_stmt.get(), col)))
             : std::string();
  }

 private:
  void check(int rc) {
    if (rc != SQLITE_OK) throw std::runtime_error(std::string("bind: ") + sqlite3_errmsg(m_db));
  }
  sqlite3* m_db;
  std::unique_ptr<sqlite3_stmt, StmtDeleter> m_stmt;
};

// Rolls back unless committed.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : m_db(db) { exec("BEGIN IMMEDIATE"); }
  ~Transaction() {
    if (!m_done) sqlite3_exec(m_db, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void commit() {
    exec("COMMIT");
    m_done = true;
  }

 private:
  void exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(m_db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "?";
      sqlite3_free(err);
      throw std::runtime_error(std::string(sql) + ": " + msg);
    }
  }
  sqlite3* m_db;
  bool m_done = false;
};

const char* const k_migrations[] = {
    // 1: events, source state, outbox.
    R"sql(
CREATE TABLE events(
  id INTEGER PRIMARY KEY,
  key TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  source TEXT NOT NULL,
  time INTEGER NOT NULL,
  severity TEXT NOT NULL,
  title TEXT NOT NULL,
  body TEXT NOT NULL,          -- the whole event as JSON
  received_at INTEGER NOT NULL,
  routed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX events_unrouted ON events(id) WHERE routed = 0;
CREATE TABLE source_state(
  source TEXT PRIMARY KEY,
  cursor TEXT NOT NULL DEFAULT '',
  etag TEXT NOT NULL DEFAULT '',
  last_modified TEXT NOT NULL DEFAULT '',
  content_hash TEXT NOT NULL DEFAULT '',
  last_success INTEGER NOT NULL DEFAULT 0,
  last_attempt INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  error_count INTEGER NOT NULL DEFAULT 0,
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  next_poll_at INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE outbox(
  id INTEGER PRIMARY KEY,
  idempotency_key TEXT NOT NULL UNIQUE,
  destination TEXT NOT NULL,
  sender TEXT NOT NULL,
  recipients TEXT NOT NULL,    -- JSON array
  subject TEXT NOT NULL,
  payload BLOB NOT NULL,
  state TEXT NOT NULL DEFAULT 'pending' CHECK(state IN ('pending','delivered','dead')),
  attempts INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,
  delivered_at INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outbox_due ON outbox(next_attempt_at, id) WHERE state = 'pending';
)sql",
    // 2: inbound delivery ids (webhook dedup), digest windows, events by arrival.
    R"sql(
CREATE TABLE inbound_deliveries(
  source TEXT NOT NULL,
  delivery_id TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  PRIMARY KEY(source, delivery_id)
) WITHOUT ROWID;
CREATE TABLE digest_state(
  name TEXT PRIMARY KEY,
  window_end INTEGER NOT NULL
);
CREATE INDEX events_received ON events(received_at);
)sql",
};

template <class F>
auto guarded(const char* what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& e) {
    return Error{ErrorKind::temporary, std::string(what) + ": " + e.what()};
  }
}

}  // namespace

Store::Store(sqlite3* db) : m_db(db) {}
Store::~Store() { sqlite3_close_v2(m_db); }

Status Store::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(m_db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(m_db);
    sqlite3_free(err);
    return permanent_error(msg);
  }
  return ok_status();
}

Expected<std::unique_ptr<Store>> Store::open(const std::string& path) {
  std::error_code ec;
  auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close_v2(db);
    return permanent_error("cannot open database " + path + ": " + msg);
  }
  std::unique_ptr<Store> store(new Store(db));
  sqlite3_busy_timeout(db, 5000);
  // cache_size: 1 MiB of page cache is plenty for herald's small working set.
  for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
                             "PRAGMA cache_size=-1024", "PRAGMA foreign_keys=ON"}) {
    if (auto s = store->exec(pragma); !s)
      return permanent_error("database " + path + ": " + s.error().message);
  }
  if (auto s = store->migrate(); !s)
    return permanent_error("database " + path + ": " + s.error().message);
  return store;
}

int Store::schema_version() const {
  std::lock_guard lock(m_mutex);
  Stmt st(m_db, "PRAGMA user_version");
  return st.step() ? static_cast<int>(st.i64(0)) : 0;
}

Status Store::migrate() {
  int version = 0;
  {
    Stmt st(m_db, "PRAGMA user_version");
    if (st.step()) version = static_cast<int>(st.i64(0));
  }
  constexpr int known = static_cast<int>(std::size(k_migrations));
  static_assert(known == k_schema_version);
  if (version > known)
    return permanent_error("schema version " + std::to_string(version) +
                           " was written by a newer herald (this one knows up to " +
                           std::to_string(known) + "); refusing to open it");
  for (int v = version; v < known; ++v) {
    auto r = guarded("migration", [&]() -> Status {
      Transaction tx(m_db);
      if (auto s = exec(k_migrations[v]); !s)
        return permanent_error("migration " + std::to_string(v + 1) + ": " + s.error().message);
      if (auto s = exec(("PRAGMA user_version=" + std::to_string(v + 1)).c_str()); !s) return s;
      tx.commit();
      return ok_status();
    });
    if (!r) return r;
  }
  return ok_status();
}

SourceState Store::source_state(const std::string& source) {
  std::lock_guard lock(m_mutex);
  SourceState s;
  s.source = source;
  Stmt st(m_db,
          "SELECT cursor, etag, last_modified, content_hash, last_success, last_attempt, "
          "last_error, error_count, consecutive_failures, next_poll_at FROM source_state "
          "WHERE source = ?");
  st.bind(1, source);
  if (st.step()) {
    s.cursor = st.text(0);
    s.etag = st.text(1);
    s.last_modified = st.text(2);
    s.content_hash = st.text(3);
    s.last_success = st.i64(4);
    s.last_attempt = st.i64(5);
    s.last_error = st.text(6);
    s.error_count = st.i64(7);
    s.consecutive_failures = st.i64(8);
    s.next_poll_at = st.i64(9);
  }
  return s;
}

namespace {
// Inserts events, skipping keys already stored; one prepared statement for
// every call on the same transaction.
class EventInserter {
 public:
  explicit EventInserter(sqlite3* db)
      : m_db(db),
        m_ins(db,
              "INSERT INTO events(key, kind, source, time, severity, title, body, received_at, "
              "routed) VALUES(?,?,?,?,?,?,?,?,?) ON CONFLICT(key) DO NOTHING") {}

  // Returns how many were new. announce[i] false records event i as routed.
  int insert(const std::vector<Event>& events, const std::vector<bool>* announce, int64_t now) {
    int added = 0;
    for (size_t i = 0; i < events.size(); ++i) {
      const Event& e = events[i];
      bool route = !announce || i >= announce->size() || (*announce)[i];
      m_ins.bind(1, e.key).bind(2, e.kind).bind(3, e.source).bind(4, e.time).bind(5, e.severity)
          .bind(6, e.title).bind(7, to_json(e).dump()).bind(8, now).bind(9, int64_t{route ? 0 : 1});
      m_ins.run();
      added += sqlite3_changes(m_db);
    }
    return added;
  }

 private:
  sqlite3* m_db;
  Stmt m_ins;
};
// Outbox rows, due now; an existing idempotency key is left as it is.
void insert_deliveries_locked(sqlite3* db, const std::vector<NewDelivery>& deliveries,
                              int64_t now) {
  Stmt ins(db,
           "INSERT INTO outbox(idempotency_key, destination, sender, recipients, subject, "
           "payload, created_at, next_attempt_at) VALUES(?,?,?,?,?,?,?,?) "
           "ON CONFLICT(idempotency_key) DO NOTHING");
  for (const auto& d : deliveries) {
    ins.bind(1, d.idempotency_key).bind(2, d.destination).bind(3, d.sender)
        .bind(4, nlohmann::json(d.recipients).dump()).bind(5, d.subject).bind(6, d.payload)
        .bind(7, now).bind(8, now);
    ins.run();
  }
}
}  // namespace

Expected<int> Store::commit_poll(const PollCommit& poll) {
  std::lock_guard lock(m_mutex);
  return guarded("commit poll", [&]() -> Expected<int> {
    Transaction tx(m_db);
    int added = EventInserter(m_db).insert(poll.events, &poll.announce, poll.now);
    Stmt up(m_db,
            "INSERT INTO source_state(source, cursor, etag, last_modified, content_hash, "
            "last_success, last_attempt, last_error, consecutive_failures, next_poll_at) "
            "VALUES(?1,?2,?3,?4,?5,?6,?6,'',0,?7) ON CONFLICT(source) DO UPDATE SET "
            "cursor=?2, etag=?3, last_modified=?4, content_hash=?5, last_success=?6, "
            "last_attempt=?6, last_error='', consecutive_failures=0, next_poll_at=?7");
    up.bind(1, poll.source).bind(2, poll.cursor).bind(3, poll.etag).bind(4, poll.last_modified)
        .bind(5, poll.content_hash).bind(6, poll.now).bind(7, poll.next_poll_at);
    up.run();
    tx.commit();
    return added;
  });
}

Status Store::record_poll_failure(const std::string& source, const std::string& error,
                                  int64_t now, int64_t next_poll_at) {
  std::lock_guard lock(m_mutex);
  return guarded("record poll failure", [&]() -> Status {
    Stmt up(m_db,
            "INSERT INTO source_state(source, last_attempt, last_error, error_count, "
            "consecutive_failures, next_poll_at) VALUES(?1,?2,?3,1,1,?4) "
            "ON CONFLICT(source) DO UPDATE SET last_attempt=?2, last_error=?3, "
            "error_count=error_count+1, consecutive_failures=consecutive_failures+1, "
            "next_poll_at=?4");
    up.bind(1, source).bind(2, now).bind(3, error).bind(4, next_poll_at);
    up.run();
    return ok_status();
  });
}

Expected<int> Store::insert_events(const std::vector<Event>& events, int64_t now) {
  std::lock_guard lock(m_mutex);
  return guarded("insert events", [&]() -> Expected<int> {
    Transaction tx(m_db);
    int added = EventInserter(m_db).insert(events, nullptr, now);
    tx.commit();
    return added;
  });
}

Expected<std::vector<bool>> Store::ingest(const std::vector<InboundItem>& items, int64_t now) {
  std::lock_guard lock(m_mutex);
  return guarded("ingest", [&]() -> Expected<std::vector<bool>> {
    Transaction tx(m_db);
    Stmt seen(m_db,
              "INSERT INTO inbound_deliveries(source, delivery_id, received_at) VALUES(?,?,?) "
              "ON CONFLICT DO NOTHING");
    EventInserter inserter(m_db);
    std::vector<bool> stored;
    stored.reserve(items.size());
    for (const auto& item : items) {
      if (!item.delivery_id.empty()) {
        seen.bind(1, item.source).bind(2, item.delivery_id).bind(3, now);
        seen.run();
        if (sqlite3_changes(m_db) == 0) {
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

std::vector<StoredEvent> Store::events_received_between(int64_t from, int64_t to,
                                                        const std::vector<std::string>& kinds) {
  std::lock_guard lock(m_mutex);
  std::vector<StoredEvent> out;
  Stmt st(m_db,
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
}

std::optional<int64_t> Store::digest_window_end(const std::string& name) {
  std::lock_guard lock(m_mutex);
  Stmt st(m_db, "SELECT window_end FROM digest_state WHERE name = ?");
  st.bind(1, name);
  if (st.step()) return st.i64(0);
  return std::nullopt;
}

Status Store::commit_digest(const std::string& name, int64_t window_end,
                            const std::vector<NewDelivery>& deliveries, int64_t now) {
  std::lock_guard lock(m_mutex);
  return guarded("commit digest", [&]() -> Status {
    Transaction tx(m_db);
    insert_deliveries_locked(m_db, deliveries, now);
    Stmt up(m_db,
            "INSERT INTO digest_state(name, window_end) VALUES(?1, ?2) "
            "ON CONFLICT(name) DO UPDATE SET window_end = ?2");
    up.bind(1, name).bind(2, window_end);
    up.run();
    tx.commit();
    return ok_status();
  });
}

std::vector<StoredEvent> Store::unrouted_events(int limit) {
  std::vector<std::pair<int64_t, std::string>> rows;
  {
    std::lock_guard lock(m_mutex);  // JSON is parsed after, so writers are not held up
    Stmt st(m_db, "SELECT id, body FROM events WHERE routed = 0 ORDER BY id LIMIT ?");
    st.bind(1, int64_t{limit});
    while (st.step()) rows.emplace_back(st.i64(0), st.text(1));
  }
  std::vector<StoredEvent> out;
  out.reserve(rows.size());
  for (auto& [id, body] : rows)
    out.push_back({id, event_from_json(nlohmann::json::parse(body))});
  return out;
}

Status Store::commit_routing(const std::vector<int64_t>& event_ids,
                             const std::vector<NewDelivery>& deliveries, int64_t now) {
  std::lock_guard lock(m_mutex);
  return guarded("commit routing", [&]() -> Status {
    Transaction tx(m_db);
    insert_deliveries_locked(m_db, deliveries, now);
    Stmt mark(m_db, "UPDATE events SET routed = 1 WHERE id = ?");
    for (int64_t id : event_ids) {
      mark.bind(1, id);
      mark.run();
    }
    tx.commit();
    return ok_status();
  });
}

std::vector<OutboxItem> Store::due_deliveries(int64_t now, int limit) {
  std::lock_guard lock(m_mutex);
  std::vector<OutboxItem> out;
  Stmt st(m_db,
          "SELECT id, idempotency_key, destination, sender, recipients, payload, attempts, "
          "created_at FROM outbox WHERE state = 'pending' AND next_attempt_at <= ? "
          "ORDER BY next_attempt_at, id LIMIT ?");
  st.bind(1, now).bind(2, int64_t{limit});
  while (st.step()) {
    OutboxItem it;
    it.id = st.i64(0);
    it.idempotency_key = st.text(1);
    it.destination = st.text(2);
    it.sender = st.text(3);
    it.recipients = nlohmann::json::parse(st.text(4)).get<std::vector<std::string>>();
    it.payload = st.text(5);
    it.attempts = static_cast<int>(st.i64(6));
    it.created_at = st.i64(7);
    out.push_back(std::move(it));
  }
  return out;
}

std::optional<int64_t> Store::next_due_time() {
  std::lock_guard lock(m_mutex);
  Stmt st(m_db, "SELECT MIN(next_attempt_at) FROM outbox WHERE state = 'pending'");
  if (st.step() && !st.is_null(0)) return st.i64(0);
  return std::nullopt;
}

Status Store::record_outcomes(const std::vector<DeliveryOutcome>& outcomes, int64_t now) {
  std::lock_guard lock(m_mutex);
  return guarded("record outcomes", [&]() -> Status {
    Transaction tx(m_db);
    Stmt done(m_db,
              "UPDATE outbox SET state='delivered', attempts=attempts+1, delivered_at=?2, "
              "last_error=?3 WHERE id=?1");
    Stmt retry(m_db,
               "UPDATE outbox SET attempts=attempts+1, next_attempt_at=?2, last_error=?3 "
               "WHERE id=?1");
    Stmt dead(m_db,
              "UPDATE outbox SET state='dead', attempts=attempts+1, last_error=?3, "
              "next_attempt_at=?2 WHERE id=?1");
    for (const auto& o : outcomes) {
      Stmt* st = &retry;
      int64_t t = o.next_attempt_at;
      if (o.dead) st = &dead, t = now;
      else if (o.result.status == DeliveryResult::Status::delivered) st = &done, t = now;
      st->bind(1, o.id).bind(2, t).bind(3, o.result.detail);
      st->run();
    }
    tx.commit();
    return ok_status();
  });
}

std::vector<OutboxRow> Store::outbox_rows(const std::string& state, int limit) {
  std::lock_guard lock(m_mutex);
  std::vector<OutboxRow> out;
  Stmt st(m_db,
          "SELECT id, idempotency_key, destination, state, subject, last_error, attempts, "
          "created_at, next_attempt_at, delivered_at FROM outbox "
          "WHERE ?1 = '' OR state = ?1 ORDER BY id LIMIT ?2");
  st.bind(1, state).bind(2, int64_t{limit});
  while (st.step()) {
    OutboxRow r;
    r.id = st.i64(0);
    r.idempotency_key = st.text(1);
    r.destination = st.text(2);
    r.state = st.text(3);
    r.subject = st.text(4);
    r.last_error = st.text(5);
    r.attempts = static_cast<int>(st.i64(6));
    r.created_at = st.i64(7);
    r.next_attempt_at = st.i64(8);
    r.delivered_at = st.i64(9);
    out.push_back(std::move(r));
  }
  return out;
}

Expected<int> Store::retry_dead(std::optional<int64_t> id, int64_t now) {
  std::lock_guard lock(m_mutex);
  return guarded("retry dead", [&]() -> Expected<int> {
    Stmt st(m_db,
            "UPDATE outbox SET state='pending', next_attempt_at=?1, attempts=0 "
            "WHERE state='dead' AND (?2 < 0 OR id = ?2)");
    st.bind(1, now).bind(2, id.value_or(-1));
    st.run();
    return sqlite3_changes(m_db);
  });
}

int64_t Store::count_events() {
  std::lock_guard lock(m_mutex);
  Stmt st(m_db, "SELECT COUNT(*) FROM events");
  return st.step() ? st.i64(0) : 0;
}

std::vector<std::pair<std::string, int64_t>> Store::outbox_depth() {
  std::lock_guard lock(m_mutex);
  std::vector<std::pair<std::string, int64_t>> out;
  Stmt st(m_db, "SELECT state, COUNT(*) FROM outbox GROUP BY state ORDER BY state");
  while (st.step()) out.emplace_back(st.text(0), st.i64(1));
  return out;
}

Expected<std::vector<Store::CountRow>> Store::count_events_by_source_kind() {
  std::lock_guard lock(m_mutex);
  return guarded("count events", [&]() -> Expected<std::vector<CountRow>> {
    std::vector<CountRow> out;
    Stmt st(m_db, "SELECT source, kind, COUNT(*) FROM events GROUP BY source, kind "
                  "ORDER BY source, kind");
    while (st.step()) out.push_back({st.text(0), st.text(1), st.i64(2)});
    return out;
  });
}

Expected<std::vector<Store::CountRow>> Store::count_outbox_by_destination() {
  std::lock_guard lock(m_mutex);
  return guarded("count outbox", [&]() -> Expected<std::vector<CountRow>> {
    std::vector<CountRow> out;
    Stmt st(m_db, "SELECT destination, state, COUNT(*) FROM outbox GROUP BY destination, state "
                  "ORDER BY destination, state");
    while (st.step()) out.push_back({st.text(0), st.text(1), st.i64(2)});
    return out;
  });
}

Expected<std::vector<std::string>> Store::existing_event_keys(
    const std::vector<std::string>& keys) {
  std::lock_guard lock(m_mutex);
  return guarded("existing keys", [&]() -> Expected<std::vector<std::string>> {
    std::vector<std::string> out;
    Stmt st(m_db, "SELECT 1 FROM events WHERE key = ?");
    for (const auto& k : keys) {
      st.bind(1, k);
      if (st.step()) out.push_back(k);
      st.reset();
    }
    return out;
  });
}

Status Store::health_check() {
  std::lock_guard lock(m_mutex);
  return guarded("health check", [&]() -> Status {
    Stmt st(m_db, "SELECT COUNT(*) FROM source_state");
    st.step();
    return ok_status();
  });
}

std::optional<StoredEvent> Store::event_by_key(const std::string& key) {
  std::lock_guard lock(m_mutex);
  Stmt st(m_db, "SELECT id, body FROM events WHERE key = ?");
  st.bind(1, key);
  if (!st.step()) return std::nullopt;
  return StoredEvent{st.i64(0), event_from_json(nlohmann::json::parse(st.text(1)))};
}

std::optional<OutboxPayload> Store::outbox_payload(const std::string& idempotency_key) {
  std::lock_guard lock(m_mutex);
  Stmt st(m_db, "SELECT state, payload, created_at FROM outbox WHERE idempotency_key = ?");
  st.bind(1, idempotency_key);
  if (!st.step()) return std::nullopt;
  return OutboxPayload{st.text(0), st.text(1), st.i64(2)};
}

}  // namespace herald
