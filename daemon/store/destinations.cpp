// Destination state: disabled, since when and why.
#include "daemon/store/destinations.hpp"

#include "daemon/store/sqlite.hpp"

namespace herald {

using namespace store_sql;

Status DestinationStore::disable(const std::string& name, const std::string& reason, int64_t now) {
  std::lock_guard lock(m_db.mutex());
  return guarded("disable destination", [&]() -> Status {
    Stmt st(conn(m_db),
            "INSERT INTO destination_state(name, disabled_reason, disabled_since) "
            "VALUES(?1, ?2, ?3) ON CONFLICT(name) DO UPDATE SET disabled_reason = ?2");
    st.bind(1, name).bind(2, reason).bind(3, now);
    st.run();
    return ok_status();
  });
}

Expected<bool> DestinationStore::enable(const std::string& name) {
  std::lock_guard lock(m_db.mutex());
  return guarded("enable destination", [&]() -> Expected<bool> {
    Stmt st(conn(m_db), "DELETE FROM destination_state WHERE name = ?1");
    st.bind(1, name);
    st.run();
    return sqlite3_changes(m_db.raw()) > 0;
  });
}

Expected<std::map<std::string, DisabledDestination>> DestinationStore::disabled() {
  std::lock_guard lock(m_db.mutex());
  return guarded(
      "disabled destinations", [&]() -> Expected<std::map<std::string, DisabledDestination>> {
        std::map<std::string, DisabledDestination> out;
        Stmt st(conn(m_db), "SELECT name, disabled_reason, disabled_since FROM destination_state");
        while (st.step()) out[st.text(0)] = {st.text(1), st.i64(2)};
        return out;
      });
}

}  // namespace herald
