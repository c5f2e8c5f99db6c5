// The GitHub issues source against tests/tools/tracker_server.py (a real HTTP
// server with since=, per_page, Link rel="next", ETag/304), started as a child
// process; time comes from a FakeClock.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "adapters/sources/source.hpp"
#include "adapters/sources/tracker/tracker_events.hpp"
#include "daemon/util.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/tracker_server.hpp"
#include "tests/support/paths.hpp"

using namespace herald;
using nlohmann::json;

namespace {

json own_list() {
  auto text = read_file(herald::test::fixtures_dir() + "/tracker/github_issues_list.json");
  REQUIRE(text);
  return json::parse(*text);
}

int64_t at(const char* text) { return *tracker::parse_jira_time(text); }

SourceConfig github_config(const std::string& url, const std::string& repo) {
  SourceConfig sc;
  sc.name = "gh";
  sc.kind = "github";
  sc.base_url = url;
  sc.repo = repo;
  sc.page_size = 1;
  sc.max_age_ms = 3 * 86'400'000LL;  // the first window starts 2024-05-01T00:00Z
  sc.timeout_ms = 10'000;
  return sc;
}

std::vector<std::string> keys(const PollOutcome& o) {
  std::vector<std::string> out;
  for (const auto& e : o.events) out.push_back(e.kind + " " + e.key);
  return out;
}

}  // namespace

TEST_CASE("github_source: pages by Link, tells pull requests apart, then answers 304",
          "[github_source]") {
  test::TempDir issues;
  issues.write("list.json", own_list().dump());
  test::TrackerServer server("--github", issues.path(), {});
  FakeClock clock(at("2024-05-04T00:00:00Z"));
  Config cfg;
  auto src = make_source(github_config(server.url(), "example/lustre-tools"), cfg, clock);
  REQUIRE(src);

  SourceState state;
  auto out = src->poll(state);
  REQUIRE(out.ok());
  REQUIRE(keys(*out) == std::vector<std::string>{
                            "bug.created github:example/lustre-tools#12:2024-05-01T10:00:00Z",
                            "bug.resolved github:example/lustre-tools#12:2024-05-02T08:00:00Z",
                            "bug.created github:example/lustre-tools#13:2024-05-02T09:00:00Z"});
  CHECK(out->events[0].tags.at("type") == "issue");
  CHECK(out->events[2].tags.at("type") == "pull_request");
  CHECK(out->events[2].url == "https://github.com/example/lustre-tools/pull/13");
  CHECK(out->cursor == "2024-05-02T09:00:00Z 13");
  CHECK_FALSE(out->etag.empty());

  auto reqs = server.requests();
  REQUIRE(reqs.size() == 2);
  CHECK(reqs[0]["path"] == "/repos/example/lustre-tools/issues");
  CHECK(reqs[0]["query"] == json{{"state", "all"},
                                 {"sort", "updated"},
                                 {"direction", "asc"},
                                 {"per_page", "1"},
                                 {"since", "2024-05-01T00:00:00Z"}});
  CHECK(reqs[1]["query"]["page"] == "2");  // from the Link header

  SECTION("the boundary second is read again and dropped; unchanged pages answer 304") {
    state.cursor = out->cursor;
    state.etag = out->etag;
    auto again = src->poll(state);
    REQUIRE(again.ok());
    CHECK(again->events.empty());
    CHECK(again->unchanged);
    CHECK(again->cursor == out->cursor);
    CHECK(server.requests().back()["query"]["since"] == "2024-05-02T09:00:00Z");
    state.etag = again->etag;
    auto third = src->poll(state);
    REQUIRE(third.ok());
    CHECK(third->unchanged);
    CHECK(third->cursor == out->cursor);
    CHECK(server.requests().back()["status"] == 304);

    SECTION("a merged pull request is one new event") {
      auto list = own_list();
      list[1]["state"] = "closed";
      list[1]["updated_at"] = "2024-05-03T10:00:00Z";
      list[1]["closed_at"] = "2024-05-03T10:00:00Z";
      issues.write("list.json", list.dump());
      state.etag = third->etag;
      auto merged = src->poll(state);
      REQUIRE(merged.ok());
      const std::string resolved =
          "bug.resolved github:example/lustre-tools#13:2024-05-03T10:00:00Z";
      CHECK(keys(*merged) == std::vector<std::string>{resolved});
      CHECK(merged->cursor == "2024-05-03T10:00:00Z 13");
    }
  }
}

