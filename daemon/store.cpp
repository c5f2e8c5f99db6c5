// SQLite store. WAL mode, synchronous=FULL so that what herald acknowledged
// survives power loss as well as kill -9. Migrations are a list of SQL
// scripts; PRAGMA user_version records how many were applied.
//
// Opening names the cause when the file system is in the way: SQLite says
// "disk I/O error" or "unable to open database file" for a full disk, a
// read-only mount or a directory herald may not write; the extended result
// code and the errno SQLite saw (sqlite3_system_errno) tell them apart.
#include "daemon/store.hpp"

#include <sqlite3.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace herald {

namespace {

struct StmtDeleter {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};

// A failed SQLite call with the codes that say why, read when it failed
// (a later ROLLBACK would overwrite them).
class SqliteError : public std::runtime_error {
 public:
  SqliteError(sqlite3* db, const std::string& what)
      : std::runtime_error(what + ": " + sqlite3_errmsg(db)),
        code(sqlite3_extended_errcode(db)),
        sys(sqlite3_system_errno(db)) {}
  SqliteError(sqlite3* db, const std::string& what, const std::string& detail)
      : std::runtime_error(what + ": " + detail),
        code(sqlite3_extended_errcode(db)),
        sys(sqlite3_system_errno(db)) {}
  int code;  // extended result code
  int sys;   // errno of the OS call that failed, 0 if none
};

// A prepared statement with positional binding; throws on SQL errors, which
// the Store methods turn into Error values at their edge.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : m_db(db) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) != SQLITE_OK) throw SqliteError(db, "prepare");
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
    throw SqliteError(m_db, "step");
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
    if (rc != SQLITE_OK) throw SqliteError(m_db, "bind");
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
      throw SqliteError(m_db, sql, msg);
    }
  }
  sqlite3* m_db;
  bool m_done = false;
};

// Runs SQL that returns no rows; throws SqliteError naming `what`.
void run_sql(sqlite3* db, const char* sql, const std::string& what) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(db);
    sqlite3_free(err);
    throw SqliteError(db, what, msg);
  }
}

// The directory holding the database, for messages and checks.
std::string directory_of(const std::string& path) {
  auto dir = std::filesystem::path(path).parent_path();
  return dir.empty() ? "." : dir.string();
}

bool on_read_only_file_system(const std::string& path) {
  struct statvfs st {};
  return ::statvfs(directory_of(path).c_str(), &st) == 0 && (st.f_flag & ST_RDONLY);
}

// The database file if it exists, else the closest directory above it that
// does: where a write permission is missing.
std::string nearest_existing(const std::string& path) {
  std::error_code ec;
  std::filesystem::path p(path);
  while (!p.empty() && !std::filesystem::exists(p, ec)) {
    if (p == p.parent_path()) break;
    p = p.parent_path();
  }
  return p.empty() ? "." : p.string();
}

// Why the database cannot be opened or written, naming the cause and the path.
// code: SQLite's extended result code (0 if the failure was not SQLite's);
// sys: the errno behind it; detail: what failed, for causes not recognised.
std::string open_failure(const std::string& path, int code, int sys, const std::string& detail) {
  const int primary = code & 0xff;
  // SQLite reports a write that found no space as SQLITE_FULL without an errno.
  if (primary == SQLITE_FULL) sys = ENOSPC;
  // "unable to open" keeps the errno of SQLite's last attempt (a read-only
  // open: ENOENT); whether herald may write there is what matters.
  if ((primary == SQLITE_CANTOPEN || primary == SQLITE_READONLY) && sys != EROFS &&
      sys != EACCES && sys != EPERM) {
    if (on_read_only_file_system(path))
      sys = EROFS;
    else if (::access(nearest_existing(path).c_str(), W_OK) != 0)
      sys = errno;
  }
  const std::string write = "cannot write the database " + path + ": ";
  switch (sys) {
    case ENOSPC:
      return write + "the disk is full (ENOSPC)";
    case EDQUOT:
      return write + "the disk quota is exceeded (EDQUOT)";
    case EROFS:
      return write + "read-only file system (EROFS)";
    case EACCES:
    case EPERM:
      return write + "permission denied on " + nearest_existing(path) +
             (sys == EPERM ? " (EPERM)" : " (EACCES)");
    default:
      break;
  }
  std::string out = "cannot open the database " + path + ": " + detail;
  if (sys && detail.find(std::strerror(sys)) == std::string::npos)
    out += " (" + std::string(std::strerror(sys)) + ")";
  return out;
}

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
    // 3: leases on deliveries (claimed before they are sent; an expired lease
    // is claimed again) and a priority that orders claims.
    R"sql(
