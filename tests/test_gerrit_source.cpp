// The Gerrit source (kind = "gerrit"): the real answer of
// tests/fixtures/gerrit served over HTTP by herald's own server, the query it
// is asked, which changes are proposed, the XSSI prefix, the cursor, and its
// configuration errors.
#include <catch2/catch.hpp>

#include <mutex>
#include <string>
#include <vector>

#include "adapters/sources/gerrit/gerrit_source.hpp"
#include "adapters/sources/source.hpp"
#include "daemon/config.hpp"
#include "daemon/http_server.hpp"
#include "daemon/util.hpp"
#include "tests/support/config_errors.hpp"
#include "tests/support/fake_http.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/temp_dir.hpp"

using namespace herald;

namespace {

constexpr const char* k_prefix = ")]}'\n";

std::string fixture() {
  auto text = read_file(test::fixtures_dir() + "/gerrit/monocle_changes_query.json");
  REQUIRE(text);
  return *text;
}

// The fixture's changes, with the one MERGED change (249209 on stable-3.0) given hashtags.
std::string with_merged_hashtags(const std::vector<std::string>& hashtags) {
  auto changes = parse_gerrit_changes(fixture());
  REQUIRE(changes);
  nlohmann::json array = nlohmann::json::array();
  for (auto& c : *changes) {
    if (c["_number"] == 249209) c["hashtags"] = hashtags;
    array.push_back(c);
  }
  return k_prefix + array.dump(2);
}

// /changes/ answering one body as the first page (the fixture's last change says
// "_more_changes") and an empty second page; records the decoded query of each request.
struct GerritServer {
  explicit GerritServer(std::string body) : m_body(std::move(body)), m_server(options()) {
    m_server.route("GET", "/changes/", [this](const InboundRequest& req, Respond r) {
      {
        std::lock_guard lock(m_mutex);
        const std::string* q = req.query_arg("q");
        queries.push_back(q ? *q : "");
        const std::string* s = req.query_arg("S");
        offsets.push_back(s ? *s : "");
      }
      InboundResponse resp;
      resp.content_type = "application/json; charset=utf-8";
      resp.body = req.query_arg("S") ? std::string(k_prefix) + "[]" : m_body;
      r(std::move(resp));
    });
    REQUIRE(m_server.start().ok());
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(m_server.port()); }
  static HttpServerOptions options() {
    HttpServerOptions o;
    o.listen = "127.0.0.1:0";
    return o;
  }

  std::mutex m_mutex;
  std::vector<std::string> queries, offsets;

 private:
  std::string m_body;
  HttpServer m_server;
};

SourceConfig gerrit_config(const std::string& url) {
  SourceConfig sc;
  sc.name = "review";
  sc.kind = "gerrit";
  sc.url = url + "/";
  sc.branches = {"stable-3.0", "master"};
  sc.topics = {"RestApiException-refactoring"};
  sc.hashtags = {"lustre-backport"};
  return sc;
}

// 2019-12-23 22:00:00 UTC, before the fixture's newest change.
const int64_t k_now = days_from_civil(2019, 12, 23) * 86'400 + 22 * 3600;

}  // namespace

