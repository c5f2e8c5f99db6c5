#include "adapters/sinks/http/http_sink.hpp"

#include <algorithm>
#include <ctime>

#include "daemon/render.hpp"
#include "daemon/util.hpp"

namespace herald {

namespace {

constexpr size_t k_excerpt_bytes = 200;
constexpr int64_t k_min_wait_s = 60;  // after a 429 or a timeout (Svix)

// The length in bytes of the UTF-8 sequence starting with lead, 1 for a stray byte.
size_t sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 1;
}

// The length of the whole character at s[i], 1 when it is not a complete,
// well-formed sequence (so that cutting never splits a character, and a stray
// byte is a character of its own).
size_t char_at(std::string_view s, size_t i) {
  size_t n = sequence_length(static_cast<unsigned char>(s[i]));
  if (n == 1 || i + n > s.size()) return 1;
  for (size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 1;
  return n;
}

void replace_all(std::string& s, const std::string& what, const std::string& with) {
  if (what.empty()) return;
  for (size_t pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + with.size()))
    s.replace(pos, what.size(), with);
}

struct UrlParts {
  std::string scheme, userinfo, host, path, query, fragment;
};

UrlParts split_url(std::string_view url) {
  UrlParts p;
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) {
    p.path = std::string(url);
    return p;
  }
  p.scheme = std::string(url.substr(0, scheme_end));
  std::string_view rest = url.substr(scheme_end + 3);
  size_t auth_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, auth_end);
  rest = auth_end == std::string_view::npos ? std::string_view() : rest.substr(auth_end);
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    p.userinfo = std::string(authority.substr(0, at));
    authority = authority.substr(at + 1);
  }
  p.host = std::string(authority);
  size_t hash = rest.find('#');
  if (hash != std::string_view::npos) {
    p.fragment = std::string(rest.substr(hash));
    rest = rest.substr(0, hash);
  }
  size_t q = rest.find('?');
  p.path = std::string(rest.substr(0, q));
  if (q != std::string_view::npos) p.query = std::string(rest.substr(q));
  return p;
}

class HttpSink final : public Sink {
 public:
  HttpSink(const DestinationConfig& dest, const SinkEnv& env, HttpSinkSpec spec)
      : m_spec(std::move(spec)), m_clock(env.clock) {
    m_timeout_ms = dest.timeout_ms > 0 ? dest.timeout_ms : 15'000;
    m_connect_timeout_ms = dest.connect_timeout_ms > 0 ? dest.connect_timeout_ms : 10'000;
    if (env.http) m_transport = env.http();
    if (!m_spec.classify) m_spec.classify = classify_http_answer;
    m_origin = url_origin(m_spec.endpoint);
    // Longest first: the whole URL becomes its origin before its path alone is removed.
    const UrlParts u = split_url(m_spec.endpoint);
    const std::string origin_path = u.scheme + "://" + u.host + u.path;
    m_scrub = {{m_spec.endpoint, m_origin},
               {origin_path + u.query, m_origin},
               {origin_path, m_origin}};
    if (u.path.size() > 1) {
      m_scrub.push_back({u.path + u.query, "/[redacted]"});
      m_scrub.push_back({u.path, "/[redacted]"});
    }
    if (u.query.size() > 1) m_scrub.push_back({u.query.substr(1), "[redacted]"});
    // A server may echo one part: Slack's and Discord's tokens are path
    // segments, a Teams workflow's signature is a query value.
    for (const auto& seg : split(u.path, '/'))
      if (seg.size() > 12) m_scrub.push_back({seg, "[redacted]"});
    for (const auto& param : split(u.query.empty() ? std::string() : u.query.substr(1), '&'))
      if (auto eq = param.find('='); eq != std::string::npos && param.size() - eq > 5)
        m_scrub.push_back({param.substr(eq + 1), "[redacted]"});
    if (!u.userinfo.empty()) m_scrub.push_back({u.userinfo, "[redacted]"});
    for (const auto& s : m_spec.secrets)
      if (!s.empty()) m_scrub.push_back({s, "[redacted]"});
  }

