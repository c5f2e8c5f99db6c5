// Release announcements a Lustre admin can act on: what the feed source and
// the bundled release templates make of the real sample tags and ChangeLogs
// in config/sample/, and the tickets fixed in a release as the local
// Jira-protocol server (tests/tools/tracker_server.py) answers them from the
// real issues of tests/fixtures/fixversion.
#include <catch2/catch.hpp>
#include <chrono>

#include "adapters/sources/jira/jira_search.hpp"
#include "adapters/sources/lustre/announce.hpp"
#include "adapters/sources/source.hpp"
#include "daemon/render.hpp"
#include "daemon/util.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/tracker_server.hpp"

using namespace herald;
using herald::test::TempDir;

// A configuration must watch something: the keys under test, then one feed.
constexpr const char* k_a_source = "\n[[source]]\nname = \"tags\"\nkind = \"feed\"\nurl = \"tags.atom\"\n";

namespace {

const std::string k_bundled = herald::test::source_dir() + "/templates";
const std::string k_sample = herald::test::source_dir() + "/config/sample";

// An Atom feed of tags: {title, updated} pairs, newest first as GitHub writes them.
std::string tags_feed(const std::vector<std::pair<std::string, std::string>>& tags) {
  std::string out =
      "<?xml version=\"1.0\"?><feed xmlns=\"http://www.w3.org/2005/Atom\"><id>t</id>"
      "<title>tags</title><updated>2026-01-01T00:00:00Z</updated>";
  for (const auto& [title, updated] : tags)
    out += "<entry><id>t:" + title + "</id><title>" + title + "</title><updated>" + updated +
           "</updated><link href=\"https://github.com/lustre/lustre-release/releases/tag/" + title +
           "\"/></entry>";
  return out + "</feed>";
}

// The events of one poll of a feed file through the real feed source with the sample
// ChangeLogs.
std::vector<Event> poll_feed(const TempDir& dir, const std::string& feed,
                             bool with_changelogs = true) {
  Config cfg;
  SourceConfig sc;
  sc.name = "tags";
  sc.kind = "feed";
  sc.url = "file://" + dir.write("tags.atom", feed);
  sc.release_model = "lustre";
  if (with_changelogs)
    sc.changelogs = {k_sample + "/ChangeLog.b2_15", k_sample + "/ChangeLog.master"};
  FakeClock clock{1'767'225'600};
  auto src = make_source(sc, cfg, clock);
  auto out = src->poll(SourceState{});
  REQUIRE(out);
  return out->events;
}

const Event& event_for(const std::vector<Event>& events, const std::string& version) {
  for (const auto& e : events)
    if (e.attributes.value("version", "") == version) return e;
  FAIL("no event for " + version);
  throw std::logic_error("unreachable");
}

RenderedMail render(const Event& e, const DestinationConfig& dest = DestinationConfig{}) {
  auto t = Templates::load(k_bundled, "");
  REQUIRE(t);
  auto r = t->render_mail("release.published", mail_context(e, dest));
  REQUIRE(r);
  return *r;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("announce: the release date is the ChangeLog's, not the tag's UTC date", "[announce]") {
  TempDir dir;
  // 2.17.0 was tagged 2025-12-29 19:15 -05:00, which is 2025-12-30 in UTC; master's
  // ChangeLog dates the release 2025-12-29.
  auto events = poll_feed(dir, tags_feed({{"2.17.0", "2025-12-29T19:15:44-05:00"}}));
  const Event& e = event_for(events, "2.17.0");
  CHECK(e.attributes.value("release_date", "") == "2025-12-29");
  auto mail = render(e);
  CHECK(has(mail.text, "Released: 2025-12-29\n"));
  CHECK(has(mail.html, "<li>Released: 2025-12-29</li>"));
  CHECK_FALSE(has(mail.text, "2025-12-30"));
  CHECK_FALSE(has(mail.html, "2025-12-30"));

  SECTION("a release the ChangeLogs do not date keeps the tag's date") {
    // master's 2.18.0 block is dated "TBD".
    auto tbd = poll_feed(dir, tags_feed({{"2.18.0", "2026-09-01T12:00:00Z"}}));
    auto m = render(event_for(tbd, "2.18.0"));
    CHECK(has(m.text, "Tagged:  2026-09-01\n"));
    CHECK_FALSE(has(m.text, "Released:"));
  }
}

TEST_CASE("announce: the HTML title is the announcement's subject, not the tag", "[announce]") {
  TempDir dir;
  auto events = poll_feed(dir, tags_feed({{"v2_15_8", "2025-12-02T13:19:28-05:00"}}));
  const Event& e = event_for(events, "2.15.8");
  REQUIRE(e.title == "v2_15_8");
  auto mail = render(e);
  CHECK(mail.subject == "Lustre 2.15.8 (LTS) released");
  CHECK(has(mail.html, "<title>Lustre 2.15.8 (LTS) released</title>"));
  CHECK_FALSE(has(mail.html, "v2_15_8</title>"));
}

namespace {

Config lustre_config(const std::string& lustre_keys) {
  auto r = parse_config("[lustre]\n" + lustre_keys + k_a_source, "/tmp/herald.toml");
  for (const auto& e : r.errors) FAIL(e.to_string());
  REQUIRE(r.config);
  return *r.config;
}

RenderedMail render_with(const Event& e, const Config& cfg) {
  auto t = Templates::load(k_bundled, "");
  REQUIRE(t);
  nlohmann::json ctx = mail_context(e, DestinationConfig{});
  ctx.update(lustre::announcement_context(e, cfg));
  auto r = t->render_mail("release.published", ctx);
  REQUIRE(r);
  return *r;
}

const char* k_community_links = R"(
download_url = "https://downloads.whamcloud.com/public/lustre/lustre-{version}/"
release_notes_url = "https://wiki.lustre.org/Lustre_{version}_Changelog"
report_url = "https://jira.whamcloud.com/"
)";

}  // namespace

TEST_CASE("announce: configured links appear in the text and HTML parts of a GA release",
          "[announce]") {
  TempDir dir;
  auto events = poll_feed(dir, tags_feed({{"2.15.8", "2025-12-02T13:19:20-05:00"},
                                          {"2.17.0-RC4", "2025-12-23T14:43:26-05:00"}}));
  auto cfg = lustre_config(k_community_links);
  auto ga = render_with(event_for(events, "2.15.8"), cfg);
  CHECK(has(ga.text, "Download: https://downloads.whamcloud.com/public/lustre/lustre-2.15.8/\n"));
  CHECK(has(ga.text, "Release notes: https://wiki.lustre.org/Lustre_2.15.8_Changelog\n"));
  CHECK(has(ga.text, "Report problems here: https://jira.whamcloud.com/\n"));
  CHECK(has(ga.html,
            "<li>Download: <a href=\"https://downloads.whamcloud.com/public/lustre/"
            "lustre-2.15.8/\">"));
  CHECK(has(ga.html, "<a href=\"https://wiki.lustre.org/Lustre_2.15.8_Changelog\">"));
  CHECK(has(ga.html, "Report problems here: <a href=\"https://jira.whamcloud.com/\">"));

  SECTION("a release candidate gets only the place to report problems") {
    auto rc = render_with(event_for(events, "2.17.0-RC4"), cfg);
    CHECK(has(rc.text, "Report problems here: https://jira.whamcloud.com/\n"));
    CHECK(has(rc.html, "Report problems here:"));
    CHECK_FALSE(has(rc.text, "Download:"));
    CHECK_FALSE(has(rc.text, "Release notes:"));
    CHECK_FALSE(has(rc.html, "downloads.whamcloud.com"));
  }
  SECTION("links that are not configured are left out, never shown empty") {
    auto only_notes = lustre_config("release_notes_url = \"https://wiki.lustre.org/{branch}\"\n");
    auto m = render_with(event_for(events, "2.15.8"), only_notes);
    CHECK(has(m.text, "Release notes: https://wiki.lustre.org/2.15\n"));
    CHECK(has(m.html, "<a href=\"https://wiki.lustre.org/2.15\">"));
    for (const auto* part : {&m.text, &m.html}) {
      CHECK_FALSE(has(*part, "Download"));
      CHECK_FALSE(has(*part, "Report problems"));
    }
    auto none = render_with(event_for(events, "2.15.8"), lustre_config(""));
    for (const auto* part : {&none.text, &none.html}) {
      CHECK_FALSE(has(*part, "Download"));
      CHECK_FALSE(has(*part, "Release notes"));
      CHECK_FALSE(has(*part, "Report problems"));
    }
  }
}

TEST_CASE("announce: [lustre] link templates must be http(s) URLs with known placeholders",
          "[announce][config]") {
  auto r = parse_config(
      "[lustre]\ndownload_url = \"ftp://example.org/{version}\"\n"
      "release_notes_url = \"https://wiki.lustre.org/{release}\"\n"
      "report_url = \"https://x/ \\\"y\"\n" + std::string(k_a_source),
      "h.toml");
  REQUIRE(r.errors.size() == 3);
  CHECK(r.errors[0].to_string() ==
        "h.toml:2: [lustre] download_url must be an http:// or https:// URL");
  CHECK(has(r.errors[1].to_string(),
            "h.toml:3: [lustre] release_notes_url: only {version} and "
            "{branch} may be replaced"));
  CHECK(has(r.errors[2].to_string(), "h.toml:4: [lustre] report_url"));
}

TEST_CASE("announce: an LTS maintenance release names the previous release of its branch",
          "[announce]") {
  TempDir dir;
  const auto cfg = lustre_config("");
  SECTION("from the branch's ChangeLog when the feed has only the new tag") {
    auto events = poll_feed(dir, tags_feed({{"2.15.8", "2025-12-02T13:19:20-05:00"}}));
    auto m = render_with(event_for(events, "2.15.8"), cfg);
    CHECK(has(m.text,
              "Upgrading: from Lustre 2.15.7, the previous release of the 2.15 LTS "
              "branch.\n"));
    CHECK(has(m.html,
              "<li>Upgrading: from Lustre 2.15.7, the previous release of the 2.15 LTS "
              "branch.</li>"));
  }
  SECTION("from the feed's own tags: GA only, same branch, before the release") {
    auto events = poll_feed(dir,
                            tags_feed({{"2.15.8", "2025-12-02T13:19:20-05:00"},
                                       {"2.15.9-RC1", "2025-11-20T00:00:00Z"},
                                       {"2.15.65", "2025-11-01T00:00:00Z"},
                                       {"v2_16_1", "2025-10-01T00:00:00Z"},
                                       {"2.15.8-RC2", "2025-09-01T00:00:00Z"},
                                       {"v2_15_6", "2024-11-27T15:20:59-07:00"},
                                       {"2.15.5", "2024-06-28T14:08:51-04:00"}}),
                            false);
    CHECK(event_for(events, "2.15.8").attributes.value("previous_release", "") == "2.15.6");
    auto m = render_with(event_for(events, "2.15.8"), cfg);
    CHECK(has(m.text, "Upgrading: from Lustre 2.15.6, the previous release"));
    // Not LTS (2.16), not GA (an RC): no upgrade note.
    for (const char* v : {"2.16.1", "2.15.8-RC2"}) {
      auto other = render_with(event_for(events, v), cfg);
      CHECK_FALSE(has(other.text, "Upgrading"));
      CHECK_FALSE(has(other.html, "Upgrading"));
    }
  }
  SECTION("the first release of a branch has no predecessor on it") {
    auto events = poll_feed(dir, tags_feed({{"2.15.0", "2022-06-16T16:38:10-04:00"}}));
    CHECK_FALSE(event_for(events, "2.15.0").attributes.contains("previous_release"));
    CHECK_FALSE(has(render_with(event_for(events, "2.15.0"), cfg).text, "Upgrading"));
  }
}

TEST_CASE(
    "announce: a new branch names the LTS release it interoperates with, from "
    "[lustre] lts_interop",
    "[announce]") {
  TempDir dir;
  auto events = poll_feed(dir, tags_feed({{"2.17.0", "2025-12-29T19:15:44-05:00"},
                                          {"2.17.0-RC4", "2025-12-23T14:43:26-05:00"},
                                          {"2.16.1", "2024-11-15T19:57:12-05:00"}}));
  auto cfg = lustre_config("lts_interop = { \"2.17\" = \"2.15.8\", \"2.16\" = \"2.15.6\" }\n");
  auto m = render_with(event_for(events, "2.17.0"), cfg);
  CHECK(has(m.text,
            "Upgrading: Lustre 2.17.0 interoperates with Lustre 2.15.8, the latest 2.15 "
            "LTS release.\n"));
  CHECK(has(m.html,
            "<li>Upgrading: Lustre 2.17.0 interoperates with Lustre 2.15.8, the latest "
            "2.15 LTS release.</li>"));
  // A maintenance release of that branch, or its release candidate, is not new.
  CHECK_FALSE(has(render_with(event_for(events, "2.16.1"), cfg).text, "Upgrading"));
  CHECK_FALSE(has(render_with(event_for(events, "2.17.0-RC4"), cfg).text, "Upgrading"));
  // Not configured for the branch: no line.
  CHECK_FALSE(has(render_with(event_for(events, "2.17.0"), lustre_config("")).text, "Upgrading"));

  SECTION("check-config: branches and GA releases only") {
    auto r = parse_config(
        "[lustre]\nlts_interop = { \"2.x\" = \"2.15.8\", \"2.18\" = "
        "\"2.15.50\", \"2.19\" = \"2.15\" }\n" + std::string(k_a_source),
        "h.toml");
    REQUIRE(r.errors.size() == 3);
    std::string all;
    for (const auto& e : r.errors) all += e.to_string() + "\n";
    CHECK(has(all, "h.toml:2: [lustre] lts_interop: '2.x' is not a branch"));
    CHECK(has(all, "h.toml:2: [lustre] lts_interop.2.18: '2.15.50' is not a GA release"));
    CHECK(has(all, "h.toml:2: [lustre] lts_interop.2.19: '2.15' is not a GA release"));
  }
}

namespace {

// The fix-version fixtures (tests/fixtures/fixversion) and the LU search page of
// tests/fixtures/tracker, whose issues are fixed in other versions.
void write_fixversion_issues(const TempDir& dir) {
  for (const char* name : {"bbcom-1398.json", "indev-6.json", "indev-130.json", "indev-242.json",
                           "bbcom-1233-restricted.json"}) {
    auto text = read_file(herald::test::fixtures_dir() + "/fixversion/" + name);
    REQUIRE(text);
    dir.write(name, *text);
  }
  auto lu = read_file(herald::test::fixtures_dir() + "/tracker/jira_search_page_v2.json");
  REQUIRE(lu);
  dir.write("lu.json", *lu);
}

SourceConfig tracker_config(const std::string& url) {
  SourceConfig sc;
  sc.name = "jira";
  sc.kind = "jira";
  sc.base_url = url + "/";
  sc.page_size = 2;
  return sc;
}

std::vector<std::string> listed_keys(const FixedIssues& f) {
  std::vector<std::string> out;
  for (const auto& i : f.issues) out.push_back(i.priority + " " + i.key);
  return out;
}

int64_t elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               since)
      .count();
}

}  // namespace

