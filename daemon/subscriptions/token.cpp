#include "daemon/subscriptions/token.hpp"

#include <openssl/rand.h>

#include <charconv>
#include <stdexcept>

#include "daemon/util.hpp"

namespace herald {

namespace {
constexpr char k_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

bool base64url_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}
}  // namespace

std::string base64url_encode(std::string_view data) {
  std::string out;
  out.reserve((data.size() * 4 + 2) / 3);
  size_t i = 0;
  auto byte = [&](size_t k) { return static_cast<unsigned char>(data[k]); };
  for (; i + 3 <= data.size(); i += 3) {
    const uint32_t v = (uint32_t{byte(i)} << 16) | (uint32_t{byte(i + 1)} << 8) | byte(i + 2);
    out += k_alphabet[(v >> 18) & 63];
    out += k_alphabet[(v >> 12) & 63];
    out += k_alphabet[(v >> 6) & 63];
    out += k_alphabet[v & 63];
  }
  const size_t rest = data.size() - i;
  if (rest == 1) {
    const uint32_t v = uint32_t{byte(i)} << 16;
    out += k_alphabet[(v >> 18) & 63];
    out += k_alphabet[(v >> 12) & 63];
  } else if (rest == 2) {
    const uint32_t v = (uint32_t{byte(i)} << 16) | (uint32_t{byte(i + 1)} << 8);
    out += k_alphabet[(v >> 18) & 63];
    out += k_alphabet[(v >> 12) & 63];
    out += k_alphabet[(v >> 6) & 63];
  }
  return out;
}

std::string new_subscriber_token() {
  unsigned char buf[k_token_bytes];
  if (RAND_bytes(buf, static_cast<int>(sizeof buf)) != 1)
    throw std::runtime_error("RAND_bytes failed");
  return base64url_encode(std::string_view(reinterpret_cast<const char*>(buf), sizeof buf));
}

bool well_formed_token(std::string_view s) {
  if (s.size() != k_token_chars) return false;
  for (char c : s)
    if (!base64url_char(c)) return false;
  // The last character of 32 bytes carries 4 bits and 2 zero bits.
  const char last = s.back();
  const auto pos = std::string_view(k_alphabet).find(last);
  return (pos & 3) == 0;
}

std::string token_hash(std::string_view token) { return sha256_hex(token); }

bool token_expired(int64_t issued_at, int64_t ttl_s, int64_t now) {
  return ttl_s > 0 && now - issued_at >= ttl_s;
}

std::string manage_token(std::string_view secret, int64_t subscriber_id, int64_t subscribed_at) {
  const std::string hex = hmac_sha256_hex(
      secret, "manage\n" + std::to_string(subscriber_id) + "\n" + std::to_string(subscribed_at));
  std::string raw;
  raw.reserve(hex.size() / 2);
  auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    raw += static_cast<char>((nibble(hex[i]) << 4) | nibble(hex[i + 1]));
  return base64url_encode(raw);
}

std::string csrf_token(std::string_view secret, std::string_view bound_to, int64_t issued_at) {
  const std::string t = std::to_string(issued_at);
  return t + "." + hmac_sha256_hex(secret, t + "\n" + std::string(bound_to));
}

bool csrf_token_valid(std::string_view secret, std::string_view bound_to, std::string_view token,
                      int64_t now, int64_t max_age_s) {
  if (secret.empty()) return false;
  const auto dot = token.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot > 19) return false;
  int64_t issued = 0;
  const char* first = token.data();
  const char* end = token.data() + dot;
  auto [p, ec] = std::from_chars(first, end, issued);
  if (ec != std::errc() || p != end || issued < 0) return false;
  if (issued > now + 60 || now - issued > max_age_s) return false;
  return constant_time_equals(token, csrf_token(secret, bound_to, issued));
}

}  // namespace herald