TEST_CASE("gerrit source: the fixture over HTTP; a merged change with a hashtag is proposed",
          "[gerrit][gerrit_source][threads]") {
  GerritServer server(with_merged_hashtags({"Lustre-Backport", "other"}));
  FakeClock clock(k_now);
  auto source = make_source(gerrit_config(server.url()), Config{}, clock);
  auto out = source->poll(SourceState{});
  INFO((out ? std::string() : out.error().message));
  REQUIRE(out);
  CHECK(out->warnings.empty());
  REQUIRE(out->events.size() == 1);  // read on both branches, proposed once
  const Event& e = out->events[0];
  CHECK(e.kind == "patch.candidate");
  CHECK(e.key == "gerrit:plugins/multi-site:249209");
  CHECK(e.title == "Swapped tabs with spaces");
  CHECK(e.url == server.url() + "/c/plugins/multi-site/+/249209");
  CHECK(e.tags.at("branch") == "stable-3.0");
  CHECK(e.tags.at("project") == "plugins/multi-site");
  CHECK(e.tags.at("change_id") == "Ic15863805451807b3a26537e7100e62c312e79cf");
  CHECK(e.tags.at("hashtags") == "Lustre-Backport other");
  CHECK_FALSE(e.tags.count("topic"));
  CHECK_FALSE(e.tags.count("ticket"));
  CHECK(e.attributes["number"] == 249209);
  CHECK(e.attributes["updated"] == "2019-12-23 21:56:54.000000000");
  CHECK(out->cursor == "2019-12-23 23:37:45");  // the newest change read, merged or not

  std::lock_guard lock(server.m_mutex);
  // Two pages a branch: the second from the offset the first ended at.
  REQUIRE(server.queries.size() == 4);
  CHECK(server.offsets == std::vector<std::string>{"", "5", "", "5"});
  // A window of one interval (15 min) before now on the first poll.
  for (const auto& [q, branch] :
       {std::pair{server.queries[0], "stable-3.0"}, std::pair{server.queries[1], "stable-3.0"},
        std::pair{server.queries[2], "master"}}) {
    INFO(q);
    const std::string sep = q.find('+') != std::string::npos ? "+" : " ";
    CHECK(q == std::string("status:merged") + sep + "branch:" + branch + sep +
                   "after:\"2019-12-23 21:45:00\"");
  }
}

TEST_CASE("gerrit source: changes that are not merged are not proposed, whatever they carry",
          "[gerrit][gerrit_source][threads]") {
  // Change 249214 is NEW with topic RestApiException-refactoring, a configured topic.
  GerritServer server(fixture());
  FakeClock clock(k_now);
  SourceConfig sc = gerrit_config(server.url());
  sc.project = "plugins/multi-site";
  sc.project_set = true;
  auto source = make_source(sc, Config{}, clock);
  auto out = source->poll(SourceState{});
  REQUIRE(out);
  CHECK(out->events.empty());
  CHECK(out->warnings.empty());

  SECTION("the next poll asks from the cursor, with the project") {
    SourceState state;
    state.cursor = out->cursor;
    auto next = source->poll(state);
    REQUIRE(next);
    std::lock_guard lock(server.m_mutex);
    REQUIRE(server.queries.size() == 8);
    const std::string& q = server.queries[4];
    INFO(q);
    CHECK(q.find("project:plugins/multi-site") != std::string::npos);
    CHECK(q.find("after:\"2019-12-23 23:37:45\"") != std::string::npos);
  }
}

