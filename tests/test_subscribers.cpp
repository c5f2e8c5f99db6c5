// The subscriber store (schema 6): consent record, states, topics and
// branches, tokens (only their hash stored; expired, forged and wrong-purpose
// tokens refused alike), remove --erase and the web secret across a reopen.
#include <sqlite3.h>

#include <catch2/catch.hpp>

#include "daemon/store.hpp"
#include "daemon/subscriptions/token.hpp"
#include "tests/support/temp_dir.hpp"

using namespace herald;
using herald::test::TempDir;

namespace {

Subscriber member(const std::string& address) {
  Subscriber s;
  s.address = address;
  s.topics = {"releases", "eol"};
  s.branches = {"2.15", "2.16"};
  s.mode = "daily";
  s.subscribed_at = 1000;
  s.subscribed_client = "192.0.2.7";
  return s;
}

int64_t count(Store& store, const char* sql) {
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(store.database().raw(), sql, -1, &st, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  const int64_t n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return n;
}

}  // namespace

TEST_CASE("a subscriber keeps its topics, branches, mode and consent record", "[subscriptions]") {
  TempDir dir;
  auto store = *Store::open(dir.file("h.db"));
  auto& subs = store->subscribers();
  auto id = subs.add(member("Ann@Example.org"));
  REQUIRE(id);
  auto dup = subs.add(member("ann@example.org"));  // the same address in another case
  REQUIRE_FALSE(dup);
  CHECK(dup.error().kind == ErrorKind::bad_input);

  auto found = *subs.find("ANN@example.org");
  REQUIRE(found);
  CHECK(found->id == *id);
  CHECK(found->address == "Ann@Example.org");
  CHECK(found->state == "pending");
  CHECK(found->topics == std::vector<std::string>{"releases", "eol"});
  CHECK(found->branches == std::vector<std::string>{"2.15", "2.16"});
  CHECK(found->mode == "daily");
  CHECK(found->subscribed_at == 1000);
  CHECK(found->subscribed_client == "192.0.2.7");
  CHECK(found->confirmed_at == 0);

  found->state = "confirmed";
  found->confirmed_at = 2000;
  found->confirmed_client = "198.51.100.1";
  found->branches.clear();  // every branch
  found->updated_at = 2000;
  REQUIRE(subs.update(*found));
  auto again = **subs.get(*id);
  CHECK(again.state == "confirmed");
  CHECK(again.confirmed_at == 2000);
  CHECK(again.confirmed_client == "198.51.100.1");
  CHECK(again.branches.empty());

  REQUIRE(subs.add(member("bob@example.org")));
  CHECK(subs.list()->size() == 2);
  CHECK(subs.list("confirmed")->size() == 1);
  CHECK(subs.list("pending")->at(0).address == "bob@example.org");

  auto bad = member("carol@example.org");
  bad.mode = "hourly";
  CHECK_FALSE(subs.add(bad));
  bad.mode = "weekly";
  bad.state = "maybe";
  CHECK_FALSE(subs.add(bad));
}

TEST_CASE("tokens: only the hash is stored; expired, forged and wrong-purpose tokens are refused",
          "[subscriptions][token]") {
  TempDir dir;
  auto store = *Store::open(dir.file("h.db"));
  auto& subs = store->subscribers();
  const int64_t id = *subs.add(member("ann@example.org"));
  const auto confirm = new_subscriber_token();
  const auto manage = new_subscriber_token();
  REQUIRE(subs.add_token(id, confirm, "confirm", 1000, k_confirm_token_ttl_s));
  REQUIRE(subs.add_token(id, manage, "manage", 1000, 0));

  auto owner = *subs.lookup_token(confirm, "confirm", 1000 + k_confirm_token_ttl_s - 1);
  REQUIRE(owner);
  CHECK(owner->subscriber_id == id);
  CHECK_FALSE(*subs.lookup_token(confirm, "confirm", 1000 + k_confirm_token_ttl_s));  // expired
  CHECK_FALSE(*subs.lookup_token(confirm, "manage", 1001));                 // another purpose
  CHECK_FALSE(*subs.lookup_token(new_subscriber_token(), "manage", 1001));  // forged
  CHECK_FALSE(*subs.lookup_token(token_hash(manage), "manage", 1001));      // the stored hash
  CHECK_FALSE(*subs.lookup_token("not a token", "manage", 1001));
  REQUIRE(*subs.lookup_token(manage, "manage", 1000 + 10 * 365 * 86'400));  // no expiry

  // The database holds no token, only hashes.
  const std::string q = "SELECT count(*) FROM subscriber_tokens WHERE hash = '" + confirm +
                        "' OR hash = '" + manage + "'";
  CHECK(count(*store, q.c_str()) == 0);
  CHECK(count(*store, "SELECT count(*) FROM subscriber_tokens") == 2);

  REQUIRE(subs.drop_tokens(id, "confirm"));
  CHECK_FALSE(*subs.lookup_token(confirm, "confirm", 1001));
  CHECK(*subs.lookup_token(manage, "manage", 1001));
}

TEST_CASE("remove --erase deletes the address, its consent record, tokens and sent copies",
          "[subscriptions]") {
  TempDir dir;
  auto store = *Store::open(dir.file("h.db"));
  auto& subs = store->subscribers();
  const int64_t ann = *subs.add(member("ann@example.org"));
  REQUIRE(subs.add(member("bob@example.org")));
  REQUIRE(subs.add_token(ann, new_subscriber_token(), "manage", 1000, 0));
  REQUIRE(
      sqlite3_exec(store->database().raw(),
                   "INSERT INTO messages(id, destination, sender, subject, payload, created_at, "
                   "key) VALUES(1, 'members', 'h@example.org', 'S', 'P', 1, 'k1');"
                   "INSERT INTO deliveries(message_id, recipient, idempotency_key, state, "
                   "next_attempt_at, created_at, destination) VALUES"
                   "(1, 'ann@example.org', 'k1/a1', 'delivered', 1, 1, 'members'),"
                   "(1, 'Ann@example.org', 'k1/a2', 'dead', 1, 1, 'members'),"
                   "(1, 'ann@example.org', 'k1/a3', 'pending', 1, 1, 'members'),"
                   "(1, 'bob@example.org', 'k1/b1', 'delivered', 1, 1, 'members')",
                   nullptr, nullptr, nullptr) == SQLITE_OK);

  CHECK(*subs.remove("ann@example.org", true));
  CHECK_FALSE(*subs.find("ann@example.org"));
  CHECK(count(*store, "SELECT count(*) FROM subscriber_tokens") == 0);
  // What is still to be delivered stays; what was sent or given up on is gone.
  CHECK(count(*store, "SELECT count(*) FROM deliveries WHERE recipient LIKE 'ann@%'") == 1);
  CHECK(count(*store, "SELECT count(*) FROM deliveries WHERE recipient = 'bob@example.org'") == 1);
  CHECK_FALSE(*subs.remove("ann@example.org", true));  // no longer there

  // Without --erase the outbox history stays.
  CHECK(*subs.remove("bob@example.org", false));
  CHECK(count(*store, "SELECT count(*) FROM deliveries WHERE recipient = 'bob@example.org'") == 1);
}

TEST_CASE("the web secret is made once and kept across a reopen", "[subscriptions][csrf]") {
  TempDir dir;
  std::string first;
  {
    auto store = *Store::open(dir.file("h.db"));
    first = *store->subscribers().web_secret();
    CHECK(first.size() == 64);
    CHECK(*store->subscribers().web_secret() == first);
  }
  auto store = *Store::open(dir.file("h.db"));
  CHECK(*store->subscribers().web_secret() == first);
  CHECK(*store->schema_version() == k_schema_version);
}
