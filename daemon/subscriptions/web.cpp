#include "daemon/subscriptions/web.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <set>

#include "daemon/destination.hpp"
#include "daemon/http_server.hpp"
#include "daemon/render.hpp"
#include "daemon/store.hpp"
#include "daemon/subscriptions/token.hpp"
#include "daemon/util.hpp"

namespace herald {

bool plausible_address(std::string_view s) {
  const auto at = s.find('@');
  if (s.size() > 254 || at == std::string_view::npos || at == 0 ||
      s.find('@', at + 1) != std::string_view::npos)
    return false;
  const auto domain = s.substr(at + 1);
  if (domain.find('.') == std::string_view::npos || domain.front() == '.' || domain.back() == '.')
    return false;
  for (unsigned char c : s)
    if (c <= ' ' || c == 0x7f || c == ',' || c == '<' || c == '>' || c == '"') return false;
  return true;
}

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string form_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
               hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> parse_form(std::string_view body) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t pos = 0;
  while (pos < body.size() && out.size() < 100) {
    auto amp = body.find('&', pos);
    if (amp == std::string_view::npos) amp = body.size();
    const auto field = body.substr(pos, amp - pos);
    pos = amp + 1;
    if (field.empty()) continue;
    const auto eq = field.find('=');
    if (eq == std::string_view::npos)
      out.emplace_back(form_decode(field), "");
    else
      out.emplace_back(form_decode(field.substr(0, eq)), form_decode(field.substr(eq + 1)));
  }
  return out;
}

bool RateLimiter::allow(const std::string& key, int64_t now) {
  std::lock_guard lock(m_mutex);
  if (now - m_last_sweep >= m_window) {  // forget keys that have been quiet for a window
    for (auto it = m_seen.begin(); it != m_seen.end();)
      it = !it->second.empty() && now - it->second.back() < m_window ? std::next(it)
                                                                     : m_seen.erase(it);
    m_last_sweep = now;
  }
  auto& times = m_seen[key];
  times.erase(
      std::remove_if(times.begin(), times.end(), [&](int64_t t) { return now - t >= m_window; }),
      times.end());
  if (static_cast<int>(times.size()) >= m_limit) return false;
  times.push_back(now);
  return true;
}