TEST_CASE("announce: the fix-version search lists the public issues by priority, then key",
          "[announce][fixed]") {
  TempDir issues;
  write_fixversion_issues(issues);
  test::TrackerServer server("--jira", issues.path(), {"--tz", "+0300"});
  auto sc = tracker_config(server.url());
  SECTION("REST v2, paged by offset") {}
  SECTION("Jira Cloud v3, paged by token") { sc.api = "v3"; }
  auto found = jira_fixed_issues(sc, "fixVersion = \"Lustre 2.15.8\" ORDER BY created", 10'000);
  REQUIRE(found);
  CHECK(listed_keys(*found) == std::vector<std::string>{"Highest INDEV-6", "Highest INDEV-130",
                                                        "Medium BBCOM-1398", "Medium INDEV-242"});
  CHECK(found->restricted == 1);
  CHECK(found->complete);
  CHECK(found->warnings.empty());
  CHECK(found->issues[0].summary == "Prueba de creación de tareas en un proyecto público");
  CHECK(found->issues[3].summary == "Тестовая задача");
  CHECK(found->issues[1].url == server.url() + "/browse/INDEV-130");
  CHECK(found->search_url ==
        server.url() + "/issues/?jql=fixVersion%20%3D%20%22Lustre%202.15.8%22");
  // Nothing of the restricted issue is in what the lookup returns.
  for (const auto& i : found->issues) {
    CHECK(i.key != "BBCOM-1233");
    CHECK(i.summary.find("POupok") == std::string::npos);
  }
  // Every page asked for the same search, in key order, without changelogs.
  auto requests = server.requests();
  CHECK(requests.size() == 3);  // 5 matching issues, 2 a page
  for (const auto& r : requests) {
    CHECK(r["query"]["jql"] == "fixVersion = \"Lustre 2.15.8\" ORDER BY key ASC");
    CHECK(r["query"]["fields"] == "summary,priority,security");
    CHECK_FALSE(r["query"].contains("expand"));
  }
}

TEST_CASE("announce: a tracker that hangs costs the lookup's budget and no more",
          "[announce][fixed]") {
  TempDir issues;
  write_fixversion_issues(issues);
  test::TrackerServer server("--jira", issues.path(), {"--hang"});
  auto sc = tracker_config(server.url());
  sc.timeout_ms = 60'000;  // the source's own timeouts are longer than the budget
  sc.connect_timeout_ms = 60'000;
  const auto started = std::chrono::steady_clock::now();
  auto found = jira_fixed_issues(sc, "fixVersion = \"Lustre 2.15.8\"", 1'500);
  const int64_t ms = elapsed_ms(started);
  REQUIRE_FALSE(found);
  CHECK(found.error().kind == ErrorKind::temporary);
  CHECK(found.error().message.find("no complete answer within 1500 ms") != std::string::npos);
  CHECK(ms >= 1'450);
  CHECK(ms < 2'500);
  REQUIRE(server.requests().size() == 1);  // it was asked, and never answered
}

TEST_CASE(
    "announce: the mail lists the tickets fixed, at most fixed_max, with the total and the "
    "search",
    "[announce][fixed]") {
  TempDir issues, dir;
  write_fixversion_issues(issues);
  test::TrackerServer server("--jira", issues.path(), {});
  auto events = poll_feed(dir, tags_feed({{"2.15.8", "2025-12-02T13:19:20-05:00"},
                                          {"2.17.0-RC4", "2025-12-23T14:43:26-05:00"}}));
  const std::string keys = "fixed_jql = 'fixVersion = \"Lustre {version}\"'\n";
  auto with_tracker = [&](const std::string& lustre) {
    auto r = parse_config("[lustre]\n" + lustre +
                              "[[source]]\nname = \"lu\"\nkind = \"jira\"\n"
                              "page_size = 3\nbase_url = \"" +
                              server.url() + "\"\n",
                          "/tmp/herald.toml");
    for (const auto& e : r.errors) FAIL(e.to_string());
    return *r.config;
  };
  auto m = render_with(event_for(events, "2.15.8"), with_tracker(keys));
  const std::string u = server.url() + "/browse/";
  CHECK(has(m.text,
            "Tickets fixed in this release: 4\n\nHighest:\n"
            "  INDEV-6  Prueba de creación de tareas en un proyecto público\n"
            "         " +
                u +
                "INDEV-6\n"
                "  INDEV-130  test Task 2\n"
                "         " +
                u +
                "INDEV-130\n\nMedium:\n"
                "  BBCOM-1398  Prueba de creación de tareas en un proyecto público\n"
                "         " +
                u +
                "BBCOM-1398\n"
                "  INDEV-242  Тестовая задача\n"
                "         " +
                u + "INDEV-242\n"));
  CHECK(has(m.text, "All of them in the tracker: " + server.url() + "/issues/?jql="));
  CHECK(has(m.html, "<h2>Tickets fixed in this release: 4</h2>"));
  CHECK(has(m.html, "<h3>Highest</h3><ul>\n<li><a href=\"" + u + "INDEV-6\">INDEV-6</a> Prueba"));
  CHECK(has(m.html, "<li><a href=\"" + u + "INDEV-242\">INDEV-242</a> Тестовая задача</li>"));
  for (const auto* part : {&m.text, &m.html}) {
    CHECK_FALSE(has(*part, "BBCOM-1233"));
    CHECK_FALSE(has(*part, "POupok"));
    CHECK_FALSE(has(*part, "LU-18123"));  // fixed in 2.16.0
  }

  SECTION("fixed_max cuts the list; the total and the search remain") {
    auto cut = render_with(event_for(events, "2.15.8"), with_tracker(keys + "fixed_max = 3\n"));
    CHECK(has(cut.text, "Tickets fixed in this release: 4, the first 3 by priority\n"));
    CHECK(has(cut.text, "BBCOM-1398"));
    CHECK_FALSE(has(cut.text, "INDEV-242"));
    CHECK(has(cut.text, "... and 1 more.\n"));
    CHECK(has(cut.html, "The first 3 by priority are listed; 1 more."));
    CHECK_FALSE(has(cut.html, "INDEV-242"));
  }
  SECTION("release candidates are not looked up; no tracker or no JQL means no lookup") {
    const size_t before = server.requests().size();
    auto rc = render_with(event_for(events, "2.17.0-RC4"), with_tracker(keys));
    CHECK_FALSE(has(rc.text, "Tickets fixed"));
    auto off = render_with(event_for(events, "2.15.8"), with_tracker("fixed_jql = \"\"\n"));
    CHECK_FALSE(has(off.text, "Tickets fixed"));
    CHECK(server.requests().size() == before);
    auto none = render_with(event_for(events, "2.15.8"), lustre_config(keys));
    CHECK_FALSE(has(none.text, "Tickets fixed"));
  }
  SECTION("the default JQL asks for project LU and the Lustre fix version") {
    auto lu = render_with(event_for(events, "2.15.8"), with_tracker(""));
    CHECK_FALSE(has(lu.text, "Tickets fixed"));  // no LU issue is fixed in 2.15.8
    CHECK(server.requests().back()["query"]["jql"] ==
          "project = LU AND fixVersion = \"Lustre 2.15.8\" ORDER BY key ASC");
  }
}

TEST_CASE("announce: [lustre] tracker names a Jira source; fixed_* keys are checked",
          "[announce][config]") {
  auto r = parse_config(
      "[lustre]\ntracker = \"tags\"\nfixed_jql = \"fixVersion = {tag}\"\n"
      "fixed_max = -1\nfixed_timeout = \"10ms\"\n"
      "[[source]]\nname = \"tags\"\nkind = \"feed\"\nurl = \"t.atom\"\n",
      "h.toml");
  std::string all;
  for (const auto& e : r.errors) all += e.to_string() + "\n";
  CHECK(has(all, "h.toml:2: [lustre] tracker: 'tags' is not a kind = \"jira\" source"));
  CHECK(has(all, "h.toml:3: [lustre] fixed_jql: only {version} and {branch} may be replaced"));
  CHECK(has(all, "h.toml:4: 'fixed_max' must be between 0 and 1000"));
  CHECK(has(all, "h.toml:5: [lustre] fixed_timeout must be between 100ms and 5m"));
  CHECK(r.errors.size() == 4);
}
