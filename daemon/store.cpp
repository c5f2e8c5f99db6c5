// SQLite store. WAL mode, synchronous=FULL so that what herald acknowledged
// survives power loss as well as kill -9. Migrations are a list of SQL
// scripts; PRAGMA user_version records how many were applied.
//
// SQLITE_BUSY: another connection (herald outbox retry, a second herald run)
// holds the write lock. sqlite3_busy_timeout waits inside SQLite; the loops
// around BEGIN IMMEDIATE, COMMIT and autocommit steps retry what SQLite
// answers BUSY or LOCKED without waiting (a stale snapshot, a shared-cache
// lock), until a bounded total wait, then a temporary error.
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
#include <chrono>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <thread>

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

// The connection and how long a call may wait for another's write lock.
struct Conn {
  sqlite3* db;
  std::chrono::milliseconds busy_wait;
  operator sqlite3*() const { return db; }
};

bool is_busy(int rc) {
  const int primary = rc & 0xff;
  return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
}

// Waits a little before trying again; false once `start + bound` is past.
bool wait_again(std::chrono::steady_clock::time_point start, std::chrono::milliseconds bound) {
  if (std::chrono::steady_clock::now() - start >= bound) return false;
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  return true;
}

std::string locked_message(std::chrono::milliseconds bound) {
  return "the database is locked by another connection (waited " +
         std::to_string(bound.count()) + " ms)";
}

