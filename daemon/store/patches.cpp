// The supported critical-patch list. Each method is one transaction: the
// change, its audit entry and (for an applied addition) the announcement
// event commit together or not at all. A refusal (the approval rule, a
// change that is no longer pending) is also audited, in its own commit.
#include "daemon/store/patches.hpp"

#include <algorithm>

#include "daemon/admin/approval.hpp"
#include "daemon/store/audit.hpp"
#include "daemon/store/sqlite.hpp"
#include "daemon/util.hpp"

namespace herald {

using namespace store_sql;

std::string patch_subject(const std::string& release, const std::string& ticket) {
  return "patch:" + release + ":" + ticket;
}

nlohmann::json to_json(const PatchEntry& e) {
  return {
      {"release", e.release},      {"ticket", e.ticket},           {"change_url", e.change_url},
      {"severity", e.severity},    {"summary", e.summary},         {"branches", e.branches},
      {"state", e.state},          {"proposed_by", e.proposed_by}, {"proposed_at", e.proposed_at},
      {"applied_at", e.applied_at}};
}

nlohmann::json to_json(const PatchChange& c) {
  nlohmann::json entry = {{"release", c.entry.release}, {"ticket", c.entry.ticket}};
  if (c.action == "add") {
    entry["change_url"] = c.entry.change_url;
    entry["severity"] = c.entry.severity;
    entry["summary"] = c.entry.summary;
    entry["branches"] = c.entry.branches;
  }
  return {{"id", c.id},
          {"action", c.action},
          {"entry", std::move(entry)},
          {"state", c.state},
          {"author", c.author},
          {"created_at", c.created_at},
          {"decided_at", c.decided_at},
          {"approvals", c.approvals}};
}

namespace {

std::string join_branches(const std::vector<std::string>& branches) {
  std::string out;
  for (const auto& b : branches) out += (out.empty() ? "" : " ") + b;
  return out;
}

std::vector<std::string> split_branches(const std::string& text) {
  std::vector<std::string> out;
  for (auto& b : split(text, ' '))
    if (!b.empty()) out.push_back(b);
  return out;
}

constexpr const char* k_entry_columns =
    "release, ticket, change_url, severity, summary, branches, state, proposed_by, proposed_at, "
    "applied_at";

PatchEntry read_entry(const Stmt& st) {
  PatchEntry e;
  e.release = st.text(0);
  e.ticket = st.text(1);
  e.change_url = st.text(2);
  e.severity = st.text(3);
  e.summary = st.text(4);
  e.branches = split_branches(st.text(5));
  e.state = st.text(6);
  e.proposed_by = st.text(7);
  e.proposed_at = st.i64(8);
  e.applied_at = st.i64(9);
  return e;
}

// The entry's state, or "" when there is none.
std::string entry_state(const Database& db, const std::string& release, const std::string& ticket) {
  Stmt st(db, "SELECT state FROM patches WHERE release = ? AND ticket = ?");
  st.bind(1, release).bind(2, ticket);
  return st.step() ? st.text(0) : std::string();
}

constexpr const char* k_change_select =
    "SELECT id, action, release, ticket, body, state, author, created_at, decided_at "
    "FROM patch_changes ";

PatchChange read_change(const Database& db, const Stmt& st) {
  PatchChange c;
  c.id = st.i64(0);
  c.action = st.text(1);
  c.entry.release = st.text(2);
  c.entry.ticket = st.text(3);
  auto body = nlohmann::json::parse(st.text(4), nullptr, false);
  if (body.is_object()) {
    c.entry.change_url = body.value("change_url", "");
    c.entry.severity = body.value("severity", "");
    c.entry.summary = body.value("summary", "");
    if (body.contains("branches") && body["branches"].is_array())
      for (const auto& b : body["branches"])
        if (b.is_string()) c.entry.branches.push_back(b.get<std::string>());
  }
  c.state = st.text(5);
  c.author = st.text(6);
  c.created_at = st.i64(7);
  c.decided_at = st.i64(8);
  c.entry.proposed_by = c.author;
  c.entry.proposed_at = c.created_at;
  Stmt ap(db, "SELECT admin FROM patch_change_approvals WHERE change_id = ? ORDER BY at, admin");
  ap.bind(1, c.id);
  while (ap.step()) c.approvals.push_back(ap.text(0));
  return c;
}

std::optional<PatchChange> load_change(const Database& db, int64_t id) {
  Stmt st(db, std::string(k_change_select) + "WHERE id = ?");
  st.bind(1, id);
  if (!st.step()) return std::nullopt;
  return read_change(db, st);
}

void audit(const Database& db, int64_t now, const std::string& admin, const std::string& action,
           const PatchChange& c, const std::string& detail) {
  append_audit_locked(db, {0, now, admin, action, patch_subject(c.entry.release, c.entry.ticket),
                           one_line(detail)});
}

std::string describe(const PatchChange& c) {
  return "change " + std::to_string(c.id) + " (" + c.action + " " + c.entry.ticket + " for " +
         c.entry.release + ")";
}

// Makes change c take effect; an addition also stores its announcement.
void apply_locked(const Database& db, PatchChange& c, const PatchStore::Announce& announce,
                  int64_t now) {
  if (c.action == "add") {
    Stmt st(db,
            "INSERT INTO patches(release, ticket, change_url, severity, summary, branches, state, "
            "proposed_by, proposed_at, applied_at) VALUES(?,?,?,?,?,?,'supported',?,?,?) "
            "ON CONFLICT(release, ticket) DO UPDATE SET change_url = excluded.change_url, "
            "severity = excluded.severity, summary = excluded.summary, branches = "
            "excluded.branches, state = 'supported', proposed_by = excluded.proposed_by, "
            "proposed_at = excluded.proposed_at, applied_at = excluded.applied_at");
    st.bind(1, c.entry.release)
        .bind(2, c.entry.ticket)
        .bind(3, c.entry.change_url)
        .bind(4, c.entry.severity)
        .bind(5, c.entry.summary)
        .bind(6, join_branches(c.entry.branches))
        .bind(7, c.author)
        .bind(8, c.created_at)
        .bind(9, now);
    st.run();
    c.entry.state = "supported";
    c.entry.applied_at = now;
    if (announce) {
      // Unrouted: the next routing pass sends it. Its key names this change,
      // so an entry removed and added again (another change) is announced
      // again, while this change, applied once in this transaction, is
      // announced once.
      EventInserter events(db);
      c.entry.change_id = c.id;
      events.insert({announce(c.entry)}, nullptr, now);
      c.entry.change_id = 0;
    }
  } else {
    Stmt st(
        db,
        "UPDATE patches SET state = 'removed', applied_at = ? WHERE release = ? AND ticket = ?");
    st.bind(1, now).bind(2, c.entry.release).bind(3, c.entry.ticket);
    st.run();
  }
  Stmt st(db, "UPDATE patch_changes SET state = 'applied', decided_at = ? WHERE id = ?");
  st.bind(1, now).bind(2, c.id);
  st.run();
  c.state = "applied";
  c.decided_at = now;
}

PatchOutcome refused(PatchRefusal kind, std::string why) {
  PatchOutcome out;
  out.refusal = kind;
  out.why = std::move(why);
  return out;
}

}  // namespace

Expected<PatchOutcome> PatchStore::propose(const std::string& action, const PatchEntry& entry,
                                           const std::string& admin, int64_t now) {
  std::lock_guard lock(m_db.mutex());
  return guarded("patch list", [&]() -> Expected<PatchOutcome> {
    Transaction tx(conn(m_db));
    const std::string what = entry.ticket + " for Lustre " + entry.release;
    const std::string state = entry_state(m_db, entry.release, entry.ticket);
    if (action == "add" && state == "supported")
      return refused(PatchRefusal::conflict, what + " is already on the supported list");
    if (action == "remove" && state != "supported")
      return refused(PatchRefusal::not_found, what + " is not on the supported list");
    {
      Stmt st(m_db,
              "SELECT id FROM patch_changes WHERE release = ? AND ticket = ? AND state = "
              "'pending'");
      st.bind(1, entry.release).bind(2, entry.ticket);
      if (st.step())
        return refused(PatchRefusal::conflict,
                       what + " already has a pending change (" + std::to_string(st.i64(0)) + ")");
    }
    nlohmann::json body = nlohmann::json::object();
    if (action == "add")
      body = {{"change_url", entry.change_url},
              {"severity", entry.severity},
              {"summary", entry.summary},
              {"branches", entry.branches}};
    Stmt st(m_db,
            "INSERT INTO patch_changes(action, release, ticket, body, author, created_at) "
            "VALUES(?,?,?,?,?,?)");
    st.bind(1, action)
        .bind(2, entry.release)
        .bind(3, entry.ticket)
        .bind(4, body.dump())
        .bind(5, admin)
        .bind(6, now);
    st.run();
    PatchOutcome out;
    out.change = *load_change(m_db, sqlite3_last_insert_rowid(m_db.raw()));
    audit(m_db, now, admin, "propose", out.change,
          describe(out.change) + (action == "add" ? ": " + entry.summary : ""));
    tx.commit();
    return out;
  });
}

Expected<PatchOutcome> PatchStore::approve(int64_t id, const std::string& admin, int required,
                                           const Announce& announce, int64_t now) {
  std::lock_guard lock(m_db.mutex());
  return guarded("patch list", [&]() -> Expected<PatchOutcome> {
    Transaction tx(conn(m_db));
    auto change = load_change(m_db, id);
    if (!change) return refused(PatchRefusal::not_found, "no change " + std::to_string(id));
    PatchOutcome out;
    out.change = std::move(*change);
    PatchChange& c = out.change;
    std::string why;
    PatchRefusal kind = PatchRefusal::none;
    if (c.state != "pending") {
      kind = PatchRefusal::conflict;
      why = describe(c) + " is " + c.state + ", not pending";
    } else if (auto no = approval_refused(required, c.author, admin, c.approvals)) {
      const bool again =
          std::find(c.approvals.begin(), c.approvals.end(), admin) != c.approvals.end();
      kind = again ? PatchRefusal::conflict : PatchRefusal::forbidden;
      why = *no;
    }
    if (kind != PatchRefusal::none) {
      audit(m_db, now, admin, "refused", c, "approve " + describe(c) + ": " + why);
      tx.commit();
      out.refusal = kind;
      out.why = why;
      return out;
    }
    Stmt st(m_db, "INSERT INTO patch_change_approvals(change_id, admin, at) VALUES(?,?,?)");
    st.bind(1, c.id).bind(2, admin).bind(3, now);
    st.run();
    c.approvals.push_back(admin);
    const int counted = counted_approvals(required, c.author, c.approvals);
    audit(m_db, now, admin, "approve", c,
          describe(c) + ": " + std::to_string(counted) + " of " + std::to_string(required) +
              " approvals");
    if (counted >= required) {
      // Applying a removal whose entry went away meanwhile cannot happen: one
      // pending change per entry, and only changes change entries.
      apply_locked(m_db, c, announce, now);
      audit(m_db, now, admin, "apply", c, describe(c));
      out.applied = true;
    }
    tx.commit();
    return out;
  });
}

Expected<PatchOutcome> PatchStore::cancel(int64_t id, const std::string& admin, int64_t now) {
  std::lock_guard lock(m_db.mutex());
  return guarded("patch list", [&]() -> Expected<PatchOutcome> {
    Transaction tx(conn(m_db));
    auto change = load_change(m_db, id);
    if (!change) return refused(PatchRefusal::not_found, "no change " + std::to_string(id));
    PatchOutcome out;
    out.change = std::move(*change);
    PatchChange& c = out.change;
    if (c.state != "pending")
      return refused(PatchRefusal::conflict, describe(c) + " is " + c.state + ", not pending");
    Stmt st(m_db, "UPDATE patch_changes SET state = 'cancelled', decided_at = ? WHERE id = ?");
    st.bind(1, now).bind(2, c.id);
    st.run();
    c.state = "cancelled";
    c.decided_at = now;
    audit(m_db, now, admin, "cancel", c, describe(c));
    tx.commit();
    return out;
  });
}

Expected<std::vector<PatchEntry>> PatchStore::entries(const std::string& release) {
  std::lock_guard lock(m_db.mutex());
  return guarded("patch list", [&]() -> Expected<std::vector<PatchEntry>> {
    Stmt st(m_db, std::string("SELECT ") + k_entry_columns +
                      " FROM patches WHERE ?1 = '' OR release = ?1 ORDER BY release, ticket");
    st.bind(1, release);
    std::vector<PatchEntry> out;
    while (st.step()) out.push_back(read_entry(st));
    return out;
  });
}

Expected<std::optional<std::vector<PatchEntry>>> PatchStore::supported(const std::string& release) {
  std::lock_guard lock(m_db.mutex());
  return guarded("patch list", [&]() -> Expected<std::optional<std::vector<PatchEntry>>> {
    Stmt st(m_db, std::string("SELECT ") + k_entry_columns +
                      " FROM patches WHERE release = ? ORDER BY applied_at, ticket");
    st.bind(1, release);
    bool known = false;
    std::vector<PatchEntry> out;
    while (st.step()) {
      known = true;
      auto e = read_entry(st);
      if (e.state == "supported") out.push_back(std::move(e));
    }
    if (!known) return std::optional<std::vector<PatchEntry>>();
    return std::optional(std::move(out));
  });
}

Expected<std::vector<std::pair<std::string, int>>> PatchStore::releases() {
  std::lock_guard lock(m_db.mutex());
  return guarded("patch list", [&]() -> Expected<std::vector<std::pair<std::string, int>>> {
    Stmt st(m_db,
            "SELECT release, COUNT(*) FROM patches WHERE state = 'supported' GROUP BY release");
    std::vector<std::pair<std::string, int>> out;
    while (st.step()) out.emplace_back(st.text(0), static_cast<int>(st.i64(1)));
    return out;
  });
}

Expected<std::vector<PatchChange>> PatchStore::pending(const std::string& release) {
  std::lock_guard lock(m_db.mutex());
  return guarded("patch list", [&]() -> Expected<std::vector<PatchChange>> {
    Stmt st(m_db, std::string(k_change_select) +
                      "WHERE state = 'pending' AND (?1 = '' OR release = ?1) ORDER BY id");
    st.bind(1, release);
    std::vector<PatchChange> out;
    while (st.step()) out.push_back(read_change(m_db, st));
    return out;
  });
}

Expected<std::optional<PatchChange>> PatchStore::change(int64_t id) {
  std::lock_guard lock(m_db.mutex());
  return guarded("patch list",
                 [&]() -> Expected<std::optional<PatchChange>> { return load_change(m_db, id); });
}

}  // namespace herald
