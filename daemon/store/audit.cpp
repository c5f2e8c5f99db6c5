// The audit log.
#include "daemon/store/audit.hpp"

#include "daemon/store/sqlite.hpp"

namespace herald {

using namespace store_sql;

void store_sql::append_audit_locked(const Database& db, const AuditEntry& e) {
  Stmt st(db, "INSERT INTO audit_log(at, admin, action, subject, detail) VALUES(?,?,?,?,?)");
  st.bind(1, e.at).bind(2, e.admin).bind(3, e.action).bind(4, e.subject).bind(5, e.detail);
  st.run();
}

Status AuditStore::append(const AuditEntry& e) {
  std::lock_guard lock(m_db.mutex());
  return guarded("audit log", [&]() -> Status {
    append_audit_locked(m_db, e);
    return ok_status();
  });
}

Expected<std::vector<AuditEntry>> AuditStore::list(const std::string& subject_prefix, int limit) {
  std::lock_guard lock(m_db.mutex());
  return guarded("audit log", [&]() -> Expected<std::vector<AuditEntry>> {
    // substr() rather than LIKE: a prefix holding '%' or '_' means itself.
    Stmt st(conn(m_db),
            "SELECT id, at, admin, action, subject, detail FROM ("
            "SELECT * FROM audit_log WHERE substr(subject, 1, length(?1)) = ?1 "
            "ORDER BY id DESC LIMIT ?2) ORDER BY id");
    st.bind(1, subject_prefix).bind(2, int64_t{limit});
    std::vector<AuditEntry> out;
    while (st.step())
      out.push_back({st.i64(0), st.i64(1), st.text(2), st.text(3), st.text(4), st.text(5)});
    return out;
  });
}

}  // namespace herald