// A prepared statement with positional binding; throws on SQL errors, which
// the Store methods turn into Error values at their edge.
class Stmt {
 public:
  Stmt(Conn c, const char* sql) : m_db(c.db), m_busy_wait(c.busy_wait) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(m_db, sql, -1, &s, nullptr) != SQLITE_OK)
      throw SqliteError(m_db, "prepare");
    m_stmt.reset(s);
  }
  Stmt& bind(int i, int64_t v) { check(sqlite3_bind_int64(m_stmt.get(), i, v)); return *this; }
  Stmt& bind(int i, const std::string& v) {
    check(sqlite3_bind_text(m_stmt.get(), i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
    return *this;
  }
  Stmt& bind_null(int i) { check(sqlite3_bind_null(m_stmt.get(), i)); return *this; }
  // Returns true while a row is available.
  // Outside a transaction a busy first step is tried again (a statement
  // that has returned rows is not: it would return them twice).
  bool step() {
    const auto start = std::chrono::steady_clock::now();
    for (;;) {
      int rc = sqlite3_step(m_stmt.get());
      if (rc == SQLITE_ROW) {
        m_stepped = true;
        return true;
      }
      if (rc == SQLITE_DONE) return false;
      if (is_busy(rc) && !m_stepped && sqlite3_get_autocommit(m_db)) {
        sqlite3_reset(m_stmt.get());  // keeps the bindings
        if (wait_again(start, m_busy_wait)) continue;
        throw SqliteError(m_db, "step", locked_message(m_busy_wait));
      }
      throw SqliteError(m_db, "step");
    }
  }
  void run() {
    step();
    reset();
  }
  void reset() {
    sqlite3_reset(m_stmt.get());
    sqlite3_clear_bindings(m_stmt.get());
    m_stepped = false;
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
  std::chrono::milliseconds m_busy_wait;
  std::unique_ptr<sqlite3_stmt, StmtDeleter> m_stmt;
  bool m_stepped = false;
};

// Rolls back unless committed. BEGIN IMMEDIATE takes the write lock at once,
// waiting for another connection's up to the bound.
class Transaction {
 public:
  explicit Transaction(Conn c) : m_db(c.db), m_busy_wait(c.busy_wait) { exec("BEGIN IMMEDIATE"); }
  ~Transaction() {
    if (!m_done) sqlite3_exec(m_db, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void commit() {
    exec("COMMIT");
    m_done = true;
  }

 private:
  void exec(const char* sql) {
    const auto start = std::chrono::steady_clock::now();
    for (;;) {
      char* err = nullptr;
      const int rc = sqlite3_exec(m_db, sql, nullptr, nullptr, &err);
      if (rc == SQLITE_OK) return;
      std::string msg = err ? err : "?";
      sqlite3_free(err);
      if (is_busy(rc)) {
        if (wait_again(start, m_busy_wait)) continue;
        throw SqliteError(m_db, sql, locked_message(m_busy_wait));
      }
      throw SqliteError(m_db, sql, msg);
    }
  }
  sqlite3* m_db;
  std::chrono::milliseconds m_busy_wait;
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
    // 4: the outbox as messages (rendered once) and deliveries (one per
    // message x recipient, each with its own state, attempts and lease), so a
    // recipient that defers is retried alone. Every outbox row is kept with
    // its history; a row with several recipients becomes one delivery each,
    // keyed key/recipient. Destination state: disabled (and why).
    R"sql(
CREATE TABLE messages(
  id INTEGER PRIMARY KEY,
  destination TEXT NOT NULL,
  sender TEXT NOT NULL,
  subject TEXT NOT NULL,
  payload BLOB NOT NULL,
  priority INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  key TEXT NOT NULL UNIQUE
);
CREATE INDEX messages_destination ON messages(destination, priority DESC);
CREATE TABLE deliveries(
  id INTEGER PRIMARY KEY,
  message_id INTEGER NOT NULL REFERENCES messages(id),
  recipient TEXT NOT NULL,
  idempotency_key TEXT NOT NULL UNIQUE,
  state TEXT NOT NULL DEFAULT 'pending' CHECK(state IN ('pending','delivered','dead')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  lease_owner TEXT NOT NULL DEFAULT '',
  lease_until INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  delivered_at INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL
);
CREATE INDEX deliveries_message ON deliveries(message_id);
CREATE INDEX deliveries_due ON deliveries(next_attempt_at, id) WHERE state = 'pending';
CREATE TABLE destination_state(
  name TEXT PRIMARY KEY,
  disabled_reason TEXT NOT NULL,
  disabled_since INTEGER NOT NULL
);
INSERT INTO messages(id, destination, sender, subject, payload, priority, created_at, key)
  SELECT id, destination, sender, subject, payload, priority, created_at, idempotency_key
  FROM outbox;
INSERT INTO deliveries(message_id, recipient, idempotency_key, state, attempts,
                       next_attempt_at, lease_owner, lease_until, last_error, delivered_at,
                       created_at)
  SELECT o.id, COALESCE(r.value, ''),
         CASE WHEN json_array_length(o.recipients) <= 1 THEN o.idempotency_key
              ELSE o.idempotency_key || '/' || r.value END,
         o.state, o.attempts, o.next_attempt_at, o.lease_owner, o.lease_until, o.last_error,
         o.delivered_at, o.created_at
  FROM outbox o LEFT JOIN json_each(o.recipients) r
  ORDER BY o.id, r.key;
DROP TABLE outbox;
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
  store->set_busy_timeout(store->m_busy_wait);
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

void Store::set_busy_timeout(std::chrono::milliseconds wait) {
  std::lock_guard lock(m_mutex);
  m_busy_wait = wait;
  // SQLite's own wait is at most a second at a time, so that a long bound is
  // waited in steps by the retry loops (which also see what SQLite does not wait for).
  sqlite3_busy_timeout(m_db, static_cast<int>(std::min<int64_t>(wait.count(), 1000)));
}

Expected<int> Store::schema_version() const {
  std::lock_guard lock(m_mutex);
  return guarded("schema version", [&]() -> Expected<int> {
    Stmt st(Conn{m_db, m_busy_wait}, "PRAGMA user_version");
    return st.step() ? static_cast<int>(st.i64(0)) : 0;
  });
}

// Throws SqliteError when SQLite fails, for open() to name the cause.
Status Store::migrate() {
  int version = 0;
  {
    Stmt st(Conn{m_db, m_busy_wait}, "PRAGMA user_version");
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
    Transaction tx(Conn{m_db, m_busy_wait});
    run_sql(m_db, k_migrations[v], what);
    run_sql(m_db, ("PRAGMA user_version=" + std::to_string(v + 1)).c_str(), what);
    tx.commit();
  }
  return ok_status();
}

Expected<SourceState> Store::source_state(const std::string& source) {
  std::lock_guard lock(m_mutex);
  return guarded("source state", [&]() -> Expected<SourceState> {
    SourceState s;
    s.source = source;
    Stmt st(Conn{m_db, m_busy_wait},
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
  });
}

namespace {
// Inserts events, skipping keys already stored; one prepared statement for
// every call on the same transaction.
class EventInserter {
 public:
  explicit EventInserter(Conn db)
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
// A delivery's idempotency key: the message's when it goes to at most one
// recipient, else one per recipient.
std::string delivery_key(const NewDelivery& d, const std::string& recipient) {
  return d.recipients.size() <= 1 ? d.idempotency_key : d.idempotency_key + "/" + recipient;
}

// Messages and their deliveries, due now; a message key already stored is
// left as it is (with its deliveries).
void insert_deliveries_locked(Conn db, const std::vector<NewDelivery>& deliveries, int64_t now) {
  Stmt msg(db,
           "INSERT INTO messages(key, destination, sender, subject, payload, priority, "
           "created_at) VALUES(?,?,?,?,?,?,?) ON CONFLICT(key) DO NOTHING");
  Stmt del(db,
           "INSERT INTO deliveries(message_id, recipient, idempotency_key, next_attempt_at, "
           "created_at) VALUES(?,?,?,?,?) ON CONFLICT(idempotency_key) DO NOTHING");
  for (const auto& d : deliveries) {
    msg.bind(1, d.idempotency_key).bind(2, d.destination).bind(3, d.sender).bind(4, d.subject)
        .bind(5, d.payload).bind(6, int64_t{d.priority}).bind(7, now);
    msg.run();
    if (sqlite3_changes(db) == 0) continue;
    const int64_t message_id = sqlite3_last_insert_rowid(db);
    std::vector<std::string> recipients = d.recipients;
    if (recipients.empty()) recipients.emplace_back();
    for (const auto& r : recipients) {
      del.bind(1, message_id).bind(2, r).bind(3, delivery_key(d, r)).bind(4, now).bind(5, now);
      del.run();
    }
  }
}
}  // namespace

Expected<int> Store::commit_poll(const PollCommit& poll) {
  std::lock_guard lock(m_mutex);
  return guarded("commit poll", [&]() -> Expected<int> {
    Transaction tx(Conn{m_db, m_busy_wait});
    int added = EventInserter(Conn{m_db, m_busy_wait}).insert(poll.events, &poll.announce, poll.now);
    Stmt up(Conn{m_db, m_busy_wait},
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
    Stmt up(Conn{m_db, m_busy_wait},
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
    Transaction tx(Conn{m_db, m_busy_wait});
    int added = EventInserter(Conn{m_db, m_busy_wait}).insert(events, nullptr, now);
    tx.commit();
    return added;
  });
}

Expected<std::vector<bool>> Store::ingest(const std::vector<InboundItem>& items, int64_t now) {
  std::lock_guard lock(m_mutex);
  return guarded("ingest", [&]() -> Expected<std::vector<bool>> {
    Transaction tx(Conn{m_db, m_busy_wait});
    Stmt seen(Conn{m_db, m_busy_wait},
              "INSERT INTO inbound_deliveries(source, delivery_id, received_at) VALUES(?,?,?) "
              "ON CONFLICT DO NOTHING");
    EventInserter inserter(Conn{m_db, m_busy_wait});
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

Expected<std::vector<StoredEvent>> Store::events_received_between(
    int64_t from, int64_t to, const std::vector<std::string>& kinds) {
  std::lock_guard lock(m_mutex);
  return guarded("events received", [&]() -> Expected<std::vector<StoredEvent>> {
    std::vector<StoredEvent> out;
    Stmt st(Conn{m_db, m_busy_wait},
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

Expected<std::optional<int64_t>> Store::digest_window_end(const std::string& name) {
  std::lock_guard lock(m_mutex);
  return guarded("digest window", [&]() -> Expected<std::optional<int64_t>> {
    Stmt st(Conn{m_db, m_busy_wait}, "SELECT window_end FROM digest_state WHERE name = ?");
    st.bind(1, name);
    if (st.step()) return std::optional<int64_t>(st.i64(0));
    return std::optional<int64_t>{};
  });
}

Status Store::commit_digest(const std::string& name, int64_t window_end,
                            const std::vector<NewDelivery>& deliveries, int64_t now) {
  std::lock_guard lock(m_mutex);
  return guarded("commit digest", [&]() -> Status {
    Transaction tx(Conn{m_db, m_busy_wait});
    insert_deliveries_locked(Conn{m_db, m_busy_wait}, deliveries, now);
    Stmt up(Conn{m_db, m_busy_wait},
            "INSERT INTO digest_state(name, window_end) VALUES(?1, ?2) "
            "ON CONFLICT(name) DO UPDATE SET window_end = ?2");
    up.bind(1, name).bind(2, window_end);
    up.run();
    tx.commit();
    return ok_status();
  });
}

Expected<std::vector<StoredEvent>> Store::unrouted_events(int limit) {
  return guarded("unrouted events", [&]() -> Expected<std::vector<StoredEvent>> {
    std::vector<std::pair<int64_t, std::string>> rows;
    {
      std::lock_guard lock(m_mutex);  // JSON is parsed after, so writers are not held up
      Stmt st(Conn{m_db, m_busy_wait}, "SELECT id, body FROM events WHERE routed = 0 ORDER BY id LIMIT ?");
      st.bind(1, int64_t{limit});
      while (st.step()) rows.emplace_back(st.i64(0), st.text(1));
    }
    std::vector<StoredEvent> out;
    out.reserve(rows.size());
    for (auto& [id, body] : rows)
      out.push_back({id, event_from_json(nlohmann::json::parse(body))});
    return out;
  });
}

Status Store::commit_routing(const std::vector<int64_t>& event_ids,
                             const std::vector<NewDelivery>& deliveries, int64_t now) {
  std::lock_guard lock(m_mutex);
  return guarded("commit routing", [&]() -> Status {
    Transaction tx(Conn{m_db, m_busy_wait});
    insert_deliveries_locked(Conn{m_db, m_busy_wait}, deliveries, now);
    Stmt mark(Conn{m_db, m_busy_wait}, "UPDATE events SET routed = 1 WHERE id = ?");
    for (int64_t id : event_ids) {
      mark.bind(1, id);
      mark.run();
    }
    tx.commit();
    return ok_status();
  });
}

namespace {

// The columns an OutboxItem is read from, in this order: a delivery (d) and
// its message (m).
constexpr const char* k_item_columns =
    "d.id, d.idempotency_key, m.destination, m.sender, d.recipient, m.payload, d.attempts, "
    "d.created_at, m.id, m.key";

// Deliveries to destinations not disabled, with their messages.
constexpr const char* k_item_from =
    " FROM deliveries d JOIN messages m ON m.id = d.message_id "
    "WHERE d.state = 'pending' AND NOT EXISTS "
    "(SELECT 1 FROM destination_state s WHERE s.name = m.destination) ";

OutboxItem read_item(const Stmt& st) {
  OutboxItem it;
  it.id = st.i64(0);
  it.idempotency_key = st.text(1);
  it.destination = st.text(2);
  it.sender = st.text(3);
  if (auto r = st.text(4); !r.empty()) it.recipients = {std::move(r)};
  it.payload = st.text(5);
  it.attempts = static_cast<int>(st.i64(6));
  it.created_at = st.i64(7);
  it.message_id = st.i64(8);
  it.message_key = st.text(9);
  return it;
}

}  // namespace

Expected<std::vector<OutboxItem>> Store::due_deliveries(int64_t now, int limit) {
  std::lock_guard lock(m_mutex);
  return guarded("due deliveries", [&]() -> Expected<std::vector<OutboxItem>> {
    std::vector<OutboxItem> out;
    Stmt st(Conn{m_db, m_busy_wait},
            (std::string("SELECT ") + k_item_columns + k_item_from +
             "AND d.next_attempt_at <= ?1 AND d.lease_until <= ?1 "
             "ORDER BY m.priority DESC, d.next_attempt_at, d.id LIMIT ?2")
                .c_str());
    st.bind(1, now).bind(2, int64_t{limit});
    while (st.step()) out.push_back(read_item(st));
    return out;
  });
}

Expected<std::vector<OutboxItem>> Store::claim_deliveries(const std::string& destination,
                                                          int64_t now, int limit,
                                                          const std::string& owner,
                                                          int64_t lease_until) {
  std::lock_guard lock(m_mutex);
  return guarded("claim deliveries", [&]() -> Expected<std::vector<OutboxItem>> {
    std::vector<OutboxItem> out;
    Transaction tx(Conn{m_db, m_busy_wait});  // BEGIN IMMEDIATE: no other process claims in between
    Stmt st(Conn{m_db, m_busy_wait},
            (std::string("SELECT ") + k_item_columns + k_item_from +
             "AND m.destination = ?1 AND d.next_attempt_at <= ?2 AND d.lease_until <= ?2 "
             "ORDER BY m.priority DESC, d.next_attempt_at, d.id LIMIT ?3")
                .c_str());
    st.bind(1, destination).bind(2, now).bind(3, int64_t{limit});
    while (st.step()) out.push_back(read_item(st));
    if (out.empty()) return out;
    Stmt lease(Conn{m_db, m_busy_wait},
               "UPDATE deliveries SET lease_owner = ?2, lease_until = ?3 WHERE id = ?1");
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
    Transaction tx(Conn{m_db, m_busy_wait});
    Stmt st(Conn{m_db, m_busy_wait},
            "UPDATE deliveries SET lease_until = ?3 WHERE id = ?1 AND lease_owner = ?2 "
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
    Transaction tx(Conn{m_db, m_busy_wait});
    Stmt st(Conn{m_db, m_busy_wait},
            "UPDATE deliveries SET lease_owner = '', lease_until = 0 WHERE id = ?1 "
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
    Stmt st(Conn{m_db, m_busy_wait},
            "SELECT DISTINCT lease_owner FROM deliveries WHERE state = 'pending' "
            "AND lease_until > ?1 AND lease_owner != ''");
    st.bind(1, now);
    while (st.step()) out.push_back(st.text(0));
    return out;
  });
}

Expected<int> Store::release_owner(const std::string& owner) {
  std::lock_guard lock(m_mutex);
  return guarded("release owner", [&]() -> Expected<int> {
    Stmt st(Conn{m_db, m_busy_wait},
            "UPDATE deliveries SET lease_owner = '', lease_until = 0 WHERE lease_owner = ?1 "
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
    Stmt st(Conn{m_db, m_busy_wait},
            "SELECT DISTINCT m.destination FROM deliveries d JOIN messages m "
            "ON m.id = d.message_id WHERE d.state = 'pending'");
    while (st.step()) out.push_back(st.text(0));
    return out;
  });
}

Expected<std::optional<int64_t>> Store::next_due_time(const std::string& destination) {
  std::lock_guard lock(m_mutex);
  return guarded("next due time", [&]() -> Expected<std::optional<int64_t>> {
    // A disabled destination is due never: its deliveries wait for an enable.
    Stmt st(Conn{m_db, m_busy_wait},
            (std::string("SELECT MIN(MAX(d.next_attempt_at, d.lease_until))") + k_item_from +
             "AND (?1 = '' OR m.destination = ?1)")
                .c_str());
    st.bind(1, destination);
    if (st.step() && !st.is_null(0)) return std::optional<int64_t>(st.i64(0));
    return std::optional<int64_t>{};
  });
}

Status Store::record_outcomes(const std::vector<DeliveryOutcome>& outcomes, int64_t now) {
  std::lock_guard lock(m_mutex);
  return guarded("record outcomes", [&]() -> Status {
    const Conn c{m_db, m_busy_wait};
    Transaction tx(c);
    Stmt done(c,
              "UPDATE deliveries SET state='delivered', attempts=attempts+1, delivered_at=?2, "
              "last_error=?3, lease_owner='', lease_until=0 WHERE id=?1");
    Stmt retry(c,
               "UPDATE deliveries SET attempts=attempts+1, next_attempt_at=?2, last_error=?3, "
               "lease_owner='', lease_until=0 WHERE id=?1");
    Stmt dead(c,
              "UPDATE deliveries SET state='dead', attempts=attempts+1, last_error=?3, "
              "next_attempt_at=?2, lease_owner='', lease_until=0 WHERE id=?1");
    // The destination is gone: the delivery stays pending, not counted as an
    // attempt, and the destination is disabled until an admin enables it.
    Stmt keep(c,
              "UPDATE deliveries SET last_error=?3, next_attempt_at=?2, lease_owner='', "
              "lease_until=0 WHERE id=?1");
    Stmt disable(c,
                 "INSERT INTO destination_state(name, disabled_reason, disabled_since) "
                 "SELECT m.destination, ?2, ?3 FROM deliveries d JOIN messages m "
                 "ON m.id = d.message_id WHERE d.id = ?1 ON CONFLICT(name) DO NOTHING");
    for (const auto& o : outcomes) {
      Stmt* st = &retry;
      int64_t t = o.next_attempt_at;
      if (o.dead) {
        st = &dead, t = now;
      } else if (o.result.status == DeliveryResult::Status::delivered) {
        st = &done, t = now;
      } else if (o.result.status == DeliveryResult::Status::disable) {
        st = &keep, t = now;
        disable.bind(1, o.id).bind(2, o.result.detail).bind(3, now);
        disable.run();
      }
      st->bind(1, o.id).bind(2, t).bind(3, o.result.detail);
      st->run();
    }
    tx.commit();
    return ok_status();
  });
}

namespace {

// The columns an OutboxRow is read from, in this order.
constexpr const char* k_row_select =
    "SELECT d.id, d.idempotency_key, m.destination, d.state, m.subject, d.last_error, "
    "d.attempts, d.created_at, d.next_attempt_at, d.delivered_at, d.recipient, m.id, m.key, "
    "m.sender, d.lease_owner, d.lease_until, length(m.payload), m.created_at, m.priority "
    "FROM deliveries d JOIN messages m ON m.id = d.message_id ";

OutboxRow read_row(const Stmt& st) {
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
  r.recipient = st.text(10);
  r.message_id = st.i64(11);
  r.message_key = st.text(12);
  r.sender = st.text(13);
  r.lease_owner = st.text(14);
  r.lease_until = st.i64(15);
  r.payload_size = st.i64(16);
  r.message_created_at = st.i64(17);
  r.priority = static_cast<int>(st.i64(18));
  return r;
}

}  // namespace

Expected<std::vector<OutboxRow>> Store::outbox_rows(const std::string& state, int limit) {
  OutboxFilter f;
  f.state = state;
  f.limit = limit;
  return outbox_rows(f);
}

Expected<std::vector<OutboxRow>> Store::outbox_rows(const OutboxFilter& filter) {
  std::lock_guard lock(m_mutex);
  return guarded("outbox rows", [&]() -> Expected<std::vector<OutboxRow>> {
    std::vector<OutboxRow> out;
    Stmt st(Conn{m_db, m_busy_wait},
            (std::string(k_row_select) +
             "WHERE (?1 = '' OR d.state = ?1) AND (?2 = '' OR m.destination = ?2) "
             "AND (?3 IS NULL OR d.created_at < ?3) ORDER BY d.id LIMIT ?4")
                .c_str());
    st.bind(1, filter.state).bind(2, filter.destination).bind(4, int64_t{filter.limit});
    if (filter.created_before) st.bind(3, *filter.created_before);
    while (st.step()) out.push_back(read_row(st));
    return out;
  });
}

Expected<std::optional<OutboxRow>> Store::outbox_row(int64_t id) {
  std::lock_guard lock(m_mutex);
  return guarded("outbox row", [&]() -> Expected<std::optional<OutboxRow>> {
    Stmt st(Conn{m_db, m_busy_wait}, (std::string(k_row_select) + "WHERE d.id = ?1").c_str());
    st.bind(1, id);
    if (!st.step()) return std::optional<OutboxRow>{};
    return std::optional<OutboxRow>{read_row(st)};
  });
}

Expected<int> Store::retry_dead(std::optional<int64_t> id, int64_t now,
                                const std::string& destination) {
  std::lock_guard lock(m_mutex);
  return guarded("retry dead", [&]() -> Expected<int> {
    Stmt st(Conn{m_db, m_busy_wait},
            "UPDATE deliveries SET state='pending', next_attempt_at=?1, created_at=?1, "
            "attempts=0, lease_owner='', lease_until=0 "
            "WHERE state='dead' AND (?2 < 0 OR id = ?2) AND (?3 = '' OR message_id IN "
            "(SELECT id FROM messages WHERE destination = ?3))");
    st.bind(1, now).bind(2, id.value_or(-1)).bind(3, destination);
    st.run();
    return sqlite3_changes(m_db);
  });
}

Expected<int> Store::purge(const std::string& state, const std::string& destination,
                           int64_t created_before) {
  if (state != "dead" && state != "delivered")
    return bad_input("only dead or delivered deliveries can be purged, not '" + state + "'");
  std::lock_guard lock(m_mutex);
  return guarded("purge", [&]() -> Expected<int> {
    const Conn c{m_db, m_busy_wait};
    Transaction tx(c);
    Stmt del(c,
             "DELETE FROM deliveries WHERE state = ?1 AND created_at < ?2 AND (?3 = '' OR "
             "message_id IN (SELECT id FROM messages WHERE destination = ?3))");
    del.bind(1, state).bind(2, created_before).bind(3, destination);
    del.run();
    const int n = sqlite3_changes(m_db);
    Stmt orphans(c,
                 "DELETE FROM messages WHERE NOT EXISTS "
                 "(SELECT 1 FROM deliveries d WHERE d.message_id = messages.id)");
    orphans.run();
    tx.commit();
    return n;
  });
}

Status Store::disable_destination(const std::string& name, const std::string& reason,
                                  int64_t now) {
  std::lock_guard lock(m_mutex);
  return guarded("disable destination", [&]() -> Status {
    Stmt st(Conn{m_db, m_busy_wait},
            "INSERT INTO destination_state(name, disabled_reason, disabled_since) "
            "VALUES(?1, ?2, ?3) ON CONFLICT(name) DO UPDATE SET disabled_reason = ?2");
    st.bind(1, name).bind(2, reason).bind(3, now);
    st.run();
    return ok_status();
  });
}

Expected<bool> Store::enable_destination(const std::string& name) {
  std::lock_guard lock(m_mutex);
  return guarded("enable destination", [&]() -> Expected<bool> {
    Stmt st(Conn{m_db, m_busy_wait}, "DELETE FROM destination_state WHERE name = ?1");
    st.bind(1, name);
    st.run();
    return sqlite3_changes(m_db) > 0;
  });
}

Expected<std::map<std::string, DisabledDestination>> Store::disabled_destinations() {
  std::lock_guard lock(m_mutex);
  return guarded("disabled destinations",
                 [&]() -> Expected<std::map<std::string, DisabledDestination>> {
                   std::map<std::string, DisabledDestination> out;
                   Stmt st(Conn{m_db, m_busy_wait},
                           "SELECT name, disabled_reason, disabled_since FROM destination_state");
                   while (st.step()) out[st.text(0)] = {st.text(1), st.i64(2)};
                   return out;
                 });
}

Expected<int64_t> Store::count_events() {
  std::lock_guard lock(m_mutex);
  return guarded("count events", [&]() -> Expected<int64_t> {
    Stmt st(Conn{m_db, m_busy_wait}, "SELECT COUNT(*) FROM events");
    return st.step() ? st.i64(0) : 0;
  });
}

Expected<std::vector<std::pair<std::string, int64_t>>> Store::outbox_depth() {
  std::lock_guard lock(m_mutex);
  return guarded("outbox depth", [&]() -> Expected<std::vector<std::pair<std::string, int64_t>>> {
    std::vector<std::pair<std::string, int64_t>> out;
    Stmt st(Conn{m_db, m_busy_wait}, "SELECT state, COUNT(*) FROM deliveries GROUP BY state ORDER BY state");
    while (st.step()) out.emplace_back(st.text(0), st.i64(1));
    return out;
  });
}

Expected<std::vector<Store::CountRow>> Store::count_events_by_source_kind() {
  std::lock_guard lock(m_mutex);
  return guarded("count events", [&]() -> Expected<std::vector<CountRow>> {
    std::vector<CountRow> out;
    Stmt st(Conn{m_db, m_busy_wait}, "SELECT source, kind, COUNT(*) FROM events GROUP BY source, kind "
                  "ORDER BY source, kind");
    while (st.step()) out.push_back({st.text(0), st.text(1), st.i64(2)});
    return out;
  });
}

Expected<std::vector<Store::CountRow>> Store::count_outbox_by_destination() {
  std::lock_guard lock(m_mutex);
  return guarded("count outbox", [&]() -> Expected<std::vector<CountRow>> {
    std::vector<CountRow> out;
    Stmt st(Conn{m_db, m_busy_wait}, "SELECT m.destination, d.state, COUNT(*) FROM deliveries d JOIN messages m "
                  "ON m.id = d.message_id GROUP BY m.destination, d.state "
                  "ORDER BY m.destination, d.state");
    while (st.step()) out.push_back({st.text(0), st.text(1), st.i64(2)});
    return out;
  });
}

Expected<std::vector<std::string>> Store::existing_event_keys(
    const std::vector<std::string>& keys) {
  std::lock_guard lock(m_mutex);
  return guarded("existing keys", [&]() -> Expected<std::vector<std::string>> {
    std::vector<std::string> out;
    Stmt st(Conn{m_db, m_busy_wait}, "SELECT 1 FROM events WHERE key = ?");
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
    Stmt st(Conn{m_db, m_busy_wait}, "SELECT COUNT(*) FROM source_state");
    st.step();
    return ok_status();
  });
}

Expected<std::optional<StoredEvent>> Store::event_by_key(const std::string& key) {
  std::lock_guard lock(m_mutex);
  return guarded("event by key", [&]() -> Expected<std::optional<StoredEvent>> {
    Stmt st(Conn{m_db, m_busy_wait}, "SELECT id, body FROM events WHERE key = ?");
    st.bind(1, key);
    if (!st.step()) return std::optional<StoredEvent>{};
    return std::optional<StoredEvent>(
        StoredEvent{st.i64(0), event_from_json(nlohmann::json::parse(st.text(1)))});
  });
}

Expected<std::optional<OutboxPayload>> Store::outbox_payload(const std::string& idempotency_key) {
  std::lock_guard lock(m_mutex);
  return guarded("outbox payload", [&]() -> Expected<std::optional<OutboxPayload>> {
    // By the message's key or one of its deliveries' keys; the state is the
    // least advanced of the message's deliveries (pending before dead before delivered).
    Stmt st(Conn{m_db, m_busy_wait},
            "SELECT (SELECT d.state FROM deliveries d WHERE d.message_id = m.id ORDER BY "
            "CASE d.state WHEN 'pending' THEN 0 WHEN 'dead' THEN 1 ELSE 2 END LIMIT 1), "
            "m.payload, m.created_at FROM messages m WHERE m.key = ?1 OR m.id = "
            "(SELECT message_id FROM deliveries WHERE idempotency_key = ?1)");
    st.bind(1, idempotency_key);
    if (!st.step()) return std::optional<OutboxPayload>{};
    return std::optional<OutboxPayload>(OutboxPayload{st.text(0), st.text(1), st.i64(2)});
  });
}

}  // namespace herald
