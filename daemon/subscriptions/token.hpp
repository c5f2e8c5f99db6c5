// Subscriber tokens and form CSRF tokens.
//
// A subscriber token is 32 random bytes (OpenSSL RAND_bytes) in base64url
// without padding: 43 characters that say nothing about the address. The
// store keeps only its SHA-256 (token_hash), so a copy of the database links
// to no one's preferences. A confirmation token expires (default 3 days).
//
// A CSRF token is an HMAC-SHA256, under a server secret, of the page it was
// issued for (e.g. "/unsubscribe/<token>") and the time it was issued; a form
// POST is accepted only with a token for the same page that is not older than
// its bound, so another site cannot post a form in a subscriber's name.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace herald {

inline constexpr size_t k_token_bytes = 32;
inline constexpr size_t k_token_chars = 43;  // base64url of 32 bytes, no padding
inline constexpr int64_t k_confirm_token_ttl_s = 3 * 86'400;

// RFC 4648 section 5 (base64url), without '=' padding.
std::string base64url_encode(std::string_view data);
// A new subscriber token from RAND_bytes; throws std::runtime_error if the
// generator fails (as random_hex does).
std::string new_subscriber_token();
// Whether s has the shape of a subscriber token (43 base64url characters);
// a request with anything else is refused before the store is asked.
bool well_formed_token(std::string_view s);
// What the store keeps of a token: its SHA-256, lowercase hex.
std::string token_hash(std::string_view token);
// Whether a token issued at issued_at with a lifetime of ttl_s seconds is
// expired at now (ttl_s <= 0: never expires).
bool token_expired(int64_t issued_at, int64_t ttl_s, int64_t now);

// A subscriber's manage token (the preferences and unsubscribe links of
// every mail to them): the HMAC-SHA256 under the web secret of the
// subscriber's id and subscription time, in base64url (the shape of a
// subscriber token). Every mail can carry it while the store keeps only its
// hash; a new subscription (a new subscribed_at) makes a new one.
std::string manage_token(std::string_view secret, int64_t subscriber_id, int64_t subscribed_at);

// "<issued_at>.<hmac hex>" for the form on page `bound_to`.
std::string csrf_token(std::string_view secret, std::string_view bound_to, int64_t issued_at);
// Whether token was issued by csrf_token with this secret for this page, not
// in the future (beyond 60 s of clock skew) and not older than max_age_s.
bool csrf_token_valid(std::string_view secret, std::string_view bound_to, std::string_view token,
                      int64_t now, int64_t max_age_s);

}  // namespace herald
