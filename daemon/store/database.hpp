// The database owner: one SQLite connection (RAII), the mutex every store
// over it takes, migrations, and the SQLITE_BUSY policy (wait for another
// connection's write lock up to a bound, then a temporary error). WAL
// checkpoints run on a second connection in a thread of their own, so that a
// commit seldom copies the log into the database while every store waits.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "daemon/expected.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace herald {

class Checkpointer;

// The schema version this herald writes; a database with a larger
// PRAGMA user_version came from a newer herald and is refused.
inline constexpr int k_schema_version = 8;

class Database {
 public:
  // Opens (creating if needed) and migrates the database. Errors: cannot open,
  // schema from a newer herald, migration failure.
  static Expected<std::unique_ptr<Database>> open(const std::string& path);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  Expected<int> schema_version() const;
  // How long a call waits for another connection's write lock before it
  // answers a temporary error (default 30 s).
  void set_busy_timeout(std::chrono::milliseconds wait);
  // A trivial read; ok when the database answers.
  Status health_check();
  // Whether another connection (another herald command or process) committed
  // since the last call (PRAGMA data_version); the first call answers false.
  Expected<bool> changed_by_others();

  // For the stores over it: every use of the connection holds the mutex.
  std::mutex& mutex() const { return m_mutex; }
  sqlite3* raw() const { return m_db; }
  std::chrono::milliseconds busy_wait() const { return m_busy_wait; }
  // A statement prepared once for the connection's lifetime (the hot paths:
  // claims, outcomes, inserts); nullptr when it does not prepare (the caller
  // reads sqlite3_errmsg). Call with the mutex held.
  sqlite3_stmt* prepared(const std::string& sql) const;

 private:
  explicit Database(sqlite3* db, std::string path);
  Status migrate();
  static int on_commit(void* self, sqlite3* db, const char* name, int pages);

  mutable std::mutex m_mutex;
  sqlite3* m_db;
  std::chrono::milliseconds m_busy_wait{30'000};
  mutable std::unordered_map<std::string, sqlite3_stmt*> m_statements;
  int64_t m_data_version = -1;
  std::unique_ptr<Checkpointer> m_checkpointer;  // after m_db: stops before it closes
};

}  // namespace herald
