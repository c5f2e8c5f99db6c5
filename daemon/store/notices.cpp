// Security notices.
#include "daemon/store/notices.hpp"

#include <cstdio>

#include "daemon/store/sqlite.hpp"

namespace herald {

using namespace store_sql;

namespace {

constexpr const char* k_columns =
    "id, advisory, revision, state, withdrawn, body, author, created_at, updated_at, "
    "embargo_until, publish_at, published_at, published_by";

Notice read_notice(const Database& db, const Stmt& st) {
  Notice n;
  n.id = st.i64(0);
  n.advisory = st.text(1);
  n.revision = static_cast<int>(st.i64(2));
  n.state = st.text(3);
  n.withdrawn = st.i64(4) != 0;
  n.body = nlohmann::json::parse(st.text(5), nullptr, false);
  if (n.body.is_discarded()) n.body = nlohmann::json::object();
  n.author = st.text(6);
  n.created_at = st.i64(7);
  n.updated_at = st.i64(8);
  n.embargo_until = st.i64(9);
  n.publish_at = st.i64(10);
  n.published_at = st.i64(11);
  n.published_by = st.text(12);
  Stmt a(db, "SELECT admin FROM notice_approvals WHERE notice_id = ? ORDER BY at, admin");
  a.bind(1, n.id);
  while (a.step()) n.approvals.push_back(a.text(0));
  return n;
}

std::vector<Notice> read_all(const Database& db, Stmt& st) {
  std::vector<Notice> out;
  while (st.step()) out.push_back(read_notice(db, st));
  return out;
}

void audit(const Database& db, int64_t now, const std::string& admin, const std::string& action,
           const std::string& subject, const std::string& detail) {
  append_audit_locked(db, {0, now, admin, action, subject, detail});
}

// Moves notice id from one of `from` to `to`; false when it was in none.
bool transition(const Database& db, int64_t id, const char* from_states, const std::string& to,
                int64_t now) {
  Stmt st(db, std::string("UPDATE notices SET state = ?1, updated_at = ?2 WHERE id = ?3 AND "
                          "state IN (") +
                  from_states + ")");
  st.bind(1, to).bind(2, now).bind(3, id);
  st.run();
  return sqlite3_changes(db.raw()) > 0;
}

std::string name_of(const Database& db, int64_t id) {
  Stmt st(db, "SELECT advisory || '-' || revision FROM notices WHERE id = ?");
  st.bind(1, id);
  return st.step() ? st.text(0) : "#" + std::to_string(id);
}

Notice insert_notice(const Database& db, const std::string& advisory, int revision, bool withdrawn,
                     const nlohmann::json& body, int64_t embargo_until, const std::string& author,
                     int64_t now) {
  Stmt ins(db,
           "INSERT INTO notices(advisory, revision, withdrawn, body, author, created_at, "
           "updated_at, embargo_until) VALUES(?,?,?,?,?,?,?,?)");
  ins.bind(1, advisory)
      .bind(2, int64_t{revision})
      .bind(3, int64_t{withdrawn ? 1 : 0})
      .bind(4, body.dump())
      .bind(5, author)
      .bind(6, now)
      .bind(7, now)
      .bind(8, embargo_until);
  ins.run();
  Notice n;
  n.id = sqlite3_last_insert_rowid(db.raw());
  n.advisory = advisory;
  n.revision = revision;
  n.withdrawn = withdrawn;
  n.body = body;
  n.author = author;
  n.created_at = n.updated_at = now;
  n.embargo_until = embargo_until;
  return n;
}

}  // namespace

Expected<Notice> NoticeStore::create(const std::string& prefix, int year,
                                     const nlohmann::json& body, int64_t embargo_until,
                                     const std::string& author, int64_t now) {
  std::lock_guard lock(m_db.mutex());
  return guarded("create notice", [&]() -> Expected<Notice> {
    Transaction tx(conn(m_db));
    Stmt num(m_db,
             "INSERT INTO notice_numbers(prefix, year, last) VALUES(?1, ?2, 1) "
             "ON CONFLICT(prefix, year) DO UPDATE SET last = last + 1 RETURNING last");
    num.bind(1, prefix).bind(2, int64_t{year});
    if (!num.step()) return temporary_error("create notice: no number was assigned");
    const int64_t seq = num.i64(0);
    num.reset();
    char advisory[64];
    std::snprintf(advisory, sizeof advisory, "%s-%04d-%03lld", prefix.c_str(), year,
                  static_cast<long long>(seq));
    Notice n = insert_notice(m_db, advisory, 1, false, body, embargo_until, author, now);
    audit(m_db, now, author, "create", n.name(), "");
    tx.commit();
    return n;
  });
}

Expected<Notice> NoticeStore::add_revision(const Notice& of, const nlohmann::json& body,
                                           bool withdrawn, int64_t embargo_until,
                                           const std::string& admin, const std::string& action,
                                           const std::string& detail, int64_t now) {
  std::lock_guard lock(m_db.mutex());
  return guarded("revise notice", [&]() -> Expected<Notice> {
    Transaction tx(conn(m_db));
    Stmt open(m_db,
              "SELECT advisory || '-' || revision FROM notices WHERE advisory = ? AND state IN "
              "('draft','approved','scheduled')");
    open.bind(1, of.advisory);
    if (open.step())
      return bad_input(open.text(0) + " is not yet published or discarded: change that one");
    open.reset();
    Stmt last(m_db, "SELECT MAX(revision) FROM notices WHERE advisory = ?");
    last.bind(1, of.advisory);
    last.step();
    const int revision = static_cast<int>(last.i64(0)) + 1;
    last.reset();
    Notice n = insert_notice(m_db, of.advisory, revision, withdrawn, body, embargo_until, admin, now);
    audit(m_db, now, admin, action, n.name(), detail);
    tx.commit();
    return n;
  });
}

Status NoticeStore::update_draft(int64_t id, const nlohmann::json& body, int64_t embargo_until,
                                 const std::string& admin, int64_t now) {
  std::lock_guard lock(m_db.mutex());
  return guarded("update notice", [&]() -> Status {
    Transaction tx(conn(m_db));
    Stmt up(m_db,
            "UPDATE notices SET body = ?1, embargo_until = ?2, state = 'draft', updated_at = ?3 "
            "WHERE id = ?4 AND state IN ('draft','approved')");
    up.bind(1, body.dump()).bind(2, embargo_until).bind(3, now).bind(4, id);
    up.run();
    if (sqlite3_changes(m_db.raw()) == 0)
      return bad_input(name_of(m_db, id) + " is no longer a draft");
    Stmt drop(m_db, "DELETE FROM notice_approvals WHERE notice_id = ?");
    drop.bind(1, id);
    drop.run();
    audit(m_db, now, admin, "revise", name_of(m_db, id), "draft changed; approvals dropped");
    tx.commit();
    return ok_status();
  });
}

Expected<std::optional<Notice>> NoticeStore::find(const std::string& name) {
  std::lock_guard lock(m_db.mutex());
  return guarded("find notice", [&]() -> Expected<std::optional<Notice>> {
    {
      Stmt st(m_db, std::string("SELECT ") + k_columns +
                        " FROM notices WHERE advisory || '-' || revision = ?");
      st.bind(1, name);
      if (st.step()) return std::optional<Notice>(read_notice(m_db, st));
    }
    Stmt st(m_db, std::string("SELECT ") + k_columns +
                      " FROM notices WHERE advisory = ? ORDER BY revision DESC LIMIT 1");
    st.bind(1, name);
    if (st.step()) return std::optional<Notice>(read_notice(m_db, st));
    return std::optional<Notice>{};
  });
}

Expected<std::vector<Notice>> NoticeStore::list() {
  std::lock_guard lock(m_db.mutex());
  return guarded("list notices", [&]() -> Expected<std::vector<Notice>> {
    Stmt st(m_db, std::string("SELECT ") + k_columns +
                      " FROM notices ORDER BY advisory DESC, revision DESC");
    return read_all(m_db, st);
  });
}

Status NoticeStore::approve(int64_t id, const std::string& admin, bool approved,
                            const std::string& detail, int64_t now) {
  std::lock_guard lock(m_db.mutex());
  return guarded("approve notice", [&]() -> Status {
    Transaction tx(conn(m_db));
    Stmt st(m_db, "SELECT state FROM notices WHERE id = ?");
    st.bind(1, id);
    if (!st.step() || st.text(0) != "draft")
      return bad_input(name_of(m_db, id) + " is not a draft awaiting approval");
    st.reset();
    Stmt ins(m_db,
             "INSERT INTO notice_approvals(notice_id, admin, at) VALUES(?,?,?) "
             "ON CONFLICT DO NOTHING");
    ins.bind(1, id).bind(2, admin).bind(3, now);
    ins.run();
    if (sqlite3_changes(m_db.raw()) == 0)
      return bad_input("admin '" + admin + "' has already approved " + name_of(m_db, id));
    if (approved) transition(m_db, id, "'draft'", "approved", now);
    audit(m_db, now, admin, "approve", name_of(m_db, id), detail);
    tx.commit();
    return ok_status();
  });
}

Status NoticeStore::schedule(int64_t id, int64_t publish_at, const std::string& admin,
                             const std::string& detail, int64_t now) {
  std::lock_guard lock(m_db.mutex());
  return guarded("schedule notice", [&]() -> Status {
    Transaction tx(conn(m_db));
    Stmt up(m_db,
            "UPDATE notices SET state = 'scheduled', publish_at = ?1, published_by = ?2, "
            "updated_at = ?3 WHERE id = ?4 AND state = 'approved'");
    up.bind(1, publish_at).bind(2, admin).bind(3, now).bind(4, id);
    up.run();
    if (sqlite3_changes(m_db.raw()) == 0)
      return bad_input(name_of(m_db, id) + " is not approved (or already scheduled)");
    audit(m_db, now, admin, "publish", name_of(m_db, id), detail);
    tx.commit();
    return ok_status();
  });
}

Status NoticeStore::discard(int64_t id, const std::string& admin, const std::string& detail,
                            int64_t now) {
  std::lock_guard lock(m_db.mutex());
  return guarded("discard notice", [&]() -> Status {
    Transaction tx(conn(m_db));
    if (!transition(m_db, id, "'draft','approved','scheduled'", "discarded", now))
      return bad_input(name_of(m_db, id) + " is published or discarded already");
    audit(m_db, now, admin, "discard", name_of(m_db, id), detail);
    tx.commit();
    return ok_status();
  });
}

Expected<std::vector<Notice>> NoticeStore::due(int64_t now) {
  std::lock_guard lock(m_db.mutex());
  return guarded("due notices", [&]() -> Expected<std::vector<Notice>> {
    Stmt st(m_db, std::string("SELECT ") + k_columns +
                      " FROM notices WHERE state = 'scheduled' AND publish_at <= ? "
                      "ORDER BY publish_at, id");
    st.bind(1, now);
    return read_all(m_db, st);
  });
}

Expected<std::optional<int64_t>> NoticeStore::next_due() {
  std::lock_guard lock(m_db.mutex());
  return guarded("next notice", [&]() -> Expected<std::optional<int64_t>> {
    Stmt st(m_db, "SELECT MIN(publish_at) FROM notices WHERE state = 'scheduled'");
    if (st.step() && !st.is_null(0)) return std::optional<int64_t>(st.i64(0));
    return std::optional<int64_t>{};
  });
}

Expected<bool> NoticeStore::publish(const Notice& n, const Event& e, int64_t now) {
  std::lock_guard lock(m_db.mutex());
  return guarded("publish notice", [&]() -> Expected<bool> {
    Transaction tx(conn(m_db));
    Stmt up(m_db,
            "UPDATE notices SET state = 'published', published_at = ?1, updated_at = ?1 "
            "WHERE id = ?2 AND state = 'scheduled'");
    up.bind(1, now).bind(2, n.id);
    up.run();
    if (sqlite3_changes(m_db.raw()) == 0) return false;
    EventInserter(m_db).insert({e}, nullptr, now);
    audit(m_db, now, "herald", "published", n.name(),
          n.embargo_until ? "embargo ended" : "sent on publication");
    tx.commit();
    return true;
  });
}

}  // namespace herald
