// The Jira source against tests/tools/tracker_server.py, a real HTTP server
// speaking Jira's search protocol (paging, JQL minute cursor, 429), started as
// a child process; time comes from a FakeClock.
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

json own_json(const std::string& name) {
  auto text = read_file(herald::test::fixtures_dir() + "/tracker/" + name);
  REQUIRE(text);
  return json::parse(*text);
}

int64_t at(const char* text) { return *tracker::parse_jira_time(text); }

SourceConfig jira_config(const std::string& url) {
  SourceConfig sc;
  sc.name = "lu-jira";
  sc.kind = "jira";
  sc.base_url = url;
  sc.jql = "project = LU";
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

std::string everything(const PollOutcome& o) {
  json all = json::array();
  for (const auto& e : o.events) all.push_back(to_json(e));
  for (const auto& w : o.warnings) all.push_back(w);
  all.push_back(o.cursor);
  return all.dump();
}

bool has_warning(const PollOutcome& o, const std::string& text) {
  for (const auto& w : o.warnings)
    if (w.find(text) != std::string::npos) return true;
  return false;
}

// The LU issues of the v2 page fixture, the restricted LU-18999, and a BBCOM issue
// that the configured JQL (project = LU) leaves out.
void write_lu_issues(const test::TempDir& dir) {
  dir.write("page.json", own_json("jira_search_page_v2.json").dump());
  dir.write("restricted.json", own_json("jira_restricted_issue.json").dump());
  auto other =
      read_file(herald::test::fixtures_dir() + "/jira/mobitel_jira-api-requests_issue.json");
  REQUIRE(other);
  auto bbcom = json::parse(*other);
  bbcom["fields"]["updated"] = "2024-05-02T10:00:00.000+0000";
  dir.write("bbcom.json", bbcom.dump());
}

const std::vector<std::string> k_lu_window_events = {
    "bug.resolved jira:LU-18123:2024-05-02T09:36:15.507Z",
    "bug.created jira:LU-18140:2024-05-03T07:15:00Z",
    "bug.updated jira:LU-18140:2024-05-03T09:20:41.002Z",
};

}  // namespace

TEST_CASE(
    "jira_source: the first poll reads its window page by page and withholds restricted "
    "issues",
    "[jira_source]") {
  test::TempDir issues;
  write_lu_issues(issues);
  test::TrackerServer server("--jira", issues.path(), {"--tz", "+0300"});
  FakeClock clock(at("2024-05-04T00:00:00Z"));
  Config cfg;
  auto src = make_source(jira_config(server.url()), cfg, clock);
  REQUIRE(src);

  SourceState state;
  auto out = src->poll(state);
  REQUIRE(out.ok());
  CHECK(keys(*out) == k_lu_window_events);
  CHECK(out->announce == std::vector<bool>{true, true, true});
  CHECK(out->events[0].url == server.url() + "/browse/LU-18123");
  CHECK(out->events[0].tags.at("changes") == "status,resolution,fix_versions");
  CHECK(has_warning(*out, "1 issue(s) with a security level withheld"));
  CHECK(everything(*out).find("LU-18999") == std::string::npos);
  CHECK(everything(*out).find("crafted ping") == std::string::npos);
  // Jira wrote LU-18140's updated in the server's zone; the cursor keeps that text.
  CHECK(out->cursor == "2024-05-03T12:20:41.002+0300 LU-18140");

  auto reqs = server.requests();
  REQUIRE(reqs.size() == 3);  // one issue per page; later pages start one issue early
  for (const auto& r : reqs) {
    CHECK(r["path"] == "/rest/api/2/search");
    CHECK(r["status"] == 200);
    // No cursor: the window start (2024-05-01T00:00Z) less 12 h, since its zone is unknown.
    CHECK(r["query"]["jql"] ==
          "(project = LU) AND updated >= \"2024/04/30 12:00\" ORDER BY updated ASC, key ASC");
    CHECK(r["query"]["expand"] == "changelog");
    CHECK(split(r["query"]["fields"].get<std::string>(), ',').size() == 18);
    CHECK(r["query"]["fields"].get<std::string>().find("security") != std::string::npos);
    CHECK(r["authorization"] == false);
  }
  CHECK(reqs[0]["query"]["startAt"] == "0");
  CHECK(reqs[0]["query"]["maxResults"] == "1");
  CHECK(reqs[1]["query"]["startAt"] == "0");
  CHECK(reqs[1]["query"]["maxResults"] == "2");
  CHECK(reqs[2]["query"]["startAt"] == "1");

  SECTION("the next poll re-reads the boundary minute and drops what it saw") {
    state.cursor = out->cursor;
    auto again = src->poll(state);
    REQUIRE(again.ok());
    CHECK(again->events.empty());
    CHECK(again->unchanged);
    CHECK(again->cursor == out->cursor);
    auto last = server.requests().back();
    CHECK(last["query"]["jql"] ==
          "(project = LU) AND updated >= \"2024/05/03 12:20\" ORDER BY updated ASC, key ASC");

    SECTION("a later change of a seen issue is one new event") {
      auto page = own_json("jira_search_page_v2.json");
      json& lu = page["issues"][1];
      lu["fields"]["updated"] = "2024-05-03T10:00:00.000+0000";
      lu["fields"]["status"] = {{"id", "3"}, {"name", "In Progress"}};
      lu["changelog"]["histories"].push_back(
          {{"id", "410600"},
           {"created", "2024-05-03T10:00:00.000+0000"},
           {"items",
            {{{"field", "status"}, {"fromString", "Open"}, {"toString", "In Progress"}}}}});
      issues.write("page.json", page.dump());
      state.cursor = again->cursor;
      clock.advance(900);
      auto third = src->poll(state);
      REQUIRE(third.ok());
      REQUIRE(keys(*third) ==
              std::vector<std::string>{"bug.updated jira:LU-18140:2024-05-03T10:00:00Z"});
      CHECK(third->events[0].tags.at("changes").find("status") != std::string::npos);
      CHECK(third->cursor == "2024-05-03T13:00:00.000+0300 LU-18140");
    }
  }
}