TEST_CASE("gerrit source: a merged change whose topic is listed is proposed, with its ticket",
          "[gerrit][gerrit_source]") {
  test::FakeHttp http;
  // Without the ")]}'" line: the body parses too.
  http.answer(200, R"([{"project": "fs/lustre-release", "branch": "b2_15", "_number": 51234,
    "change_id": "I0123", "subject": "LU-17000 llite: fix a race\nin open", "status": "MERGED",
    "topic": "security-2025", "hashtags": [], "updated": "2025-03-01 10:00:00.000000000",
    "submitted": "2025-03-01 09:59:00.000000000"},
   {"project": "fs/lustre-release", "branch": "b2_15", "_number": 51235, "subject": "LU-1x",
    "status": "MERGED", "topic": "other", "hashtags": ["x"]},
   {"branch": "b2_15", "status": "MERGED", "_more_changes": "yes"}])");
  SourceConfig sc;
  sc.name = "review";
  sc.kind = "gerrit";
  sc.url = "https://review.whamcloud.com";
  sc.project = "fs/lustre-release";
  sc.project_set = true;
  sc.branches = {"b2_15"};
  sc.topics = {"SECURITY-2025"};
  FakeClock clock(days_from_civil(2025, 3, 2) * 86'400);
  auto source = make_source(sc, Config{}, clock, http.factory());
  auto out = source->poll(SourceState{});
  REQUIRE(out);
  REQUIRE(out->events.size() == 1);
  const Event& e = out->events[0];
  CHECK(e.key == "gerrit:fs/lustre-release:51234");
  CHECK(e.title == "LU-17000 llite: fix a race in open");
  CHECK(e.url == "https://review.whamcloud.com/c/fs/lustre-release/+/51234");
  CHECK(e.tags.at("ticket") == "LU-17000");
  CHECK(e.tags.at("topic") == "security-2025");
  CHECK(e.time == days_from_civil(2025, 3, 1) * 86'400 + 9 * 3600 + 59 * 60);
  REQUIRE(out->warnings.size() == 1);
  CHECK(out->warnings[0] == "branch b2_15: change 2 has no '_number' or 'project'; skipped");
  REQUIRE(http.requests().size() == 1);
  const std::string url = http.requests()[0].url;
  INFO(url);
  CHECK(url.rfind("https://review.whamcloud.com/changes/?q=status%3Amerged+branch%3Ab2_15+"
                  "project%3Afs%2Flustre-release+after%3A%22",
                  0) == 0);
}

TEST_CASE("gerrit source: answers that do not parse fail the poll with the branch",
          "[gerrit][gerrit_source]") {
  CHECK(parse_gerrit_changes(")]}'\n[]")->empty());
  CHECK(parse_gerrit_changes("[]")->empty());
  auto object = parse_gerrit_changes(")]}'\n{\"a\": 1}");
  REQUIRE_FALSE(object);
  CHECK(object.error().message == "a Gerrit change query answers a JSON array");
  auto cut = parse_gerrit_changes(")]}'\n[{\"_number\": ");
  REQUIRE_FALSE(cut);
  CHECK(cut.error().kind == ErrorKind::bad_input);

  test::FakeHttp http;
  http.answer(200, ")]}'\n[{");
  SourceConfig sc;
  sc.name = "review";
  sc.kind = "gerrit";
  sc.url = "https://review.whamcloud.com";
  sc.branches = {"b2_16"};
  sc.hashtags = {"backport"};
  FakeClock clock(k_now);
  auto out = make_source(sc, Config{}, clock, http.factory())->poll(SourceState{});
  REQUIRE_FALSE(out);
  CHECK(out.error().message.rfind("gerrit query (branch b2_16, page 1): malformed JSON", 0) == 0);
}

TEST_CASE("gerrit source: its configuration keys and their errors",
          "[gerrit][gerrit_source][config]") {
  test::TempDir dir;
  SECTION("a complete source") {
    auto r = parse_config(R"([[source]]
name = "review"
kind = "gerrit"
url = "https://review.whamcloud.com"
project = "fs/lustre-release"
branches = ["b2_15", "b2_16"]
hashtags = ["security"]
)",
                          dir.file("herald.toml"));
    INFO(test::config_errors(r));
    REQUIRE(r.config);
    const auto& sc = r.config->sources.at(0);
    CHECK(sc.branches == std::vector<std::string>{"b2_15", "b2_16"});
    CHECK(sc.hashtags == std::vector<std::string>{"security"});
    CHECK(sc.project_set);
  }
  SECTION("mistakes, each at its line") {
    auto r = parse_config(R"([[source]]
name = "a"
kind = "gerrit"
url = "https://review.whamcloud.com"
branches = ["b2_15"]

[[source]]
name = "b"
kind = "gerrit"
url = "review.whamcloud.com"
hashtags = []
topics = []
)",
                          dir.file("herald.toml"));
    const std::string e = test::config_errors(r);
    INFO(e);
    CHECK_FALSE(r.config);
    const std::string f = dir.file("herald.toml");
    CHECK(e.find(f + ":1: [[source]] 'a' (gerrit) needs 'hashtags' or 'topics'") !=
          std::string::npos);
    CHECK(e.find(f + ":10: [[source]] 'b' (gerrit) needs a 'url'") != std::string::npos);
    CHECK(e.find(f + ":7: [[source]] 'b' (gerrit) needs 'branches'") != std::string::npos);
    CHECK(e.find(f + ":11: [[source]] 'b' (gerrit) needs 'hashtags' or 'topics'") !=
          std::string::npos);
  }
}