ALTER TABLE outbox ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;
DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox(destination, priority DESC, next_attempt_at, id)
  WHERE state = 'pending';
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
  if (!dir.empty() && !std::filesystem::create_directories(dir, ec) && ec)
    return permanent_error(open_failure(
        path, 0, ec.value(), "cannot create the directory " + dir.string() + ": " + ec.message()));
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    const int code = db ? sqlite3_extended_errcode(db) : rc;
    const int sys = db ? sqlite3_system_errno(db) : 0;
    sqlite3_close_v2(db);
    return permanent_error(open_failure(path, code, sys, msg));
  }
  std::unique_ptr<Store> store(new Store(db));
  // SQLite falls back to read-only when the file cannot be opened for writing;
  // herald must write, so that is the error, with its cause.
  if (sqlite3_db_readonly(db, "main") == 1)
    return permanent_error(open_failure(
        path, SQLITE_READONLY, on_read_only_file_system(path) ? EROFS : EACCES, "read-only"));
  sqlite3_busy_timeout(db, 5000);
  try {
    // cache_size: 1 MiB of page cache is plenty for herald's small working set.
    for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
                               "PRAGMA cache_size=-1024", "PRAGMA foreign_keys=ON"})
      run_sql(db, pragma, pragma);
    if (auto s = store->migrate(); !s)
      return permanent_error("database " + path + ": " + s.error().message);
  } catch (const SqliteError& e) {
    return permanent_error(open_failure(path, e.code, e.sys, e.what()));
  }
  return store;
}

int Store::schema_version() const {
  std::lock_guard lock(m_mutex);
  Stmt st(m_db, "PRAGMA user_version");
  return st.step() ? static_cast<int>(st.i64(0)) : 0;
}