TEST_CASE("jira_source: a first poll that finds nothing keeps its window start", "[jira_source]") {
  test::TempDir issues;
  write_lu_issues(issues);
  test::TrackerServer server("--jira", issues.path(), {});
  FakeClock clock(at("2024-06-01T00:00:00Z"));
  Config cfg;
  auto src = make_source(jira_config(server.url()), cfg, clock);
  auto out = src->poll(SourceState{});
  REQUIRE(out.ok());
  CHECK(out->events.empty());
  CHECK(out->cursor == "2024-05-29T00:00:00Z");
  CHECK_FALSE(out->unchanged);  // the cursor went from nothing to the window start
  SourceState state;
  state.cursor = out->cursor;
  clock.advance(3600);
  auto again = src->poll(state);
  REQUIRE(again.ok());
  CHECK(again->cursor == "2024-05-29T00:00:00Z");  // the window start does not slide
  CHECK(again->unchanged);
}

TEST_CASE("jira_source: a search page nested deeper than 64 levels fails the poll and says so",
          "[jira_source]") {
  test::TempDir issues;
  auto page = own_json("jira_search_page_v2.json");
  json deep = "x";
  for (int i = 0; i < 100; ++i) deep = json::array({deep});
  page["issues"][0]["fields"]["description"] = deep;
  issues.write("page.json", page.dump());
  test::TrackerServer server("--jira", issues.path(), {});
  FakeClock clock(at("2024-05-04T00:00:00Z"));
  Config cfg;
  auto out = make_source(jira_config(server.url()), cfg, clock)->poll(SourceState{});
  REQUIRE_FALSE(out.ok());
  CHECK(out.error().kind == ErrorKind::bad_input);
  CHECK(out.error().message ==
        "jira search (page 1): jira search page: JSON nests deeper than 64 levels");
}

