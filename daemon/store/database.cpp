// The database: one SQLite connection in WAL mode, synchronous=FULL so that
// what herald acknowledged survives power loss as well as kill -9.
// Migrations are a list of SQL scripts; PRAGMA user_version records how many
// were applied.
//
// Opening names the cause when the file system is in the way: SQLite says
// "disk I/O error" or "unable to open database file" for a full disk, a
// read-only mount or a directory herald may not write; the extended result
// code and the errno SQLite saw (sqlite3_system_errno) tell them apart.
#include "daemon/store/database.hpp"

#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <thread>

#include <spdlog/spdlog.h>

#include "daemon/store/sqlite.hpp"

namespace herald {

using namespace store_sql;

namespace {

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
  if ((primary == SQLITE_CANTOPEN || primary == SQLITE_READONLY) && sys != EROFS && sys != EACCES &&
      sys != EPERM) {
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
    // 5: a delivery carries its message's destination and priority (which never
    // change), so that a lane's claim is one walk of one index in claim order
    // (destination, priority, due time) instead of a join and a sort of every
    // pending delivery.
    R"sql(
ALTER TABLE deliveries ADD COLUMN destination TEXT NOT NULL DEFAULT '';
ALTER TABLE deliveries ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
UPDATE deliveries SET
  destination = (SELECT m.destination FROM messages m WHERE m.id = deliveries.message_id),
  priority = (SELECT m.priority FROM messages m WHERE m.id = deliveries.message_id);
CREATE INDEX deliveries_claim ON deliveries(destination, priority DESC, next_attempt_at, id)
  WHERE state = 'pending';
)sql",
    // 6: subscribers (address, state, topics, branch filter, delivery mode and
    // the consent record: when and from which client they subscribed and
    // confirmed), their tokens (only a SHA-256 of each is kept) and the web
    // pages' secret (the key of their CSRF tokens).
    R"sql(
CREATE TABLE subscribers(
  id INTEGER PRIMARY KEY,
  address TEXT NOT NULL UNIQUE COLLATE NOCASE,
  state TEXT NOT NULL DEFAULT 'pending'
    CHECK(state IN ('pending','confirmed','unsubscribed','disabled')),
  topics TEXT NOT NULL DEFAULT '',      -- topic names, comma-separated
  branches TEXT NOT NULL DEFAULT '',    -- e.g. "2.15,2.16"; empty: every branch
  mode TEXT NOT NULL DEFAULT 'immediate' CHECK(mode IN ('immediate','daily','weekly')),
  subscribed_at INTEGER NOT NULL,
  subscribed_client TEXT NOT NULL DEFAULT '',
  confirmed_at INTEGER NOT NULL DEFAULT 0,
  confirmed_client TEXT NOT NULL DEFAULT '',
  updated_at INTEGER NOT NULL
);
CREATE INDEX subscribers_state ON subscribers(state);
CREATE TABLE subscriber_tokens(
  hash TEXT PRIMARY KEY,                -- SHA-256 hex of the token
  subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
  purpose TEXT NOT NULL CHECK(purpose IN ('confirm','manage')),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL DEFAULT 0 -- 0: does not expire
) WITHOUT ROWID;
CREATE INDEX subscriber_tokens_subscriber ON subscriber_tokens(subscriber_id);
CREATE TABLE web_secret(
  id INTEGER PRIMARY KEY CHECK(id = 1),
  secret TEXT NOT NULL
);
)sql",
    // 7: security notices (one row per revision; the fields as JSON), their
    // numbers per prefix and year, the admins' approvals, and the audit log
    // of every admin action.
    R"sql(
CREATE TABLE notices(
  id INTEGER PRIMARY KEY,
  advisory TEXT NOT NULL,               -- OSFS-SA-2026-001
  revision INTEGER NOT NULL,            -- 1, 2, ...: OSFS-SA-2026-001-2
  state TEXT NOT NULL DEFAULT 'draft'
    CHECK(state IN ('draft','approved','scheduled','published','discarded')),
  withdrawn INTEGER NOT NULL DEFAULT 0,
  body TEXT NOT NULL,                   -- JSON: severity, title, summary, details, cves, ...
  author TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  embargo_until INTEGER NOT NULL DEFAULT 0,  -- 0: none
  publish_at INTEGER NOT NULL DEFAULT 0,     -- when a scheduled notice goes out
  published_at INTEGER NOT NULL DEFAULT 0,
  published_by TEXT NOT NULL DEFAULT '',
  UNIQUE(advisory, revision)
);
CREATE INDEX notices_due ON notices(publish_at) WHERE state = 'scheduled';
CREATE TABLE notice_numbers(
  prefix TEXT NOT NULL,
  year INTEGER NOT NULL,
  last INTEGER NOT NULL,
  PRIMARY KEY(prefix, year)
) WITHOUT ROWID;
CREATE TABLE notice_approvals(
  notice_id INTEGER NOT NULL REFERENCES notices(id) ON DELETE CASCADE,
  admin TEXT NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY(notice_id, admin)
) WITHOUT ROWID;
CREATE TABLE audit_log(
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  admin TEXT NOT NULL,
  action TEXT NOT NULL,
  subject TEXT NOT NULL,
  detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_subject ON audit_log(subject);
)sql",
    // 8: the supported critical-patch list: applied entries per release, the
    // proposed changes (add or remove) and their approvals.
    R"sql(
CREATE TABLE patches(
  id INTEGER PRIMARY KEY,
  release TEXT NOT NULL,                -- 2.15.7
  ticket TEXT NOT NULL,                 -- LU-17000
  change_url TEXT NOT NULL,
  severity TEXT NOT NULL CHECK(severity IN ('low','medium','high','critical')),
  summary TEXT NOT NULL,
  branches TEXT NOT NULL DEFAULT '',    -- space-separated: 2.15 2.16
  state TEXT NOT NULL CHECK(state IN ('supported','removed')),
  proposed_by TEXT NOT NULL,
  proposed_at INTEGER NOT NULL,
  applied_at INTEGER NOT NULL,
  UNIQUE(release, ticket)
);
CREATE TABLE patch_changes(
  id INTEGER PRIMARY KEY,
  action TEXT NOT NULL CHECK(action IN ('add','remove')),
  release TEXT NOT NULL,
  ticket TEXT NOT NULL,
  body TEXT NOT NULL,                   -- JSON: the entry to add
  state TEXT NOT NULL DEFAULT 'pending' CHECK(state IN ('pending','applied','cancelled')),
  author TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  decided_at INTEGER NOT NULL DEFAULT 0
);
-- One pending change per entry: two at once could only contradict each other.
CREATE UNIQUE INDEX patch_changes_pending ON patch_changes(release, ticket) WHERE state = 'pending';
CREATE TABLE patch_change_approvals(
  change_id INTEGER NOT NULL REFERENCES patch_changes(id) ON DELETE CASCADE,
  admin TEXT NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY(change_id, admin)
) WITHOUT ROWID;
)sql",
};

}  // namespace