TEST_CASE("github_source: 429 fails the poll with Retry-After; the token is sent, never shown",
          "[github_source]") {
  test::TempDir issues;
  issues.write("list.json", own_list().dump());
  test::TrackerServer server(
      "--github", issues.path(),
      {"--fail-requests", "1", "--retry-after", "60", "--require-auth", "Bearer ghp_secret"});
  FakeClock clock(at("2024-05-04T00:00:00Z"));
  Config cfg;
  auto sc = github_config(server.url(), "example/lustre-tools");
  sc.auth_secret = "ghp_secret";
  auto src = make_source(sc, cfg, clock);
  auto out = src->poll(SourceState{});
  REQUIRE_FALSE(out.ok());
  CHECK(out.error().kind == ErrorKind::temporary);
  CHECK(out.error().message.find("HTTP 429") != std::string::npos);
  CHECK(out.error().retry_after_s == 60);
  CHECK(out.error().message.find("ghp_secret") == std::string::npos);
  auto retry = src->poll(SourceState{});
  REQUIRE(retry.ok());
  CHECK(retry->events.size() == 3);
  for (const auto& r : server.requests()) CHECK(r["authorization"] == true);

  sc.auth_secret = "ghp_wrong";
  auto refused = make_source(sc, cfg, clock)->poll(SourceState{});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::permanent);
  CHECK(refused.error().message.find("ghp_wrong") == std::string::npos);
}

TEST_CASE("github_source: a first poll that finds nothing is not unchanged; the next one is",
          "[github_source]") {
  test::TempDir issues;
  issues.write("list.json", own_list().dump());
  test::TrackerServer server("--github", issues.path(), {});
  FakeClock clock(at("2024-06-01T00:00:00Z"));  // every issue is older than the window
  Config cfg;
  auto src = make_source(github_config(server.url(), "example/lustre-tools"), cfg, clock);
  auto first = src->poll(SourceState{});
  REQUIRE(first.ok());
  CHECK(first->events.empty());
  CHECK(first->cursor == "2024-05-29T00:00:00Z");
  CHECK_FALSE(first->unchanged);  // the cursor went from nothing to the window start
  SourceState state;
  state.cursor = first->cursor;
  state.etag = first->etag;
  auto again = src->poll(state);
  REQUIRE(again.ok());
  CHECK(again->unchanged);
}

TEST_CASE("github_source: issues out of updated order each become events exactly once",
          "[github_source]") {
  test::TempDir issues;
  json list = own_list();
  std::swap(list[0], list[1]);  // #13 (updated 09:00) before #12 (updated 08:00)
  issues.write("list.json", list.dump());
  test::TrackerServer server("--github", issues.path(), {"--ignore-order"});
  FakeClock clock(at("2024-05-04T00:00:00Z"));
  Config cfg;
  auto sc = github_config(server.url(), "example/lustre-tools");
  sc.page_size = 50;
  auto src = make_source(sc, cfg, clock);
  auto out = src->poll(SourceState{});
  REQUIRE(out.ok());
  CHECK(keys(*out) == std::vector<std::string>{
                          "bug.created github:example/lustre-tools#13:2024-05-02T09:00:00Z",
                          "bug.created github:example/lustre-tools#12:2024-05-01T10:00:00Z",
                          "bug.resolved github:example/lustre-tools#12:2024-05-02T08:00:00Z"});
  CHECK(out->cursor == "2024-05-02T09:00:00Z 13");
  SourceState state;
  state.cursor = out->cursor;
  auto again = src->poll(state);
  REQUIRE(again.ok());
  CHECK(again->events.empty());
}

