// Pushed sources: tracker webhooks (Jira, GitHub, GitLab) at the path each
// [[source]] names, and the generic event API, POST /api/v1/events.
//
// Webhooks are verified in constant time against the source's secret:
//   github-webhook  X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>
//   jira-webhook    X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw body>
//   gitlab-webhook  X-Gitlab-Token: <the secret>
// and deduplicated on the sender's delivery id (X-GitHub-Delivery,
// X-Gitlab-Event-UUID, X-Atlassian-Webhook-Identifier). Answers: 200 stored
// with the number of new events (or duplicate, events 0: a repeated delivery
// id, or events all stored before), 202 nothing herald uses (also a
// confidential issue, which is only counted), 400 malformed with the reason,
// 401 bad or missing signature, 413 over [http] max_body, 503 not stored.
//
// The event API takes `Authorization: Bearer <[http] api_token>` and a JSON
// body, either {"events": [...]} or a bare array of up to 10,000 events:
//   key         string, required: the dedup key; re-posting a key stores nothing new
//   kind        string, required: e.g. "release.published", "bug.created" ([a-z0-9._-])
//   source      string: the producer's name, default "api"
//   title       string, one line
//   url         string
//   summary     string, may be multi-line
//   severity    "info" (default) | "low" | "medium" | "high" | "critical"
//   tags        object of strings, e.g. {"branch": "2.15", "component": "lnet"}
//   time        Unix seconds or an RFC 3339 date; default: when received
//   attributes  object, kept as it is
// Unknown fields are refused. The first bad event makes the whole batch 400
// with {"error": "...", "index": i}; otherwise all events are stored in one
// transaction and the answer is 200 {"accepted": n, "new": m}.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/sources/tracker/tracker_events.hpp"
#include "daemon/clock.hpp"
#include "daemon/config.hpp"
#include "daemon/event.hpp"
#include "daemon/expected.hpp"
#include "daemon/http_server.hpp"
#include "daemon/source_kind.hpp"

namespace herald {
class IngestWriter;
class Metrics;
}  // namespace herald

namespace herald::webhook {

// Checks a request's signature or token for a source kind. The error says what is
// missing or wrong, never the secret or the expected value.
Status verify(const std::string& kind, const std::string& secret, const InboundRequest& request);

// The sender's delivery id for a source kind; empty when there is none.
std::string delivery_id(const std::string& kind, const InboundRequest& request);

// The events of a verified webhook request (bad_input: malformed, with the reason).
Expected<tracker::Derived> derive(const SourceConfig& source, const InboundRequest& request);

// A bad event of a batch: its index (-1 for the batch itself) and the reason.
struct BatchError {
  int index = -1;
  std::string reason;
};
// Parses an event API body (see above); time 0 stays 0 (the caller sets it).
// Fills either events or error.
struct Batch {
  std::vector<Event> events;
  std::optional<BatchError> error;
};
Batch parse_event_batch(std::string_view body);

// Checks "Authorization: Bearer <token>" in constant time.
bool bearer_ok(const InboundRequest& request, const std::string& token);

// The route a webhook source is posted to (its path); each request is logged
// once and counted. What env names must outlive the server.
void add_source_route(HttpServer& server, const SourceConfig& src, const InboundEnv& env);

// When [http] api_token is set, POST /api/v1/events; and the logging and
// counting of the requests the server rejects at a webhook's path or the
// API's. Called once per server, after the sources' routes.
void add_api_routes(HttpServer& server, const Config& cfg, const InboundEnv& env);

// Both: a route per webhook source of the configuration, then the API's.
// writer, metrics and clock must outlive the server.
void add_inbound_routes(HttpServer& server, const Config& cfg, IngestWriter& writer,
                        Metrics& metrics, const Clock& clock);

// The entries of the source kind table: jira-webhook, github-webhook,
// gitlab-webhook (adapters/wiring.cpp registers them, and add_api_routes).
std::vector<SourceKind> webhook_source_kinds();

}  // namespace herald::webhook
