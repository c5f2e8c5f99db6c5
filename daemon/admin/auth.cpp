#include "daemon/admin/auth.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>

namespace herald {

namespace {

std::string digest(std::string_view token) {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), out);
  return std::string(reinterpret_cast<const char*>(out), sizeof out);
}

InboundResponse unauthorized(const std::string& why) {
  auto r = InboundResponse::json(401, {{"error", why}});
  r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"herald admin\"");
  return r;
}

}  // namespace

AdminAuth::AdminAuth(const std::vector<AdminConfig>& admins) {
  for (const auto& a : admins)
    if (!a.token.empty()) m_entries.push_back({digest(a.token), a});
}

const AdminConfig* AdminAuth::find(std::string_view token) const {
  const std::string d = digest(token);
  const AdminConfig* found = nullptr;
  // Every entry is compared, whatever matched first.
  for (const auto& e : m_entries)
    if (CRYPTO_memcmp(e.digest.data(), d.data(), d.size()) == 0) found = &e.admin;
  return found;
}

AdminAuth::Outcome AdminAuth::authorize(const InboundRequest& req, std::string_view action) const {
  Outcome out;
  const std::string* header = req.header("authorization");
  if (!header) {
    out.refusal = unauthorized("this needs an admin's bearer token (Authorization: Bearer ...)");
    return out;
  }
  constexpr std::string_view scheme = "Bearer ";
  if (header->size() <= scheme.size() ||
      !std::equal(scheme.begin(), scheme.end(), header->begin(),
                  [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
    out.refusal = unauthorized("the Authorization header must be 'Bearer TOKEN'");
    return out;
  }
  const AdminConfig* admin = find(std::string_view(*header).substr(scheme.size()));
  if (!admin) {
    out.refusal = unauthorized("the token is not an admin's");
    return out;
  }
  if (std::find(admin->may.begin(), admin->may.end(), action) == admin->may.end()) {
    out.refused = admin->name;
    out.refusal = InboundResponse::json(
        403, {{"error", "admin '" + admin->name + "' may not " + std::string(action)}});
    return out;
  }
  out.admin = admin;
  return out;
}

}  // namespace herald