TEST_CASE("jira_source: 429 on the first page fails the poll with the server's Retry-After",
          "[jira_source]") {
  test::TempDir issues;
  write_lu_issues(issues);
  test::TrackerServer server("--jira", issues.path(),
                             {"--fail-requests", "1", "--retry-after", "120"});
  FakeClock clock(at("2024-05-04T00:00:00Z"));
  Config cfg;
  auto sc = jira_config(server.url());
  sc.auth_secret = "tok-never-shown";
  auto src = make_source(sc, cfg, clock);
  auto out = src->poll(SourceState{});
  REQUIRE_FALSE(out.ok());
  CHECK(out.error().kind == ErrorKind::temporary);
  CHECK(out.error().message.find("HTTP 429") != std::string::npos);
  CHECK(out.error().retry_after_s == 120);
  CHECK(out.error().message.find("tok-never-shown") == std::string::npos);
  auto retry = src->poll(SourceState{});
  REQUIRE(retry.ok());
  CHECK(keys(*retry) == k_lu_window_events);
}

TEST_CASE("jira_source: a failure after the first page keeps what was read for the next poll",
          "[jira_source]") {
  test::TempDir issues;
  write_lu_issues(issues);
  test::TrackerServer server("--jira", issues.path(),
                             {"--fail-requests", "2", "--fail-status", "503"});
  FakeClock clock(at("2024-05-04T00:00:00Z"));
  Config cfg;
  auto src = make_source(jira_config(server.url()), cfg, clock);
  auto first = src->poll(SourceState{});
  REQUIRE(first.ok());
  CHECK(keys(*first) == std::vector<std::string>{k_lu_window_events[0]});
  CHECK(has_warning(*first, "HTTP 503"));
  CHECK(first->cursor == "2024-05-02T09:36:15.507+0000 LU-18123");
  SourceState state;
  state.cursor = first->cursor;
  auto second = src->poll(state);
  REQUIRE(second.ok());
  CHECK(keys(*second) == std::vector<std::string>{k_lu_window_events[1], k_lu_window_events[2]});
}

TEST_CASE("jira_source: an issue updated while paging does not make another slip past",
          "[jira_source]") {
  test::TempDir issues;
  auto page = own_json("jira_search_page_v2.json");
  json extra = page["issues"][1];
  extra["key"] = "LU-18141";
  extra["fields"]["created"] = "2024-05-03T09:30:00.000+0000";
  extra["fields"]["updated"] = "2024-05-03T09:30:00.000+0000";
  extra["changelog"]["histories"] = json::array();
  page["issues"].push_back(extra);
  issues.write("page.json", page.dump());
  // After the first page (LU-18123) is served, LU-18123 is updated: it moves to the end,
  // and offset 1 now holds LU-18141, not LU-18140.
  test::TrackerServer server("--jira", issues.path(),
                             {"--mutate-after", "1:LU-18123:2024-05-03T11:00:00.000+0000"});
  FakeClock clock(at("2024-05-04T00:00:00Z"));
  Config cfg;
  auto src = make_source(jira_config(server.url()), cfg, clock);
  auto out = src->poll(SourceState{});
  REQUIRE(out.ok());
  auto got = keys(*out);
  std::set<std::string> set(got.begin(), got.end());
  CHECK(set.size() == got.size());
  CHECK(set.count("bug.updated jira:LU-18140:2024-05-03T09:20:41.002Z") == 1);
  CHECK(set.count("bug.created jira:LU-18141:2024-05-03T09:30:00Z") == 1);
  CHECK(set.count("bug.resolved jira:LU-18123:2024-05-02T09:36:15.507Z") == 1);
  CHECK(out->cursor == "2024-05-03T11:00:00.000+0000 LU-18123");
  // The search started again from the newest issue read (LU-18123 at 09:36Z).
  bool restarted = false;
  for (const auto& r : server.requests())
    restarted = restarted ||
                r["query"]["jql"].get<std::string>().find("2024/05/02 09:36") != std::string::npos;
  INFO(json(server.requests()).dump());
  CHECK(restarted);
}

