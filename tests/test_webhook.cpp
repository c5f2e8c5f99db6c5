#include <limits>
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "adapters/sources/webhook/webhook.hpp"
#include "daemon/ingest.hpp"
#include "daemon/metrics.hpp"
#include "daemon/store.hpp"
#include "daemon/util.hpp"
#include "tests/support/curl_client.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/paths.hpp"

using namespace herald;
using herald::test::curl_request;
using herald::test::TempDir;
using nlohmann::json;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}
std::string fixture(const std::string& name) {
  return slurp(herald::test::fixtures_dir() + "/" + name);
}

InboundRequest request_with(std::string body, std::vector<std::pair<std::string, std::string>> h) {
  InboundRequest r;
  r.method = "POST";
  r.body = std::move(body);
  for (auto& [k, v] : h) r.headers.emplace_back(to_lower(k), v);
  return r;
}

// The whole inbound side in-process: store, writer, routes, server on a free port.
struct Inbound {
  TempDir dir;
  FakeClock clock{1'800'000'000};
  std::unique_ptr<Store> store;
  Metrics metrics;
  std::unique_ptr<IngestWriter> writer;
  std::unique_ptr<HttpServer> server;

  Inbound() {
    auto s = Store::open(dir.file("herald.db"));
    REQUIRE(s);
    store = std::move(*s);
    Config cfg;
    auto add = [&](const char* name, const char* kind, const char* path, const char* secret) {
      SourceConfig sc;
      sc.name = name;
      sc.kind = kind;
      sc.path = path;
      sc.secret = secret;
      cfg.sources.push_back(sc);
    };
    add("gh", "github-webhook", "/hooks/github", "gh-secret");
    add("lu-jira", "jira-webhook", "/hooks/jira", "jira-secret");
    add("gl", "gitlab-webhook", "/hooks/gitlab", "gl-token");
    cfg.http.api_token = "api-token";
    writer = std::make_unique<IngestWriter>(*store, clock);
    HttpServerOptions o;
    o.listen = "127.0.0.1:0";
    o.max_body = 64 * 1024;
    server = std::make_unique<HttpServer>(o);
    webhook::add_inbound_routes(*server, cfg, *writer, metrics, clock);
    add_ops_routes(*server, *store, metrics, {"gh", "lu-jira", "gl"});
    REQUIRE(server->start().ok());
  }
  ~Inbound() {
    server->stop();
    writer->stop();
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server->port()) + path;
  }
  test::CurlReply post(const std::string& path, const std::string& body,
                       const std::vector<std::string>& headers) {
    return curl_request("POST", url(path), body, headers);
  }
  test::CurlReply github(const std::string& body, const std::string& delivery,
                         const std::string& event = "issues") {
    return post("/hooks/github", body,
                {"X-GitHub-Event: " + event, "X-GitHub-Delivery: " + delivery,
                 "X-Hub-Signature-256: sha256=" + hmac_sha256_hex("gh-secret", body)});
  }
  test::CurlReply jira(const std::string& body) {
    return post("/hooks/jira", body,
                {"X-Hub-Signature: sha256=" + hmac_sha256_hex("jira-secret", body)});
  }
};

}  // namespace