  void deliver_each(const std::vector<OutboxItem>& items, const ResultFn& done) override {
    for (size_t i = 0; i < items.size(); ++i) {
      if (!done(i, deliver_one(items[i]))) return;
    }
  }

  std::string describe() const override { return m_spec.kind + " " + m_origin; }

 private:
  DeliveryResult deliver_one(const OutboxItem& item) {
    // Nothing is handed over before perform(): stopping here sends no duplicate.
    if (const auto* stop = interrupt_flag(); stop && stop->load())
      return DeliveryResult::retry("not sent: herald is stopping");
    if (!m_transport) return DeliveryResult::retry("no HTTP transport");
    const int64_t now = m_clock ? m_clock->now() : static_cast<int64_t>(std::time(nullptr));
    auto request = m_spec.build(item, now);
    if (!request) return scrubbed(DeliveryResult::fail("cannot make the request: " + request.error().message));
    request->max_redirects = 0;  // a redirect is a failure, never followed
    request->timeout_ms = m_timeout_ms;
    request->connect_timeout_ms = std::min(m_connect_timeout_ms, m_timeout_ms);
    return scrubbed(m_spec.classify(m_transport->perform(*request)));
  }

  DeliveryResult scrubbed(DeliveryResult r) const {
    for (const auto& [what, with] : m_scrub) replace_all(r.detail, what, with);
    return r;
  }

  HttpSinkSpec m_spec;
  const Clock* m_clock = nullptr;
  std::unique_ptr<HttpTransport> m_transport;
  int64_t m_timeout_ms = 15'000;
  int64_t m_connect_timeout_ms = 10'000;
  std::string m_origin;
  std::vector<std::pair<std::string, std::string>> m_scrub;
};

}  // namespace

std::string url_origin(std::string_view url) {
  const UrlParts u = split_url(url);
  if (u.scheme.empty()) return "(no URL)";
  return u.scheme + "://" + u.host;
}

std::string answer_excerpt(const HttpResponse& response) {
  std::string out = "HTTP " + std::to_string(response.status);
  std::string body = one_line(truncate_bytes(response.body, k_excerpt_bytes));
  body = trim(body);
  if (!body.empty()) out += ": " + body + (response.body.size() > k_excerpt_bytes ? "..." : "");
  return out;
}

DeliveryResult classify_http_answer(const HttpResult& result) {
  if (!result.ok()) {
    const HttpFailure& f = result.failure();
    std::string detail = std::string(to_string(f.kind)) + ": " + one_line(f.message);
    if (f.lasting) return DeliveryResult::fail(detail);
    if (f.kind == HttpFailure::Kind::timeout) return DeliveryResult::retry(detail, k_min_wait_s);
    return DeliveryResult::retry(detail);
  }
  const HttpResponse& r = result.response();
  const long s = r.status;
  std::string detail = answer_excerpt(r);
  if (s >= 200 && s < 300) return DeliveryResult::ok(detail);
  if (s >= 300 && s < 400) {
    std::string to;
    if (auto it = r.headers.find("location"); it != r.headers.end())
      to = " to " + url_origin(it->second);
    return DeliveryResult::fail(detail + " (a redirect" + to + " is a failure: fix the url)");
  }
  if (s == 410) return DeliveryResult::disable(detail + " (the endpoint is gone)");
  if (s == 429)
    return DeliveryResult::retry(detail, std::max<int64_t>(r.retry_after_s.value_or(0), k_min_wait_s));
  if (s == 408 || s == 425 || (s >= 500 && s < 600)) return DeliveryResult::retry(detail, r.retry_after_s);
  if (s >= 400 && s < 500) return DeliveryResult::fail(detail);
  return DeliveryResult::retry(detail + " (not an HTTP status)");
}

std::unique_ptr<Sink> make_http_sink(const DestinationConfig& dest, const SinkEnv& env,
                                     HttpSinkSpec spec) {
  return std::make_unique<HttpSink>(dest, env, std::move(spec));
}