namespace {

// Eleven issues made from the v2 page's LU-18140 (LU-18200 ... LU-18210), each created when it
// was last updated, written in an order that is not the order of `updated`; the last two share
// the newest minute.
json unordered_issues() {
  static const std::vector<std::pair<const char*, const char*>> k_issues = {
      {"LU-18200", "2024-05-03T20:15:30.000+0000"}, {"LU-18201", "2024-05-02T08:00:00.000+0000"},
      {"LU-18202", "2024-05-03T11:45:00.000+0000"}, {"LU-18203", "2024-05-01T06:30:00.000+0000"},
      {"LU-18204", "2024-05-03T20:15:05.000+0000"}, {"LU-18205", "2024-05-02T23:59:59.000+0000"},
      {"LU-18206", "2024-05-01T12:00:00.000+0000"}, {"LU-18207", "2024-05-03T02:10:00.000+0000"},
      {"LU-18208", "2024-05-02T14:20:00.000+0000"}, {"LU-18209", "2024-05-01T18:40:00.000+0000"},
      {"LU-18210", "2024-05-03T17:05:00.000+0000"},
  };
  const json base = own_json("jira_search_page_v2.json")["issues"][1];
  json page = {{"startAt", 0}, {"maxResults", 50}, {"total", k_issues.size()}};
  for (const auto& [key, when] : k_issues) {
    json issue = base;
    issue["key"] = key;
    issue["id"] = std::string(key).substr(3);
    issue["fields"]["created"] = when;
    issue["fields"]["updated"] = when;
    issue["fields"].erase("comment");
    issue["changelog"]["histories"] = json::array();
    page["issues"].push_back(issue);
  }
  return page;
}

// The issue keys the events of a poll name, each once per event.
std::multiset<std::string> issue_keys(const PollOutcome& o) {
  std::multiset<std::string> out;
  for (const auto& e : o.events) out.insert(e.key.substr(5, 8));
  return out;
}

}  // namespace

TEST_CASE("jira_source: issues out of updated order each become an event exactly once",
          "[jira_source]") {
  test::TempDir issues;
  issues.write("page.json", unordered_issues().dump());
  // A server that ignores ORDER BY: the issues come in the order of the file.
  test::TrackerServer server("--jira", issues.path(), {"--ignore-order"});
  FakeClock clock(at("2024-05-04T00:00:00Z"));
  Config cfg;
  auto sc = jira_config(server.url());
  const int64_t page_size = GENERATE(50, 4);
  sc.page_size = page_size;
  INFO("page size " << page_size);
  auto src = make_source(sc, cfg, clock);

  auto first = src->poll(SourceState{});
  REQUIRE(first.ok());
  std::multiset<std::string> all;
  for (int i = 0; i <= 10; ++i)
    all.insert("LU-182" + std::string(i < 10 ? "0" : "") + std::to_string(i));
  CHECK(issue_keys(*first) == all);
  CHECK(first->events.size() == 11);
  CHECK_FALSE(first->unchanged);
  CHECK(first->cursor == "2024-05-03T20:15:30.000+0000 LU-18200");

  // The boundary minute (20:15) is read again; nothing in it or before is new.
  SourceState state;
  state.cursor = first->cursor;
  auto second = src->poll(state);
  REQUIRE(second.ok());
  CHECK(second->events.empty());
  CHECK(second->unchanged);
  CHECK(second->cursor == first->cursor);
  CHECK(server.requests().back()["query"]["jql"] ==
        "(project = LU) AND updated >= \"2024/05/03 20:15\" ORDER BY updated ASC, key ASC");

  // The oldest issue changes within the boundary minute, after the cursor: one event, for it.
  json page = unordered_issues();
  page["issues"][3]["fields"]["updated"] = "2024-05-03T20:15:45.000+0000";
  page["issues"][3]["changelog"]["histories"].push_back(
      {{"id", "900"},
       {"created", "2024-05-03T20:15:45.000+0000"},
       {"items", {{{"field", "priority"}, {"fromString", "Minor"}, {"toString", "Major"}}}}});
  issues.write("page.json", page.dump());
  state.cursor = second->cursor;
  auto third = src->poll(state);
  REQUIRE(third.ok());
  CHECK(keys(*third) == std::vector<std::string>{"bug.updated jira:LU-18203:2024-05-03T20:15:45Z"});
  CHECK(third->cursor == "2024-05-03T20:15:45.000+0000 LU-18203");
}