TEST_CASE("webhook: signatures are checked per kind, GitHub's test vector included",
          "[webhook]") {
  const std::string secret = "It's a Secret to Everybody";
  const std::string good = "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
  CHECK(webhook::verify("github-webhook", secret,
                        request_with("Hello, World!", {{"X-Hub-Signature-256", "sha256=" + good}}))
            .ok());
  CHECK(webhook::verify("jira-webhook", secret,
                        request_with("Hello, World!", {{"X-Hub-Signature", "sha256=" + good}}))
            .ok());
  SECTION("upper-case hex is the same signature") {
    std::string upper = good;
    for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    CHECK(webhook::verify("github-webhook", secret,
                          request_with("Hello, World!",
                                       {{"X-Hub-Signature-256", "sha256=" + upper}}))
              .ok());
  }
  SECTION("a changed body, a wrong secret, another scheme or no header fail") {
    auto bad = [&](const std::string& kind, const std::string& key, const InboundRequest& r) {
      auto s = webhook::verify(kind, key, r);
      REQUIRE_FALSE(s.ok());
      CHECK(s.error().message.find(key) == std::string::npos);  // the secret is never told
      CHECK(s.error().message.find(good) == std::string::npos);
      return s.error().message;
    };
    CHECK(bad("github-webhook", secret,
              request_with("Hello, World?", {{"X-Hub-Signature-256", "sha256=" + good}})) ==
          "X-Hub-Signature-256 does not match the body");
    bad("github-webhook", "another secret",
        request_with("Hello, World!", {{"X-Hub-Signature-256", "sha256=" + good}}));
    CHECK(bad("github-webhook", secret,
              request_with("Hello, World!", {{"X-Hub-Signature-256", "sha1=" + good}})) ==
          "X-Hub-Signature-256 is not of the form sha256=<hex>");
    CHECK(bad("github-webhook", secret, request_with("Hello, World!", {})) ==
          "missing X-Hub-Signature-256");
    // Jira's header is X-Hub-Signature; GitHub's does not count for it.
    CHECK(bad("jira-webhook", secret,
              request_with("Hello, World!", {{"X-Hub-Signature-256", "sha256=" + good}})) ==
          "missing X-Hub-Signature");
  }
  SECTION("GitLab sends the secret itself as a token") {
    CHECK(webhook::verify("gitlab-webhook", "tok", request_with("{}", {{"X-Gitlab-Token", "tok"}}))
              .ok());
    CHECK_FALSE(
        webhook::verify("gitlab-webhook", "tok", request_with("{}", {{"X-Gitlab-Token", "to"}}))
            .ok());
    CHECK_FALSE(webhook::verify("gitlab-webhook", "tok", request_with("{}", {})).ok());
  }
}

TEST_CASE("webhook: delivery ids come from each sender's own header", "[webhook]") {
  auto r = request_with("", {{"X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"},
                             {"X-Gitlab-Event-UUID", "gl-1"},
                             {"X-Atlassian-Webhook-Identifier", "jira-1"}});
  CHECK(webhook::delivery_id("github-webhook", r) == "72d3162e-cc78-11e3-81ab-4c9367dc0958");
  CHECK(webhook::delivery_id("gitlab-webhook", r) == "gl-1");
  CHECK(webhook::delivery_id("jira-webhook", r) == "jira-1");
  CHECK(webhook::delivery_id("jira-webhook", request_with("", {})).empty());
}

