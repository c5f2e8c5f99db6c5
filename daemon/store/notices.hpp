// Security notices: one row per revision (OSFS-SA-2026-001-1, -2, ...),
// their approvals, and the steps from draft to published. Every change
// writes its audit log entry in the same transaction, and publication stores
// the notice's event (routed by the next pass) in the transaction that marks
// it published, so a notice is sent once, after a crash too.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/event.hpp"
#include "daemon/expected.hpp"
#include "daemon/store/audit.hpp"
#include "daemon/store/database.hpp"

namespace herald {

struct Notice {
  int64_t id = 0;
  std::string advisory;  // OSFS-SA-2026-001
  int revision = 1;
  std::string state = "draft";  // draft, approved, scheduled, published, discarded
  bool withdrawn = false;
  nlohmann::json body = nlohmann::json::object();  // the fields (see daemon/notices/notice.hpp)
  std::string author;
  int64_t created_at = 0, updated_at = 0;
  int64_t embargo_until = 0;  // 0: none
  int64_t publish_at = 0;     // scheduled: when it goes out
  int64_t published_at = 0;
  std::string published_by;
  std::vector<std::string> approvals;  // admins, in the order they approved

  // "OSFS-SA-2026-001-2"
  std::string name() const { return advisory + "-" + std::to_string(revision); }
};

class NoticeStore {
 public:
  explicit NoticeStore(Database& db) : m_db(db) {}

  // A new advisory: the next number of `year` under prefix, revision 1, a draft.
  Expected<Notice> create(const std::string& prefix, int year, const nlohmann::json& body,
                          int64_t embargo_until, const std::string& author, int64_t now);
  // A new revision of a published notice (a revision or a withdrawal), a
  // draft; `action` names it in the audit log. bad_input when the advisory
  // already has a revision that is not published or discarded.
  Expected<Notice> add_revision(const Notice& of, const nlohmann::json& body, bool withdrawn,
                                int64_t embargo_until, const std::string& admin,
                                const std::string& action, const std::string& detail,
                                int64_t now);
  // Replaces a draft's or an approved notice's fields; its approvals are dropped.
  Status update_draft(int64_t id, const nlohmann::json& body, int64_t embargo_until,
                      const std::string& admin, int64_t now);
  // "OSFS-SA-2026-001" (its latest revision) or "OSFS-SA-2026-001-2".
  Expected<std::optional<Notice>> find(const std::string& name);
  // Every revision, newest advisory first.
  Expected<std::vector<Notice>> list();
  // Records an approval; `approved` true moves a draft to approved.
  Status approve(int64_t id, const std::string& admin, bool approved, const std::string& detail,
                 int64_t now);
  // An approved notice is scheduled to go out at publish_at.
  Status schedule(int64_t id, int64_t publish_at, const std::string& admin,
                  const std::string& detail, int64_t now);
  // A notice that will not be published (a draft, approved or scheduled).
  Status discard(int64_t id, const std::string& admin, const std::string& detail, int64_t now);
  // Scheduled notices whose time has come, oldest first.
  Expected<std::vector<Notice>> due(int64_t now);
  // When the next scheduled notice goes out, if any.
  Expected<std::optional<int64_t>> next_due();
  // Marks a due notice published and stores its event, unrouted, in one
  // transaction. False when it was no longer scheduled (another process
  // published or discarded it).
  Expected<bool> publish(const Notice& n, const Event& e, int64_t now);

 private:
  Database& m_db;
};

}  // namespace herald