namespace {

using nlohmann::json;

const char* field(const std::vector<std::pair<std::string, std::string>>& form,
                  std::string_view name) {
  for (const auto& [k, v] : form)
    if (k == name) return v.c_str();
  return nullptr;
}

std::vector<std::string> fields(const std::vector<std::pair<std::string, std::string>>& form,
                                std::string_view name) {
  std::vector<std::string> out;
  for (const auto& [k, v] : form)
    if (k == name) out.push_back(v);
  return out;
}

// "2.15, 2.16" -> {"2.15", "2.16"}; "" or "all" -> {} (every branch); an
// entry that is not MAJOR.MINOR -> nullopt.
std::optional<std::vector<std::string>> parse_branches(const std::string& text) {
  std::string s = text;
  std::replace(s.begin(), s.end(), ',', ' ');
  std::vector<std::string> out;
  for (const auto& part : split(s, ' ')) {
    const std::string b = trim(part);
    if (b.empty()) continue;
    if (iequals(b, "all")) return std::vector<std::string>{};
    const auto dot = b.find('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == b.size() || b.size() > 9 ||
        b.find_first_not_of("0123456789.") != std::string::npos || b.find('.', dot + 1) != b.npos)
      return std::nullopt;
    if (std::find(out.begin(), out.end(), b) == out.end()) out.push_back(b);
    if (out.size() > 20) return std::nullopt;
  }
  return out;
}

std::string joined(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

class Pages {
 public:
  Pages(const Config& cfg, Store& store, const Templates& templates, const Clock& clock,
        std::function<void()> wake, SubscriptionLimits limits)
      : m_cfg(cfg),
        m_store(store),
        m_templates(templates),
        m_clock(clock),
        m_wake(std::move(wake)),
        m_limits(limits),
        m_per_client(limits.per_client, limits.window_s),
        m_per_address(limits.per_address, limits.window_s) {}

  void subscribe_form(const InboundRequest& req, const Respond& respond);
  void subscribe(const InboundRequest& req, const Respond& respond);
  void confirm_page(const InboundRequest& req, const Respond& respond);
  void confirm(const InboundRequest& req, const Respond& respond);
  void preferences_page(const InboundRequest& req, const Respond& respond);
  void save_preferences(const InboundRequest& req, const Respond& respond);
  void unsubscribe_page(const InboundRequest& req, const Respond& respond);
  void unsubscribe(const InboundRequest& req, const Respond& respond);

 private:
  // The page `set` inside the layout, with the headers every page gets.
  InboundResponse page(int status, const std::string& set, const std::string& title,
                       json ctx) const;
  InboundResponse invalid_link() const {
    return page(404, "invalid", "Link not valid", json::object());
  }
  InboundResponse unavailable(const std::string& what, const std::string& why) const {
    spdlog::error("web: {}: {}", what, why);
    return page(503, "unavailable", "Try again later", json::object());
  }
  json topic_choices(const std::vector<std::string>& chosen) const;
  json mode_choices(const std::string& chosen) const;
  // How long a confirmation link works, in words: "3 days", "12 hours".
  std::string expiry() const {
    const int64_t t = m_limits.confirm_ttl_s;
    const int64_t n = t % 86'400 == 0 ? t / 86'400 : (t + 3599) / 3600;
    return std::to_string(n) + (t % 86'400 == 0 ? " day" : " hour") + (n == 1 ? "" : "s");
  }
  // The CSRF secret from the store; empty while the store cannot answer.
  std::string secret() const;
  std::string csrf(const std::string& path) const;
  bool csrf_ok(const InboundRequest& req,
               const std::vector<std::pair<std::string, std::string>>& form) const;
  // The subscriber a manage token names, or nullopt (also for a store error,
  // which `failed` then describes).
  std::optional<Subscriber> by_manage_token(const std::string& token, std::string& failed);
  // Writes a mail of the set to the address through the subscriber destination.
  Status queue_mail(const std::string& set, const std::string& address, json ctx,
                    const std::string& key);
  // The form's topics, branches and mode into s; an error message for the page, or "".
  std::string read_choices(const std::vector<std::pair<std::string, std::string>>& form,
                           Subscriber& s) const;

  const Config& m_cfg;
  Store& m_store;
  const Templates& m_templates;
  const Clock& m_clock;
  std::function<void()> m_wake;
  SubscriptionLimits m_limits;
  RateLimiter m_per_client, m_per_address;
  mutable std::mutex m_secret_mutex;
  mutable std::string m_secret;
};

InboundResponse Pages::page(int status, const std::string& set, const std::string& title,
                            json ctx) const {
  ctx["title"] = title;
  ctx["base_url"] = m_cfg.web.base_url;
  ctx["expiry"] = expiry();
  return web_page(m_templates, status, set, title, ctx);
}

}  // namespace

InboundResponse web_page(const Templates& templates, int status, const std::string& set,
                         const std::string& title, const nlohmann::json& ctx) {
  auto body = templates.render("web", set, "html", ctx);
  InboundResponse r;
  r.status = status;
  r.content_type = "text/html; charset=utf-8";
  if (body) {
    json outer = {{"title", title}, {"body", *body}};
    auto whole = templates.render("web", "layout", "html", outer);
    if (whole) r.body = *whole + "\n";
  }
  if (r.body.empty()) {
    spdlog::error("web: cannot render page {}: {}", set,
                  body ? "the layout did not render" : body.error().message);
    r.status = 500;
    r.content_type = "text/plain; charset=utf-8";
    r.body = "The page could not be rendered.\n";
  }
  r.headers = {{"Cache-Control", "no-store"},
               {"Referrer-Policy", "no-referrer"},
               {"X-Content-Type-Options", "nosniff"},
               {"Content-Security-Policy",
                "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                "frame-ancestors 'none'; base-uri 'none'"}};
  return r;
}

namespace {

json Pages::topic_choices(const std::vector<std::string>& chosen) const {
  json out = json::array();
  for (const auto& t : m_cfg.topics)
    out.push_back({{"name", t.name},
                   {"title", t.title},
                   {"checked", std::find(chosen.begin(), chosen.end(), t.name) != chosen.end()}});
  return out;
}

json Pages::mode_choices(const std::string& chosen) const {
  static const std::pair<const char*, const char*> modes[] = {
      {"immediate", "Each announcement as it is made"},
      {"daily", "A daily digest"},
      {"weekly", "A weekly digest"}};
  json out = json::array();
  for (const auto& [value, label] : modes)
    out.push_back({{"value", value}, {"label", label}, {"checked", chosen == value}});
  return out;
}

std::string Pages::secret() const {
  std::lock_guard lock(m_secret_mutex);
  if (m_secret.empty()) {  // read (or made) once: it never changes
    auto s = m_store.subscribers().web_secret();
    if (s) m_secret = *s;
  }
  return m_secret;
}

std::string Pages::csrf(const std::string& path) const {
  const std::string key = secret();
  return key.empty() ? std::string() : csrf_token(key, path, m_clock.now());
}

bool Pages::csrf_ok(const InboundRequest& req,
                    const std::vector<std::pair<std::string, std::string>>& form) const {
  const char* token = field(form, "csrf");
  return token &&
         csrf_token_valid(secret(), req.path, token, m_clock.now(), m_limits.form_max_age_s);
}

std::optional<Subscriber> Pages::by_manage_token(const std::string& token, std::string& failed) {
  auto& subs = m_store.subscribers();
  auto owner = subs.lookup_token(token, "manage", m_clock.now());
  if (!owner) {
    failed = owner.error().message;
    return std::nullopt;
  }
  if (!*owner) return std::nullopt;
  auto s = subs.get((*owner)->subscriber_id);
  if (!s) {
    failed = s.error().message;
    return std::nullopt;
  }
  return *s;
}

Status Pages::queue_mail(const std::string& set, const std::string& address, json ctx,
                         const std::string& key) {
  const DestinationConfig* base = m_cfg.destination(k_subscriber_destination);
  if (!base) return bad_input("no subscriber mail destination is configured");
  DestinationConfig dest = *base;
  dest.to = {address};
  ctx["address"] = address;
  ctx["base_url"] = m_cfg.web.base_url;
  ctx["herald_version"] = HERALD_VERSION;
  const int64_t now = m_clock.now();
  auto delivery = render_for(RenderInput{m_cfg, m_templates, dest, set, ctx, nullptr, key, now});
  if (!delivery) return delivery.error();
  if (auto s = m_store.outbox().commit_routing({}, {*delivery}, now); !s) return s;
  if (m_wake) m_wake();
  return ok_status();
}

std::string Pages::read_choices(const std::vector<std::pair<std::string, std::string>>& form,
                                Subscriber& s) const {
  std::vector<std::string> topics;
  for (const auto& name : fields(form, "topic")) {
    const bool known = std::any_of(m_cfg.topics.begin(), m_cfg.topics.end(),
                                   [&](const TopicConfig& t) { return t.name == name; });
    if (known && std::find(topics.begin(), topics.end(), name) == topics.end())
      topics.push_back(name);
  }
  if (topics.empty()) return "Choose at least one topic.";
  const char* branches_text = field(form, "branches");
  auto branches = parse_branches(branches_text ? branches_text : "");
  if (!branches)
    return "Branches are release branches such as 2.15 or 2.16, separated by commas; leave the "
           "field empty for every branch.";
  const char* mode = field(form, "mode");
  const std::string m = mode ? mode : "immediate";
  if (!valid_subscriber_mode(m)) return "Choose how often you receive mail.";
  s.topics = std::move(topics);
  s.branches = std::move(*branches);
  s.mode = m;
  return "";
}

void Pages::subscribe_form(const InboundRequest& req, const Respond& respond) {
  respond(page(200, "subscribe", "Subscribe",
               {{"csrf", csrf(req.path)},
                {"topics", topic_choices({})},
                {"modes", mode_choices("immediate")},
                {"branches", ""},
                {"address", ""}}));
}

void Pages::subscribe(const InboundRequest& req, const Respond& respond) {
  const int64_t now = m_clock.now();
  const auto form = parse_form(req.body);
  if (!csrf_ok(req, form))
    return respond(page(403, "expired", "The form has expired", json::object()));
  if (!m_per_client.allow(req.peer, now)) {
    spdlog::warn("web: subscribe attempts from {} over the limit ({} an hour)", req.peer,
                 m_limits.per_client);
    return respond(page(429, "slow_down", "Too many attempts", json::object()));
  }
  const char* address_field = field(form, "address");
  const std::string address = trim(address_field ? address_field : "");
  Subscriber wanted;
  std::string problem = plausible_address(address) ? "" : "That is not a mail address.";
  if (problem.empty()) problem = read_choices(form, wanted);
  if (!problem.empty()) {
    std::vector<std::string> chosen = fields(form, "topic");
    const char* mode = field(form, "mode");
    const char* branches = field(form, "branches");
    return respond(page(400, "subscribe", "Subscribe",
                        {{"csrf", csrf(req.path)},
                         {"error", problem},
                         {"topics", topic_choices(chosen)},
                         {"modes", mode_choices(mode ? mode : "immediate")},
                         {"branches", branches ? branches : ""},
                         {"address", address}}));
  }
  // From here on the answer is the same whatever is known of the address.
  const InboundResponse sent =
      page(200, "subscribe_sent", "Check your mail", {{"address", address}});
  if (!m_per_address.allow(to_lower(address), now)) {
    spdlog::info("web: no mail to a subscriber: the address had {} in the last hour",
                 m_limits.per_address);
    return respond(sent);
  }
  auto& subs = m_store.subscribers();
  auto existing = subs.find(address);
  if (!existing) return respond(unavailable("subscribe", existing.error().message));
  Subscriber s;
  if (*existing) {
    s = **existing;
    if (s.state == "disabled") {
      spdlog::info("web: subscriber #{} is disabled; no mail sent", s.id);
      return respond(sent);
    }
    if (s.state == "confirmed") {
      // Already subscribed: tell them where their preferences are, change nothing.
      auto manage = subs.manage_token(s);
      if (!manage) return respond(unavailable("subscribe", manage.error().message));
      const std::string url = m_cfg.web.base_url + "/preferences/" + *manage;
      auto q = queue_mail("subscription.known", s.address, {{"preferences_url", url}},
                          "subscription:known:" + std::to_string(s.id) + ":" + std::to_string(now));
      if (!q) return respond(unavailable("subscribe", q.error().message));
      spdlog::info("web: subscriber #{} asked again; sent their preferences link", s.id);
      return respond(sent);
    }
    if (s.state == "unsubscribed") subs.drop_tokens(s.id, "manage");
  }
  s.address = s.id ? s.address : address;
  s.state = "pending";
  s.topics = wanted.topics;
  s.branches = wanted.branches;
  s.mode = wanted.mode;
  s.subscribed_at = now;
  s.subscribed_client = req.peer;
  s.confirmed_at = 0;
  s.confirmed_client.clear();
  s.updated_at = now;
  if (s.id) {
    if (auto u = subs.update(s); !u) return respond(unavailable("subscribe", u.error().message));
  } else {
    auto id = subs.add(s);
    if (!id) return respond(unavailable("subscribe", id.error().message));
    s.id = *id;
  }
  const std::string token = new_subscriber_token();
  if (auto t = subs.add_token(s.id, token, "confirm", now, m_limits.confirm_ttl_s); !t)
    return respond(unavailable("subscribe", t.error().message));
  json topics = json::array();
  for (const auto& t : m_cfg.topics)
    if (std::find(s.topics.begin(), s.topics.end(), t.name) != s.topics.end())
      topics.push_back({{"title", t.title}});
  auto q = queue_mail("subscription.confirm", s.address,
                      {{"confirm_url", m_cfg.web.base_url + "/confirm/" + token},
                       {"topics", topics},
                       {"branches", s.branches.empty() ? "all" : joined(s.branches, ", ")},
                       {"expiry", expiry()}},
                      "subscription:confirm:" + token_hash(token).substr(0, 24));
  if (!q) return respond(unavailable("subscribe", q.error().message));
  spdlog::info("web: subscriber #{} pending; confirmation mail queued", s.id);
  respond(sent);
}

void Pages::confirm_page(const InboundRequest& req, const Respond& respond) {
  auto owner = m_store.subscribers().lookup_token(req.rest, "confirm", m_clock.now());
  if (!owner) return respond(unavailable("confirm", owner.error().message));
  if (!*owner) return respond(invalid_link());
  respond(page(200, "confirm", "Confirm your subscription", {{"csrf", csrf(req.path)}}));
}

void Pages::confirm(const InboundRequest& req, const Respond& respond) {
  const int64_t now = m_clock.now();
  auto& subs = m_store.subscribers();
  auto owner = subs.lookup_token(req.rest, "confirm", now);
  if (!owner) return respond(unavailable("confirm", owner.error().message));
  if (!*owner) return respond(invalid_link());
  if (!csrf_ok(req, parse_form(req.body)))
    return respond(page(403, "expired", "The form has expired", json::object()));
  auto s = subs.get((*owner)->subscriber_id);
  if (!s) return respond(unavailable("confirm", s.error().message));
  if (!*s) return respond(invalid_link());
  Subscriber sub = **s;
  if (sub.state == "disabled") return respond(invalid_link());
  sub.state = "confirmed";
  sub.confirmed_at = now;
  sub.confirmed_client = req.peer;
  sub.updated_at = now;
  if (auto u = subs.update(sub); !u) return respond(unavailable("confirm", u.error().message));
  subs.drop_tokens(sub.id, "confirm");
  auto manage = subs.manage_token(sub);
  if (!manage) return respond(unavailable("confirm", manage.error().message));
  spdlog::info("web: subscriber #{} confirmed", sub.id);
  respond(page(200, "confirmed", "Subscribed", {{"preferences", "../preferences/" + *manage}}));
}

void Pages::preferences_page(const InboundRequest& req, const Respond& respond) {
  std::string failed;
  auto s = by_manage_token(req.rest, failed);
  if (!failed.empty()) return respond(unavailable("preferences", failed));
  if (!s || s->state == "disabled") return respond(invalid_link());
  respond(page(200, "preferences", "Your subscription",
               {{"csrf", csrf(req.path)},
                {"address", s->address},
                {"unsubscribed", s->state == "unsubscribed"},
                {"topics", topic_choices(s->topics)},
                {"modes", mode_choices(s->mode)},
                {"branches", joined(s->branches, ", ")},
                {"unsubscribe", "../unsubscribe/" + req.rest}}));
}

void Pages::save_preferences(const InboundRequest& req, const Respond& respond) {
  const int64_t now = m_clock.now();
  std::string failed;
  auto s = by_manage_token(req.rest, failed);
  if (!failed.empty()) return respond(unavailable("preferences", failed));
  if (!s || s->state == "disabled") return respond(invalid_link());
  const auto form = parse_form(req.body);
  if (!csrf_ok(req, form))
    return respond(page(403, "expired", "The form has expired", json::object()));
  Subscriber sub = *s;
  if (std::string problem = read_choices(form, sub); !problem.empty()) {
    const char* branches = field(form, "branches");
    const char* mode = field(form, "mode");
    return respond(page(400, "preferences", "Your subscription",
                        {{"csrf", csrf(req.path)},
                         {"error", problem},
                         {"address", s->address},
                         {"unsubscribed", s->state == "unsubscribed"},
                         {"topics", topic_choices(fields(form, "topic"))},
                         {"modes", mode_choices(mode ? mode : s->mode)},
                         {"branches", branches ? branches : ""},
                         {"unsubscribe", "../unsubscribe/" + req.rest}}));
  }
  const bool resubscribed = sub.state == "unsubscribed";
  if (resubscribed) {  // the link in their mail proves the address is theirs
    sub.state = "confirmed";
    sub.confirmed_at = now;
    sub.confirmed_client = req.peer;
  }
  sub.updated_at = now;
  if (auto u = m_store.subscribers().update(sub); !u)
    return respond(unavailable("preferences", u.error().message));
  spdlog::info("web: subscriber #{} {}", sub.id,
               resubscribed ? "subscribed again" : "changed preferences");
  respond(page(200, "preferences_saved", "Preferences saved",
               {{"preferences", "../preferences/" + req.rest}, {"resubscribed", resubscribed}}));
}

void Pages::unsubscribe_page(const InboundRequest& req, const Respond& respond) {
  std::string failed;
  auto s = by_manage_token(req.rest, failed);
  if (!failed.empty()) return respond(unavailable("unsubscribe", failed));
  if (!s || s->state == "disabled") return respond(invalid_link());
  respond(page(200, "unsubscribe", "Unsubscribe",
               {{"address", s->address},
                {"unsubscribed", s->state == "unsubscribed"},
                {"preferences", "../preferences/" + req.rest}}));
}

// RFC 8058: the POST of a mail client carries List-Unsubscribe=One-Click and
// no cookie or form token; the token in the URL is the proof. It unsubscribes
// at once, with no page to confirm on.
void Pages::unsubscribe(const InboundRequest& req, const Respond& respond) {
  std::string failed;
  auto s = by_manage_token(req.rest, failed);
  if (!failed.empty()) return respond(unavailable("unsubscribe", failed));
  if (!s || s->state == "disabled") return respond(invalid_link());
  Subscriber sub = *s;
  if (sub.state != "unsubscribed") {
    sub.state = "unsubscribed";
    sub.updated_at = m_clock.now();
    if (auto u = m_store.subscribers().update(sub); !u)
      return respond(unavailable("unsubscribe", u.error().message));
    const bool one_click = req.body.find("List-Unsubscribe=One-Click") != std::string::npos;
    spdlog::info("web: subscriber #{} unsubscribed{}", sub.id, one_click ? " (one-click)" : "");
  }
  respond(page(200, "unsubscribed", "Unsubscribed",
               {{"address", sub.address}, {"preferences", "../preferences/" + req.rest}}));
}

}  // namespace

void add_subscription_routes(HttpServer& server, const Config& cfg, Store& store,
                             const Templates& templates, const Clock& clock,
                             std::function<void()> wake, SubscriptionLimits limits) {
  auto pages = std::make_shared<Pages>(cfg, store, templates, clock, std::move(wake), limits);
  const size_t max_form = limits.max_form_bytes;
  using Method = void (Pages::*)(const InboundRequest&, const Respond&);
  auto add = [&](const char* method, const char* path, Method m) {
    server.route(method, path, [pages, m, max_form](const InboundRequest& req, Respond respond) {
      if (req.body.size() > max_form)
        return respond(InboundResponse::text(413, "The form is larger than a form can be."));
      ((*pages).*m)(req, respond);
    });
  };
  add("GET", "/subscribe", &Pages::subscribe_form);
  add("POST", "/subscribe", &Pages::subscribe);
  add("GET", "/confirm/*", &Pages::confirm_page);
  add("POST", "/confirm/*", &Pages::confirm);
  add("GET", "/preferences/*", &Pages::preferences_page);
  add("POST", "/preferences/*", &Pages::save_preferences);
  add("GET", "/unsubscribe/*", &Pages::unsubscribe_page);
  add("POST", "/unsubscribe/*", &Pages::unsubscribe);
}

}  // namespace herald