TEST_CASE("webhook: an event batch is validated event by event", "[webhook]") {
  SECTION("both shapes, with defaults") {
    for (const char* body :
         {R"({"events":[{"key":"ci:1","kind":"build.failed"}]})",
          R"([{"key":"ci:1","kind":"build.failed"}])"}) {
      auto b = webhook::parse_event_batch(body);
      REQUIRE_FALSE(b.error);
      REQUIRE(b.events.size() == 1);
      CHECK(b.events[0].source == "api");
      CHECK(b.events[0].severity == "info");
      CHECK(b.events[0].title == "ci:1");
      CHECK(b.events[0].time == 0);
    }
  }
  SECTION("every documented field") {
    auto b = webhook::parse_event_batch(R"([{"key":"k","kind":"release.published",
      "source":"ci","title":"Lustre 2.15.7","url":"https://example.org/r","summary":"a\nb",
      "severity":"high","tags":{"branch":"2.15"},"time":"2025-06-02T10:00:00Z",
      "attributes":{"n":[1,2]}}])");
    REQUIRE_FALSE(b.error);
    const Event& e = b.events.at(0);
    CHECK(e.source == "ci");
    CHECK(e.title == "Lustre 2.15.7");
    CHECK(e.summary == "a\nb");
    CHECK(e.severity == "high");
    CHECK(e.tags.at("branch") == "2.15");
    CHECK(e.time == 1'748'858'400);
    CHECK(e.attributes["n"] == json::array({1, 2}));
  }
  SECTION("the first bad event is named with its index and the reason") {
    struct Case {
      const char* body;
      int index;
      const char* reason;
    };
    const Case cases[] = {
        {R"([{"key":"a","kind":"x"},{"kind":"x"}])", 1, "key is required"},
        {R"([{"key":"a"}])", 0, "kind is required"},
        {R"([{"key":"a","kind":"Bad Kind"}])", 0,
         "kind must be made of a-z, 0-9, '.', '_' and '-'"},
        {R"([{"key":"a","kind":"x","title":"two\nlines"}])", 0,
         "title must be one line without control characters"},
        {R"([{"key":"a","kind":"x","severity":"urgent"}])", 0,
         "severity must be info, low, medium, high or critical"},
        {R"([{"key":"a","kind":"x","tags":{"b":2}}])", 0, "tags.b must be a string"},
        {R"([{"key":"a","kind":"x","time":"yesterday"}])", 0,
         "time is not an RFC 3339 date with a zone"},
        // Found by the event API fuzz target: a date before 1970 is a negative time.
        {R"([{"key":"a","kind":"x","time":"1012-06-10T16:44:11-06:00"}])", 0,
         "time must not be before 1970"},
        {R"([{"key":"a","kind":"x","colour":"red"}])", 0, "unknown field 'colour'"},
        {R"([{"key":"a","kind":"x"},{"key":"b","kind":"x"},7])", 2,
         "an event must be an object, not number"},
        {R"({"events":{}})", -1, "events must be an array, not object"},
        {R"({"items":[]})", -1, "expected {\"events\": [...]} or an array of events"},
        {R"([])", -1, "no events"},
    };
    for (const auto& c : cases) {
      INFO(c.body);
      auto b = webhook::parse_event_batch(c.body);
      REQUIRE(b.error);
      CHECK(b.error->index == c.index);
      CHECK(b.error->reason == c.reason);
      CHECK(b.events.empty());
    }
    std::string long_key = R"([{"kind":"x","key":")" + std::string(600, 'k') + "\"}]";
    CHECK(webhook::parse_event_batch(long_key).error->reason ==
          "key is longer than 512 bytes");
  }
  SECTION("malformed JSON gives the parser's reason without echoing the input") {
    auto b = webhook::parse_event_batch(R"([{"key":"SECRET-TEXT", )");
    REQUIRE(b.error);
    CHECK(b.error->index == -1);
    CHECK(b.error->reason.rfind("malformed JSON: ", 0) == 0);
    CHECK(b.error->reason.find("SECRET-TEXT") == std::string::npos);
  }
  SECTION("attributes nested 100,000 deep are refused while parsing") {
    // Parsed whole, copying this value into the event overflowed the stack.
    std::string deep = R"({"events":[{"key":"k","kind":"x","attributes":)";
    for (int i = 0; i < 100'000; ++i) deep += R"({"a":)";
    deep += "1" + std::string(100'000, '}') + "}]}";
    auto b = webhook::parse_event_batch(deep);
    REQUIRE(b.error);
    CHECK(b.error->index == -1);
    CHECK(b.error->reason == "JSON nests deeper than 64 levels");
    CHECK(b.events.empty());
  }
}

// Found by tests/fuzz/fuzz_event_api (tests/fuzz/crashes/event_api-number-overflow):
// nlohmann throws out_of_range, not parse_error, for a number beyond double.
TEST_CASE("webhook: an event batch with a number out of range is malformed JSON and no crash",
          "[webhook]") {
  for (const char* body : {"5e448", "[{\"key\": \"a\", \"kind\": \"b\", \"time\": 1e999}]"}) {
    INFO(body);
    auto batch = herald::webhook::parse_event_batch(body);
    REQUIRE(batch.error);
    CHECK(batch.error->index == -1);
    CHECK_THAT(batch.error->reason, Catch::Matchers::StartsWith("malformed JSON: "));
    CHECK(batch.events.empty());
  }
}

