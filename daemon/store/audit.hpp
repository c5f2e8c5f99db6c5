// The audit log of admin actions: who did what to which notice or patch-list
// entry, and when. Rows are only ever added.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "daemon/expected.hpp"
#include "daemon/store/database.hpp"

namespace herald {

struct AuditEntry {
  int64_t id = 0;
  int64_t at = 0;
  std::string admin;    // "herald" for what the daemon does itself (an embargo ending)
  std::string action;   // create, approve, publish, published, withdraw, revise, refused, ...
  std::string subject;  // "OSFS-SA-2026-001-1", "patch:2.15.7:LU-17000"
  std::string detail;   // one line; never a notice's content before publication
};

class AuditStore {
 public:
  explicit AuditStore(Database& db) : m_db(db) {}

  Status append(const AuditEntry& e);
  // Entries whose subject starts with subject_prefix ("" = all), oldest first,
  // the last `limit` of them.
  Expected<std::vector<AuditEntry>> list(const std::string& subject_prefix, int limit = 1000);

 private:
  Database& m_db;
};

namespace store_sql {
// For stores that write an entry inside their own transaction (mutex held).
void append_audit_locked(const Database& db, const AuditEntry& e);
}  // namespace store_sql

}  // namespace herald