TEST_CASE("github_source: a page nested deeper than 64 levels fails the poll and says so",
          "[github_source]") {
  test::TempDir issues;
  json list = own_list();
  json deep = 1;
  for (int i = 0; i < 100; ++i) deep = json::array({deep});
  list[0]["body"] = deep;
  issues.write("list.json", list.dump());
  test::TrackerServer server("--github", issues.path(), {});
  FakeClock clock(at("2024-05-04T00:00:00Z"));
  Config cfg;
  auto out = make_source(github_config(server.url(), "example/lustre-tools"), cfg, clock)
                 ->poll(SourceState{});
  REQUIRE_FALSE(out.ok());
  CHECK(out.error().kind == ErrorKind::bad_input);
  CHECK(out.error().message == "github issues (page 1): JSON nests deeper than 64 levels");
}

TEST_CASE("github_source: an issue updated while paging makes the cursor stop before it",
          "[github_source]") {
  test::TempDir issues;
  auto list = own_list();
  json extra = list[0];
  extra["number"] = 14;
  extra["state"] = "open";
  extra["closed_at"] = nullptr;
  extra["created_at"] = "2024-05-02T10:00:00Z";
  extra["updated_at"] = "2024-05-02T10:00:00Z";
  list.push_back(extra);
  issues.write("list.json", list.dump());
  // After page 1 (#12) is served, #12 is updated: it moves to the end and page 2 holds #14.
  test::TrackerServer server("--github", issues.path(),
                             {"--mutate-after", "1:12:2024-05-03T12:00:00Z"});
  FakeClock clock(at("2024-05-04T00:00:00Z"));
  Config cfg;
  auto src = make_source(github_config(server.url(), "example/lustre-tools"), cfg, clock);
  auto first = src->poll(SourceState{});
  REQUIRE(first.ok());
  CHECK(first->cursor == "2024-05-02T08:00:00Z 12");  // #12 as first read
  SourceState state;
  state.cursor = first->cursor;
  auto second = src->poll(state);
  REQUIRE(second.ok());
  std::set<std::string> all;
  for (const auto* o : {&*first, &*second})
    for (const auto& k : keys(*o)) all.insert(k);
  CHECK(all.count("bug.created github:example/lustre-tools#13:2024-05-02T09:00:00Z") == 1);
  CHECK(all.count("bug.created github:example/lustre-tools#14:2024-05-02T10:00:00Z") == 1);
  CHECK(second->cursor == "2024-05-03T12:00:00Z 12");
}

TEST_CASE("github_source: the real GitHub issue fixtures yield their events", "[github_source]") {
  // issues_opened and issues_edited carry issue #1 of Codertocat/Hello-World, created and
  // last updated 2019-05-15T15:20:18Z: one bug.created. The release and security advisory
  // payloads are not issues: the issues API never returns them.
  test::TempDir issues;
  test::TrackerServer server("--github", issues.path(), {});
  FakeClock clock(at("2019-06-01T00:00:00Z"));
  Config cfg;
  auto sc = github_config(server.url(), "Codertocat/Hello-World");
  sc.max_age_ms = 30 * 86'400'000LL;
  for (const char* file : {"issues_opened.payload.json", "issues_edited.payload.json"}) {
    INFO(file);
    auto text = read_file(herald::test::fixtures_dir() + "/github/" + file);
    REQUIRE(text);
    issues.write("payload.json", *text);
    auto out = make_source(sc, cfg, clock)->poll(SourceState{});
    REQUIRE(out.ok());
    REQUIRE(keys(*out) == std::vector<std::string>{
                              "bug.created github:Codertocat/Hello-World#1:2019-05-15T15:20:18Z"});
    CHECK(out->events[0].tags.at("labels") == "bug");
    CHECK(out->warnings.empty());
  }
}
