// The outbox: messages (rendered once) and one delivery per message x
// recipient, each with its state, attempts, lease and last answer. Writes
// that span concepts (routing marks events routed; a digest advances its
// window) are here, as they write the outbox.
#include "daemon/store/outbox.hpp"

#include "daemon/store/sqlite.hpp"

namespace herald {

using namespace store_sql;

namespace {

// A delivery's idempotency key: the message's when it goes to at most one
// recipient, else one per recipient.
std::string delivery_key(const NewDelivery& d, const std::string& recipient) {
  return d.recipients.size() <= 1 ? d.idempotency_key : d.idempotency_key + "/" + recipient;
}

// Messages and their deliveries, due now; a message key already stored is
// left as it is (with its deliveries).
void insert_deliveries_locked(const Database& owner, const std::vector<NewDelivery>& deliveries,
                              int64_t now) {
  sqlite3* db = owner.raw();
  Stmt msg(owner,
           "INSERT INTO messages(key, destination, sender, subject, payload, priority, "
           "created_at) VALUES(?,?,?,?,?,?,?) ON CONFLICT(key) DO NOTHING");
  Stmt del(owner,
           "INSERT INTO deliveries(message_id, recipient, idempotency_key, next_attempt_at, "
           "created_at, destination, priority) VALUES(?,?,?,?,?,?,?) "
           "ON CONFLICT(idempotency_key) DO NOTHING");
  for (const auto& d : deliveries) {
    msg.bind(1, d.idempotency_key)
        .bind(2, d.destination)
        .bind(3, d.sender)
        .bind(4, d.subject)
        .bind(5, d.payload)
        .bind(6, int64_t{d.priority})
        .bind(7, now);
    msg.run();
    if (sqlite3_changes(db) == 0) continue;
    const int64_t message_id = sqlite3_last_insert_rowid(db);
    std::vector<std::string> recipients = d.recipients;
    if (recipients.empty()) recipients.emplace_back();
    for (const auto& r : recipients) {
      del.bind(1, message_id)
          .bind(2, r)
          .bind(3, delivery_key(d, r))
          .bind(4, now)
          .bind(5, now)
          .bind(6, d.destination)
          .bind(7, int64_t{d.priority});
      del.run();
    }
  }
}

// The columns an OutboxItem is read from, in this order: a delivery (d) and
// its message (m).
constexpr const char* k_item_columns =
    "d.id, d.idempotency_key, m.destination, m.sender, d.recipient, m.payload, d.attempts, "
    "d.created_at, m.id, m.key";

// Deliveries to destinations not disabled, with their messages.
constexpr const char* k_item_from =
    " FROM deliveries d JOIN messages m ON m.id = d.message_id "
    "WHERE d.state = 'pending' AND NOT EXISTS "
    "(SELECT 1 FROM destination_state s WHERE s.name = d.destination) ";

// A lane's claim, in the order of the deliveries_claim index: no sort, and
// the walk ends at the limit.
const std::string k_claim =
    std::string("SELECT ") + k_item_columns + k_item_from +
    "AND d.destination = ?1 AND d.next_attempt_at <= ?2 AND d.lease_until <= ?2 "
    "ORDER BY d.priority DESC, d.next_attempt_at, d.id LIMIT ?3";

OutboxItem read_item(const Stmt& st) {
  OutboxItem it;
  it.id = st.i64(0);
  it.idempotency_key = st.text(1);
  it.destination = st.text(2);
  it.sender = st.text(3);
  if (auto r = st.text(4); !r.empty()) it.recipients = {std::move(r)};
  it.payload = st.text(5);
  it.attempts = static_cast<int>(st.i64(6));
  it.created_at = st.i64(7);
  it.message_id = st.i64(8);
  it.message_key = st.text(9);
  return it;
}

// The columns an OutboxRow is read from, in this order.
constexpr const char* k_row_select =
    "SELECT d.id, d.idempotency_key, m.destination, d.state, m.subject, d.last_error, "
    "d.attempts, d.created_at, d.next_attempt_at, d.delivered_at, d.recipient, m.id, m.key, "
    "m.sender, d.lease_owner, d.lease_until, length(m.payload), m.created_at, m.priority "
    "FROM deliveries d JOIN messages m ON m.id = d.message_id ";

OutboxRow read_row(const Stmt& st) {
  OutboxRow r;
  r.id = st.i64(0);
  r.idempotency_key = st.text(1);
  r.destination = st.text(2);
  r.state = st.text(3);
  r.subject = st.text(4);
  r.last_error = st.text(5);
  r.attempts = static_cast<int>(st.i64(6));
  r.created_at = st.i64(7);
  r.next_attempt_at = st.i64(8);
  r.delivered_at = st.i64(9);
  r.recipient = st.text(10);
  r.message_id = st.i64(11);
  r.message_key = st.text(12);
  r.sender = st.text(13);
  r.lease_owner = st.text(14);
  r.lease_until = st.i64(15);
  r.payload_size = st.i64(16);
  r.message_created_at = st.i64(17);
  r.priority = static_cast<int>(st.i64(18));
  return r;
}

}  // namespace

Status OutboxStore::commit_routing(const std::vector<int64_t>& event_ids,
                                   const std::vector<NewDelivery>& deliveries, int64_t now) {
  std::lock_guard lock(m_db.mutex());
  return guarded("commit routing", [&]() -> Status {
    Transaction tx(conn(m_db));
    insert_deliveries_locked(m_db, deliveries, now);
    Stmt mark(m_db, "UPDATE events SET routed = 1 WHERE id = ?");
    for (int64_t id : event_ids) {
      mark.bind(1, id);
      mark.run();
    }
    tx.commit();
    return ok_status();
  });
}

Status OutboxStore::commit_digest(const std::string& name, int64_t window_end,
                                  const std::vector<NewDelivery>& deliveries, int64_t now) {
  std::lock_guard lock(m_db.mutex());
  return guarded("commit digest", [&]() -> Status {
    Transaction tx(conn(m_db));
    insert_deliveries_locked(m_db, deliveries, now);
    Stmt up(m_db,
            "INSERT INTO digest_state(name, window_end) VALUES(?1, ?2) "
            "ON CONFLICT(name) DO UPDATE SET window_end = ?2");
    up.bind(1, name).bind(2, window_end);
    up.run();
    tx.commit();
    return ok_status();
  });
}

Expected<std::vector<OutboxItem>> OutboxStore::due_deliveries(int64_t now, int limit) {
  std::lock_guard lock(m_db.mutex());
  return guarded("due deliveries", [&]() -> Expected<std::vector<OutboxItem>> {
    std::vector<OutboxItem> out;
    Stmt st(conn(m_db), (std::string("SELECT ") + k_item_columns + k_item_from +
                         "AND d.next_attempt_at <= ?1 AND d.lease_until <= ?1 "
                         "ORDER BY d.priority DESC, d.next_attempt_at, d.id LIMIT ?2")
                            .c_str());
    st.bind(1, now).bind(2, int64_t{limit});
    while (st.step()) out.push_back(read_item(st));
    return out;
  });
}

Expected<std::vector<OutboxItem>> OutboxStore::claim_deliveries(const std::string& destination,
                                                                int64_t now, int limit,
                                                                const std::string& owner,
                                                                int64_t lease_until) {
  std::lock_guard lock(m_db.mutex());
  return guarded("claim deliveries", [&]() -> Expected<std::vector<OutboxItem>> {
    std::vector<OutboxItem> out;
    // BEGIN IMMEDIATE: no other process claims in between. A claim lost with power
    // is a delivery claimed again (sqlite.hpp, Durability).
    Transaction tx(conn(m_db), Durability::crash);
    Stmt st(m_db, k_claim);
    st.bind(1, destination).bind(2, now).bind(3, int64_t{limit});
    while (st.step()) out.push_back(read_item(st));
    if (out.empty()) return out;
    Stmt lease(m_db,
               "UPDATE deliveries SET lease_owner = ?2, lease_until = ?3 WHERE id = ?1");
    for (const auto& it : out) {
      lease.bind(1, it.id).bind(2, owner).bind(3, lease_until);
      lease.run();
    }
    tx.commit();
    return out;
  });
}

Expected<std::string> OutboxStore::claim_plan() {
  std::lock_guard lock(m_db.mutex());
  return guarded("claim plan", [&]() -> Expected<std::string> {
    Stmt st(conn(m_db), ("EXPLAIN QUERY PLAN " + k_claim).c_str());
    std::string plan;
    while (st.step()) plan += st.text(3) + "\n";
    return plan;
  });
}

Status OutboxStore::extend_leases(const std::vector<int64_t>& ids, const std::string& owner,
                                  int64_t lease_until) {
  std::lock_guard lock(m_db.mutex());
  return guarded("extend leases", [&]() -> Status {
    Transaction tx(conn(m_db), Durability::crash);
    Stmt st(m_db,
            "UPDATE deliveries SET lease_until = ?3 WHERE id = ?1 AND lease_owner = ?2 "
            "AND state = 'pending'");
    for (int64_t id : ids) {
      st.bind(1, id).bind(2, owner).bind(3, lease_until);
      st.run();
    }
    tx.commit();
    return ok_status();
  });
}

Status OutboxStore::release_leases(const std::vector<int64_t>& ids, const std::string& owner) {
  std::lock_guard lock(m_db.mutex());
  return guarded("release leases", [&]() -> Status {
    Transaction tx(conn(m_db), Durability::crash);
    Stmt st(m_db,
            "UPDATE deliveries SET lease_owner = '', lease_until = 0 WHERE id = ?1 "
            "AND lease_owner = ?2");
    for (int64_t id : ids) {
      st.bind(1, id).bind(2, owner);
      st.run();
    }
    tx.commit();
    return ok_status();
  });
}

Expected<std::vector<std::string>> OutboxStore::lease_owners(int64_t now) {
  std::lock_guard lock(m_db.mutex());
  return guarded("lease owners", [&]() -> Expected<std::vector<std::string>> {
    std::vector<std::string> out;
    Stmt st(conn(m_db),
            "SELECT DISTINCT lease_owner FROM deliveries WHERE state = 'pending' "
            "AND lease_until > ?1 AND lease_owner != ''");
    st.bind(1, now);
    while (st.step()) out.push_back(st.text(0));
    return out;
  });
}

Expected<int> OutboxStore::release_owner(const std::string& owner) {
  std::lock_guard lock(m_db.mutex());
  return guarded("release owner", [&]() -> Expected<int> {
    Stmt st(conn(m_db),
            "UPDATE deliveries SET lease_owner = '', lease_until = 0 WHERE lease_owner = ?1 "
            "AND state = 'pending'");
    st.bind(1, owner);
    st.run();
    return sqlite3_changes(m_db.raw());
  });
}

Expected<std::vector<std::string>> OutboxStore::pending_destinations() {
  std::lock_guard lock(m_db.mutex());
  return guarded("pending destinations", [&]() -> Expected<std::vector<std::string>> {
    std::vector<std::string> out;
    Stmt st(m_db, "SELECT DISTINCT destination FROM deliveries WHERE state = 'pending'");
    while (st.step()) out.push_back(st.text(0));
    return out;
  });
}

Expected<std::optional<int64_t>> OutboxStore::next_due_time(const std::string& destination) {
  std::lock_guard lock(m_db.mutex());
  return guarded("next due time", [&]() -> Expected<std::optional<int64_t>> {
    // A disabled destination is due never: its deliveries wait for an enable.
    static const std::string k_next =
        std::string("SELECT MIN(MAX(d.next_attempt_at, d.lease_until))") + k_item_from +
        "AND (?1 = '' OR d.destination = ?1)";
    Stmt st(m_db, k_next);
    st.bind(1, destination);
    if (st.step() && !st.is_null(0)) return std::optional<int64_t>(st.i64(0));
    return std::optional<int64_t>{};
  });
}

Status OutboxStore::record_outcomes(const std::vector<DeliveryOutcome>& outcomes, int64_t now) {
  std::lock_guard lock(m_db.mutex());
  return guarded("record outcomes", [&]() -> Status {
    const Conn c = conn(m_db);
    // An outcome lost with power is a delivery sent once more, with the same
    // idempotency key, as after a crash in the middle of a send.
    Transaction tx(c, Durability::crash);
    Stmt done(m_db,
              "UPDATE deliveries SET state='delivered', attempts=attempts+1, delivered_at=?2, "
              "last_error=?3, lease_owner='', lease_until=0 WHERE id=?1");
    Stmt retry(m_db,
               "UPDATE deliveries SET attempts=attempts+1, next_attempt_at=?2, last_error=?3, "
               "lease_owner='', lease_until=0 WHERE id=?1");
    Stmt dead(m_db,
              "UPDATE deliveries SET state='dead', attempts=attempts+1, last_error=?3, "
              "next_attempt_at=?2, lease_owner='', lease_until=0 WHERE id=?1");
    // The destination is gone: the delivery stays pending, not counted as an
    // attempt, and the destination is disabled until an admin enables it.
    Stmt keep(m_db,
              "UPDATE deliveries SET last_error=?3, next_attempt_at=?2, lease_owner='', "
              "lease_until=0 WHERE id=?1");
    Stmt disable(m_db,
                 "INSERT INTO destination_state(name, disabled_reason, disabled_since) "
                 "SELECT destination, ?2, ?3 FROM deliveries WHERE id = ?1 "
                 "ON CONFLICT(name) DO NOTHING");
    for (const auto& o : outcomes) {
      Stmt* st = &retry;
      int64_t t = o.next_attempt_at;
      if (o.dead) {
        st = &dead, t = now;
      } else if (o.result.status == DeliveryResult::Status::delivered) {
        st = &done, t = now;
      } else if (o.result.status == DeliveryResult::Status::disable) {
        st = &keep, t = now;
        disable.bind(1, o.id).bind(2, o.result.detail).bind(3, now);
        disable.run();
      }
      st->bind(1, o.id).bind(2, t).bind(3, o.result.detail);
      st->run();
    }
    tx.commit();
    return ok_status();
  });
}

Expected<std::vector<OutboxRow>> OutboxStore::outbox_rows(const std::string& state, int limit) {
  OutboxFilter f;
  f.state = state;
  f.limit = limit;
  return outbox_rows(f);
}

Expected<std::vector<OutboxRow>> OutboxStore::outbox_rows(const OutboxFilter& filter) {
  std::lock_guard lock(m_db.mutex());
  return guarded("outbox rows", [&]() -> Expected<std::vector<OutboxRow>> {
    std::vector<OutboxRow> out;
    Stmt st(conn(m_db), (std::string(k_row_select) +
                         "WHERE (?1 = '' OR d.state = ?1) AND (?2 = '' OR m.destination = ?2) "
                         "AND (?3 IS NULL OR d.created_at < ?3) ORDER BY d.id LIMIT ?4")
                            .c_str());
    st.bind(1, filter.state).bind(2, filter.destination).bind(4, int64_t{filter.limit});
    if (filter.created_before) st.bind(3, *filter.created_before);
    while (st.step()) out.push_back(read_row(st));
    return out;
  });
}

Expected<std::optional<OutboxRow>> OutboxStore::outbox_row(int64_t id) {
  std::lock_guard lock(m_db.mutex());
  return guarded("outbox row", [&]() -> Expected<std::optional<OutboxRow>> {
    Stmt st(conn(m_db), (std::string(k_row_select) + "WHERE d.id = ?1").c_str());
    st.bind(1, id);
    if (!st.step()) return std::optional<OutboxRow>{};
    return std::optional<OutboxRow>{read_row(st)};
  });
}

Expected<int> OutboxStore::retry_dead(std::optional<int64_t> id, int64_t now,
                                      const std::string& destination) {
  std::lock_guard lock(m_db.mutex());
  return guarded("retry dead", [&]() -> Expected<int> {
    Stmt st(conn(m_db),
            "UPDATE deliveries SET state='pending', next_attempt_at=?1, created_at=?1, "
            "attempts=0, lease_owner='', lease_until=0 "
            "WHERE state='dead' AND (?2 < 0 OR id = ?2) AND (?3 = '' OR message_id IN "
            "(SELECT id FROM messages WHERE destination = ?3))");
    st.bind(1, now).bind(2, id.value_or(-1)).bind(3, destination);
    st.run();
    return sqlite3_changes(m_db.raw());
  });
}

Expected<int> OutboxStore::purge(const std::string& state, const std::string& destination,
                                 int64_t created_before) {
  if (state != "dead" && state != "delivered")
    return bad_input("only dead or delivered deliveries can be purged, not '" + state + "'");
  std::lock_guard lock(m_db.mutex());
  return guarded("purge", [&]() -> Expected<int> {
    const Conn c = conn(m_db);
    Transaction tx(c);
    Stmt del(c,
             "DELETE FROM deliveries WHERE state = ?1 AND created_at < ?2 AND (?3 = '' OR "
             "message_id IN (SELECT id FROM messages WHERE destination = ?3))");
    del.bind(1, state).bind(2, created_before).bind(3, destination);
    del.run();
    const int n = sqlite3_changes(m_db.raw());
    Stmt orphans(c,
                 "DELETE FROM messages WHERE NOT EXISTS "
                 "(SELECT 1 FROM deliveries d WHERE d.message_id = messages.id)");
    orphans.run();
    tx.commit();
    return n;
  });
}

Expected<std::vector<std::pair<std::string, int64_t>>> OutboxStore::outbox_depth() {
  std::lock_guard lock(m_db.mutex());
  return guarded("outbox depth", [&]() -> Expected<std::vector<std::pair<std::string, int64_t>>> {
    std::vector<std::pair<std::string, int64_t>> out;
    Stmt st(conn(m_db), "SELECT state, COUNT(*) FROM deliveries GROUP BY state ORDER BY state");
    while (st.step()) out.emplace_back(st.text(0), st.i64(1));
    return out;
  });
}

Expected<std::vector<CountRow>> OutboxStore::count_outbox_by_destination() {
  std::lock_guard lock(m_db.mutex());
  return guarded("count outbox", [&]() -> Expected<std::vector<CountRow>> {
    std::vector<CountRow> out;
    Stmt st(conn(m_db),
            "SELECT m.destination, d.state, COUNT(*) FROM deliveries d JOIN messages m "
            "ON m.id = d.message_id GROUP BY m.destination, d.state "
            "ORDER BY m.destination, d.state");
    while (st.step()) out.push_back({st.text(0), st.text(1), st.i64(2)});
    return out;
  });
}

Expected<std::optional<OutboxPayload>> OutboxStore::outbox_payload(
    const std::string& idempotency_key) {
  std::lock_guard lock(m_db.mutex());
  return guarded("outbox payload", [&]() -> Expected<std::optional<OutboxPayload>> {
    // By the message's key or one of its deliveries' keys; the state is the
    // least advanced of the message's deliveries (pending before dead before delivered).
    Stmt st(conn(m_db),
            "SELECT (SELECT d.state FROM deliveries d WHERE d.message_id = m.id ORDER BY "
            "CASE d.state WHEN 'pending' THEN 0 WHEN 'dead' THEN 1 ELSE 2 END LIMIT 1), "
            "m.payload, m.created_at FROM messages m WHERE m.key = ?1 OR m.id = "
            "(SELECT message_id FROM deliveries WHERE idempotency_key = ?1)");
    st.bind(1, idempotency_key);
    if (!st.step()) return std::optional<OutboxPayload>{};
    return std::optional<OutboxPayload>(OutboxPayload{st.text(0), st.text(1), st.i64(2)});
  });
}

}  // namespace herald