// Copies the WAL into the database from a connection of its own, in a thread
// of its own, when a commit leaves the log past k_pages. SQLite's own
// checkpoint runs inside the commit that crosses its threshold, with the
// connection (and so every store) held meanwhile; a PASSIVE checkpoint here
// neither waits for nor blocks a writer, and the writer restarts the log once
// it is all copied. Started by the first commit that needs it, so a command
// that writes little never starts it.
class Checkpointer {
 public:
  static constexpr int k_pages = 1000;  // SQLite's default wal_autocheckpoint
  static constexpr int k_bound = 3000;  // the log's bound (pages) when the writer never pauses

  explicit Checkpointer(std::string path) : m_path(std::move(path)) {}
  ~Checkpointer() {
    {
      std::lock_guard lock(m_mutex);
      m_stop = true;
    }
    m_cv.notify_all();
    if (m_thread.joinable()) m_thread.join();
  }
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // From a commit (the wal hook): false when the caller must checkpoint
  // itself because this thread cannot (its connection did not open).
  bool request() {
    {
      std::lock_guard lock(m_mutex);
      if (m_failed) return false;
      m_wanted = true;
      if (!m_thread.joinable()) m_thread = std::thread([this] { loop(); });
    }
    m_cv.notify_one();
    return true;
  }

 private:
  void loop() {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(m_path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK ||
        sqlite3_exec(db, "PRAGMA synchronous=FULL", nullptr, nullptr, nullptr) != SQLITE_OK) {
      spdlog::warn("database {}: checkpoints run inline (a second connection did not open: {})",
                   m_path, db ? sqlite3_errmsg(db) : "out of memory");
      sqlite3_close_v2(db);
      std::lock_guard lock(m_mutex);
      m_failed = true;
      return;
    }
    // The hook is per connection: this one's commits (none) never ask for more.
    sqlite3_wal_autocheckpoint(db, 0);
    std::unique_lock lock(m_mutex);
    for (;;) {
      m_cv.wait(lock, [&] { return m_stop || m_wanted; });
      if (m_stop) break;
      m_wanted = false;
      lock.unlock();
      const int rc =
          sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      if (rc != SQLITE_OK && rc != SQLITE_BUSY)
        spdlog::warn("database {}: checkpoint failed ({}); the next commit asks again", m_path,
                     sqlite3_errmsg(db));
      lock.lock();
    }
    lock.unlock();
    sqlite3_close_v2(db);
  }

