// What the stores share over one connection (not for code outside
// daemon/store): prepared statements that throw SqliteError, transactions
// taken with BEGIN IMMEDIATE, the SQLITE_BUSY retry loops, and guarded(),
// which turns what they throw into Error values at each store method's edge.
//
// SQLITE_BUSY: another connection (herald outbox retry, a second herald run)
// holds the write lock. sqlite3_busy_timeout waits inside SQLite; the loops
// around BEGIN IMMEDIATE, COMMIT and autocommit steps retry what SQLite
// answers BUSY or LOCKED without waiting (a stale snapshot, a shared-cache
// lock), until a bounded total wait, then a temporary error.
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "daemon/event.hpp"
#include "daemon/expected.hpp"
#include "daemon/store/database.hpp"

namespace herald::store_sql {

// A statement of its own is finalized; one borrowed from the database's
// cache (Database::prepared) is reset for its next use.
struct StmtDeleter {
  bool owned = true;
  void operator()(sqlite3_stmt* s) const {
    if (owned) {
      sqlite3_finalize(s);
    } else {
      sqlite3_reset(s);
      sqlite3_clear_bindings(s);
    }
  }
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

inline bool is_busy(int rc) {
  const int primary = rc & 0xff;
  return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
}

// Waits a little before trying again; false once `start + bound` is past.
inline bool wait_again(std::chrono::steady_clock::time_point start,
                       std::chrono::milliseconds bound) {
  if (std::chrono::steady_clock::now() - start >= bound) return false;
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  return true;
}

inline std::string locked_message(std::chrono::milliseconds bound) {
  return "the database is locked by another connection (waited " + std::to_string(bound.count()) +
         " ms)";
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
  // The database's cached statement for sql (prepared on first use).
  Stmt(const Database& owner, const std::string& sql)
      : m_db(owner.raw()), m_busy_wait(owner.busy_wait()) {
    sqlite3_stmt* s = owner.prepared(sql);
    if (!s) throw SqliteError(m_db, "prepare");
    m_stmt = std::unique_ptr<sqlite3_stmt, StmtDeleter>(s, StmtDeleter{false});
  }
  Stmt& bind(int i, int64_t v) {
    check(sqlite3_bind_int64(m_stmt.get(), i, v));
    return *this;
  }
  Stmt& bind(int i, const std::string& v) {
    check(
        sqlite3_bind_text(m_stmt.get(), i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
    return *this;
  }
  Stmt& bind_null(int i) {
    check(sqlite3_bind_null(m_stmt.get(), i));
    return *this;
  }
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

// What a commit must survive. The connection runs synchronous=FULL: a commit
// is on disk before it returns, so what herald acknowledged survives power
// loss. A `crash` transaction commits with synchronous=NORMAL instead: in WAL
// mode it survives kill -9 (the frames are in the WAL file) but the last
// such commits may be lost with power, until the next checkpoint or FULL
// commit, which writes the WAL out with every frame before it (so a commit
// that survives implies every earlier one does). For bookkeeping that a
// power loss may undo without losing anything acknowledged: delivery claims
// and outcomes, whose loss means a delivery sent once more, with the
// idempotency key of the first.
enum class Durability { power_loss, crash };

// Rolls back unless committed. BEGIN IMMEDIATE takes the write lock at once,
// waiting for another connection's up to the bound.
class Transaction {
 public:
  explicit Transaction(Conn c, Durability d = Durability::power_loss)
      : m_db(c.db), m_busy_wait(c.busy_wait), m_relaxed(d == Durability::crash) {
    if (m_relaxed) exec("PRAGMA synchronous=NORMAL");
    try {
      exec("BEGIN IMMEDIATE");
    } catch (...) {
      restore();
      throw;
    }
  }
  ~Transaction() {
    if (!m_done) sqlite3_exec(m_db, "ROLLBACK", nullptr, nullptr, nullptr);
    restore();
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit() {
    exec("COMMIT");
    m_done = true;
  }

 private:
  void restore() noexcept {
    if (m_relaxed) sqlite3_exec(m_db, "PRAGMA synchronous=FULL", nullptr, nullptr, nullptr);
    m_relaxed = false;
  }
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
  bool m_relaxed = false;
  bool m_done = false;
};

// Runs SQL that returns no rows; throws SqliteError naming `what`.
inline void run_sql(sqlite3* db, const char* sql, const std::string& what) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(db);
    sqlite3_free(err);
    throw SqliteError(db, what, msg);
  }
}

// The connection of a database, for statements; call with its mutex held.
inline Conn conn(const Database& db) { return {db.raw(), db.busy_wait()}; }

template <class F>
auto guarded(const char* what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::exception& e) {
    return Error{ErrorKind::temporary, std::string(what) + ": " + e.what()};
  }
}

// Inserts events, skipping keys already stored; one prepared statement for
// every call on the same transaction.
class EventInserter {
 public:
  explicit EventInserter(const Database& db)
      : m_db(db.raw()),
        m_ins(db,
              "INSERT INTO events(key, kind, source, time, severity, title, body, received_at, "
              "routed) VALUES(?,?,?,?,?,?,?,?,?) ON CONFLICT(key) DO NOTHING") {}

  // Returns how many were new. announce[i] false records event i as routed.
  int insert(const std::vector<Event>& events, const std::vector<bool>* announce, int64_t now) {
    int added = 0;
    for (size_t i = 0; i < events.size(); ++i) {
      const Event& e = events[i];
      bool route = !announce || i >= announce->size() || (*announce)[i];
      m_ins.bind(1, e.key)
          .bind(2, e.kind)
          .bind(3, e.source)
          .bind(4, e.time)
          .bind(5, e.severity)
          .bind(6, e.title)
          .bind(7, to_json(e).dump())
          .bind(8, now)
          .bind(9, int64_t{route ? 0 : 1});
      m_ins.run();
      added += sqlite3_changes(m_db);
    }
    return added;
  }

 private:
  sqlite3* m_db;
  Stmt m_ins;
};

}  // namespace herald::store_sql
