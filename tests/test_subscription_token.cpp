// Subscriber tokens (random, base64url, only their hash stored, expiry) and
// form CSRF tokens (bound to a page and a secret, refused when forged, moved to
// another page, from another secret, too old or from the future).
#include <catch2/catch.hpp>
#include <set>

#include "daemon/subscriptions/token.hpp"
#include "daemon/util.hpp"

using namespace herald;

TEST_CASE("base64url follows RFC 4648 section 10 without padding", "[subscriptions][token]") {
  CHECK(base64url_encode("") == "");
  CHECK(base64url_encode("f") == "Zg");
  CHECK(base64url_encode("fo") == "Zm8");
  CHECK(base64url_encode("foo") == "Zm9v");
  CHECK(base64url_encode("foob") == "Zm9vYg");
  CHECK(base64url_encode("fooba") == "Zm9vYmE");
  CHECK(base64url_encode("foobar") == "Zm9vYmFy");
  // The two characters where base64url differs from base64: '-' and '_'.
  CHECK(base64url_encode(std::string("\xfb\xff", 2)) == "-_8");
}

TEST_CASE("subscriber tokens are 43 base64url characters, all different",
          "[subscriptions][token]") {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const auto t = new_subscriber_token();
    REQUIRE(t.size() == k_token_chars);
    REQUIRE(well_formed_token(t));
    REQUIRE(t.find('@') == std::string::npos);
    seen.insert(t);
  }
  CHECK(seen.size() == 1000);
}

TEST_CASE("a malformed token is refused before any lookup", "[subscriptions][token]") {
  const auto t = new_subscriber_token();
  CHECK_FALSE(well_formed_token(""));
  CHECK_FALSE(well_formed_token(t.substr(1)));
  CHECK_FALSE(well_formed_token(t + "A"));
  auto bad = t;
  bad[5] = '+';
  CHECK_FALSE(well_formed_token(bad));
  bad = t;
  bad[10] = '/';
  CHECK_FALSE(well_formed_token(bad));
  // 43 characters whose last one has bits that 32 bytes cannot produce.
  CHECK_FALSE(well_formed_token(std::string(42, 'A') + "B"));
  CHECK(well_formed_token(std::string(42, 'A') + "Q"));
}

TEST_CASE("the store's copy of a token is its SHA-256, not the token", "[subscriptions][token]") {
  const auto t = new_subscriber_token();
  const auto h = token_hash(t);
  CHECK(h == sha256_hex(t));
  CHECK(h.size() == 64);
  CHECK(h.find(t) == std::string::npos);
  CHECK(token_hash(new_subscriber_token()) != h);
}

TEST_CASE("a confirmation token expires after its lifetime", "[subscriptions][token]") {
  const int64_t issued = 1'700'000'000;
  CHECK(k_confirm_token_ttl_s == 3 * 86'400);
  CHECK_FALSE(token_expired(issued, k_confirm_token_ttl_s, issued));
  CHECK_FALSE(token_expired(issued, k_confirm_token_ttl_s, issued + k_confirm_token_ttl_s - 1));
  CHECK(token_expired(issued, k_confirm_token_ttl_s, issued + k_confirm_token_ttl_s));
  CHECK_FALSE(token_expired(issued, 0, issued + 10 * 365 * 86'400));  // no lifetime: never
}

TEST_CASE("CSRF tokens hold only for their page, secret and age", "[subscriptions][csrf]") {
  const std::string secret = "0123456789abcdef0123456789abcdef";
  const int64_t now = 1'700'000'000;
  const auto page = "/unsubscribe/" + new_subscriber_token();
  const auto t = csrf_token(secret, page, now);
  CHECK(csrf_token_valid(secret, page, t, now, 3600));
  CHECK(csrf_token_valid(secret, page, t, now + 3600, 3600));
  CHECK_FALSE(csrf_token_valid(secret, page, t, now + 3601, 3600));               // too old
  CHECK_FALSE(csrf_token_valid(secret, "/subscribe", t, now, 3600));              // another page
  CHECK_FALSE(csrf_token_valid(secret + "x", page, t, now, 3600));                // another secret
  CHECK_FALSE(csrf_token_valid("", page, csrf_token("", page, now), now, 3600));  // no secret
  CHECK_FALSE(csrf_token_valid(secret, page, csrf_token(secret, page, now + 120), now, 3600));
  CHECK(csrf_token_valid(secret, page, csrf_token(secret, page, now + 30), now, 3600));

  // Forgeries: another time with the old MAC, a changed MAC, malformed shapes.
  const auto mac = t.substr(t.find('.') + 1);
  CHECK_FALSE(csrf_token_valid(secret, page, std::to_string(now + 10) + "." + mac, now, 3600));
  auto flipped = t;
  flipped.back() = flipped.back() == '0' ? '1' : '0';
  CHECK_FALSE(csrf_token_valid(secret, page, flipped, now, 3600));
  CHECK_FALSE(csrf_token_valid(secret, page, "", now, 3600));
  CHECK_FALSE(csrf_token_valid(secret, page, mac, now, 3600));
  CHECK_FALSE(csrf_token_valid(secret, page, "." + mac, now, 3600));
  CHECK_FALSE(csrf_token_valid(secret, page, "-5." + mac, now, 3600));
  CHECK_FALSE(csrf_token_valid(secret, page, "12x." + mac, now, 3600));
}
