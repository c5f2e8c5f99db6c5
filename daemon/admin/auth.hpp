// Who may use the admin API: each [[admin]] has a bearer token (read from
// its token file at load) and the actions it may take. Tokens are compared
// by their SHA-256, in constant time and against every admin, so neither the
// answer's timing nor its length says how much of a guess was right.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/config.hpp"
#include "daemon/http_server.hpp"

namespace herald {

// The actions an admin's `may` names.
inline constexpr const char* k_admin_actions[] = {"draft", "approve", "publish", "patches",
                                                  "read"};

class AdminAuth {
 public:
  explicit AdminAuth(const std::vector<AdminConfig>& admins);

  // The admin whose token is `token`, or nullptr.
  const AdminConfig* find(std::string_view token) const;

  // The admin a request's `Authorization: Bearer TOKEN` names when they may
  // take `action`. Otherwise the answer to send: 401 (no token, a malformed
  // header or an unknown token, with WWW-Authenticate) or 403 (an admin not
  // allowed the action; `refused` then names them, for the audit log).
  struct Outcome {
    const AdminConfig* admin = nullptr;
    std::optional<InboundResponse> refusal;
    std::string refused;  // the admin refused with 403
  };
  Outcome authorize(const InboundRequest& req, std::string_view action) const;

 private:
  struct Entry {
    std::string digest;  // SHA-256 of the token, raw bytes
    AdminConfig admin;
  };
  std::vector<Entry> m_entries;
};

}  // namespace herald
