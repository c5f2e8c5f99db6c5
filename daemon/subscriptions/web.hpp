// The subscription pages herald serves under [web] base_url:
//
//   GET  /subscribe                the form: address, topics, branches, mode
//   POST /subscribe                a confirmation mail; the same answer whether
//                                  or not the address is known
//   GET  /confirm/TOKEN            a page whose button confirms (a mail
//                                  scanner that follows the link confirms no one)
//   POST /confirm/TOKEN            confirms
//   GET  /preferences/TOKEN        topics, branches, mode (the link in every mail)
//   POST /preferences/TOKEN        saves them
//   GET  /unsubscribe/TOKEN        a page with one button
//   POST /unsubscribe/TOKEN        unsubscribes at once (RFC 8058 one-click:
//                                  a mail client posts List-Unsubscribe=One-Click)
//
// Forms carry a CSRF token bound to their page; subscribe attempts are
// limited per client address and per mail address. Pages are
// templates/web/*.html.mustache inside templates/web/layout.html.mustache.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "daemon/clock.hpp"
#include "daemon/config.hpp"
#include "daemon/http_server.hpp"

namespace herald {

class HttpServer;
class Store;
class Templates;

// An address as the subscribe form accepts it: local@domain, one '@', a dot
// in the domain, no spaces or control characters, at most 254 characters.
bool plausible_address(std::string_view s);

// An application/x-www-form-urlencoded body, decoded, in order (a checkbox
// group gives one pair per box). At most 100 fields; nullopt-like empty
// result for an empty body.
std::vector<std::pair<std::string, std::string>> parse_form(std::string_view body);

// At most `limit` events per key in any `window`: allow() records one and
// answers whether it is within the limit. Keys idle for a window are dropped.
class RateLimiter {
 public:
  RateLimiter(int limit, int64_t window_s) : m_limit(limit), m_window(window_s) {}
  bool allow(const std::string& key, int64_t now);

 private:
  int m_limit;
  int64_t m_window;
  std::mutex m_mutex;
  std::map<std::string, std::vector<int64_t>> m_seen;
  int64_t m_last_sweep = 0;
};

struct SubscriptionLimits {
  int per_client = 10;  // subscribe attempts from one client address per window
  int per_address = 3;  // confirmation mails to one address per window
  int64_t window_s = 3600;
  int64_t confirm_ttl_s = 3 * 86'400;
  int64_t form_max_age_s = 86'400;  // a form's CSRF token is good this long
  size_t max_form_bytes = 8 * 1024;
};

// The name of the mail destination that carries subscriber mail
// (confirmations, announcements to topic audiences); the configuration
// loader adds it when [web] base_url is set.
inline constexpr const char* k_subscriber_destination = "subscribers";

// templates/web/<set>.html.mustache rendered with ctx inside the layout,
// with the headers every herald page gets (a CSP that allows no script,
// no-store, nosniff); a 500 text answer when a template does not render.
InboundResponse web_page(const Templates& templates, int status, const std::string& set,
                         const std::string& title, const nlohmann::json& ctx);

// Adds the pages to the server. The store, templates and clock must outlive
// it; wake is called after a mail was written to the outbox.
void add_subscription_routes(HttpServer& server, const Config& cfg, Store& store,
                             const Templates& templates, const Clock& clock,
                             std::function<void()> wake, SubscriptionLimits limits = {});

}  // namespace herald
