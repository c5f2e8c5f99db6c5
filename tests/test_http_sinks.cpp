// The HTTP destination kinds with the fake transport: the common reading of
// answers, the request each kind makes, platform limits, stable ids across
// retries, and no secret in any detail. Real HTTP: test_http_sinks_live.cpp.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "adapters/sinks/discord/discord.hpp"
#include "adapters/sinks/http/http_sink.hpp"
#include "adapters/sinks/matrix/matrix.hpp"
#include "adapters/sinks/mattermost/mattermost.hpp"
#include "adapters/sinks/slack/slack.hpp"
#include "adapters/sinks/teams/teams.hpp"
#include "adapters/sinks/webhook/webhook.hpp"
#include "daemon/clock.hpp"
#include "daemon/render.hpp"
#include "daemon/util.hpp"
#include "tests/support/fake_http.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/temp_dir.hpp"

using Catch::Matchers::Contains;
using Catch::Matchers::EndsWith;
using Catch::Matchers::StartsWith;
using herald::DeliveryResult;
using herald::HttpFailure;
using herald::HttpResponse;
using herald::HttpResult;
using herald::OutboxItem;
using herald::test::FakeHttp;
using herald::test::header_value;
using Status = herald::DeliveryResult::Status;
using json = nlohmann::json;

namespace {

const std::string k_ellipsis = "\xE2\x80\xA6";

HttpResult answer(long status, std::string body = {}, std::optional<int64_t> retry_after = {},
                  std::map<std::string, std::string> headers = {}) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.retry_after_s = retry_after;
  r.headers = std::move(headers);
  return r;
}

HttpResult failure(HttpFailure::Kind kind, std::string message = "it failed") {
  return HttpFailure{kind, std::move(message)};
}

const herald::Templates& bundled_templates() {
  static const herald::Templates t = [] {
    auto loaded = herald::Templates::load(herald::test::source_dir() + "/templates", "");
    REQUIRE(loaded);
    return std::move(*loaded);
  }();
  return t;
}

herald::Event sample_event(std::string summary = "The first line.\nThe second line.") {
  herald::Event e;
  e.key = "bug:LU-1234:created";
  e.kind = "bug.created";
  e.source = "jira";
  e.time = 1'700'000'000;
  e.severity = "high";
  e.title = "LU-1234 MDS crash <on> mount & umount";
  e.url = "https://jira.example.org/browse/LU-1234";
  e.summary = std::move(summary);
  e.tags = {{"priority", "Critical"}, {"component", "mdt"}};
  return e;
}

// A render of an event for a destination, with the bundled templates.
struct Rendering {
  herald::Config cfg;
  herald::DestinationConfig dest;
  herald::Event event;
  json context;
  const herald::Templates* templates = &bundled_templates();

  Rendering(herald::DestinationConfig d, herald::Event e)
      : dest(std::move(d)), event(std::move(e)), context(herald::mail_context(event, dest)) {}

  herald::Expected<herald::NewDelivery> render(const herald::DestinationKind& kind) const {
    herald::RenderInput in{cfg, *templates, dest, event.kind, context, &event, "key:" + event.key,
                           1'700'000'100};
    return kind.render(in);
  }
};

herald::DestinationConfig http_dest(std::string kind, std::string url) {
  herald::DestinationConfig d;
  d.name = kind + "-test";
  d.kind = std::move(kind);
  d.url = std::move(url);
  return d;
}

OutboxItem item_of(const herald::NewDelivery& d, int64_t id = 1) {
  OutboxItem it;
  it.id = id;
  it.idempotency_key = d.idempotency_key;
  it.destination = d.destination;
  it.recipients = d.recipients;
  it.payload = d.payload;
  return it;
}

// Renders, sends with the fake, and returns the one request made.
herald::HttpRequest send_one(const herald::DestinationKind& kind, const Rendering& r, FakeHttp& http,
                             DeliveryResult* result = nullptr) {
  auto d = r.render(kind);
  REQUIRE(d);
  herald::FakeClock clock(1'700'000'200);
  auto sink = kind.make_sink(r.cfg, r.dest, herald::SinkEnv{http.factory(), &clock});
  auto results = sink->deliver_batch({item_of(*d)});
  REQUIRE(results.size() == 1);
  if (result) *result = results[0];
  auto requests = http.requests();
  REQUIRE(requests.size() == 1);
  return requests[0];
}

bool valid_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += n;
  }
  return true;
}

// 100 KB of text of two-, three- and four-byte characters, so that any cut
// inside a character shows.
std::string big_summary() {
  std::string s;
  while (s.size() < 100 * 1024) s += "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x9A\x80 word ";
  return s;
}

}  // namespace

// ---- The common classification, one case per rule ----

TEST_CASE("HTTP answers: 2xx is delivered", "[sinks]") {
  for (long s : {200L, 201L, 202L, 204L}) {
    auto r = herald::classify_http_answer(answer(s, "ok"));
    CHECK(r.status == Status::delivered);
    CHECK_THAT(r.detail, StartsWith("HTTP " + std::to_string(s)));
  }
}

TEST_CASE("HTTP answers: a redirect is a permanent failure, never followed", "[sinks]") {
  for (long s : {301L, 302L, 307L, 308L}) {
    auto r = herald::classify_http_answer(
        answer(s, "", {}, {{"location", "https://elsewhere.example/secret/path?token=1"}}));
    CHECK(r.status == Status::permanent);
    CHECK_THAT(r.detail, Contains("redirect"));
    CHECK_THAT(r.detail, Contains("https://elsewhere.example"));
    CHECK_THAT(r.detail, !Contains("secret/path"));
  }
}

TEST_CASE("HTTP answers: 410 disables the destination", "[sinks]") {
  auto r = herald::classify_http_answer(answer(410, "gone"));
  CHECK(r.status == Status::disable);
  CHECK_THAT(r.detail, StartsWith("HTTP 410: gone"));
}