TEST_CASE("webhook: a signed GitHub delivery is stored before its 200, once per delivery id",
          "[webhook][threads]") {
  Inbound in;
  const std::string body = fixture("github/issues_opened.payload.json");
  auto r = in.github(body, "72d3162e-0001");
  CHECK(r.status == 200);
  CHECK(json::parse(r.body) == json({{"result", "stored"}, {"events", 1}}));
  CHECK(*in.store->events().count_events() == 1);
  auto stored =
      *in.store->events().events_received_between(0, std::numeric_limits<int64_t>::max(), {});
  REQUIRE(stored.size() == 1);
  CHECK(stored[0].event.kind == "bug.created");
  CHECK(stored[0].event.source == "gh");
  CHECK(stored[0].event.key.rfind("github:Codertocat/Hello-World#1:", 0) == 0);

  auto again = in.github(body, "72d3162e-0001");
  CHECK(again.status == 200);
  CHECK(json::parse(again.body)["result"] == "duplicate");
  CHECK(*in.store->events().count_events() == 1);

  SECTION("a wrong or missing signature is 401 and stores nothing") {
    auto wrong = in.post("/hooks/github", body,
                         {"X-GitHub-Event: issues", "X-GitHub-Delivery: x2",
                          "X-Hub-Signature-256: sha256=" + hmac_sha256_hex("guess", body)});
    CHECK(wrong.status == 401);
    auto missing = in.post("/hooks/github", body, {"X-GitHub-Event: issues"});
    CHECK(missing.status == 401);
    CHECK(json::parse(missing.body)["error"] == "missing X-Hub-Signature-256");
    CHECK(*in.store->events().count_events() == 1);
  }
  SECTION("an event herald does not use is 202 and dropped") {
    auto ping = in.github(R"({"zen":"Keep it logically awesome.","hook_id":1})", "p1", "ping");
    CHECK(ping.status == 202);
    CHECK(*in.store->events().count_events() == 1);
  }
  SECTION("malformed JSON with a good signature is 400 with the reason") {
    auto bad = in.github("{\"action\": ", "m1");
    CHECK(bad.status == 400);
    CHECK(json::parse(bad.body)["error"].get<std::string>().find("malformed JSON") !=
          std::string::npos);
  }
  SECTION("a body over the limit is 413") {
    std::string big(70 * 1024, ' ');
    CHECK(in.github(big, "big").status == 413);
  }
}

TEST_CASE("webhook: Jira and GitLab deliveries of the real fixtures are stored",
          "[webhook][threads]") {
  Inbound in;
  auto jira = in.jira(fixture("jira/mobitel_webhooks_issue_created.json"));
  CHECK(jira.status == 200);
  const std::string gl_body = fixture("gitlab/mobitel_webhooks_gitlab_issue_created.json");
  auto gl = in.post("/hooks/gitlab", gl_body, {"X-Gitlab-Token: gl-token",
                                                "X-Gitlab-Event-UUID: 8f0a-1"});
  CHECK(gl.status == 200);
  auto gl_wrong = in.post("/hooks/gitlab", gl_body, {"X-Gitlab-Token: gl-tokem"});
  CHECK(gl_wrong.status == 401);
  CHECK(*in.store->events().count_events() == 2);
  auto events =
      *in.store->events().events_received_between(0, std::numeric_limits<int64_t>::max(), {});
  REQUIRE(events.size() == 2);
  CHECK(events[0].event.source == "lu-jira");
  CHECK(events[0].event.key.rfind("jira:BBCOM-1398:", 0) == 0);
  CHECK(events[1].event.source == "gl");
  // Pushed events are left for the pipeline's routing pass, as polled ones are (so that a
  // route added by a reload before that pass takes them).
  CHECK(in.store->events().unrouted_events(10)->size() == 2);
}

TEST_CASE("webhook: a delivery whose events were all stored before is a duplicate, events 0",
          "[webhook]") {
  Inbound in;
  json page =
      json::parse(slurp(herald::test::fixtures_dir() + "/tracker/jira_search_page_v2.json"));
  const std::string body =
      json({{"webhookEvent", "jira:issue_created"}, {"issue", page["issues"][1]}}).dump();
  auto first = in.jira(body);  // Jira sent no delivery id: nothing to dedup on but the keys
  CHECK(first.status == 200);
  CHECK(json::parse(first.body) == json({{"result", "stored"}, {"events", 1}}));
  auto again = in.jira(body);
  CHECK(again.status == 200);
  CHECK(json::parse(again.body) == json({{"result", "duplicate"}, {"events", 0}}));
  CHECK(*in.store->events().count_events() == 1);
}