size_t text_length(std::string_view s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size();) {
    size_t len = char_at(s, i);
    n += len == 4 ? 2 : 1;
    i += len;
  }
  return n;
}

std::string truncate_text(std::string_view s, size_t max, std::string_view suffix) {
  if (text_length(s) <= max) return std::string(s);
  std::string_view tail = text_length(suffix) < max ? suffix : k_ellipsis;
  const size_t room = max - std::min(max, text_length(tail));
  size_t used = 0, i = 0;
  while (i < s.size()) {
    size_t len = char_at(s, i);
    size_t units = len == 4 ? 2 : 1;
    if (used + units > room) break;
    used += units;
    i += len;
  }
  // Cut at a space when one is near, so that a word (or a link) is not split.
  std::string_view head = s.substr(0, i);
  if (auto sp = head.find_last_of(" \n"); sp != std::string_view::npos && head.size() - sp < 40)
    head = head.substr(0, sp);
  while (!head.empty() && (head.back() == ' ' || head.back() == '\n')) head.remove_suffix(1);
  return std::string(head) + std::string(tail);
}

std::string truncate_bytes(std::string_view s, size_t max) {
  if (s.size() <= max) return std::string(s);
  size_t i = 0;
  while (i < s.size()) {
    size_t len = char_at(s, i);
    if (i + len > max) break;
    i += len;
  }
  return std::string(s.substr(0, i));
}

void check_http_url(const DestinationConfig& dest, const std::string& key, const std::string& value,
                    std::vector<std::pair<std::string, std::string>>& problems) {
  (void)dest;
  if (value.empty()) {
    problems.push_back({key, key + " is required"});
    return;
  }
  if (value.rfind("https://", 0) != 0 && value.rfind("http://", 0) != 0) {
    problems.push_back({key, key + " must be an http:// or https:// URL"});
    return;
  }
  if (url_origin(value).size() <= std::string_view("https://").size())
    problems.push_back({key, key + " has no host"});
}

Expected<std::string> render_part(const RenderInput& in, const std::string& channel,
                                  const std::string& part) {
  return in.templates.render(channel, in.set, part, in.context);
}

namespace {
std::string context_string(const nlohmann::json& ctx, const char* name) {
  auto it = ctx.find(name);
  return it != ctx.end() && it->is_string() ? it->get<std::string>() : std::string();
}
}  // namespace

std::string input_title(const RenderInput& in) {
  if (in.event) return in.event->title;
  std::string t = context_string(in.context, "title");
  return t.empty() ? "digest" : t;
}

std::string input_url(const RenderInput& in) {
  if (in.event) return in.event->url;
  return context_string(in.context, "url");
}

std::string dump_json(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

NewDelivery chat_delivery(const RenderInput& in, const nlohmann::json& payload) {
  NewDelivery d;
  d.idempotency_key = in.key;
  d.destination = in.dest.name;
  d.payload = dump_json(payload);
  d.subject = input_title(in);
  return d;
}

std::vector<std::string> http_common_keys() {
  return {"url",     "url_file",        "templates",      "rate",           "burst",
          "timeout", "connect_timeout", "retry_schedule", "max_connections"};
}

}  // namespace herald

namespace herald {

decltype(DestinationKind::make_sink) json_post_sink(std::string kind, AnswerClassifier classify) {
  return [kind = std::move(kind), classify = std::move(classify)](
             const Config&, const DestinationConfig& dest, const SinkEnv& env) {
    HttpSinkSpec spec;
    spec.kind = kind;
    spec.endpoint = dest.url;
    spec.classify = classify;
    spec.build = [url = dest.url](const OutboxItem& item, int64_t) -> Expected<HttpRequest> {
      HttpRequest r;
      r.method = "POST";
      r.url = url;
      r.headers = {"Content-Type: application/json"};
      r.body = item.payload;
      return r;
    };
    return make_http_sink(dest, env, std::move(spec));
  };
}

}  // namespace herald
