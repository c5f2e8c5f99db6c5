// Notices that the database was written, by this process or another (`herald
// destination enable`, `herald outbox retry` while the daemon runs), without
// waking up on a timer: inotify on the database's directory, for writes to
// the database and its write-ahead log. Bursts are coalesced: at most one
// call a second. Whether another connection wrote is for the caller to ask
// (Database::changed_by_others); this only says when to ask.
#pragma once

#include <functional>
#include <string>
#include <thread>

namespace herald {

class DatabaseWatch {
 public:
  // on_change runs on the watch's thread. When inotify is not available the
  // watch logs why and does nothing (changes are then seen at the next pass).
  DatabaseWatch(const std::string& database, std::function<void()> on_change);
  ~DatabaseWatch();
  DatabaseWatch(const DatabaseWatch&) = delete;
  DatabaseWatch& operator=(const DatabaseWatch&) = delete;

 private:
  void loop();

  std::string m_name;  // the database's file name, in its directory
  std::function<void()> m_on_change;
  int m_inotify = -1;
  int m_stop[2] = {-1, -1};  // a pipe: written to end the thread
  std::thread m_thread;
};

}  // namespace herald
