// Per-source state; a poll's events are inserted in the same transaction
// that advances its cursor.
#include "daemon/store/sources.hpp"

#include "daemon/store/sqlite.hpp"

namespace herald {

using namespace store_sql;

Expected<SourceState> SourceStore::source_state(const std::string& source) {
  std::lock_guard lock(m_db.mutex());
  return guarded("source state", [&]() -> Expected<SourceState> {
    SourceState s;
    s.source = source;
    Stmt st(conn(m_db),
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

Expected<int> SourceStore::commit_poll(const PollCommit& poll) {
  std::lock_guard lock(m_db.mutex());
  return guarded("commit poll", [&]() -> Expected<int> {
    Transaction tx(conn(m_db));
    int added = EventInserter(m_db).insert(poll.events, &poll.announce, poll.now);
    Stmt up(conn(m_db),
            "INSERT INTO source_state(source, cursor, etag, last_modified, content_hash, "
            "last_success, last_attempt, last_error, consecutive_failures, next_poll_at) "
            "VALUES(?1,?2,?3,?4,?5,?6,?6,'',0,?7) ON CONFLICT(source) DO UPDATE SET "
            "cursor=?2, etag=?3, last_modified=?4, content_hash=?5, last_success=?6, "
            "last_attempt=?6, last_error='', consecutive_failures=0, next_poll_at=?7");
    up.bind(1, poll.source)
        .bind(2, poll.cursor)
        .bind(3, poll.etag)
        .bind(4, poll.last_modified)
        .bind(5, poll.content_hash)
        .bind(6, poll.now)
        .bind(7, poll.next_poll_at);
    up.run();
    tx.commit();
    return added;
  });
}

Status SourceStore::record_poll_failure(const std::string& source, const std::string& error,
                                        int64_t now, int64_t next_poll_at) {
  std::lock_guard lock(m_db.mutex());
  return guarded("record poll failure", [&]() -> Status {
    Stmt up(conn(m_db),
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

}  // namespace herald
