// Subscribers, their tokens and the web secret (schema 6).
#include "daemon/store/subscribers.hpp"

#include "daemon/store/sqlite.hpp"
#include "daemon/subscriptions/token.hpp"
#include "daemon/util.hpp"

namespace herald {

using namespace store_sql;

namespace {

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += ',';
    out += s;
  }
  return out;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < s.size()) {
    auto comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    if (comma > start) out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

constexpr const char* k_columns =
    "id, address, state, topics, branches, mode, subscribed_at, subscribed_client, confirmed_at, "
    "confirmed_client, updated_at";

Subscriber read_row(const Stmt& st) {
  Subscriber s;
  s.id = st.i64(0);
  s.address = st.text(1);
  s.state = st.text(2);
  s.topics = split(st.text(3));
  s.branches = split(st.text(4));
  s.mode = st.text(5);
  s.subscribed_at = st.i64(6);
  s.subscribed_client = st.text(7);
  s.confirmed_at = st.i64(8);
  s.confirmed_client = st.text(9);
  s.updated_at = st.i64(10);
  return s;
}

}  // namespace

bool valid_subscriber_state(const std::string& s) {
  return s == "pending" || s == "confirmed" || s == "unsubscribed" || s == "disabled";
}

bool valid_subscriber_mode(const std::string& s) {
  return s == "immediate" || s == "daily" || s == "weekly";
}

namespace {

// What add and update refuse before they touch the database.
Status check_values(const Subscriber& s) {
  if (!valid_subscriber_state(s.state)) return bad_input("unknown subscriber state " + s.state);
  if (!valid_subscriber_mode(s.mode)) return bad_input("unknown delivery mode " + s.mode);
  return ok_status();
}

// Binds ?2.. ?10 (state to updated_at) in the column order of add and update.
void bind_values(Stmt& st, const Subscriber& s) {
  st.bind(2, s.state)
      .bind(3, join(s.topics))
      .bind(4, join(s.branches))
      .bind(5, s.mode)
      .bind(6, s.subscribed_at)
      .bind(7, s.subscribed_client)
      .bind(8, s.confirmed_at)
      .bind(9, s.confirmed_client)
      .bind(10, s.updated_at ? s.updated_at : s.subscribed_at);
}

}  // namespace

