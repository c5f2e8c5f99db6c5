// Subscribers: address, state, topics, branch filter, delivery mode and the
// consent record; their tokens (the store keeps only each token's SHA-256);
// the web pages' CSRF secret (created on first use, kept in the database so
// that every herald process over it agrees).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "daemon/expected.hpp"
#include "daemon/store/database.hpp"

namespace herald {

struct Subscriber {
  int64_t id = 0;
  std::string address;
  std::string state = "pending";  // pending, confirmed, unsubscribed, disabled
  std::vector<std::string> topics;
  std::vector<std::string> branches;  // empty: every branch
  std::string mode = "immediate";     // immediate, daily, weekly
  int64_t subscribed_at = 0;
  std::string subscribed_client;
  int64_t confirmed_at = 0;
  std::string confirmed_client;
  int64_t updated_at = 0;
};

bool valid_subscriber_state(const std::string& s);
bool valid_subscriber_mode(const std::string& s);

// What a token lookup found.
struct TokenOwner {
  int64_t subscriber_id = 0;
  std::string purpose;  // confirm, manage
};

class SubscriberStore {
 public:
  explicit SubscriberStore(Database& db) : m_db(db) {}

  // Inserts s (address compared without case); bad_input when the address is
  // already there. Answers the new id.
  Expected<int64_t> add(const Subscriber& s);
  // Replaces everything but the address of s.id (state, topics, branches,
  // mode, the consent record).
  Status update(const Subscriber& s);
  Expected<std::optional<Subscriber>> find(const std::string& address);
  Expected<std::optional<Subscriber>> get(int64_t id);
  // Every subscriber, by address; state "" means all states.
  Expected<std::vector<Subscriber>> list(const std::string& state = "");
  // Removes the subscriber (address, consent record, tokens); with erase, also
  // every delivery to the address that is no longer to be sent (delivered or
  // dead), so the outbox keeps no copy beyond what is still to be delivered.
  // False when there was no such address.
  Expected<bool> remove(const std::string& address, bool erase);

  // Records a token for a subscriber (its hash only); ttl_s <= 0: no expiry.
  Status add_token(int64_t subscriber_id, const std::string& token, const std::string& purpose,
                   int64_t now, int64_t ttl_s);
  // The owner of a token of that purpose; nullopt when unknown, forged or
  // expired (the three answer the same).
  Expected<std::optional<TokenOwner>> lookup_token(const std::string& token,
                                                   const std::string& purpose, int64_t now);
  Status drop_tokens(int64_t subscriber_id, const std::string& purpose);
  // The subscriber's manage token (see manage_token in token.hpp); its hash
  // is recorded the first time, so the links of every mail to them work.
  Expected<std::string> manage_token(const Subscriber& s);
  // The manage tokens of many subscribers, in their order, recorded in one
  // transaction (an announcement to a topic's audience).
  Expected<std::vector<std::string>> manage_tokens(const std::vector<Subscriber>& subs);

  // The secret of the web pages' CSRF tokens, created on first use.
  Expected<std::string> web_secret();

 private:
  Database& m_db;
};

}  // namespace herald