TEST_CASE("jira_source: an unordered search cut short leaves the cursor where it was",
          "[jira_source]") {
  test::TempDir issues;
  issues.write("page.json", unordered_issues().dump());
  test::TrackerServer server("--jira", issues.path(),
                             {"--ignore-order", "--fail-requests", "2", "--fail-status", "503"});
  FakeClock clock(at("2024-05-04T00:00:00Z"));
  Config cfg;
  auto sc = jira_config(server.url());
  sc.page_size = 4;
  auto src = make_source(sc, cfg, clock);
  auto first = src->poll(SourceState{});
  REQUIRE(first.ok());
  CHECK(issue_keys(*first) ==
        std::multiset<std::string>{"LU-18200", "LU-18201", "LU-18202", "LU-18203"});
  CHECK(has_warning(*first, "HTTP 503"));
  CHECK(has_warning(*first,
                    "the search answered out of updated order and was not read to the "
                    "end; the next poll reads this window again"));
  CHECK(first->cursor == "2024-05-01T00:00:00Z");  // the window start, as before the poll
  SourceState state;
  state.cursor = first->cursor;
  auto second = src->poll(state);
  REQUIRE(second.ok());
  auto got = issue_keys(*second);
  CHECK(got.size() == 11);
  CHECK(std::set<std::string>(got.begin(), got.end()).size() == 11);
  CHECK(second->cursor == "2024-05-03T20:15:30.000+0000 LU-18200");
}

TEST_CASE("jira_source: Jira Cloud search pages with nextPageToken", "[jira_source]") {
  test::TempDir issues;
  write_lu_issues(issues);
  test::TrackerServer server("--jira", issues.path(), {"--tz", "-0500"});
  FakeClock clock(at("2024-05-04T00:00:00Z"));
  Config cfg;
  auto sc = jira_config(server.url());
  sc.api = "v3";
  auto src = make_source(sc, cfg, clock);
  auto out = src->poll(SourceState{});
  REQUIRE(out.ok());
  CHECK(keys(*out) == k_lu_window_events);
  CHECK(out->cursor == "2024-05-03T04:20:41.002-0500 LU-18140");
  auto reqs = server.requests();
  INFO(json(reqs).dump());
  REQUIRE(reqs.size() == 3);
  CHECK(reqs[0]["path"] == "/rest/api/3/search/jql");
  CHECK_FALSE(reqs[0]["query"].contains("nextPageToken"));
  CHECK(reqs[1]["query"].contains("nextPageToken"));
  CHECK(reqs[2]["query"]["nextPageToken"] != reqs[1]["query"]["nextPageToken"]);
  SourceState state;
  state.cursor = out->cursor;
  auto again = src->poll(state);
  REQUIRE(again.ok());
  CHECK(again->events.empty());
  CHECK(server.requests().back()["query"]["jql"].get<std::string>().find(
            "updated >= \"2024/05/03 04:20\"") != std::string::npos);
}

TEST_CASE("jira_source: basic and token auth, and a refused secret stays out of the error",
          "[jira_source]") {
  test::TempDir issues;
  write_lu_issues(issues);
  FakeClock clock(at("2024-05-04T00:00:00Z"));
  Config cfg;
  SECTION("user and password as basic auth") {
    test::TrackerServer server("--jira", issues.path(),
                               {"--require-auth", "Basic " + base64_encode("herald:pa55-word")});
    auto sc = jira_config(server.url());
    sc.auth_user = "herald";
    sc.auth_secret = "pa55-word";
    auto out = make_source(sc, cfg, clock)->poll(SourceState{});
    REQUIRE(out.ok());
    CHECK(out->events.size() == 3);
  }
  SECTION("a token alone as a bearer token") {
    test::TrackerServer server("--jira", issues.path(), {"--require-auth", "Bearer pat-123"});
    auto sc = jira_config(server.url());
    sc.auth_secret = "pat-123";
    auto out = make_source(sc, cfg, clock)->poll(SourceState{});
    REQUIRE(out.ok());
    CHECK(out->events.size() == 3);

    sc.auth_secret = "pat-wrong-secret";
    auto refused = make_source(sc, cfg, clock)->poll(SourceState{});
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().kind == ErrorKind::permanent);
    CHECK(refused.error().message.find("HTTP 401") != std::string::npos);
    CHECK(refused.error().message.find("pat-wrong-secret") == std::string::npos);
  }
}