TEST_CASE("webhook: a Jira issue with a security level is withheld and only counted",
          "[webhook][threads]") {
  Inbound in;
  json issue = json::parse(slurp(herald::test::fixtures_dir() +
                                 "/tracker/jira_restricted_issue.json"));
  json body = {{"webhookEvent", "jira:issue_created"},
               {"timestamp", 1714649400000},
               {"issue", issue}};
  auto r = in.jira(body.dump());
  CHECK(r.status == 202);
  CHECK(r.body.find("LU-18999") == std::string::npos);
  CHECK(*in.store->events().count_events() == 0);
  auto metrics = curl_request("GET", in.url("/metrics"));
  CHECK(metrics.body.find("herald_restricted_items_total{source=\"lu-jira\"} 1") !=
        std::string::npos);
  CHECK(metrics.body.find("LU-18999") == std::string::npos);
  CHECK(metrics.body.find("EMBARGOED") == std::string::npos);
}

TEST_CASE("webhook: the event API takes a bearer token and answers accepted and new",
          "[webhook][threads]") {
  Inbound in;
  const std::string batch = R"({"events":[
    {"key":"ci:lustre:build:101","kind":"build.failed","source":"ci","title":"build 101"},
    {"key":"ci:lustre:build:102","kind":"build.failed","source":"ci","title":"build 102"}]})";
  CHECK(in.post("/api/v1/events", batch, {}).status == 401);
  CHECK(in.post("/api/v1/events", batch, {"Authorization: Bearer api-tokem"}).status == 401);
  CHECK(*in.store->events().count_events() == 0);

  auto ok = in.post("/api/v1/events", batch, {"Authorization: Bearer api-token"});
  CHECK(ok.status == 200);
  CHECK(json::parse(ok.body) == json({{"accepted", 2}, {"new", 2}}));
  auto again = in.post("/api/v1/events", batch, {"Authorization: Bearer api-token"});
  CHECK(json::parse(again.body) == json({{"accepted", 2}, {"new", 0}}));
  CHECK(*in.store->events().count_events() == 2);
  auto events =
      *in.store->events().events_received_between(0, std::numeric_limits<int64_t>::max(), {});
  REQUIRE(events.size() == 2);
  CHECK(events[0].event.time == 1'800'000'000);  // received time when none is given

  auto bad = in.post("/api/v1/events",
                     R"([{"key":"ci:x","kind":"build.failed"},{"key":"ci:y"}])",
                     {"Authorization: Bearer api-token"});
  CHECK(bad.status == 400);
  CHECK(json::parse(bad.body) == json({{"error", "kind is required"}, {"index", 1}}));
  CHECK(*in.store->events().count_events() == 2);  // nothing of a bad batch is stored
}

TEST_CASE("webhook: /metrics counts requests by result and events by source and kind",
          "[webhook][threads]") {
  Inbound in;
  const std::string body = fixture("github/issues_opened.payload.json");
  in.github(body, "d1");
  in.github(body, "d1");
  in.post("/hooks/github", body, {"X-GitHub-Event: issues"});
  CHECK(curl_request("GET", in.url("/healthz")).body == "ok\n");
  auto m = curl_request("GET", in.url("/metrics"));
  CHECK(m.status == 200);
  CHECK(m.headers.find("text/plain; version=0.0.4") != std::string::npos);
  for (const char* line : {
           "# TYPE herald_webhook_requests_total counter",
           "herald_webhook_requests_total{source=\"gh\",result=\"stored\"} 1",
           "herald_webhook_requests_total{source=\"gh\",result=\"duplicate\"} 1",
           "herald_webhook_requests_total{source=\"gh\",result=\"unauthorized\"} 1",
           "herald_events{source=\"gh\",kind=\"bug.created\"} 1",
           "herald_outbox_depth{state=\"pending\"} 0",
           "herald_source_last_success_timestamp_seconds{source=\"gh\"} 1800000000",
           "herald_source_last_success_timestamp_seconds{source=\"gl\"} 0",
           "herald_source_errors_total{source=\"gh\"} 1",
           "herald_store_up 1",
       }) {
    INFO(line);
    CHECK(m.body.find(std::string(line) + "\n") != std::string::npos);
  }
}