// Throws SqliteError when SQLite fails, for open() to name the cause.
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
    const std::string what = "migration " + std::to_string(v + 1);
    Transaction tx(m_db);
    run_sql(m_db, k_migrations[v], what);
    run_sql(m_db, ("PRAGMA user_version=" + std::to_string(v + 1)).c_str(), what);
    tx.commit();
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
           "payload, created_at, next_attempt_at, priority) VALUES(?,?,?,?,?,?,?,?,?) "
           "ON CONFLICT(idempotency_key) DO NOTHING");
  for (const auto& d : deliveries) {
    ins.bind(1, d.idempotency_key).bind(2, d.destination).bind(3, d.sender)
        .bind(4, nlohmann::json(d.recipients).dump()).bind(5, d.subject).bind(6, d.payload)
        .bind(7, now).bind(8, now).bind(9, int64_t{d.priority});
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

namespace {

// The columns an OutboxItem is read from, in this order.
constexpr const char* k_item_columns =
    "id, idempotency_key, destination, sender, recipients, payload, attempts, created_at";

OutboxItem read_item(const Stmt& st) {
  OutboxItem it;
  it.id = st.i64(0);
  it.idempotency_key = st.text(1);
  it.destination = st.text(2);
  it.sender = st.text(3);
  it.recipients = nlohmann::json::parse(st.text(4)).get<std::vector<std::string>>();
  it.payload = st.text(5);
  it.attempts = static_cast<int>(st.i64(6));
  it.created_at = st.i64(7);
  return it;
}

}  // namespace

std::vector<OutboxItem> Store::due_deliveries(int64_t now, int limit) {
  std::lock_guard lock(m_mutex);
  std::vector<OutboxItem> out;
  Stmt st(m_db, (std::string("SELECT ") + k_item_columns +
                 " FROM outbox WHERE state = 'pending' AND next_attempt_at <= ?1 "
                 "AND lease_until <= ?1 ORDER BY priority DESC, next_attempt_at, id LIMIT ?2")
                    .c_str());
  st.bind(1, now).bind(2, int64_t{limit});
  while (st.step()) out.push_back(read_item(st));
  return out;
}

Expected<std::vector<OutboxItem>> Store::claim_deliveries(const std::string& destination,
                                                          int64_t now, int limit,
                                                          const std::string& owner,
                                                          int64_t lease_until) {
  std::lock_guard lock(m_mutex);
  return guarded("claim deliveries", [&]() -> Expected<std::vector<OutboxItem>> {
    std::vector<OutboxItem> out;
    Transaction tx(m_db);  // BEGIN IMMEDIATE: no other process claims in between
    Stmt st(m_db, (std::string("SELECT ") + k_item_columns +
                   " FROM outbox WHERE state = 'pending' AND destination = ?1 "
                   "AND next_attempt_at <= ?2 AND lease_until <= ?2 "
                   "ORDER BY priority DESC, next_attempt_at, id LIMIT ?3")
                      .c_str());
    st.bind(1, destination).bind(2, now).bind(3, int64_t{limit});
    while (st.step()) out.push_back(read_item(st));
    if (out.empty()) return out;
    Stmt lease(m_db, "UPDATE outbox SET lease_owner = ?2, lease_until = ?3 WHERE id = ?1");
    for (const auto& it : out) {
      lease.bind(1, it.id).bind(2, owner).bind(3, lease_until);
      lease.run();
    }
    tx.commit();
    return out;
  });
}

Status Store::extend_leases(const std::vector<int64_t>& ids, const std::string& owner,
                            int64_t lease_until) {
  std::lock_guard lock(m_mutex);
  return guarded("extend leases", [&]() -> Status {
    Transaction tx(m_db);
    Stmt st(m_db,
            "UPDATE outbox SET lease_until = ?3 WHERE id = ?1 AND lease_owner = ?2 "
            "AND state = 'pending'");
    for (int64_t id : ids) {
      st.bind(1, id).bind(2, owner).bind(3, lease_until);
      st.run();
    }
    tx.commit();
    return ok_status();
  });
}

Status Store::release_leases(const std::vector<int64_t>& ids, const std::string& owner) {
  std::lock_guard lock(m_mutex);
  return guarded("release leases", [&]() -> Status {
    Transaction tx(m_db);
    Stmt st(m_db,
            "UPDATE outbox SET lease_owner = '', lease_until = 0 WHERE id = ?1 "
            "AND lease_owner = ?2");
    for (int64_t id : ids) {
      st.bind(1, id).bind(2, owner);
      st.run();
    }
    tx.commit();
    return ok_status();
  });
}

Expected<std::vector<std::string>> Store::lease_owners(int64_t now) {
  std::lock_guard lock(m_mutex);
  return guarded("lease owners", [&]() -> Expected<std::vector<std::string>> {
    std::vector<std::string> out;
    Stmt st(m_db,
            "SELECT DISTINCT lease_owner FROM outbox WHERE state = 'pending' "
            "AND lease_until > ?1 AND lease_owner != ''");
    st.bind(1, now);
    while (st.step()) out.push_back(st.text(0));
    return out;
  });
}

Expected<int> Store::release_owner(const std::string& owner) {
  std::lock_guard lock(m_mutex);
  return guarded("release owner", [&]() -> Expected<int> {
    Stmt st(m_db,
            "UPDATE outbox SET lease_owner = '', lease_until = 0 WHERE lease_owner = ?1 "
            "AND state = 'pending'");
    st.bind(1, owner);
    st.run();
    return sqlite3_changes(m_db);
  });
}

Expected<std::vector<std::string>> Store::pending_destinations() {
  std::lock_guard lock(m_mutex);
  return guarded("pending destinations", [&]() -> Expected<std::vector<std::string>> {
    std::vector<std::string> out;
    Stmt st(m_db, "SELECT DISTINCT destination FROM outbox WHERE state = 'pending'");
    while (st.step()) out.push_back(st.text(0));
    return out;
  });
}

std::optional<int64_t> Store::next_due_time(const std::string& destination) {
  std::lock_guard lock(m_mutex);
  Stmt st(m_db,
          "SELECT MIN(MAX(next_attempt_at, lease_until)) FROM outbox WHERE state = 'pending' "
          "AND (?1 = '' OR destination = ?1)");
  st.bind(1, destination);
  if (st.step() && !st.is_null(0)) return st.i64(0);
  return std::nullopt;
}

Status Store::record_outcomes(const std::vector<DeliveryOutcome>& outcomes, int64_t now) {
  std::lock_guard lock(m_mutex);
  return guarded("record outcomes", [&]() -> Status {
    Transaction tx(m_db);
    Stmt done(m_db,
              "UPDATE outbox SET state='delivered', attempts=attempts+1, delivered_at=?2, "
              "last_error=?3, lease_owner='', lease_until=0 WHERE id=?1");
    Stmt retry(m_db,
               "UPDATE outbox SET attempts=attempts+1, next_attempt_at=?2, last_error=?3, "
               "lease_owner='', lease_until=0 WHERE id=?1");
    Stmt dead(m_db,
              "UPDATE outbox SET state='dead', attempts=attempts+1, last_error=?3, "
              "next_attempt_at=?2, lease_owner='', lease_until=0 WHERE id=?1");
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
            "UPDATE outbox SET state='pending', next_attempt_at=?1, attempts=0, "
            "lease_owner='', lease_until=0 "
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