TEST_CASE("jira_source: one poll reads at most 100 pages, the rest comes next poll",
          "[jira_source]") {
  test::TempDir issues;
  json page = {{"issues", json::array()}};
  for (int i = 0; i < 105; ++i) {
    char when[40];
    snprintf(when, sizeof when, "2024-05-02T%02d:%02d:00.000+0000", 10 + i / 60, i % 60);
    page["issues"].push_back({{"key", "LU-" + std::to_string(20000 + i)},
                              {"fields",
                               {{"summary", "issue " + std::to_string(i)},
                                {"security", nullptr},
                                {"created", when},
                                {"updated", when}}}});
  }
  issues.write("many.json", page.dump());
  test::TrackerServer server("--jira", issues.path(), {});
  FakeClock clock(at("2024-05-04T00:00:00Z"));
  Config cfg;
  auto src = make_source(jira_config(server.url()), cfg, clock);
  auto first = src->poll(SourceState{});
  REQUIRE(first.ok());
  CHECK(server.requests().size() == 100);
  CHECK(first->events.size() == 100);
  CHECK(has_warning(*first, "stopped after 100 pages"));
  CHECK(first->cursor == "2024-05-02T11:39:00.000+0000 LU-20099");
  SourceState state;
  state.cursor = first->cursor;
  auto second = src->poll(state);
  REQUIRE(second.ok());
  REQUIRE(second->events.size() == 5);
  CHECK(second->events.front().key == "jira:LU-20100:2024-05-02T11:40:00Z");
  CHECK(second->events.back().key == "jira:LU-20104:2024-05-02T11:44:00Z");
}

TEST_CASE("jira_source: every real Jira issue fixture yields its events through the search",
          "[jira_source]") {
  // Expected from each file's own dates, read by hand: bug.created at "created" when
  // it is later than the window start, then bug.updated (bug.resolved when a resolution
  // was set in the window) at "updated" when that is later than "created".
  struct Case {
    const char* file;
    std::vector<std::string> events;
  };
  const Case cases[] = {
      {"mobitel_jira-api-requests_issue.json",
       {"bug.created jira:BBCOM-1398:2018-12-05T11:32:11.571Z",
        "bug.updated jira:BBCOM-1398:2018-12-19T09:36:15.507Z"}},
      {"mobitel_jira-api-requests_issue-rendered.json",
       {"bug.created jira:INDEV-6:2018-12-05T11:32:11.571Z",
        "bug.updated jira:INDEV-6:2018-12-19T14:44:56.712Z"}},
      {"mobitel_webhooks_issue_created.json",
       {"bug.created jira:BBCOM-1398:2018-01-11T10:08:03.317Z"}},
      {"mobitel_webhooks_issue_updated_generic.json",
       {"bug.created jira:BBCOM-1233:2017-11-22T07:44:34.763Z",
        "bug.resolved jira:BBCOM-1233:2017-12-25T13:33:21.208Z"}},
      {"mobitel_webhooks_issue_updated_issue-assigned.json",
       {"bug.created jira:INDEV-242:2019-06-13T09:51:49.131Z",
        "bug.updated jira:INDEV-242:2019-06-13T09:51:58.248Z"}},
      {"mobitel_webhooks_issue_updated_move-issue.json",
       {"bug.created jira:INDEV-130:2018-12-24T12:24:27.105Z",
        "bug.updated jira:INDEV-130:2019-02-27T10:30:21.153Z"}},
  };
  // mobitel_webhooks_comment_created.json carries no issue object: nothing to search.
  test::TempDir issues;
  test::TrackerServer server("--jira", issues.path(), {"--tz", "+0300"});
  FakeClock clock(at("2020-01-01T00:00:00Z"));
  Config cfg;
  auto sc = jira_config(server.url());
  sc.jql = "";
  sc.page_size = 50;
  sc.max_age_ms = 3 * 365 * 86'400'000LL;  // the window starts 2017-01-01
  for (const auto& c : cases) {
    INFO(c.file);
    auto text = read_file(herald::test::fixtures_dir() + "/jira/" + c.file);
    REQUIRE(text);
    issues.write("issue.json", *text);
    auto out = make_source(sc, cfg, clock)->poll(SourceState{});
    REQUIRE(out.ok());
    CHECK(keys(*out) == c.events);
    CHECK(out->warnings.empty());
  }
}
