#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "adapters/sources/tracker/tracker_events.hpp"
#include "daemon/event.hpp"
#include "daemon/util.hpp"
#include "tests/support/paths.hpp"

using namespace herald;
using namespace herald::tracker;
using nlohmann::json;

namespace {

const std::string k_jira_base = "https://jira.test-example.ru/jira";

std::string fixture(const std::string& path) {
  auto text = read_file(herald::test::fixtures_dir() + "/" + path);
  REQUIRE(text);
  return *text;
}

std::string own(const std::string& name) {
  auto text = read_file(herald::test::fixtures_dir() + "/tracker/" + name);
  REQUIRE(text);
  return *text;
}

json own_json(const std::string& name) { return json::parse(own(name)); }

// Everything a result could leak: every event field and every warning.
std::string everything(const Derived& d) {
  json all = json::array();
  for (const auto& e : d.events) all.push_back(to_json(e));
  for (const auto& w : d.warnings) all.push_back(w);
  return all.dump();
}

const Event& only_event(const Derived& d) {
  REQUIRE(d.events.size() == 1);
  return d.events.front();
}

std::vector<std::string> change_fields(const Event& e) {
  std::vector<std::string> out;
  for (const auto& c : e.attributes.at("changes")) out.push_back(c.at("field").get<std::string>());
  return out;
}

bool has_warning(const Derived& d, const std::string& text) {
  for (const auto& w : d.warnings)
    if (w.find(text) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("tracker_events: Jira and ISO 8601 times to Unix seconds", "[tracker_events]") {
  struct Case {
    const char* text;
    std::optional<int64_t> seconds;
  };
  const Case cases[] = {
      {"2018-12-19T12:36:15.507+0300", 1545212175},
      {"2018-12-19T12:36:15.507+03:00", 1545212175},
      {"2018-12-19T09:36:15.507Z", 1545212175},
      {"2019-05-15T15:20:18Z", 1557933618},
      {"2020-05-13T09:08:15.033Z", 1589360895},
      {"2020-06-05 08:09:16 UTC", 1591344556},
      {"2020-06-05 12:07:36 +0300", 1591348056},
      {"2024-02-29T00:00:00-0130", 1709170200},
      {"2024-02-29T00:00:00-01:30", 1709170200},
      {"2024-06-01", 1717200000},
      {"  2019-05-15T15:20:18Z  ", 1557933618},
      {"1969-12-31T23:59:59.500Z", -1},
      {"", std::nullopt},
      {"2018-12-19T12:36:15", std::nullopt},  // no zone
      {"2018-13-01T00:00:00Z", std::nullopt},
      {"2023-02-29T00:00:00Z", std::nullopt},
      {"2018-12-19T25:00:00Z", std::nullopt},
      {"2018-12-19T12:61:00Z", std::nullopt},
      {"2018-12-19T12:36:15.+0300", std::nullopt},
      {"2018-12-19T12:36:15.507+0300 x", std::nullopt},
      {"2018-12-19T12:36:15.507+2500", std::nullopt},
      {"2018/12/19 12:36:15 UTC", std::nullopt},
      {"2018-1-11 13:08:04,225", std::nullopt},
      {"6/13/2019, 12:51:58 PM,687", std::nullopt},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    CHECK(parse_jira_time(c.text) == c.seconds);
  }
  CHECK(parse_jira_time_ms("2018-12-19T12:36:15.507+0300") == int64_t{1545212175507});
  CHECK(parse_jira_time_ms("2018-12-19T12:36:15.5+0300") == int64_t{1545212175500});
  CHECK(parse_jira_time_ms("2018-12-19T09:36:15.123456Z") == int64_t{1545212175123});
  CHECK(canonical_time(1545212175507) == "2018-12-19T09:36:15.507Z");
  CHECK(canonical_time(1557933618000) == "2019-05-15T15:20:18Z");
}

TEST_CASE("tracker_events: Jira priorities map to severities", "[tracker_events]") {
  CHECK(severity_from_priority("Blocker") == "critical");
  CHECK(severity_from_priority("Critical") == "high");
  CHECK(severity_from_priority("Major") == "medium");
  CHECK(severity_from_priority("Minor") == "low");
  CHECK(severity_from_priority("Trivial") == "info");
  CHECK(severity_from_priority("Highest") == "critical");
  CHECK(severity_from_priority("medium") == "medium");
  CHECK(severity_from_priority("Lowest") == "info");
  CHECK(severity_from_priority("") == "info");
  CHECK(severity_from_priority("Whenever") == "info");
}

TEST_CASE("tracker_events: Jira issue_created webhook gives bug.created", "[tracker_events]") {
  auto body = fixture("jira/mobitel_webhooks_issue_created.json");
  auto r = events_from_jira_webhook(body, "lu-jira", k_jira_base);
  REQUIRE(r.ok());
  const Event& e = only_event(*r);
  CHECK(e.kind == "bug.created");
  CHECK(e.key == "jira:BBCOM-1398:2018-01-11T10:08:03.317Z");
  CHECK(e.source == "lu-jira");
  CHECK(e.time == *parse_jira_time("2018-01-11T13:08:03.317+0300"));
  CHECK(e.title == "BBCOM-1398: Prueba de creación de tareas en un proyecto público");
  CHECK(e.url == "https://jira.test-example.ru/jira/browse/BBCOM-1398");
  CHECK(e.severity == "medium");
  CHECK(e.tags.at("project") == "BBCOM");
  CHECK(e.tags.at("priority") == "Medium");
  CHECK(e.tags.at("type") == "Task");
  CHECK(e.tags.at("status") == "Open");
  CHECK(e.tags.count("component") == 0);  // components: []
  CHECK(e.tags.count("changes") == 0);
  CHECK(e.attributes.at("webhook_event") == "jira:issue_created");
  CHECK(e.attributes.at("actor") == "jira_test");
  CHECK(r->restricted == 0);

  SECTION("without a base URL the browse URL comes from the issue's self") {
    auto r2 = events_from_jira_webhook(body, "lu-jira", "");
    REQUIRE(r2.ok());
    CHECK(only_event(*r2).url == "https://jira.test-example.ru/jira/browse/BBCOM-1398");
  }
  SECTION("the same body gives the same key") {
    auto again = events_from_jira_webhook(body, "lu-jira", k_jira_base);
    REQUIRE(again.ok());
    CHECK(only_event(*again).key == e.key);
  }
}

TEST_CASE("tracker_events: Jira issue_updated webhooks list the significant changes",
          "[tracker_events]") {
  SECTION("generic update: status change, description is noise, key change") {
    auto r = events_from_jira_webhook(fixture("jira/mobitel_webhooks_issue_updated_generic.json"),
                                      "lu-jira", k_jira_base);
    REQUIRE(r.ok());
    const Event& e = only_event(*r);
    CHECK(e.kind == "bug.updated");  // "Paused" is not a resolution
    CHECK(e.key == "jira:BBCOM-1233:2017-12-25T13:33:21.208Z");
    CHECK(e.time == 1514208801);
    CHECK(e.title == "BBCOM-1233: POupok");
    CHECK(e.severity == "critical");  // Highest
    CHECK(e.tags.at("type") == "Epic");
    CHECK(e.tags.at("changes") == "status,key");
    CHECK(change_fields(e) == std::vector<std::string>{"status", "key"});
    const auto& status = e.attributes.at("changes").at(0);
    CHECK(status.at("from") == "In progress");
    CHECK(status.at("to") == "Paused");
    CHECK(e.attributes.at("changes").at(1).at("from") == "RN-83");
    CHECK(e.attributes.at("resolution") == "Incomplete");
    CHECK(e.summary.find("status: In progress -> Paused") != std::string::npos);
  }
  SECTION("assignment") {
    auto r = events_from_jira_webhook(
        fixture("jira/mobitel_webhooks_issue_updated_issue-assigned.json"), "lu-jira", "");
    REQUIRE(r.ok());
    const Event& e = only_event(*r);
    CHECK(e.kind == "bug.updated");
    CHECK(e.key == "jira:INDEV-242:2019-06-13T09:51:58.248Z");
    CHECK(e.title == "INDEV-242: Тестовая задача");
    CHECK(e.url == "https://jira.test-example.ru/browse/INDEV-242");
    CHECK(e.tags.at("changes") == "assignee");
    CHECK(e.tags.at("status") == "To Do");
    CHECK(e.tags.at("type") == "Story");
    CHECK(e.attributes.at("changes").at(0).at("from") == "");
    CHECK(e.attributes.at("changes").at(0).at("to") == "Иванов Иван Иванович");
    CHECK(e.attributes.at("issue_event_type") == "issue_assigned");
  }
  SECTION("move to another project: type, project, status and key; Workflow is noise") {
    auto r = events_from_jira_webhook(
        fixture("jira/mobitel_webhooks_issue_updated_move-issue.json"), "lu-jira", "");
    REQUIRE(r.ok());
    const Event& e = only_event(*r);
    CHECK(e.kind == "bug.updated");
    CHECK(e.key == "jira:INDEV-130:2019-02-27T10:30:21.153Z");
    CHECK(e.title == "INDEV-130: test Task 2");
    CHECK(e.tags.at("changes") == "type,project,status,key");
    CHECK(e.tags.at("project") == "INDEV");
    CHECK(e.attributes.at("assignee") == "");
  }
  SECTION("the same instant written in another offset gives the same key") {
    auto j = json::parse(fixture("jira/mobitel_webhooks_issue_updated_generic.json"));
    j["issue"]["fields"]["updated"] = "2017-12-25T13:33:21.208+0000";
    auto r = events_from_jira_webhook(j.dump(), "lu-jira", "");
    REQUIRE(r.ok());
    CHECK(only_event(*r).key == "jira:BBCOM-1233:2017-12-25T13:33:21.208Z");
  }
}

TEST_CASE("tracker_events: Jira webhook resolution, noise and comments", "[tracker_events]") {
  auto j = json::parse(fixture("jira/mobitel_webhooks_issue_updated_issue-assigned.json"));

  SECTION("status to Resolved with a resolution gives bug.resolved") {
    j["changelog"]["items"] =
        json::array({{{"field", "status"}, {"fromString", "In Progress"}, {"toString", "Resolved"}},
                     {{"field", "resolution"}, {"fromString", nullptr}, {"toString", "Fixed"}}});
    auto r = events_from_jira_webhook(j.dump(), "s", "");
    REQUIRE(r.ok());
    CHECK(only_event(*r).kind == "bug.resolved");
    CHECK(only_event(*r).tags.at("changes") == "status,resolution");
  }
  SECTION("Resolved to Closed is an update, not a second resolution") {
    j["changelog"]["items"] =
        json::array({{{"field", "status"}, {"fromString", "Resolved"}, {"toString", "Closed"}}});
    auto r = events_from_jira_webhook(j.dump(), "s", "");
    REQUIRE(r.ok());
    CHECK(only_event(*r).kind == "bug.updated");
  }
  SECTION("only noise fields: no event, counted") {
    j["changelog"]["items"] =
        json::array({{{"field", "Rank"}, {"fromString", ""}, {"toString", "Ranked higher"}},
                     {{"field", "timeestimate"}, {"fromString", "0"}, {"toString", "3600"}},
                     {{"field", "description"}, {"fromString", "a"}, {"toString", "b"}}});
    auto r = events_from_jira_webhook(j.dump(), "s", "");
    REQUIRE(r.ok());
    CHECK(r->events.empty());
    CHECK(r->noise == 1);
  }
  SECTION("an added comment counts, a comment restricted to a role does not") {
    j["changelog"]["items"] = json::array();
    j["issue_event_type_name"] = "issue_commented";
    j["comment"] = {
        {"id", "1"}, {"body", "patch landed"}, {"author", {{"displayName", "Peter Jones"}}}};
    auto r = events_from_jira_webhook(j.dump(), "s", "");
    REQUIRE(r.ok());
    CHECK(only_event(*r).tags.at("changes") == "comment");
    CHECK(only_event(*r).summary == "comment by Peter Jones");

    j["comment"]["visibility"] = {{"type", "role"}, {"value", "Developers"}};
    auto hidden = events_from_jira_webhook(j.dump(), "s", "");
    REQUIRE(hidden.ok());
    CHECK(hidden->events.empty());
    CHECK(hidden->noise == 1);
  }
  SECTION("a numeric webhook timestamp stands in for a missing updated field") {
    j["issue"]["fields"].erase("updated");
    j["timestamp"] = 1560419518248;
    auto r = events_from_jira_webhook(j.dump(), "s", "");
    REQUIRE(r.ok());
    CHECK(only_event(*r).key == "jira:INDEV-242:2019-06-13T09:51:58.248Z");
  }
  SECTION("CR and LF in the summary never reach the title") {
    j["issue"]["fields"]["summary"] = "crash\r\nBcc: victim@example.org\ttab";
    auto r = events_from_jira_webhook(j.dump(), "s", "");
    REQUIRE(r.ok());
    CHECK(only_event(*r).title == "INDEV-242: crash Bcc: victim@example.org tab");
  }
}

TEST_CASE("tracker_events: Jira comment_created without the issue's security field is ignored",
          "[tracker_events]") {
  auto body = fixture("jira/mobitel_webhooks_comment_created.json");
  auto r = events_from_jira_webhook(body, "lu-jira", "");
  REQUIRE(r.ok());
  CHECK(r->events.empty());
  CHECK(has_warning(*r, "ignored comment_created"));

  SECTION("with a full public issue it is a comment update") {
    auto j = json::parse(body);
    auto issue = json::parse(fixture("jira/mobitel_jira-api-requests_issue.json"));
    j["issue"] = issue;  // fields.security is null there
    auto r2 = events_from_jira_webhook(j.dump(), "lu-jira", "");
    REQUIRE(r2.ok());
    const Event& e = only_event(*r2);
    CHECK(e.kind == "bug.updated");
    CHECK(e.key == "jira:BBCOM-1398:2018-12-19T09:36:15.507Z");
    CHECK(e.tags.at("changes") == "comment");
    CHECK(e.attributes.at("changes").at(0).at("to") == "ii_ivanov");
  }
}

TEST_CASE("tracker_events: Jira REST issues without changelog", "[tracker_events]") {
  auto issue = json::parse(fixture("jira/mobitel_jira-api-requests_issue.json"));
  SECTION("no cursor: creation, then the update with its comments") {
    auto r = events_from_jira_issue(issue, "lu-jira", k_jira_base);
    REQUIRE(r.ok());
    REQUIRE(r->events.size() == 2);
    const Event& created = r->events[0];
    CHECK(created.kind == "bug.created");
    CHECK(created.key == "jira:BBCOM-1398:2018-12-05T11:32:11.571Z");
    CHECK(created.title == "BBCOM-1398: Prueba de creación de tareas en un proyecto público");
    CHECK(created.summary == "Prueba de creación de tareas en un proyecto público");
    const Event& updated = r->events[1];
    CHECK(updated.kind == "bug.updated");
    CHECK(updated.key == "jira:BBCOM-1398:2018-12-19T09:36:15.507Z");
    CHECK(change_fields(updated) == std::vector<std::string>{"comment", "comment", "comment"});
    CHECK(updated.attributes.at("changes_known") == false);
    CHECK(updated.tags.at("status") == "К выполнению");
    CHECK(updated.tags.at("type") == "Tarea");
    CHECK(updated.severity == "critical");
    CHECK(updated.attributes.at("reporter") == "Иванов Иван Иванович");
    CHECK(updated.attributes.at("assignee") == "Сидоров Егор Ильич");
  }
  SECTION("a cursor after the creation: only the update") {
    auto r = events_from_jira_issue(issue, "lu-jira", k_jira_base, 1544400000);
    REQUIRE(r.ok());
    CHECK(only_event(*r).kind == "bug.updated");
  }
  SECTION("a cursor after the last update: nothing") {
    auto r = events_from_jira_issue(issue, "lu-jira", k_jira_base, 1545264000);
    REQUIRE(r.ok());
    CHECK(r->events.empty());
  }
  SECTION("the rendered variant") {
    auto rendered = json::parse(fixture("jira/mobitel_jira-api-requests_issue-rendered.json"));
    auto r = events_from_jira_issue(rendered, "lu-jira", "", 1544400000);
    REQUIRE(r.ok());
    const Event& e = only_event(*r);
    CHECK(e.key == "jira:INDEV-6:2018-12-19T14:44:56.712Z");
    CHECK(e.url == "https://jira.test-example.ru/browse/INDEV-6");
    CHECK(e.tags.at("project") == "INDEV");
  }
}

TEST_CASE("tracker_events: a Jira search page with changelogs", "[tracker_events]") {
  auto page = parse_jira_search_page(own("jira_search_page_v2.json"));
  REQUIRE(page.ok());
  CHECK(page->start_at == 0);
  CHECK(page->max_results == 50);
  CHECK(page->total == 2);
  CHECK(page->is_last);
  REQUIRE(page->issues.size() == 2);

  SECTION("since 2024-05-01: LU-18123 resolved, LU-18140 created then reprioritised") {
    Derived d = events_from_jira_page(*page, "lu-jira", "https://jira.whamcloud.com", 1714521600);
    CHECK(d.warnings.empty());
    REQUIRE(d.events.size() == 3);

    const Event& resolved = d.events[0];
    CHECK(resolved.kind == "bug.resolved");
    CHECK(resolved.key == "jira:LU-18123:2024-05-02T09:36:15.507Z");
    CHECK(resolved.title == "LU-18123: ldlm: lock cancel races with client eviction");
    CHECK(resolved.url == "https://jira.whamcloud.com/browse/LU-18123");
    CHECK(resolved.severity == "high");
    CHECK(resolved.tags.at("project") == "LU");
    CHECK(resolved.tags.at("component") == "ldlm");
    CHECK(resolved.tags.at("priority") == "Critical");
    CHECK(resolved.tags.at("type") == "Bug");
    CHECK(resolved.tags.at("fix_versions") == "Lustre 2.16.0");
    CHECK(resolved.tags.at("status") == "Resolved");
    CHECK(resolved.tags.at("changes") == "status,resolution,fix_versions");  // Rank dropped
    CHECK(resolved.attributes.at("resolution") == "Fixed");
    CHECK(resolved.attributes.at("assignee") == "Oleg Drokin");
    CHECK(resolved.attributes.at("changes").at(2).at("to") == "Lustre 2.16.0");

    const Event& created = d.events[1];
    CHECK(created.kind == "bug.created");
    CHECK(created.key == "jira:LU-18140:2024-05-03T07:15:00Z");
    CHECK(created.summary == "Crash on client during IOR.");
    CHECK(created.tags.at("component") == "llite,clio");
    CHECK(created.tags.at("labels") == "crash,ior");
    CHECK(created.severity == "critical");

    const Event& updated = d.events[2];
    CHECK(updated.kind == "bug.updated");
    CHECK(updated.key == "jira:LU-18140:2024-05-03T09:20:41.002Z");
    CHECK(updated.tags.at("changes") == "priority,comment");  // the role-only comment is not
    CHECK(updated.attributes.at("changes").at(0).at("from") == "Major");
    CHECK(updated.attributes.at("changes").at(1).at("to") == "Peter Jones");
    CHECK(everything(d).find("customer site") == std::string::npos);
  }
  SECTION("without a cursor the older history counts too") {
    Derived d = events_from_jira_page(*page, "lu-jira", "https://jira.whamcloud.com");
    REQUIRE(d.events.size() == 4);
    CHECK(d.events[0].kind == "bug.created");
    CHECK(d.events[0].key == "jira:LU-18123:2024-04-10T08:00:00Z");
    CHECK(d.events[1].tags.at("changes") == "assignee,status,resolution,fix_versions");
  }
  SECTION("a window where only noise changed gives no event") {
    page->issues[0]["changelog"]["histories"][1]["items"] =
        json::array({{{"field", "Rank"}, {"toString", "Ranked higher"}}});
    Derived d = events_from_jira_page(*page, "lu-jira", "", 1714521600);
    REQUIRE(d.events.size() == 2);
    CHECK(d.events[0].key.rfind("jira:LU-18140:", 0) == 0);
    CHECK(d.noise == 1);
  }
  SECTION("a bad issue is skipped with a warning naming its index") {
    page->issues[1]["fields"].erase("updated");
    Derived d = events_from_jira_page(*page, "lu-jira", "", 1714521600);
    CHECK(d.events.size() == 1);
    REQUIRE(d.warnings.size() == 1);
    CHECK(d.warnings[0] == "issues[1] skipped: jira issue: \"fields.updated\" is missing");
  }
}

TEST_CASE("tracker_events: a Jira Cloud v3 page with nextPageToken", "[tracker_events]") {
  auto page = parse_jira_search_page(own("jira_search_page_v3.json"));
  REQUIRE(page.ok());
  CHECK_FALSE(page->is_last);
  CHECK(page->next_page_token == "CAEaAggD");
  CHECK(page->total == -1);
  REQUIRE(page->issues.size() == 1);

  Derived d = events_from_jira_page(*page, "lu-jira", "", 1717243200);
  const Event& e = only_event(d);
  CHECK(e.kind == "bug.updated");
  CHECK(e.key == "jira:LU-18200:2024-06-02T09:00:00Z");
  CHECK(e.url == "https://example.atlassian.net/browse/LU-18200");
  CHECK(e.severity == "low");
  CHECK(e.tags.at("type") == "Improvement");
  CHECK(e.tags.at("component") == "lfs");
  CHECK(e.tags.at("labels") == "flr,performance");
  CHECK(e.tags.at("changes") == "labels,assignee");
  CHECK(e.attributes.at("changes").at(0).at("to") == "flr performance");

  SECTION("the created event carries the text of the ADF description") {
    Derived all = events_from_jira_page(*page, "lu-jira", "");
    REQUIRE(all.events.size() == 2);
    CHECK(all.events[0].kind == "bug.created");
    CHECK(all.events[0].summary ==
          "Allow lfs find to select files by mirror state.\nNeeded for FLR resync scripts.");
  }
}

TEST_CASE("tracker_events: Jira page shapes", "[tracker_events]") {
  auto more = parse_jira_search_page(R"({"startAt":0,"maxResults":2,"total":5,"issues":[{},{}]})");
  REQUIRE(more.ok());
  CHECK_FALSE(more->is_last);
  Derived d = events_from_jira_page(*more, "s", "");
  CHECK(d.events.empty());
  REQUIRE(d.warnings.size() == 2);
  CHECK(d.warnings[0] == "issues[0] skipped: jira issue: \"fields\" is missing");

  auto last = parse_jira_search_page(R"({"issues":[],"isLast":true})");
  REQUIRE(last.ok());
  CHECK(last->is_last);

  struct Bad {
    const char* body;
    const char* message;
  };
  const Bad bad[] = {
      {R"({"startAt":0,"total":0})", "jira search page: \"issues\" is missing"},
      {R"({"issues":{}})", "jira search page: \"issues\" is object, expected an array"},
      {R"([])", "jira search page: body is array, expected an object"},
      {R"({"issues":[],"total":"many"})",
       "jira search page: \"total\" is string, expected a non-negative integer"},
      {R"({"issues":[],"nextPageToken":7})",
       "jira search page: \"nextPageToken\" is number, expected a string"},
      {R"({"issues":[],"isLast":false})",
       "jira search page: \"isLast\" is false but there is no \"nextPageToken\""},
      {R"({"errorMessages":["The value 'XX' does not exist for the field 'project'."],)"
       R"("errors":{}})",
       "jira search page: Jira answered with errors: The value 'XX' does not exist for the field "
       "'project'."},
  };
  for (const auto& b : bad) {
    INFO(b.body);
    auto r = parse_jira_search_page(b.body);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::bad_input);
    CHECK(r.error().message == b.message);
  }
}

TEST_CASE("tracker_events: a Jira issue with a security level is never published",
          "[tracker_events]") {
  const json restricted = own_json("jira_restricted_issue.json");
  auto leaks = [](const Derived& d) {
    std::string all = everything(d);
    return all.find("LU-18999") != std::string::npos ||
           all.find("EMBARGOED") != std::string::npos || all.find("84211") != std::string::npos;
  };

  SECTION("as a REST issue") {
    auto r = events_from_jira_issue(restricted, "lu-jira", "https://jira.whamcloud.com");
    REQUIRE(r.ok());
    CHECK(r->events.empty());
    CHECK(r->restricted == 1);
    CHECK(r->warnings.empty());
    CHECK_FALSE(leaks(*r));
  }
  SECTION("as a webhook, created or updated") {
    for (const char* event : {"jira:issue_created", "jira:issue_updated", "comment_created"}) {
      INFO(event);
      json body = {{"webhookEvent", event},
                   {"timestamp", 1714649400000},
                   {"issue", restricted},
                   {"changelog", restricted["changelog"]["histories"][0]},
                   {"comment", {{"body", "EMBARGOED reply"}, {"author", {{"name", "x"}}}}}};
      auto r = events_from_jira_webhook(body.dump(), "lu-jira", "");
      REQUIRE(r.ok());
      CHECK(r->events.empty());
      CHECK(r->restricted == 1);
      CHECK(r->warnings.empty());
      CHECK_FALSE(leaks(*r));
    }
  }
  SECTION("inside a search page, beside public issues") {
    auto page = parse_jira_search_page(own("jira_search_page_v2.json"));
    REQUIRE(page.ok());
    page->issues.insert(page->issues.begin() + 1, restricted);
    Derived d = events_from_jira_page(*page, "lu-jira", "", 1714521600);
    CHECK(d.events.size() == 3);
    CHECK(d.restricted == 1);
    CHECK(d.warnings.empty());
    CHECK_FALSE(leaks(d));
  }
  SECTION("checked before anything else, so a broken restricted issue is no error") {
    json broken = restricted;
    broken.erase("key");
    broken["fields"]["updated"] = 5;
    auto r = events_from_jira_issue(broken, "lu-jira", "");
    REQUIRE(r.ok());
    CHECK(r->restricted == 1);
  }
  SECTION("any non-null security value counts") {
    json odd = restricted;
    odd["fields"]["security"] = "Developers";
    auto r = events_from_jira_issue(odd, "lu-jira", "");
    REQUIRE(r.ok());
    CHECK(r->events.empty());
    CHECK(r->restricted == 1);
  }
  SECTION("the same issue with the level taken off is published") {
    json open = restricted;
    open["fields"]["security"] = nullptr;
    auto r = events_from_jira_issue(open, "lu-jira", "https://jira.whamcloud.com");
    REQUIRE(r.ok());
    CHECK(r->restricted == 0);
    REQUIRE(r->events.size() == 2);
    CHECK(r->events[1].key == "jira:LU-18999:2024-05-02T11:30:00Z");
  }
}

TEST_CASE("tracker_events: GitHub issues webhooks", "[tracker_events]") {
  auto opened = fixture("github/issues_opened.payload.json");
  auto r = events_from_github_webhook("issues", opened, "gh");
  REQUIRE(r.ok());
  const Event& e = only_event(*r);
  CHECK(e.kind == "bug.created");
  CHECK(e.key == "github:Codertocat/Hello-World#1:2019-05-15T15:20:18Z");
  CHECK(e.time == 1557933618);
  CHECK(e.title == "Codertocat/Hello-World#1: Spelling error in the README file");
  CHECK(e.url == "https://github.com/Codertocat/Hello-World/issues/1");
  CHECK(e.tags.at("project") == "Codertocat/Hello-World");
  CHECK(e.tags.at("type") == "issue");
  CHECK(e.tags.at("labels") == "bug");
  CHECK(e.tags.at("fix_versions") == "v1.0");
  CHECK(e.tags.at("status") == "open");
  CHECK(e.summary == "It looks like you accidently spelled 'commit' with two 't's.");
  CHECK(e.attributes.at("assignee") == "Codertocat");

  SECTION("edited with an empty changes object is noise") {
    auto edited =
        events_from_github_webhook("issues", fixture("github/issues_edited.payload.json"), "gh");
    REQUIRE(edited.ok());
    CHECK(edited->events.empty());
    CHECK(edited->noise == 1);
  }
  SECTION("edited title") {
    auto j = json::parse(fixture("github/issues_edited.payload.json"));
    j["changes"] = {{"title", {{"from", "Speling error"}}}};
    auto edited = events_from_github_webhook("issues", j.dump(), "gh");
    REQUIRE(edited.ok());
    const Event& u = only_event(*edited);
    CHECK(u.kind == "bug.updated");
    CHECK(u.tags.at("changes") == "summary");
    CHECK(u.attributes.at("changes").at(0).at("from") == "Speling error");
  }
  SECTION("closed, labeled, reopened") {
    auto j = json::parse(opened);
    j["action"] = "closed";
    j["issue"]["state"] = "closed";
    j["issue"]["state_reason"] = "completed";
    j["issue"]["updated_at"] = "2019-05-16T08:00:00Z";
    auto closed = events_from_github_webhook("issues", j.dump(), "gh");
    REQUIRE(closed.ok());
    CHECK(only_event(*closed).kind == "bug.resolved");
    CHECK(only_event(*closed).key == "github:Codertocat/Hello-World#1:2019-05-16T08:00:00Z");
    CHECK(only_event(*closed).tags.at("changes") == "status,resolution");

    j["action"] = "labeled";
    j["label"] = {{"name", "regression"}};
    auto labeled = events_from_github_webhook("issues", j.dump(), "gh");
    REQUIRE(labeled.ok());
    CHECK(only_event(*labeled).tags.at("changes") == "labels");
    CHECK(only_event(*labeled).attributes.at("changes").at(0).at("to") == "regression");

    j["action"] = "reopened";
    auto reopened = events_from_github_webhook("issues", j.dump(), "gh");
    REQUIRE(reopened.ok());
    CHECK(only_event(*reopened).kind == "bug.updated");
    CHECK(only_event(*reopened).tags.at("changes") == "status");
  }
  SECTION("actions herald does not use are ignored with a warning") {
    auto j = json::parse(opened);
    j["action"] = "pinned";
    auto pinned = events_from_github_webhook("issues", j.dump(), "gh");
    REQUIRE(pinned.ok());
    CHECK(pinned->events.empty());
    CHECK(has_warning(*pinned, "ignored issues.pinned"));
  }
}

TEST_CASE("tracker_events: GitHub release webhooks", "[tracker_events]") {
  auto published =
      events_from_github_webhook("release", fixture("github/release_published.payload.json"), "gh");
  REQUIRE(published.ok());
  const Event& ga = only_event(*published);
  CHECK(ga.kind == "release.published");
  CHECK(ga.key == "github-release:Codertocat/Hello-World:0.0.1");
  CHECK(ga.title == "Codertocat/Hello-World 0.0.1");
  CHECK(ga.url == "https://github.com/Codertocat/Hello-World/releases/tag/0.0.1");
  CHECK(ga.time == *parse_jira_time("2019-05-15T15:20:53Z"));
  CHECK(ga.tags.at("class") == "ga");
  CHECK(ga.tags.at("prerelease") == "no");
  CHECK(ga.tags.at("version") == "0.0.1");
  CHECK(ga.tags.at("project") == "Codertocat/Hello-World");

  auto pre = events_from_github_webhook("release",
                                        fixture("github/release_prereleased.payload.json"), "gh");
  REQUIRE(pre.ok());
  const Event& rc = only_event(*pre);
  CHECK(rc.kind == "release.published");
  CHECK(rc.key == "github-release:Codertocat/Hello-World:0.0.1");
  CHECK(rc.title == "Codertocat/Hello-World 0.0.1 (pre-release)");
  CHECK(rc.tags.at("class") == "rc");
  CHECK(rc.tags.at("prerelease") == "yes");

  SECTION("other release actions and drafts are ignored") {
    auto j = json::parse(fixture("github/release_published.payload.json"));
    j["action"] = "edited";
    auto edited = events_from_github_webhook("release", j.dump(), "gh");
    REQUIRE(edited.ok());
    CHECK(edited->events.empty());
    CHECK(has_warning(*edited, "ignored release.edited"));
    j["action"] = "published";
    j["release"]["draft"] = true;
    auto draft = events_from_github_webhook("release", j.dump(), "gh");
    REQUIRE(draft.ok());
    CHECK(draft->events.empty());
  }
}

TEST_CASE("tracker_events: GitHub security advisory webhook", "[tracker_events]") {
  auto r = events_from_github_webhook(
      "security_advisory", fixture("github/security_advisory_published.payload.json"), "gh");
  REQUIRE(r.ok());
  const Event& e = only_event(*r);
  CHECK(e.kind == "security.advisory");
  CHECK(e.key == "github-advisory:GHSA-rf4j-j272-fj86:2018-10-03T21:13:54Z");
  CHECK(e.severity == "medium");  // moderate
  CHECK(e.title == "GHSA-rf4j-j272-fj86: Moderate severity vulnerability that affects django");
  CHECK(e.url == "https://github.com/advisories/GHSA-rf4j-j272-fj86");
  CHECK(e.tags.at("cve") == "CVE-2018-6188");
  CHECK(e.tags.at("package") == "django");
  CHECK(e.tags.at("ecosystem") == "pip");
  CHECK(e.tags.at("status") == "published");
  CHECK(e.summary.rfind("django.contrib.auth.forms.AuthenticationForm", 0) == 0);
  REQUIRE(e.attributes.at("vulnerabilities").size() == 2);
  CHECK(e.attributes.at("vulnerabilities").at(1).at("first_patched_version") == "1.11.10");
  CHECK(e.attributes.at("cvss_score") == 7.9);
}

TEST_CASE("tracker_events: GitHub events herald does not use", "[tracker_events]") {
  auto ping = events_from_github_webhook("ping", R"({"zen":"Keep it logically awesome."})", "gh");
  REQUIRE(ping.ok());
  CHECK(ping->events.empty());
  CHECK(ping->warnings == std::vector<std::string>{"ignored ping"});
  auto push = events_from_github_webhook("push", "not even json", "gh");
  REQUIRE(push.ok());
  CHECK(push->warnings == std::vector<std::string>{"ignored push"});
}

TEST_CASE("tracker_events: GitHub REST issues list tells pull requests apart", "[tracker_events]") {
  auto r = events_from_github_issues_page(own("github_issues_list.json"), "gh", "", 1714608000);
  REQUIRE(r.ok());
  CHECK(r->warnings.empty());
  REQUIRE(r->events.size() == 2);
  const Event& closed = r->events[0];
  CHECK(closed.kind == "bug.resolved");
  CHECK(closed.key == "github:example/lustre-tools#12:2024-05-02T08:00:00Z");
  CHECK(closed.title ==
        "example/lustre-tools#12: lustre_exporter: OST stats missing after failover");
  CHECK(closed.tags.at("type") == "issue");
  CHECK(closed.tags.at("labels") == "bug,exporter");
  CHECK(closed.tags.at("fix_versions") == "v1.4.0");
  CHECK(closed.attributes.at("resolution") == "completed");
  const Event& pr = r->events[1];
  CHECK(pr.kind == "bug.created");
  CHECK(pr.key == "github:example/lustre-tools#13:2024-05-02T09:00:00Z");
  CHECK(pr.tags.at("type") == "pull_request");
  CHECK(pr.url == "https://github.com/example/lustre-tools/pull/13");

  SECTION("without a cursor #12 is created and resolved") {
    auto all = events_from_github_issues_page(own("github_issues_list.json"), "gh",
                                              "example/lustre-tools");
    REQUIRE(all.ok());
    REQUIRE(all->events.size() == 3);
    CHECK(all->events[0].kind == "bug.created");
    CHECK(all->events[0].key == "github:example/lustre-tools#12:2024-05-01T10:00:00Z");
    CHECK(all->events[1].kind == "bug.resolved");
  }
  SECTION("a bad item is skipped, the others kept") {
    auto list = json::parse(own("github_issues_list.json"));
    list[0].erase("number");
    auto partial = events_from_github_issues_page(list.dump(), "gh", "", 1714608000);
    REQUIRE(partial.ok());
    CHECK(partial->events.size() == 1);
    CHECK(partial->warnings ==
          std::vector<std::string>{"[0] skipped: github issue: \"number\" is missing"});
  }
}

TEST_CASE("tracker_events: GitLab issue webhooks", "[tracker_events]") {
  auto created = events_from_gitlab_webhook(
      fixture("gitlab/mobitel_webhooks_gitlab_issue_created.json"), "gl");
  REQUIRE(created.ok());
  const Event& c = only_event(*created);
  CHECK(c.kind == "bug.created");
  CHECK(c.key == "gitlab:indev/gitlabtomatrix#17:2020-06-05T08:09:16Z");
  CHECK(c.title == "indev/gitlabtomatrix#17: Test title");
  CHECK(c.url == "https://gitlab.test-example.ru/indev/gitlabtomatrix/issues/17");
  CHECK(c.tags.at("project") == "indev/gitlabtomatrix");
  CHECK(c.tags.at("labels") == "ToDo");
  CHECK(c.tags.at("status") == "opened");
  CHECK(c.summary == "Test description");
  CHECK(c.attributes.at("assignee") == "Петров Петр Петрович");

  auto updated = events_from_gitlab_webhook(
      fixture("gitlab/mobitel_webhooks_gitlab_issue_updated.json"), "gl");
  REQUIRE(updated.ok());
  const Event& u = only_event(*updated);
  CHECK(u.kind == "bug.updated");
  CHECK(u.key == "gitlab:indev/gitlabtomatrix#16:2020-06-05T09:07:36Z");
  CHECK(u.title == "indev/gitlabtomatrix#16: Test issue 2 updated");
  CHECK(u.tags.at("changes") == "summary");  // last_edited_*, updated_* are noise
  CHECK(u.attributes.at("changes").at(0).at("from") == "Test issue 2");
  CHECK(u.attributes.at("changes").at(0).at("to") == "Test issue 2 updated");

  SECTION("close gives bug.resolved") {
    auto j = json::parse(fixture("gitlab/mobitel_webhooks_gitlab_issue_updated.json"));
    j["object_attributes"]["action"] = "close";
    auto r = events_from_gitlab_webhook(j.dump(), "gl");
    REQUIRE(r.ok());
    CHECK(only_event(*r).kind == "bug.resolved");
  }
  SECTION("an update of noise fields only makes no event") {
    auto j = json::parse(fixture("gitlab/mobitel_webhooks_gitlab_issue_updated.json"));
    j["changes"].erase("title");
    auto r = events_from_gitlab_webhook(j.dump(), "gl");
    REQUIRE(r.ok());
    CHECK(r->events.empty());
    CHECK(r->noise == 1);
  }
  SECTION("a confidential issue is restricted") {
    auto j = json::parse(fixture("gitlab/mobitel_webhooks_gitlab_issue_created.json"));
    j["object_attributes"]["confidential"] = true;
    j["object_attributes"]["title"] = "EMBARGOED title";
    auto r = events_from_gitlab_webhook(j.dump(), "gl");
    REQUIRE(r.ok());
    CHECK(r->events.empty());
    CHECK(r->restricted == 1);
    CHECK(everything(*r).find("EMBARGOED") == std::string::npos);
  }
  SECTION("other object kinds are ignored") {
    auto r = events_from_gitlab_webhook(R"({"object_kind":"note"})", "gl");
    REQUIRE(r.ok());
    CHECK(r->warnings == std::vector<std::string>{"ignored note"});
  }
}

TEST_CASE("tracker_events: GitLab REST issue", "[tracker_events]") {
  auto issue = json::parse(fixture("gitlab/mobitel_gitlab-api-requests_issue.json"));
  auto r = events_from_gitlab_issue(issue, "gl", "", 1589932800);
  REQUIRE(r.ok());
  const Event& e = only_event(*r);
  CHECK(e.kind == "bug.updated");  // reopened after its closed_at, so not resolved
  CHECK(e.key == "gitlab:indev/gitlabtomatrix#17:2020-05-26T12:06:21.296Z");
  CHECK(e.title == "indev/gitlabtomatrix#17: Test issue 2 updated");
  CHECK(e.url == "https://gitlab.example.com/indev/gitlabtomatrix/issues/1");
  CHECK(e.tags.at("fix_versions") == "Тест интеграции");
  CHECK(e.tags.at("labels") == "ToDo");
  CHECK(e.attributes.at("reporter") == "Иванов Иван Иванович");
  CHECK(e.attributes.at("assignee") == "Петров Петр Петрович");

  auto all = events_from_gitlab_issue(issue, "gl", "indev/gitlabtomatrix");
  REQUIRE(all.ok());
  REQUIRE(all->events.size() == 2);
  CHECK(all->events[0].key == "gitlab:indev/gitlabtomatrix#17:2020-05-13T09:08:15.033Z");
}

TEST_CASE("tracker_events: malformed input is bad_input with a precise reason",
          "[tracker_events]") {
  auto malformed = own("malformed.json");
  auto jira = events_from_jira_webhook(malformed, "s", "");
  REQUIRE_FALSE(jira.ok());
  CHECK(jira.error().kind == ErrorKind::bad_input);
  CHECK(jira.error().message.rfind("jira webhook: malformed JSON: parse error at line 1", 0) == 0);
  CHECK(jira.error().message.find("lock cancel") == std::string::npos);  // no input excerpt

  auto gh = events_from_github_webhook("issues", malformed, "s");
  REQUIRE_FALSE(gh.ok());
  CHECK(gh.error().message.rfind("github issues webhook: malformed JSON", 0) == 0);
  auto gl = events_from_gitlab_webhook(malformed, "s");
  REQUIRE_FALSE(gl.ok());
  CHECK(gl.error().message.rfind("gitlab webhook: malformed JSON", 0) == 0);
  auto page = parse_jira_search_page(malformed);
  REQUIRE_FALSE(page.ok());
  CHECK(page.error().message.rfind("jira search page: malformed JSON", 0) == 0);
  const std::string deep = R"({"webhookEvent":"jira:issue_created","issue":)" +
                           std::string(100'000, '[') + std::string(100'000, ']') + "}";
  auto too_deep = events_from_jira_webhook(deep, "s", "");
  REQUIRE_FALSE(too_deep.ok());
  CHECK(too_deep.error().kind == ErrorKind::bad_input);
  CHECK(too_deep.error().message == "jira webhook: JSON nests deeper than 64 levels");
  CHECK(parse_jira_search_page(R"({"issues":[)" + std::string(70, '[')).error().message ==
        "jira search page: JSON nests deeper than 64 levels");
  auto empty = events_from_jira_webhook("", "s", "");
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.error().kind == ErrorKind::bad_input);

  struct Bad {
    const char* body;
    const char* message;
  };
  const Bad jira_bad[] = {
      {R"([1,2])", "jira webhook: body is array, expected an object"},
      {R"({"issue":{}})", "jira webhook: \"webhookEvent\" is missing"},
      {R"({"webhookEvent":5})", "jira webhook: \"webhookEvent\" is number, expected a string"},
      {R"({"webhookEvent":"jira:issue_updated"})", "jira webhook: \"issue\" is missing"},
      {R"({"webhookEvent":"jira:issue_updated","issue":"LU-1"})",
       "jira webhook: \"issue\" is string, expected an object"},
      {R"({"webhookEvent":"jira:issue_updated","issue":{"key":"LU-1","fields":"x"}})",
       "jira webhook: issue: \"fields\" is string, expected an object"},
      {R"({"webhookEvent":"jira:issue_updated","issue":{"fields":{}}})",
       "jira webhook: issue: \"key\" is missing"},
      {R"({"webhookEvent":"jira:issue_updated","issue":{"key":"LU-1","fields":{}}})",
       "jira webhook: neither \"issue.fields.updated\" nor a numeric \"timestamp\" is usable"},
      {R"({"webhookEvent":"jira:issue_updated","timestamp":1,"changelog":{"items":{}},)"
       R"("issue":{"key":"LU-1","fields":{}}})",
       "jira webhook: \"changelog.items\" is object, expected an array"},
  };
  for (const auto& b : jira_bad) {
    INFO(b.body);
    auto r = events_from_jira_webhook(b.body, "s", "");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::bad_input);
    CHECK(r.error().message == b.message);
  }

  const Bad github_bad[] = {
      {R"({"issue":{}})", "github issues webhook: \"action\" is missing"},
      {R"({"action":"opened"})", "github issues webhook: \"issue\" is missing"},
      {R"({"action":"opened","issue":{"number":"1"}})",
       "github issues webhook: issue: \"number\" is string, expected an integer"},
      {R"({"action":"opened","issue":{"number":1,"updated_at":"2019-05-15T15:20:18Z"}})",
       "github issues webhook: issue: no repository (\"repository_url\" is missing)"},
      {R"({"action":"opened","repository":{"full_name":"o/r"},)"
       R"("issue":{"number":1,"updated_at":"yesterday"}})",
       "github issues webhook: issue: \"updated_at\" is not a date"},
  };
  for (const auto& b : github_bad) {
    INFO(b.body);
    auto r = events_from_github_webhook("issues", b.body, "s");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == b.message);
  }
  auto release =
      events_from_github_webhook("release", R"({"action":"published","release":{}})", "s");
  REQUIRE_FALSE(release.ok());
  CHECK(release.error().message == "github release webhook: release: \"tag_name\" is missing");
  auto list = events_from_github_issues_page(R"({"message":"Not Found"})", "s", "o/r");
  REQUIRE_FALSE(list.ok());
  CHECK(list.error().message == "github issues page: body is object, expected an array");

  auto gitlab =
      events_from_gitlab_webhook(R"({"object_kind":"issue","object_attributes":[]})", "s");
  REQUIRE_FALSE(gitlab.ok());
  CHECK(gitlab.error().message ==
        "gitlab webhook: \"object_attributes\" is array, expected an object");
  auto jira_issue = events_from_jira_issue(json::array(), "s", "");
  REQUIRE_FALSE(jira_issue.ok());
  CHECK(jira_issue.error().message == "jira issue: the issue is array, expected an object");
}

TEST_CASE("tracker_events: Jira webhook events herald does not use", "[tracker_events]") {
  for (const char* event : {"jira:issue_deleted", "jira:worklog_updated", "project_created"}) {
    INFO(event);
    json body = {{"webhookEvent", event}, {"issue", {{"key", "LU-1"}}}};
    auto r = events_from_jira_webhook(body.dump(), "s", "");
    REQUIRE(r.ok());
    CHECK(r->events.empty());
    CHECK(r->warnings == std::vector<std::string>{std::string("ignored ") + event});
  }
}