TEST_CASE("HTTP answers: 429 retries after at least 60 s, longer when the server says so",
          "[sinks]") {
  auto none = herald::classify_http_answer(answer(429));
  CHECK(none.status == Status::retry);
  CHECK(none.retry_after_s == 60);
  auto short_wait = herald::classify_http_answer(answer(429, "", 5));
  CHECK(short_wait.retry_after_s == 60);
  auto long_wait = herald::classify_http_answer(answer(429, "", 300));
  CHECK(long_wait.status == Status::retry);
  CHECK(long_wait.retry_after_s == 300);
}

TEST_CASE("HTTP answers: 408, 425 and 5xx retry with the server's Retry-After", "[sinks]") {
  for (long s : {408L, 425L, 500L, 502L, 503L, 504L}) {
    auto with = herald::classify_http_answer(answer(s, "busy", 42));
    CHECK(with.status == Status::retry);
    CHECK(with.retry_after_s == 42);
    auto without = herald::classify_http_answer(answer(s, "busy"));
    CHECK(without.status == Status::retry);
    CHECK_FALSE(without.retry_after_s.has_value());
  }
}

TEST_CASE("HTTP answers: a timeout retries after at least 60 s", "[sinks]") {
  auto r = herald::classify_http_answer(failure(HttpFailure::Kind::timeout, "timed out after 15000 ms"));
  CHECK(r.status == Status::retry);
  CHECK(r.retry_after_s == 60);
  CHECK_THAT(r.detail, Contains("timeout"));
}

TEST_CASE("HTTP answers: connect, TLS and other transport failures retry", "[sinks]") {
  for (auto kind : {HttpFailure::Kind::connect, HttpFailure::Kind::tls, HttpFailure::Kind::other,
                    HttpFailure::Kind::too_large}) {
    auto r = herald::classify_http_answer(failure(kind, "no luck"));
    CHECK(r.status == Status::retry);
    CHECK_FALSE(r.retry_after_s.has_value());
    CHECK_THAT(r.detail, Contains("no luck"));
  }
}

TEST_CASE("HTTP answers: a failure the transport calls lasting is permanent", "[sinks]") {
  herald::HttpFailure f{HttpFailure::Kind::other, "URL using bad/illegal format", true};
  CHECK(herald::classify_http_answer(f).status == Status::permanent);
  CHECK(herald::classify_http_answer(HttpFailure{HttpFailure::Kind::other, "x"}).status ==
        Status::retry);
}

TEST_CASE("HTTP answers: other 4xx are permanent", "[sinks]") {
  for (long s : {400L, 401L, 403L, 404L, 413L, 422L}) {
    auto r = herald::classify_http_answer(answer(s, "{\"error\": \"bad\"}"));
    CHECK(r.status == Status::permanent);
  }
}

TEST_CASE("HTTP answers: the detail is one line with at most ~200 bytes of the body", "[sinks]") {
  auto r = herald::classify_http_answer(answer(500, "line one\nline two\r\n" + std::string(5000, 'x')));
  CHECK(r.detail.find('\n') == std::string::npos);
  CHECK_THAT(r.detail, StartsWith("HTTP 500: line one line two"));
  CHECK(r.detail.size() < 240);
}

// ---- The sink ----

TEST_CASE("HTTP sink: one transport for all rows, no redirects, the destination's timeouts",
          "[sinks]") {
  FakeHttp http;
  http.answer(200).answer(500).answer(200);
  auto dest = http_dest("mattermost", "https://chat.example.org/hooks/abc123");
  dest.timeout_ms = 4321;
  dest.connect_timeout_ms = 1234;
  herald::FakeClock clock;
  auto sink = herald::mattermost_destination_kind().make_sink({}, dest, {http.factory(), &clock});
  std::vector<OutboxItem> items(3);
  for (size_t i = 0; i < items.size(); ++i) {
    items[i].id = static_cast<int64_t>(i + 1);
    items[i].payload = "{\"text\":\"" + std::to_string(i) + "\"}";
  }
  auto results = sink->deliver_batch(items);
  REQUIRE(results.size() == 3);
  CHECK(results[0].status == Status::delivered);
  CHECK(results[1].status == Status::retry);
  CHECK(results[2].status == Status::delivered);
  sink->deliver_batch(items);
  CHECK(http.transports_made() == 1);
  auto requests = http.requests();
  REQUIRE(requests.size() == 6);
  for (const auto& r : requests) {
    CHECK(r.max_redirects == 0);
    CHECK(r.timeout_ms == 4321);
    CHECK(r.connect_timeout_ms == 1234);
  }
  CHECK(requests[1].body == "{\"text\":\"1\"}");
}

TEST_CASE("HTTP sink: stops where the caller says, and sends nothing once herald is stopping",
          "[sinks]") {
  FakeHttp http;
  herald::FakeClock clock;
  auto sink = herald::slack_destination_kind().make_sink(
      {}, http_dest("slack", "https://hooks.slack.com/services/T0/B0/x"), {http.factory(), &clock});
  std::vector<OutboxItem> items(3);
  size_t reported = 0;
  sink->deliver_each(items, [&](size_t, DeliveryResult) { return ++reported < 2; });
  CHECK(reported == 2);
  CHECK(http.requests().size() == 2);

  std::atomic<bool> stop{true};
  sink->watch_interrupt(&stop);
  auto results = sink->deliver_batch(items);
  CHECK(http.requests().size() == 2);
  for (const auto& r : results) CHECK(r.status == Status::retry);
}