Expected<int64_t> SubscriberStore::add(const Subscriber& s) {
  if (auto c = check_values(s); !c) return c.error();
  std::lock_guard lock(m_db.mutex());
  return guarded("add subscriber", [&]() -> Expected<int64_t> {
    Transaction tx(conn(m_db));
    {
      Stmt q(conn(m_db), "SELECT 1 FROM subscribers WHERE address = ?1");
      q.bind(1, s.address);
      if (q.step()) return bad_input("subscriber " + s.address + " already exists");
    }
    Stmt st(conn(m_db),
            "INSERT INTO subscribers(address, state, topics, branches, mode, subscribed_at, "
            "subscribed_client, confirmed_at, confirmed_client, updated_at) "
            "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
    st.bind(1, s.address);
    bind_values(st, s);
    st.run();
    const int64_t id = sqlite3_last_insert_rowid(m_db.raw());
    tx.commit();
    return id;
  });
}

Status SubscriberStore::update(const Subscriber& s) {
  if (auto c = check_values(s); !c) return c;
  std::lock_guard lock(m_db.mutex());
  return guarded("update subscriber", [&]() -> Status {
    Stmt st(conn(m_db),
            "UPDATE subscribers SET state = ?2, topics = ?3, branches = ?4, mode = ?5, "
            "subscribed_at = ?6, subscribed_client = ?7, confirmed_at = ?8, "
            "confirmed_client = ?9, updated_at = ?10 WHERE id = ?1");
    st.bind(1, s.id);
    bind_values(st, s);
    st.run();
    if (sqlite3_changes(m_db.raw()) == 0) return bad_input("no subscriber " + std::to_string(s.id));
    return ok_status();
  });
}

Expected<std::optional<Subscriber>> SubscriberStore::find(const std::string& address) {
  std::lock_guard lock(m_db.mutex());
  return guarded("find subscriber", [&]() -> Expected<std::optional<Subscriber>> {
    const std::string sql =
        std::string("SELECT ") + k_columns + " FROM subscribers WHERE address = ?1";
    Stmt st(conn(m_db), sql.c_str());
    st.bind(1, address);
    if (!st.step()) return std::optional<Subscriber>();
    return std::optional<Subscriber>(read_row(st));
  });
}

Expected<std::optional<Subscriber>> SubscriberStore::get(int64_t id) {
  std::lock_guard lock(m_db.mutex());
  return guarded("get subscriber", [&]() -> Expected<std::optional<Subscriber>> {
    const std::string sql = std::string("SELECT ") + k_columns + " FROM subscribers WHERE id = ?1";
    Stmt st(conn(m_db), sql.c_str());
    st.bind(1, id);
    if (!st.step()) return std::optional<Subscriber>();
    return std::optional<Subscriber>(read_row(st));
  });
}

Expected<std::vector<Subscriber>> SubscriberStore::list(const std::string& state) {
  std::lock_guard lock(m_db.mutex());
  return guarded("list subscribers", [&]() -> Expected<std::vector<Subscriber>> {
    const std::string sql = std::string("SELECT ") + k_columns +
                            " FROM subscribers WHERE ?1 = '' OR state = ?1 ORDER BY address";
    Stmt st(conn(m_db), sql.c_str());
    st.bind(1, state);
    std::vector<Subscriber> out;
    while (st.step()) out.push_back(read_row(st));
    return out;
  });
}

Expected<bool> SubscriberStore::remove(const std::string& address, bool erase) {
  std::lock_guard lock(m_db.mutex());
  return guarded("remove subscriber", [&]() -> Expected<bool> {
    Transaction tx(conn(m_db));
    Stmt st(conn(m_db), "DELETE FROM subscribers WHERE address = ?1");
    st.bind(1, address);
    st.run();
    const bool removed = sqlite3_changes(m_db.raw()) > 0;
    if (erase) {
      Stmt d(conn(m_db),
             "DELETE FROM deliveries WHERE recipient = ?1 COLLATE NOCASE AND state != 'pending'");
      d.bind(1, address);
      d.run();
    }
    tx.commit();
    return removed;
  });
}

Status SubscriberStore::add_token(int64_t subscriber_id, const std::string& token,
                                  const std::string& purpose, int64_t now, int64_t ttl_s) {
  std::lock_guard lock(m_db.mutex());
  return guarded("add token", [&]() -> Status {
    Stmt st(conn(m_db),
            "INSERT INTO subscriber_tokens(hash, subscriber_id, purpose, created_at, expires_at) "
            "VALUES(?1, ?2, ?3, ?4, ?5)");
    st.bind(1, token_hash(token))
        .bind(2, subscriber_id)
        .bind(3, purpose)
        .bind(4, now)
        .bind(5, ttl_s > 0 ? now + ttl_s : int64_t{0});
    st.run();
    return ok_status();
  });
}

Expected<std::optional<TokenOwner>> SubscriberStore::lookup_token(const std::string& token,
                                                                  const std::string& purpose,
                                                                  int64_t now) {
  if (!well_formed_token(token)) return std::optional<TokenOwner>();
  std::lock_guard lock(m_db.mutex());
  return guarded("look up token", [&]() -> Expected<std::optional<TokenOwner>> {
    Stmt st(conn(m_db),
            "SELECT subscriber_id, purpose, expires_at FROM subscriber_tokens "
            "WHERE hash = ?1 AND purpose = ?2");
    st.bind(1, token_hash(token)).bind(2, purpose);
    if (!st.step()) return std::optional<TokenOwner>();
    const int64_t expires = st.i64(2);
    if (expires != 0 && now >= expires) return std::optional<TokenOwner>();
    return std::optional<TokenOwner>(TokenOwner{st.i64(0), st.text(1)});
  });
}

Status SubscriberStore::drop_tokens(int64_t subscriber_id, const std::string& purpose) {
  std::lock_guard lock(m_db.mutex());
  return guarded("drop tokens", [&]() -> Status {
    Stmt st(conn(m_db), "DELETE FROM subscriber_tokens WHERE subscriber_id = ?1 AND purpose = ?2");
    st.bind(1, subscriber_id).bind(2, purpose);
    st.run();
    return ok_status();
  });
}

Expected<std::string> SubscriberStore::manage_token(const Subscriber& s) {
  auto tokens = manage_tokens({s});
  if (!tokens) return tokens.error();
  return tokens->front();
}

Expected<std::vector<std::string>> SubscriberStore::manage_tokens(
    const std::vector<Subscriber>& subs) {
  auto secret = web_secret();
  if (!secret) return secret.error();
  std::vector<std::string> tokens;
  tokens.reserve(subs.size());
  for (const auto& s : subs) tokens.push_back(herald::manage_token(*secret, s.id, s.subscribed_at));
  std::lock_guard lock(m_db.mutex());
  return guarded("manage tokens", [&]() -> Expected<std::vector<std::string>> {
    Transaction tx(conn(m_db));
    Stmt st(conn(m_db),
            "INSERT OR IGNORE INTO subscriber_tokens(hash, subscriber_id, purpose, created_at, "
            "expires_at) VALUES(?1, ?2, 'manage', ?3, 0)");
    for (size_t i = 0; i < subs.size(); ++i) {
      st.bind(1, token_hash(tokens[i])).bind(2, subs[i].id).bind(3, subs[i].updated_at);
      st.run();
    }
    tx.commit();
    return tokens;
  });
}

Expected<std::string> SubscriberStore::web_secret() {
  std::lock_guard lock(m_db.mutex());
  return guarded("web secret", [&]() -> Expected<std::string> {
    Transaction tx(conn(m_db));
    {
      Stmt q(conn(m_db), "SELECT secret FROM web_secret WHERE id = 1");
      if (q.step()) return q.text(0);
    }
    const std::string secret = random_hex(32);
    Stmt st(conn(m_db), "INSERT INTO web_secret(id, secret) VALUES(1, ?1)");
    st.bind(1, secret);
    st.run();
    tx.commit();
    return secret;
  });
}

}  // namespace herald
