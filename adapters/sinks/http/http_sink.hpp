// What every HTTP destination kind (webhook, slack, mattermost, discord,
// matrix, teams) shares: the sink that sends an outbox row as one request, the
// common reading of the answer, and the text helpers for platform limits.
//
// A kind gives a request builder (the row and the time of sending -> the
// request) and, when the platform says more than HTTP does, its own
// classifier. The sink adds the policy no kind may change: no redirect is
// followed, the destination's timeouts apply, and no detail it reports shows
// the URL's path or query, a token or a signing key.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/sinks/sink.hpp"
#include "daemon/config.hpp"
#include "daemon/destination.hpp"
#include "daemon/expected.hpp"
#include "daemon/http_transport.hpp"

namespace herald {

// The common policy (Standard Webhooks, as Svix applies it): 2xx delivered;
// 3xx permanent (a redirect is a failure); 410 disables the destination; 429
// retries after max(Retry-After, 60 s); 408, 425 and 5xx retry after the
// server's Retry-After when given; a timeout retries after at least 60 s;
// other transport failures retry, but those the transport calls lasting
// (retrying cannot help) are permanent; other 4xx are permanent. The detail is the
// status and the start of the answer on one line (it names no URL).
DeliveryResult classify_http_answer(const HttpResult& result);

// The status and the first ~200 bytes of the answer's body, on one line.
std::string answer_excerpt(const HttpResponse& response);

// scheme://host[:port] of a URL: all a detail may show of an endpoint whose
// path is its secret (Slack, Discord, Teams webhooks).
std::string url_origin(std::string_view url);

using RequestBuilder = std::function<Expected<HttpRequest>(const OutboxItem& item, int64_t now)>;
using AnswerClassifier = std::function<DeliveryResult(const HttpResult& result)>;

struct HttpSinkSpec {
  std::string kind;            // for describe(): "slack"
  std::string endpoint;        // the URL (or homeserver) the requests go to
  RequestBuilder build;
  AnswerClassifier classify;   // classify_http_answer when empty
  // Strings no detail may contain (tokens, keys); the endpoint's path and
  // query are always among them.
  std::vector<std::string> secrets;
};

// One sink, one transport made from env.http and kept for every row (its
// connection is reused). Without a transport factory every row is retried.
std::unique_ptr<Sink> make_http_sink(const DestinationConfig& dest, const SinkEnv& env,
                                     HttpSinkSpec spec);

// The sink factory of a kind whose rendered payload is POSTed as JSON to the
// destination's url as it is (Slack, Mattermost, Discord, Teams incoming
// webhooks); classify: the kind's reading of an answer (default when empty).
decltype(DestinationKind::make_sink) json_post_sink(std::string kind,
                                                    AnswerClassifier classify = {});

// ---- Text for platforms with length limits ----

// Length as the platforms count it: UTF-16 code units (Discord and Slack count
// JavaScript string length; a code point outside the BMP counts two; Mattermost
// counts code points, which this never undercounts). Invalid bytes count one each.
size_t text_length(std::string_view s);

// s cut to at most max (text_length) on a UTF-8 character boundary, followed
// by `suffix` (e.g. "… <url|more>") when it was cut; the whole result stays
// within max. A suffix longer than max is shortened to the ellipsis alone.
std::string truncate_text(std::string_view s, size_t max, std::string_view suffix);

// s cut to at most max bytes on a UTF-8 character boundary (no suffix).
std::string truncate_bytes(std::string_view s, size_t max);

inline constexpr std::string_view k_ellipsis = "\xE2\x80\xA6";  // "…"

// The common checks of an HTTP destination: `url` is present and http(s).
void check_http_url(const DestinationConfig& dest, const std::string& key, const std::string& value,
                    std::vector<std::pair<std::string, std::string>>& problems);

// Renders one part of a channel's template set (falls back to the "default"
// set); an absent part is empty.
Expected<std::string> render_part(const RenderInput& in, const std::string& channel,
                                  const std::string& part);

// The event's or digest's title and link, for listings and truncation links.
std::string input_title(const RenderInput& in);
std::string input_url(const RenderInput& in);

// JSON text of a payload; invalid UTF-8 in a value becomes U+FFFD instead of an exception.
std::string dump_json(const nlohmann::json& j);

// The shell of a chat kind's render: the row for this destination, its
// listing subject, and the payload given.
NewDelivery chat_delivery(const RenderInput& in, const nlohmann::json& payload);

// The common keys of every HTTP kind (besides its own).
std::vector<std::string> http_common_keys();

}  // namespace herald