TEST_CASE("HTTP sink: no URL path, query, token or key in a detail or describe()", "[sinks]") {
  const std::string slack_url = "https://hooks.slack.com/services/T0001/B0002/SeCrEtToKeN42";
  FakeHttp http;
  http.fail(HttpFailure::Kind::connect, "Failed to connect to " + slack_url + ": refused")
      .fail(HttpFailure::Kind::timeout,
            "timeout on https://hooks.slack.com/services/T0001/B0002/SeCrEtToKeN42")
      .answer(404, "no_service for /services/T0001/B0002/SeCrEtToKeN42")
      .answer(400, "invalid_token SeCrEtToKeN42");
  herald::FakeClock clock;
  auto sink = herald::slack_destination_kind().make_sink({}, http_dest("slack", slack_url),
                                                         {http.factory(), &clock});
  CHECK(sink->describe() == "slack https://hooks.slack.com");
  auto results = sink->deliver_batch(std::vector<OutboxItem>(4));
  for (const auto& r : results) {
    INFO(r.detail);
    CHECK_THAT(r.detail, !Contains("SeCrEtToKeN42"));
    CHECK_THAT(r.detail, !Contains("T0001"));
  }
  CHECK_THAT(results[0].detail, Contains("https://hooks.slack.com"));

  // Matrix: the access token, even when the server echoes it.
  auto mdest = http_dest("matrix", "");
  mdest.homeserver = "https://matrix.example.org";
  mdest.room = "!room:example.org";
  mdest.access_token = "syt_c2VjcmV0_TOKEN";
  FakeHttp mhttp;
  mhttp.answer(401, "{\"errcode\":\"M_UNKNOWN_TOKEN\",\"error\":\"bad token syt_c2VjcmV0_TOKEN\"}");
  auto msink = herald::matrix_destination_kind().make_sink({}, mdest, {mhttp.factory(), &clock});
  CHECK_THAT(msink->describe(), !Contains("syt_"));
  auto mres = msink->deliver_batch(std::vector<OutboxItem>(1));
  CHECK(mres[0].status == Status::permanent);
  CHECK_THAT(mres[0].detail, Contains("M_UNKNOWN_TOKEN"));
  CHECK_THAT(mres[0].detail, !Contains("syt_c2VjcmV0_TOKEN"));

  // Webhook: the query of the URL and the signing key.
  auto wdest = http_dest("webhook", "https://user:pw@hooks.example.com/in/abc?key=QuErYsEcReT");
  wdest.secrets = {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"};
  FakeHttp whttp;
  whttp.fail(HttpFailure::Kind::other,
             "error on https://hooks.example.com/in/abc (whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw)");
  auto wsink = herald::webhook_destination_kind().make_sink({}, wdest, {whttp.factory(), &clock});
  CHECK(wsink->describe() == "webhook https://hooks.example.com");
  auto wres = wsink->deliver_batch(std::vector<OutboxItem>(1));
  CHECK_THAT(wres[0].detail, !Contains("QuErYsEcReT"));
  CHECK_THAT(wres[0].detail, !Contains("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
  CHECK_THAT(wres[0].detail, !Contains("/in/abc"));
  CHECK_THAT(wres[0].detail, !Contains("pw"));
}

TEST_CASE("HTTP sink: text limits cut on a character boundary with the ellipsis", "[sinks]") {
  const std::string s = big_summary();
  for (size_t max : {1UL, 2UL, 10UL, 150UL, 2000UL, 4096UL}) {
    std::string cut = herald::truncate_text(s, max, k_ellipsis + " <https://x.example/1|more>");
    CHECK(herald::text_length(cut) <= max);
    CHECK(valid_utf8(cut));
    CHECK_THAT(cut, EndsWith(k_ellipsis) || EndsWith("|more>"));
  }
  CHECK(herald::truncate_text("short", 10, k_ellipsis) == "short");
  // Four-byte characters count two (UTF-16), so 3 rockets do not fit in 5.
  const std::string rockets = "\xF0\x9F\x9A\x80\xF0\x9F\x9A\x80\xF0\x9F\x9A\x80";
  CHECK(herald::text_length(rockets) == 6);
  CHECK(herald::truncate_bytes(rockets, 6) == "\xF0\x9F\x9A\x80");
}

// ---- webhook ----

TEST_CASE("webhook: the Standard Webhooks test vector", "[sinks]") {
  auto sig = herald::webhook_signature({"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
                                       "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                                       "{\"test\": 2432232314}");
  REQUIRE(sig);
  CHECK(*sig == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST_CASE("webhook: every secret signs (rotation), space-separated", "[sinks]") {
  const std::string other = "whsec_" + herald::base64_encode(std::string(32, '\x07'));
  auto sig = herald::webhook_signature({"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", other},
                                       "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                                       "{\"test\": 2432232314}");
  REQUIRE(sig);
  auto parts = herald::split(*sig, ' ');
  REQUIRE(parts.size() == 2);
  CHECK(parts[0] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  CHECK_THAT(parts[1], StartsWith("v1,"));
  CHECK(parts[1] != parts[0]);
}

TEST_CASE("webhook: check wants a url and whsec_ + base64 secrets", "[sinks]") {
  auto kind = herald::webhook_destination_kind();
  auto d = http_dest("webhook", "");
  auto problems = kind.check(d);
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].first == "url");
  d.url = "ftp://example.org/x";
  CHECK(kind.check(d).size() == 1);
  d.url = "https://example.org/hook";
  CHECK(kind.check(d).empty());
  for (std::string bad : {"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_not*base64!", "whsec_c2hvcnQ="}) {
    d.secrets = {bad};
    auto p = kind.check(d);
    REQUIRE(p.size() == 1);
    CHECK(p[0].first == "secrets");
    CHECK_THAT(p[0].second, !Contains(bad));
  }
  d.secrets = {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"};
  CHECK(kind.check(d).empty());
  CHECK(std::count(kind.keys.begin(), kind.keys.end(), "secrets") == 1);
  CHECK(std::count(kind.keys.begin(), kind.keys.end(), "url") == 1);
}

TEST_CASE("webhook: the request is a signed POST of the versioned event document", "[sinks]") {
  auto dest = http_dest("webhook", "https://hooks.example.com/in");
  dest.secrets = {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"};
  Rendering r(dest, sample_event());
  FakeHttp http;
  auto req = send_one(herald::webhook_destination_kind(), r, http);
  CHECK(req.method == "POST");
  CHECK(req.url == "https://hooks.example.com/in");
  CHECK(header_value(req, "Content-Type") == "application/json");
  CHECK(header_value(req, "webhook-timestamp") == "1700000200");
  const std::string id = header_value(req, "webhook-id");
  CHECK(id == "msg_" + herald::sha256_hex("key:bug:LU-1234:created").substr(0, 32));
  auto expected = herald::webhook_signature(dest.secrets, id, 1700000200, req.body);
  REQUIRE(expected);
  CHECK(header_value(req, "webhook-signature") == *expected);

  json body = json::parse(req.body);
  CHECK(body["version"] == 1);
  CHECK(body["type"] == "event");
  CHECK(body["id"] == "key:bug:LU-1234:created");
  CHECK(body["destination"] == "webhook-test");
  const json& e = body["event"];
  CHECK(e["key"] == "bug:LU-1234:created");
  CHECK(e["kind"] == "bug.created");
  CHECK(e["source"] == "jira");
  CHECK(e["time"] == 1700000000);
  CHECK(e["time_rfc3339"] == "2023-11-14T22:13:20Z");
  CHECK(e["severity"] == "high");
  CHECK(e["title"] == "LU-1234 MDS crash <on> mount & umount");
  CHECK(e["url"] == "https://jira.example.org/browse/LU-1234");
  CHECK(e["summary"] == "The first line.\nThe second line.");
  CHECK(e["tags"]["priority"] == "Critical");
  CHECK(e["attributes"].is_object());
}

TEST_CASE("webhook: without secrets the request is unsigned but keeps its id", "[sinks]") {
  Rendering r(http_dest("webhook", "https://hooks.example.com/in"), sample_event());
  FakeHttp http;
  auto req = send_one(herald::webhook_destination_kind(), r, http);
  CHECK(header_value(req, "webhook-signature").empty());
  CHECK_THAT(header_value(req, "webhook-id"), StartsWith("msg_"));
}

TEST_CASE("webhook: a digest is a versioned digest document", "[sinks]") {
  herald::Config cfg;
  auto dest = http_dest("webhook", "https://hooks.example.com/in");
  json ctx = {{"name", "weekly"},
              {"title", "Lustre weekly"},
              {"events", 3},
              {"empty", false},
              {"sections", json::array({{{"id", "new"}, {"count", 3}}})},
              {"destination_name", "webhook-test"},
              {"herald_version", "0"}};
  herald::RenderInput in{cfg, bundled_templates(), dest, "digest", ctx, nullptr, "digest:weekly:1", 5};
  auto d = herald::webhook_destination_kind().render(in);
  REQUIRE(d);
  json body = json::parse(d->payload);
  CHECK(body["version"] == 1);
  CHECK(body["type"] == "digest");
  CHECK(body["id"] == "digest:weekly:1");
  CHECK_FALSE(body.contains("event"));
  CHECK(body["digest"]["name"] == "weekly");
  CHECK(body["digest"]["events"] == 3);
  CHECK(body["digest"]["sections"][0]["id"] == "new");
  CHECK_FALSE(body["digest"].contains("herald_version"));
  CHECK(d->subject == "Lustre weekly");
}

TEST_CASE("webhook: webhook-id is the same on every attempt of a row, the timestamp is now",
          "[sinks]") {
  auto dest = http_dest("webhook", "https://hooks.example.com/in");
  dest.secrets = {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"};
  Rendering r(dest, sample_event());
  auto d = r.render(herald::webhook_destination_kind());
  REQUIRE(d);
  FakeHttp http;
  http.answer(503).answer(200);
  herald::FakeClock clock(1'800'000'000);
  auto sink = herald::webhook_destination_kind().make_sink({}, dest, {http.factory(), &clock});
  OutboxItem item = item_of(*d);
  CHECK(sink->deliver_batch({item})[0].status == Status::retry);
  clock.advance(300);
  item.attempts = 1;
  CHECK(sink->deliver_batch({item})[0].status == Status::delivered);
  auto reqs = http.requests();
  REQUIRE(reqs.size() == 2);
  CHECK(header_value(reqs[0], "webhook-id") == header_value(reqs[1], "webhook-id"));
  CHECK(header_value(reqs[0], "webhook-timestamp") == "1800000000");
  CHECK(header_value(reqs[1], "webhook-timestamp") == "1800000300");
  CHECK(header_value(reqs[0], "webhook-signature") != header_value(reqs[1], "webhook-signature"));
  CHECK(reqs[0].body == reqs[1].body);
}

// ---- slack ----

TEST_CASE("slack: text + blocks in mrkdwn, values escaped", "[sinks]") {
  auto dest = http_dest("slack", "https://hooks.slack.com/services/T0/B0/x");
  dest.username = "herald";
  dest.icon_url = "https://example.org/icon.png";
  Rendering r(dest, sample_event());
  FakeHttp http;
  auto req = send_one(herald::slack_destination_kind(), r, http);
  CHECK(req.method == "POST");
  CHECK(req.url == "https://hooks.slack.com/services/T0/B0/x");
  CHECK_THAT(header_value(req, "Content-Type"), StartsWith("application/json"));
  json body = json::parse(req.body);
  CHECK(body["text"] == "Created: LU-1234 MDS crash &lt;on&gt; mount &amp; umount");
  CHECK(body["username"] == "herald");
  CHECK(body["icon_url"] == "https://example.org/icon.png");
  REQUIRE(body["blocks"].size() == 2);
  CHECK(body["blocks"][0]["type"] == "header");
  CHECK(body["blocks"][0]["text"]["type"] == "plain_text");
  CHECK(body["blocks"][0]["text"]["text"] == "Created: LU-1234 MDS crash <on> mount & umount");
  CHECK(body["blocks"][1]["type"] == "section");
  CHECK(body["blocks"][1]["text"]["type"] == "mrkdwn");
  const std::string text = body["blocks"][1]["text"]["text"];
  CHECK_THAT(text, Contains("The first line.\nThe second line."));
  CHECK_THAT(text, Contains("<https://jira.example.org/browse/LU-1234|Open>"));
  CHECK(herald::slack_destination_kind().default_rate == 1);
}

TEST_CASE("slack: a 100 KB summary is cut to the section limit with a link", "[sinks]") {
  Rendering r(http_dest("slack", "https://hooks.slack.com/services/T0/B0/x"), sample_event(big_summary()));
  r.event.title = big_summary();
  r.context = herald::mail_context(r.event, r.dest);
  FakeHttp http;
  auto req = send_one(herald::slack_destination_kind(), r, http);
  json body = json::parse(req.body);
  const std::string header = body["blocks"][0]["text"]["text"];
  const std::string section = body["blocks"][1]["text"]["text"];
  CHECK(herald::text_length(header) <= herald::k_slack_header_max);
  CHECK(herald::text_length(section) <= herald::k_slack_section_max);
  CHECK(herald::text_length(body["text"].get<std::string>()) <= herald::k_slack_section_max);
  CHECK_THAT(section, EndsWith(k_ellipsis + " <https://jira.example.org/browse/LU-1234|more>"));
  CHECK_THAT(header, EndsWith(k_ellipsis));
  CHECK(valid_utf8(section));
  CHECK(valid_utf8(header));
}

// ---- mattermost ----

TEST_CASE("mattermost: Markdown text with username and icon", "[sinks]") {
  auto dest = http_dest("mattermost", "https://chat.example.org/hooks/xyz");
  dest.username = "herald";
  dest.icon_url = "https://example.org/icon.png";
  Rendering r(dest, sample_event());
  FakeHttp http;
  auto req = send_one(herald::mattermost_destination_kind(), r, http);
  CHECK(req.method == "POST");
  CHECK(req.url == "https://chat.example.org/hooks/xyz");
  json body = json::parse(req.body);
  const std::string text = body["text"];
  CHECK_THAT(text, StartsWith("#### Created: LU-1234 MDS crash <on> mount & umount"));
  CHECK_THAT(text, Contains("[Open](https://jira.example.org/browse/LU-1234)"));
  CHECK(body["username"] == "herald");
  CHECK(body["icon_url"] == "https://example.org/icon.png");
}

TEST_CASE("mattermost: a 100 KB summary is cut to one post", "[sinks]") {
  Rendering r(http_dest("mattermost", "https://chat.example.org/hooks/xyz"), sample_event(big_summary()));
  FakeHttp http;
  auto req = send_one(herald::mattermost_destination_kind(), r, http);
  const std::string text = json::parse(req.body)["text"];
  CHECK(herald::text_length(text) <= herald::k_mattermost_post_max);
  CHECK(herald::text_length(text) > herald::k_mattermost_post_max - 100);
  CHECK_THAT(text, EndsWith(k_ellipsis + " [more](https://jira.example.org/browse/LU-1234)"));
  CHECK(valid_utf8(text));
}

// ---- discord ----

TEST_CASE("discord: one embed with title, description and link; no mentions", "[sinks]") {
  auto dest = http_dest("discord", "https://discord.com/api/webhooks/123/TOKEN");
  dest.username = "herald";
  dest.icon_url = "https://example.org/icon.png";
  Rendering r(dest, sample_event());
  FakeHttp http;
  http.answer(204);
  DeliveryResult result;
  auto req = send_one(herald::discord_destination_kind(), r, http, &result);
  CHECK(result.status == Status::delivered);
  CHECK(req.method == "POST");
  CHECK(req.url == "https://discord.com/api/webhooks/123/TOKEN");
  json body = json::parse(req.body);
  REQUIRE(body["embeds"].size() == 1);
  CHECK(body["embeds"][0]["title"] == "Created: LU-1234 MDS crash <on> mount & umount");
  CHECK(body["embeds"][0]["url"] == "https://jira.example.org/browse/LU-1234");
  CHECK_THAT(body["embeds"][0]["description"].get<std::string>(), Contains("The second line."));
  CHECK(body["allowed_mentions"]["parse"] == json::array());
  CHECK(body["username"] == "herald");
  CHECK(body["avatar_url"] == "https://example.org/icon.png");
}

TEST_CASE("discord: limits of content, embed title and description with 100 KB", "[sinks]") {
  herald::test::TempDir dir;
  std::filesystem::create_directories(dir.file("discord"));
  dir.write("discord/bug.created.content.mustache", "{{summary}}");
  dir.write("discord/bug.created.title.mustache", "{{summary}}");
  dir.write("discord/bug.created.text.mustache", "{{summary}}");
  auto templates = herald::Templates::load(herald::test::source_dir() + "/templates", dir.path());
  REQUIRE(templates);
  Rendering r(http_dest("discord", "https://discord.com/api/webhooks/1/T"), sample_event(big_summary()));
  r.templates = &*templates;
  FakeHttp http;
  auto req = send_one(herald::discord_destination_kind(), r, http);
  json body = json::parse(req.body);
  const std::string content = body["content"], title = body["embeds"][0]["title"],
                    description = body["embeds"][0]["description"];
  CHECK(herald::text_length(content) <= herald::k_discord_content_max);
  CHECK(herald::text_length(title) <= herald::k_discord_title_max);
  CHECK(herald::text_length(description) <= herald::k_discord_description_max);
  CHECK(herald::text_length(description) > herald::k_discord_description_max - 100);
  CHECK_THAT(description, EndsWith(k_ellipsis + " [more](https://jira.example.org/browse/LU-1234)"));
  CHECK(valid_utf8(content));
  CHECK(valid_utf8(title));
  CHECK(valid_utf8(description));
}

TEST_CASE("discord: 404 disables, 429 waits for the body's retry_after", "[sinks]") {
  CHECK(herald::classify_discord_answer(answer(404, "{\"message\": \"Unknown Webhook\", \"code\": 10015}"))
            .status == Status::disable);
  auto small = herald::classify_discord_answer(answer(429, "{\"retry_after\": 1.5, \"global\": false}"));
  CHECK(small.status == Status::retry);
  CHECK(small.retry_after_s == 60);
  auto big = herald::classify_discord_answer(answer(429, "{\"retry_after\": 90.2}"));
  CHECK(big.retry_after_s == 91);
  auto header = herald::classify_discord_answer(answer(429, "{\"retry_after\": 90.2}", 120));
  CHECK(header.retry_after_s == 120);
  CHECK(herald::classify_discord_answer(answer(500)).status == Status::retry);
  CHECK(herald::classify_discord_answer(answer(400)).status == Status::permanent);
}

// ---- matrix ----

herald::DestinationConfig matrix_dest() {
  auto d = http_dest("matrix", "");
  d.homeserver = "https://matrix.example.org/";
  d.room = "!abcDEF:example.org";
  d.access_token = "syt_secret_token";
  return d;
}

TEST_CASE("matrix: PUT of an m.notice with plain and HTML bodies, bearer token", "[sinks]") {
  Rendering r(matrix_dest(), sample_event());
  auto d = r.render(herald::matrix_destination_kind());
  REQUIRE(d);
  CHECK(d->recipients == std::vector<std::string>{"!abcDEF:example.org"});
  FakeHttp http;
  auto req = send_one(herald::matrix_destination_kind(), r, http);
  CHECK(req.method == "PUT");
  CHECK(req.url == "https://matrix.example.org/_matrix/client/v3/rooms/%21abcDEF%3Aexample.org/send/"
                   "m.room.message/" + herald::matrix_txn_id("key:bug:LU-1234:created"));
  CHECK(header_value(req, "Authorization") == "Bearer syt_secret_token");
  json body = json::parse(req.body);
  CHECK(body["msgtype"] == "m.notice");
  CHECK(body["format"] == "org.matrix.custom.html");
  CHECK_THAT(body["body"].get<std::string>(), StartsWith("Created: LU-1234 MDS crash <on> mount & umount"));
  const std::string html = body["formatted_body"];
  CHECK_THAT(html, Contains("<b>Created: LU-1234 MDS crash &lt;on&gt; mount &amp; umount</b>"));
  CHECK_THAT(html, Contains("<a href=\"https://jira.example.org/browse/LU-1234\">"));
}

TEST_CASE("matrix: the txnId is the same on every attempt of a row", "[sinks]") {
  Rendering r(matrix_dest(), sample_event());
  auto d = r.render(herald::matrix_destination_kind());
  REQUIRE(d);
  FakeHttp http;
  http.fail(HttpFailure::Kind::timeout, "timed out").answer(200, "{\"event_id\":\"$x\"}");
  herald::FakeClock clock;
  auto sink = herald::matrix_destination_kind().make_sink({}, r.dest, {http.factory(), &clock});
  CHECK(sink->deliver_batch({item_of(*d)})[0].status == Status::retry);
  clock.advance(60);
  CHECK(sink->deliver_batch({item_of(*d)})[0].status == Status::delivered);
  auto reqs = http.requests();
  REQUIRE(reqs.size() == 2);
  CHECK(reqs[0].url == reqs[1].url);
  CHECK(reqs[0].body == reqs[1].body);
  // Another row (another key) gets another transaction.
  CHECK(herald::matrix_txn_id("a") != herald::matrix_txn_id("b"));
}

TEST_CASE("matrix: check wants homeserver, a room id and a token", "[sinks]") {
  auto kind = herald::matrix_destination_kind();
  CHECK(kind.check(matrix_dest()).empty());
  auto d = http_dest("matrix", "");
  auto problems = kind.check(d);
  std::set<std::string> keys;
  for (const auto& [k, m] : problems) keys.insert(k);
  CHECK(keys == std::set<std::string>{"homeserver", "room", "access_token"});
  d = matrix_dest();
  d.room = "#alias:example.org";
  REQUIRE(kind.check(d).size() == 1);
  CHECK(kind.check(d)[0].first == "room");
}

TEST_CASE("matrix: a 100 KB summary stays under the event size limit", "[sinks]") {
  Rendering r(matrix_dest(), sample_event(big_summary()));
  auto d = r.render(herald::matrix_destination_kind());
  REQUIRE(d);
  CHECK(d->payload.size() <= herald::k_matrix_content_max);
  json body = json::parse(d->payload);
  const std::string plain = body["body"], html = body["formatted_body"];
  CHECK_THAT(plain, EndsWith(k_ellipsis + " https://jira.example.org/browse/LU-1234"));
  CHECK_THAT(html, EndsWith("<a href=\"https://jira.example.org/browse/LU-1234\">more</a>"));
  CHECK(valid_utf8(plain));
  CHECK(valid_utf8(html));
  CHECK(html.find("<b>") == std::string::npos);  // no tag cut open: the HTML is escaped text
}

TEST_CASE("matrix: 429 waits the body's retry_after_ms, at least 60 s", "[sinks]") {
  auto r = herald::classify_matrix_answer(answer(429, "{\"errcode\":\"M_LIMIT_EXCEEDED\",\"retry_after_ms\":200000}"));
  CHECK(r.status == Status::retry);
  CHECK(r.retry_after_s == 201);
  CHECK(herald::classify_matrix_answer(answer(429, "{\"retry_after_ms\":10}")).retry_after_s == 60);
}

// ---- teams ----

TEST_CASE("teams: an Adaptive Card 1.4 with title, text, facts and a link; 202 is success",
          "[sinks]") {
  Rendering r(http_dest("teams", "https://prod-00.westus.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?sig=SIG"),
              sample_event());
  FakeHttp http;
  http.answer(202);
  DeliveryResult result;
  auto req = send_one(herald::teams_destination_kind(), r, http, &result);
  CHECK(result.status == Status::delivered);
  CHECK(req.method == "POST");
  json body = json::parse(req.body);
  CHECK(body["type"] == "message");
  REQUIRE(body["attachments"].size() == 1);
  CHECK(body["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive");
  const json& card = body["attachments"][0]["content"];
  CHECK(card["type"] == "AdaptiveCard");
  CHECK(card["version"] == "1.4");
  REQUIRE(card["body"].size() == 3);
  CHECK(card["body"][0]["type"] == "TextBlock");
  CHECK(card["body"][0]["text"] == "Created: LU-1234 MDS crash <on> mount & umount");
  CHECK(card["body"][1]["type"] == "TextBlock");
  CHECK_THAT(card["body"][1]["text"].get<std::string>(), Contains("The second line."));
  CHECK(card["body"][2]["type"] == "FactSet");
  bool has_severity = false;
  for (const auto& f : card["body"][2]["facts"])
    if (f["title"] == "Severity" && f["value"] == "high") has_severity = true;
  CHECK(has_severity);
  REQUIRE(card["actions"].size() == 1);
  CHECK(card["actions"][0]["type"] == "Action.OpenUrl");
  CHECK(card["actions"][0]["url"] == "https://jira.example.org/browse/LU-1234");
}

TEST_CASE("teams: a 100 KB summary keeps the payload under 28 KB", "[sinks]") {
  auto e = sample_event(big_summary() + "\"quotes\\and\tcontrol\x01 " + big_summary());
  Rendering r(http_dest("teams", "https://example.logic.azure.com/x"), e);
  auto d = r.render(herald::teams_destination_kind());
  REQUIRE(d);
  CHECK(d->payload.size() <= herald::k_teams_payload_max);
  CHECK(d->payload.size() > herald::k_teams_payload_max / 2);
  json body = json::parse(d->payload);
  const std::string text = body["attachments"][0]["content"]["body"][1]["text"];
  CHECK_THAT(text, EndsWith(k_ellipsis + " [more](https://jira.example.org/browse/LU-1234)"));
  CHECK(valid_utf8(text));
}

// ---- every kind ----

TEST_CASE("every HTTP kind wants its url, and renders a digest", "[sinks]") {
  json ctx = {{"name", "weekly"},       {"title", "Lustre weekly"}, {"events", 1},
              {"empty", false},         {"date", "2026-01-05"},    {"window_start_local", "a"},
              {"window_end_local", "b"},
              {"sections", json::array({{{"id", "new"}, {"title", "New"}, {"count", 1}, {"phrase", "new"},
                                         {"last", true},
                                         {"groups", json::array({{{"has_label", false}, {"subgroups",
                                             json::array({{{"items", json::array({{{"title", "LU-9 thing"},
                                                                                    {"url", "https://j/LU-9"}}})}}})}}})}}})}};
  herald::Config cfg;
  for (const auto& kind : {herald::slack_destination_kind(), herald::mattermost_destination_kind(),
                           herald::discord_destination_kind(), herald::teams_destination_kind(),
                           herald::webhook_destination_kind()}) {
    INFO(kind.kind);
    auto problems = kind.check(http_dest(kind.kind, ""));
    REQUIRE(problems.size() == 1);
    CHECK(problems[0].first == "url");
    auto dest = http_dest(kind.kind, "https://example.org/hook");
    herald::RenderInput in{cfg, bundled_templates(), dest, "digest", ctx, nullptr, "digest:1", 5};
    auto d = kind.render(in);
    REQUIRE(d);
    CHECK_THAT(d->payload, Contains("LU-9 thing"));
    CHECK(d->subject == "Lustre weekly");
    CHECK(json::parse(d->payload, nullptr, false).is_object());
    FakeHttp http;
    http.answer(500, "echo /hook/PathSecret123 sig=QuerySecret9");
    herald::FakeClock clock;
    auto secret_dest = http_dest(kind.kind, "https://example.org/hook/PathSecret123?sig=QuerySecret9");
    auto sink = kind.make_sink(cfg, secret_dest, {http.factory(), &clock});
    CHECK(sink->describe() == kind.kind + " https://example.org");
    auto res = sink->deliver_batch({item_of(*d)});
    CHECK(res[0].status == Status::retry);
    CHECK_THAT(res[0].detail, !Contains("PathSecret123"));
    CHECK_THAT(res[0].detail, !Contains("QuerySecret9"));
  }
  auto mdest = matrix_dest();
  herald::RenderInput in{cfg, bundled_templates(), mdest, "digest", ctx, nullptr, "digest:1", 5};
  auto d = herald::matrix_destination_kind().render(in);
  REQUIRE(d);
  CHECK_THAT(d->payload, Contains("LU-9 thing"));
}

// ---- chat templates ----

TEST_CASE("templates: every channel loads, falls back to its default set, escapes per platform",
          "[sinks][render]") {
  const auto& t = bundled_templates();
  auto dest = http_dest("slack", "https://hooks.slack.com/services/T0/B0/x");
  const json ctx = herald::mail_context(sample_event(), dest);
  auto title = t.render("slack", "bug.created", "title", ctx);
  REQUIRE(title);
  CHECK(*title == "Created: LU-1234 MDS crash <on> mount & umount");  // plain_text: as it is
  auto fallback = t.render("slack", "no.such.kind", "title", ctx);
  REQUIRE(fallback);
  CHECK(*fallback == "LU-1234 MDS crash <on> mount & umount");  // the default set
  auto text = t.render("slack", "default", "text", herald::mail_context(sample_event("a <b> & c"), dest));
  REQUIRE(text);
  CHECK_THAT(*text, Contains("a &lt;b&gt; &amp; c"));
  auto html = t.render("matrix", "bug.resolved", "html", ctx);
  REQUIRE(html);
  CHECK_THAT(*html, StartsWith("<b>Resolved: LU-1234 MDS crash &lt;on&gt; mount &amp; umount</b>"));
  auto none = t.render("nosuchchannel", "default", "text", ctx);
  REQUIRE(none);
  CHECK(none->empty());
  for (const std::string channel : {"slack", "mattermost", "discord", "matrix", "teams"})
    for (const std::string set :
         {"default", "release.published", "bug.created", "bug.updated", "bug.resolved", "digest"}) {
      INFO(channel + "/" + set);
      CHECK(t.has_set(channel, set));
    }
  // render_mail is unchanged by the other channels.
  auto mail = t.render_mail("bug.created", ctx);
  REQUIRE(mail);
  CHECK(mail->subject == "Created: LU-1234 MDS crash <on> mount & umount");
}

TEST_CASE("templates: an override directory replaces a chat template file by file",
          "[sinks][render]") {
  herald::test::TempDir dir;
  std::filesystem::create_directories(dir.file("teams"));
  const std::string file = dir.write("teams/default.title.mustache", "Overridden {{title}}");
  auto t = herald::Templates::load(herald::test::source_dir() + "/templates", dir.path());
  REQUIRE(t);
  CHECK(t->origin("teams/default.title") == file);
  const json ctx = herald::mail_context(sample_event(), http_dest("teams", "https://x.example/"));
  auto title = t->render("teams", "default", "title", ctx);
  REQUIRE(title);
  CHECK(*title == "Overridden LU-1234 MDS crash <on> mount & umount");
  auto text = t->render("teams", "default", "text", ctx);
  REQUIRE(text);
  CHECK_THAT(*text, Contains("The second line."));  // the bundled one

  dir.write("teams/default.text.mustache", "{{#open}} never closed");
  auto bad = herald::Templates::load(herald::test::source_dir() + "/templates", dir.path());
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Contains("teams/default.text.mustache"));
}

TEST_CASE("chat kinds: a release reads as a release in every platform's markup", "[sinks][render]") {
  herald::Event e;
  e.key = "release:lustre:2.15.8";
  e.kind = "release.published";
  e.source = "lustre-releases";
  e.time = 1'764'699'560;
  e.title = "2.15.8";
  e.url = "https://example.org/tag/2.15.8";
  e.attributes = {{"version", "2.15.8"}, {"branch", "2.15"}, {"lts", true}, {"is_ga", true},
                  {"download_url", "https://downloads.example.org/2.15.8/"}, {"zfs", "2.3.2"}};
  struct Expect {
    herald::DestinationKind kind;
    std::vector<std::string> has;
  };
  const std::vector<Expect> expected = {
      {herald::slack_destination_kind(),
       {"Lustre 2.15.8 (LTS) released", "*Recommended ZFS:* 2.3.2",
        "<https://downloads.example.org/2.15.8/|https://downloads.example.org/2.15.8/>"}},
      {herald::mattermost_destination_kind(),
       {"#### Lustre 2.15.8 (LTS) released", "**Recommended ZFS:** 2.3.2", "[Release](https://example.org/tag/2.15.8)"}},
      {herald::discord_destination_kind(), {"Lustre 2.15.8 (LTS) released", "**Recommended ZFS:** 2.3.2"}},
      {herald::teams_destination_kind(), {"Lustre 2.15.8 (LTS) released", "**Recommended ZFS:** 2.3.2"}},
      {herald::matrix_destination_kind(),
       {"<b>Lustre 2.15.8 (LTS) released</b>", "<b>Recommended ZFS:</b> 2.3.2", "Recommended ZFS: 2.3.2"}},
  };
  for (const auto& x : expected) {
    INFO(x.kind.kind);
    auto dest = x.kind.kind == "matrix" ? matrix_dest() : http_dest(x.kind.kind, "https://example.org/h");
    Rendering r(dest, e);
    auto d = r.render(x.kind);
    REQUIRE(d);
    const std::string payload = d->payload;
    json body = json::parse(payload);
    std::string all;  // every string of the document, unescaped
    std::function<void(const json&)> walk = [&](const json& j) {
      if (j.is_string()) all += j.get<std::string>() + "\n";
      if (j.is_structured())
        for (const auto& v : j) walk(v);
    };
    walk(body);
    for (const auto& s : x.has) CHECK_THAT(all, Contains(s));
    CHECK_THAT(all, !Contains("<p></p>"));  // the empty summary leaves nothing behind
  }
}

TEST_CASE("chat kinds: an event without a link renders no empty link", "[sinks][render]") {
  auto e = sample_event();
  e.url.clear();
  e.summary.clear();
  for (const auto& kind : {herald::slack_destination_kind(), herald::mattermost_destination_kind(),
                           herald::discord_destination_kind(), herald::teams_destination_kind()}) {
    INFO(kind.kind);
    Rendering r(http_dest(kind.kind, "https://example.org/h"), e);
    auto d = r.render(kind);
    REQUIRE(d);
    CHECK_THAT(d->payload, !Contains("Open"));
    CHECK_THAT(d->payload, !Contains("()"));
    CHECK_THAT(d->payload, Contains("bug.created from jira"));
  }
  Rendering r(matrix_dest(), e);
  auto d = r.render(herald::matrix_destination_kind());
  REQUIRE(d);
  CHECK_THAT(d->payload, !Contains("href"));
}
