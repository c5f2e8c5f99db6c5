// Inbound webhooks and the event API. A request goes through: the server's
// limits (413 before the body is read), the signature or bearer check (401),
// parsing into events (400 with the reason), then the ingest writer; the
// answer (200, or 202 when nothing is kept) is sent only after the commit.
// Secrets are compared as SHA-256 digests in constant time, so neither their
// content nor their length shows in timing. Log lines name the path, source,
// result and delivery id; never a body, a secret or a confidential issue
// (of those only the number withheld).
#include "adapters/sources/webhook/webhook.hpp"

#include <malloc.h>
#include <spdlog/spdlog.h>

#include <map>
#include <memory>

#include "daemon/ingest.hpp"
#include "daemon/json.hpp"
#include "daemon/metrics.hpp"
#include "daemon/util.hpp"

namespace herald::webhook {

namespace {

using nlohmann::json;

constexpr size_t k_max_delivery_id = 200;
constexpr size_t k_max_batch_events = 10'000;
constexpr size_t k_trim_after_bytes = 256 * 1024;

// Compares two secrets without leaking content or length through timing.
bool secret_equals(std::string_view given, std::string_view expected) {
  return constant_time_equals(sha256_hex(given), sha256_hex(expected));
}

// "sha256=<hex>" in `header` checked against the HMAC of the body.
Status check_hmac(const InboundRequest& req, const char* header, const std::string& secret) {
  const std::string* sig = req.header(header);
  if (!sig) return bad_input(std::string("missing ") + header);
  std::string value = trim(*sig);
  if (!starts_with_icase(value, "sha256="))
    return bad_input(std::string(header) + " is not of the form sha256=<hex>");
  std::string given = to_lower(std::string_view(value).substr(7));
  if (!secret_equals(given, hmac_sha256_hex(secret, req.body)))
    return bad_input(std::string(header) + " does not match the body");
  return ok_status();
}

bool has_control(std::string_view s, bool allow_newlines = false) {
  for (unsigned char c : s) {
    if (allow_newlines && (c == '\n' || c == '\r' || c == '\t')) continue;
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

// A bounded string field, moved out of e; nullopt = absent. Errors name the field.
Expected<std::optional<std::string>> string_field(json& e, const char* name, size_t max,
                                                  bool multiline = false) {
  auto it = e.find(name);
  if (it == e.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string())
    return bad_input(std::string(name) + " must be a string, not " + it->type_name());
  auto& s = it->get_ref<std::string&>();
  if (s.size() > max)
    return bad_input(std::string(name) + " is longer than " + std::to_string(max) + " bytes");
  if (has_control(s, multiline))
    return bad_input(std::string(name) + (multiline ? " contains control characters"
                                                    : " must be one line without control "
                                                      "characters"));
  return std::optional<std::string>(std::move(s));
}

bool valid_kind(std::string_view k) {
  if (k.empty() || k.size() > 64) return false;
  for (char c : k)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
      return false;
  return true;
}

// Moves the event's values out of e: a copy of a large body's attributes doubled its peak.
Expected<Event> parse_event(json& e) {
  if (!e.is_object()) return bad_input(std::string("an event must be an object, not ") +
                                       e.type_name());
  static const char* const known[] = {"key", "kind", "source", "title", "url", "summary",
                                      "severity", "tags", "time", "attributes"};
  for (const auto& [k, _] : e.items()) {
    bool ok = false;
    for (const char* n : known) ok = ok || k == n;
    if (!ok) return bad_input("unknown field '" + one_line(k).substr(0, 64) + "'");
  }
  Event ev;
  auto key = string_field(e, "key", 512);
  if (!key) return key.error();
  if (!*key || (*key)->empty()) return bad_input("key is required");
  ev.key = **key;
  auto kind = string_field(e, "kind", 64);
  if (!kind) return kind.error();
  if (!*kind || (*kind)->empty()) return bad_input("kind is required");
  if (!valid_kind(**kind)) return bad_input("kind must be made of a-z, 0-9, '.', '_' and '-'");
  ev.kind = **kind;
  auto source = string_field(e, "source", 128);
  if (!source) return source.error();
  ev.source = source->value_or("");
  if (ev.source.empty()) ev.source = "api";
  auto title = string_field(e, "title", 1000);
  if (!title) return title.error();
  ev.title = title->value_or("");
  if (ev.title.empty()) ev.title = ev.key;
  auto url = string_field(e, "url", 2048);
  if (!url) return url.error();
  ev.url = url->value_or("");
  if (ev.url.find(' ') != std::string::npos) return bad_input("url contains a space");
  auto summary = string_field(e, "summary", 64 * 1024, true);
  if (!summary) return summary.error();
  ev.summary = summary->value_or("");
  auto severity = string_field(e, "severity", 16);
  if (!severity) return severity.error();
  ev.severity = severity->value_or("info");
  if (ev.severity != "info" && ev.severity != "low" && ev.severity != "medium" &&
      ev.severity != "high" && ev.severity != "critical")
    return bad_input("severity must be info, low, medium, high or critical");
  if (auto t = e.find("tags"); t != e.end() && !t->is_null()) {
    if (!t->is_object()) return bad_input("tags must be an object of strings");
    if (t->size() > 64) return bad_input("more than 64 tags");
    for (const auto& [k, v] : t->items()) {
      if (k.empty() || k.size() > 64 || has_control(k))
        return bad_input("a tag name must be 1 to 64 characters without control characters");
      if (!v.is_string()) return bad_input("tags." + k + " must be a string");
      const auto& s = v.get_ref<const std::string&>();
      if (s.size() > 1000 || has_control(s))
        return bad_input("tags." + k + " must be one line of at most 1000 bytes");
      ev.tags[k] = s;
    }
  }
  if (auto t = e.find("time"); t != e.end() && !t->is_null()) {
    if (t->is_number_integer()) {
      if (t->get<int64_t>() < 0) return bad_input("time must not be negative");
      ev.time = t->get<int64_t>();
    } else if (t->is_string()) {
      auto parsed = tracker::parse_jira_time(t->get_ref<const std::string&>());
      if (!parsed) return bad_input("time is not an RFC 3339 date with a zone");
      if (*parsed < 0) return bad_input("time must not be before 1970");
      ev.time = *parsed;
    } else {
      return bad_input("time must be Unix seconds or an RFC 3339 date");
    }
  }
  if (auto a = e.find("attributes"); a != e.end() && !a->is_null()) {
    if (!a->is_object()) return bad_input("attributes must be an object");
    ev.attributes = std::move(*a);
  }
  return ev;
}

json error_body(const std::string& reason) { return {{"error", reason}}; }

// One log line and the counters for a finished inbound request.
struct Outcome {
  std::string path, source, delivery;
  std::string result;  // stored, duplicate, ignored, unauthorized, bad_request, error, ...
  int status = 0;
  int events = -1;      // -1 = not applicable
  int new_events = -1;  // event API: events whose key was new
  int restricted = 0;
  std::string reason;   // for rejections; never a body or a secret
  size_t body_bytes = 0;
};

void record(Metrics& metrics, const Clock& clock, const Outcome& o) {
  metrics.add("herald_webhook_requests_total", {{"source", o.source}, {"result", o.result}});
  if (o.restricted)
    metrics.add("herald_restricted_items_total", {{"source", o.source}}, o.restricted);
  if (o.status < 300)
    metrics.set_max("herald_inbound_last_success_timestamp_seconds", {{"source", o.source}},
                    clock.now());
  else if (o.status < 500)
    metrics.add("herald_inbound_errors_total", {{"source", o.source}});
  std::string line = fmt::format("inbound {} source={} result={} status={}", o.path, o.source,
                                 o.result, o.status);
  if (!o.delivery.empty()) line += " delivery=" + o.delivery;
  if (o.events >= 0) line += " events=" + std::to_string(o.events);
  if (o.new_events >= 0) line += " new=" + std::to_string(o.new_events);
  if (o.restricted) line += " withheld_confidential=" + std::to_string(o.restricted);
  if (!o.reason.empty()) line += " reason=\"" + one_line(o.reason) + "\"";
  if (o.status >= 400) spdlog::warn("{}", line);
  else spdlog::info("{}", line);
  // A large body left its parse tree and events in this thread's malloc arena (and the
  // writer's); glibc keeps freed arena memory resident until asked to give it back.
  if (o.body_bytes >= k_trim_after_bytes) malloc_trim(0);
}

// The answer with its log line and counters, which run on the HTTP thread that
// sends it (so the writer's thread only completes answers).
InboundResponse recorded(Metrics& metrics, const Clock& clock, InboundResponse r, Outcome o) {
  r.then = [&metrics, &clock, o = std::move(o)] { record(metrics, clock, o); };
  return r;
}

InboundResponse not_stored(Outcome& o, const Error& e) {
  o.status = 503;
  o.result = "error";
  o.reason = e.message;
  auto r = InboundResponse::json(503, error_body("not stored, try again"));
  r.headers.emplace_back("Retry-After", "5");
  return r;
}

// Hands the events to the writer and answers after the commit.
void store_and_answer(IngestWriter& writer, Metrics& metrics, const Clock& clock,
                      InboundItem item, Outcome outcome, Respond respond) {
  writer.submit(std::move(item), [&metrics, &clock, o = std::move(outcome),
                                  respond = std::move(respond)](Expected<IngestOutcome> r) {
    Outcome out = o;
    if (!r) {
      auto resp = not_stored(out, r.error());
      return respond(recorded(metrics, clock, std::move(resp), std::move(out)));
    }
    // Stored means new events: a repeated delivery id, or events whose keys were all
    // stored before (a redelivery without an id), is a duplicate.
    out.status = 200;
    out.events = r->stored ? r->new_events : 0;
    out.result = out.events > 0 ? "stored" : "duplicate";
    auto resp = InboundResponse::json(200, {{"result", out.result}, {"events", out.events}});
    respond(recorded(metrics, clock, std::move(resp), std::move(out)));
  }, true);
}

// Pushed events are stored unrouted, as polled ones are: the pipeline's
// routing pass routes both, with the routes in force when it runs.
InboundItem pushed_item(std::string source, std::string delivery, std::vector<Event> events) {
  return InboundItem{std::move(source), std::move(delivery), std::move(events), {}};
}

void handle_webhook(const SourceConfig& src, IngestWriter& writer, Metrics& metrics, const Clock& clock,
                    const InboundRequest& req, Respond respond) {
  Outcome o;
  o.path = req.path;
  o.source = src.name;
  o.body_bytes = req.body.size();
  auto reject = [&](int status, const char* result, std::string reason) {
    o.status = status;
    o.result = result;
    o.reason = std::move(reason);
    record(metrics, clock, o);
    auto r = InboundResponse::json(status, error_body(o.reason));
    if (status == 401) r.headers.emplace_back("WWW-Authenticate", "HMAC");
    respond(std::move(r));
  };
  if (auto v = verify(src.kind, src.secret, req); !v)
    return reject(401, "unauthorized", v.error().message);
  o.delivery = delivery_id(src.kind, req);
  if (o.delivery.size() > k_max_delivery_id || has_control(o.delivery)) {
    o.delivery = o.delivery.substr(0, 16) + "...";
    return reject(400, "bad_request", "the delivery id header is too long or not one line");
  }
  auto derived = derive(src, req);
  if (!derived) return reject(400, "bad_request", derived.error().message);
  o.restricted = derived->restricted;
  for (const auto& w : derived->warnings) spdlog::debug("inbound {}: {}", src.name, w);
  if (derived->events.empty()) {
    o.status = 202;
    o.result = "ignored";
    o.events = 0;
    record(metrics, clock, o);
    return respond(InboundResponse::json(202, {{"result", "ignored"}}));
  }
  InboundItem item = pushed_item(src.name, o.delivery, std::move(derived->events));
  store_and_answer(writer, metrics, clock, std::move(item), std::move(o), std::move(respond));
}

void handle_events_api(const std::string& token,
                       IngestWriter& writer, Metrics& metrics, const Clock& clock,
                       const InboundRequest& req, Respond respond) {
  Outcome o;
  o.path = req.path;
  o.source = "api";
  o.body_bytes = req.body.size();
  if (!bearer_ok(req, token)) {
    o.status = 401;
    o.result = "unauthorized";
    o.reason = req.header("authorization") ? "wrong bearer token" : "missing bearer token";
    record(metrics, clock, o);
    auto r = InboundResponse::json(401, error_body(o.reason));
    r.headers.emplace_back("WWW-Authenticate", "Bearer");
    return respond(std::move(r));
  }
  auto batch = parse_event_batch(req.body);
  if (batch.error) {
    o.status = 400;
    o.result = "bad_request";
    json body = error_body(batch.error->reason);
    if (batch.error->index >= 0) {
      body["index"] = batch.error->index;
      o.reason = "events[" + std::to_string(batch.error->index) + "]: " + batch.error->reason;
    } else {
      o.reason = batch.error->reason;
    }
    record(metrics, clock, o);
    return respond(InboundResponse::json(400, body));
  }
  const int64_t now = clock.now();
  for (auto& e : batch.events)
    if (e.time == 0) e.time = now;
  const int n = static_cast<int>(batch.events.size());
  InboundItem item = pushed_item("api", "", std::move(batch.events));
  writer.submit(
      std::move(item),
      [&metrics, &clock, o = std::move(o), respond = std::move(respond),
       n](Expected<IngestOutcome> r) {
        Outcome out = o;
        if (!r) {
          auto resp = not_stored(out, r.error());
          return respond(recorded(metrics, clock, std::move(resp), std::move(out)));
        }
        out.status = 200;
        out.result = "stored";
        out.events = n;
        out.new_events = r->new_events;
        auto resp = InboundResponse::json(200, {{"accepted", n}, {"new", r->new_events}});
        respond(recorded(metrics, clock, std::move(resp), std::move(out)));
      },
      true);
}

const char* result_of_rejection(int status) {
  switch (status) {
    case 413: return "too_large";
    case 405: return "bad_method";
    case 503: return "unavailable";
    default: return "bad_request";
  }
}

}  // namespace

Status verify(const std::string& kind, const std::string& secret, const InboundRequest& request) {
  if (secret.empty()) return permanent_error("no secret configured");
  if (kind == "github-webhook") return check_hmac(request, "X-Hub-Signature-256", secret);
  if (kind == "jira-webhook") return check_hmac(request, "X-Hub-Signature", secret);
  if (kind == "gitlab-webhook") {
    const std::string* token = request.header("X-Gitlab-Token");
    if (!token) return bad_input("missing X-Gitlab-Token");
    if (!secret_equals(*token, secret)) return bad_input("X-Gitlab-Token does not match");
    return ok_status();
  }
  return permanent_error("'" + kind + "' is not a webhook kind");
}

std::string delivery_id(const std::string& kind, const InboundRequest& request) {
  const char* name = kind == "github-webhook"   ? "X-GitHub-Delivery"
                     : kind == "gitlab-webhook" ? "X-Gitlab-Event-UUID"
                     : kind == "jira-webhook"   ? "X-Atlassian-Webhook-Identifier"
                                                : nullptr;
  const std::string* v = name ? request.header(name) : nullptr;
  return v ? trim(*v) : std::string();
}

Expected<tracker::Derived> derive(const SourceConfig& source, const InboundRequest& request) {
  if (source.kind == "jira-webhook")
    return tracker::events_from_jira_webhook(request.body, source.name, source.base_url);
  if (source.kind == "github-webhook") {
    const std::string* event = request.header("X-GitHub-Event");
    if (!event) return bad_input("missing X-GitHub-Event");
    return tracker::events_from_github_webhook(*event, request.body, source.name);
  }
  if (source.kind == "gitlab-webhook")
    return tracker::events_from_gitlab_webhook(request.body, source.name);
  return permanent_error("'" + source.kind + "' is not a webhook kind");
}

Batch parse_event_batch(std::string_view body) {
  Batch out;
  auto parsed = parse_json(body);
  if (!parsed) {
    out.error = BatchError{-1, parsed.error().message};
    return out;
  }
  json& j = *parsed;
  json* list = &j;
  if (j.is_object()) {
    auto it = j.find("events");
    if (it == j.end()) {
      out.error = BatchError{-1, "expected {\"events\": [...]} or an array of events"};
      return out;
    }
    list = &*it;
  }
  if (!list->is_array()) {
    out.error = BatchError{-1, std::string("events must be an array, not ") + list->type_name()};
    return out;
  }
  if (list->empty()) {
    out.error = BatchError{-1, "no events"};
    return out;
  }
  if (list->size() > k_max_batch_events) {
    out.error = BatchError{-1, "more than " + std::to_string(k_max_batch_events) +
                                   " events in one request"};
    return out;
  }
  out.events.reserve(list->size());
  for (size_t i = 0; i < list->size(); ++i) {
    auto e = parse_event((*list)[i]);
    if (!e) {
      out.events.clear();
      out.error = BatchError{static_cast<int>(i), e.error().message};
      return out;
    }
    out.events.push_back(std::move(*e));
  }
  return out;
}

bool bearer_ok(const InboundRequest& request, const std::string& token) {
  if (token.empty()) return false;
  const std::string* auth = request.header("Authorization");
  if (!auth || !starts_with_icase(*auth, "Bearer ")) return false;
  return secret_equals(trim(std::string_view(*auth).substr(7)), token);
}

namespace {

bool is_webhook_kind(const std::string& kind) {
  return kind.size() >= 8 && kind.compare(kind.size() - 8, 8, "-webhook") == 0;
}

}  // namespace

void add_source_route(HttpServer& server, const SourceConfig& src, const InboundEnv& env) {
  server.route("POST", src.path,
               [src, &writer = env.writer, &metrics = env.metrics, &clock = env.clock](
                   const InboundRequest& req, Respond respond) {
                 handle_webhook(src, writer, metrics, clock, req, std::move(respond));
               });
}

void add_api_routes(HttpServer& server, const Config& cfg, const InboundEnv& env) {
  Metrics& metrics = env.metrics;
  const Clock& clock = env.clock;
  auto sources_by_path = std::make_shared<std::map<std::string, std::string>>();
  for (const auto& src : cfg.sources)
    if (is_webhook_kind(src.kind)) (*sources_by_path)[src.path] = src.name;
  if (!cfg.http.api_token.empty()) {
    (*sources_by_path)["/api/v1/events"] = "api";
    server.route("POST", "/api/v1/events",
                 [token = cfg.http.api_token, &writer = env.writer, &metrics, &clock](
                     const InboundRequest& req, Respond respond) {
                   handle_events_api(token, writer, metrics, clock, req,
                                     std::move(respond));
                 });
  }
  server.on_rejected([sources_by_path, &metrics, &clock](const InboundRequest& req, int status) {
    auto it = sources_by_path->find(req.path);
    if (it == sources_by_path->end()) return;
    Outcome o;
    o.path = req.path;
    o.source = it->second;
    o.status = status;
    o.result = result_of_rejection(status);
    record(metrics, clock, o);
  });
}

void add_inbound_routes(HttpServer& server, const Config& cfg, IngestWriter& writer,
                        Metrics& metrics, const Clock& clock) {
  const InboundEnv env{writer, metrics, clock};
  for (const auto& src : cfg.sources)
    if (is_webhook_kind(src.kind)) add_source_route(server, src, env);
  add_api_routes(server, cfg, env);
}

std::vector<SourceKind> webhook_source_kinds() {
  struct Entry {
    const char* kind;
    const char* summary;
  };
  static const Entry entries[] = {
      {"jira-webhook", "Jira webhooks, pushed to herald's HTTP server"},
      {"github-webhook", "GitHub webhooks, pushed to herald's HTTP server"},
      {"gitlab-webhook", "GitLab webhooks, pushed to herald's HTTP server"},
  };
  std::vector<SourceKind> out;
  for (const Entry& e : entries) {
    SourceKind k;
    k.kind = e.kind;
    k.summary = e.summary;
    k.pushed = true;
    k.keys = {"path", "secret", "secret_file"};
    if (k.kind == "jira-webhook") k.keys.push_back("base_url");  // the events' links
    k.check = [](const SourceConfig& sc, const Config& cfg) {
      std::vector<std::pair<std::string, std::string>> out;
      if (sc.path.empty() || sc.path[0] != '/')
        out.emplace_back("path", "(webhook) needs a 'path' starting with /");
      if (sc.secret.empty()) out.emplace_back("", "(webhook) needs a 'secret' or 'secret_file'");
      if (cfg.http.listen.empty())
        out.emplace_back("", "is a webhook but [http] listen is not set");
      return out;
    };
    k.add_route = add_source_route;
    out.push_back(std::move(k));
  }
  return out;
}

}  // namespace herald::webhook