  const std::string m_path;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::thread m_thread;
  bool m_wanted = false, m_stop = false, m_failed = false;
};

Database::Database(sqlite3* db, std::string path)
    : m_db(db), m_checkpointer(std::make_unique<Checkpointer>(std::move(path))) {}
Database::~Database() {
  m_checkpointer.reset();  // its connection closes first: this one's close checkpoints what is left
  for (auto& [sql, stmt] : m_statements) sqlite3_finalize(stmt);
  sqlite3_close_v2(m_db);
}

int Database::on_commit(void* self, sqlite3* db, const char* name, int pages) {
  if (pages < Checkpointer::k_pages) return SQLITE_OK;
  auto* owner = static_cast<Database*>(self);
  // The log restarts only when a write begins with all of it copied, which a
  // writer that never pauses does not give the thread: past k_bound pages
  // the commit copies what the thread has not (most of it is, by then).
  if (pages >= Checkpointer::k_bound || !owner->m_checkpointer->request())
    sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  return SQLITE_OK;
}

sqlite3_stmt* Database::prepared(const std::string& sql) const {
  auto it = m_statements.find(sql);
  if (it != m_statements.end()) return it->second;
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v3(m_db, sql.c_str(), static_cast<int>(sql.size()) + 1,
                         SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK)
    return nullptr;
  m_statements.emplace(sql, s);
  return s;
}

Expected<std::unique_ptr<Database>> Database::open(const std::string& path) {
  std::error_code ec;
  auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty() && !std::filesystem::create_directories(dir, ec) && ec)
    return permanent_error(open_failure(
        path, 0, ec.value(), "cannot create the directory " + dir.string() + ": " + ec.message()));
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    const int code = db ? sqlite3_extended_errcode(db) : rc;
    const int sys = db ? sqlite3_system_errno(db) : 0;
    sqlite3_close_v2(db);
    return permanent_error(open_failure(path, code, sys, msg));
  }
  // The checkpoint thread opens the file SQLite resolved (an absolute path).
  const char* resolved = sqlite3_db_filename(db, "main");
  std::unique_ptr<Database> owner(new Database(db, resolved && *resolved ? resolved : path));
  // SQLite falls back to read-only when the file cannot be opened for writing;
  // herald must write, so that is the error, with its cause.
  if (sqlite3_db_readonly(db, "main") == 1)
    return permanent_error(open_failure(
        path, SQLITE_READONLY, on_read_only_file_system(path) ? EROFS : EACCES, "read-only"));
  owner->set_busy_timeout(owner->m_busy_wait);
  try {
    // cache_size: 1 MiB of page cache is plenty for herald's small working set.
    for (const char* pragma : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
                               "PRAGMA cache_size=-1024", "PRAGMA foreign_keys=ON"})
      run_sql(db, pragma, pragma);
    if (auto s = owner->migrate(); !s)
      return permanent_error("database " + path + ": " + s.error().message);
    // Replaces SQLite's own checkpoint-in-commit (Checkpointer, above).
    sqlite3_wal_hook(db, &Database::on_commit, owner.get());
  } catch (const SqliteError& e) {
    return permanent_error(open_failure(path, e.code, e.sys, e.what()));
  }
  return owner;
}

void Database::set_busy_timeout(std::chrono::milliseconds wait) {
  std::lock_guard lock(m_mutex);
  m_busy_wait = wait;
  // SQLite's own wait is at most a second at a time, so that a long bound is
  // waited in steps by the retry loops (which also see what SQLite does not wait for).
  sqlite3_busy_timeout(m_db, static_cast<int>(std::min<int64_t>(wait.count(), 1000)));
}

Expected<int> Database::schema_version() const {
  std::lock_guard lock(m_mutex);
  return guarded("schema version", [&]() -> Expected<int> {
    Stmt st(Conn{m_db, m_busy_wait}, "PRAGMA user_version");
    return st.step() ? static_cast<int>(st.i64(0)) : 0;
  });
}

Status Database::migrate() {
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

Expected<bool> Database::changed_by_others() {
  std::lock_guard lock(m_mutex);
  return guarded("data version", [&]() -> Expected<bool> {
    Stmt st(Conn{m_db, m_busy_wait}, "PRAGMA data_version");
    const int64_t v = st.step() ? st.i64(0) : 0;
    const bool changed = m_data_version >= 0 && v != m_data_version;
    m_data_version = v;
    return changed;
  });
}

Status Database::health_check() {
  std::lock_guard lock(m_mutex);
  return guarded("health check", [&]() -> Status {
    Stmt st(Conn{m_db, m_busy_wait}, "SELECT COUNT(*) FROM source_state");
    st.step();
    return ok_status();
  });
}

}  // namespace herald
