// Release announcements a Lustre admin can act on: what the feed source and
// the bundled release templates make of the real sample tags and ChangeLogs
// in config/sample/.
#include <catch2/catch.hpp>

#include "adapters/sources/lustre/announce.hpp"
#include "adapters/sources/source.hpp"
#include "daemon/render.hpp"
#include "daemon/util.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/temp_dir.hpp"

using namespace herald;
using herald::test::TempDir;

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
           "</updated><link href=\"https://github.com/lustre/lustre-release/releases/tag/" +
           title + "\"/></entry>";
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

TEST_CASE("announce: the release date is the ChangeLog's, not the tag's UTC date",
          "[announce]") {
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
  auto r = parse_config("[lustre]\n" + lustre_keys, "/tmp/herald.toml");
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
  CHECK(has(ga.html, "<li>Download: <a href=\"https://downloads.whamcloud.com/public/lustre/"
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
  auto r = parse_config("[lustre]\ndownload_url = \"ftp://example.org/{version}\"\n"
                        "release_notes_url = \"https://wiki.lustre.org/{release}\"\n"
                        "report_url = \"https://x/ \\\"y\"\n",
                        "h.toml");
  REQUIRE(r.errors.size() == 3);
  CHECK(r.errors[0].to_string() ==
        "h.toml:2: [lustre] download_url must be an http:// or https:// URL");
  CHECK(has(r.errors[1].to_string(), "h.toml:3: [lustre] release_notes_url: only {version} and "
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
    CHECK(has(m.text, "Upgrading: from Lustre 2.15.7, the previous release of the 2.15 LTS "
                      "branch.\n"));
    CHECK(has(m.html, "<li>Upgrading: from Lustre 2.15.7, the previous release of the 2.15 LTS "
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

TEST_CASE("announce: a new branch names the LTS release it interoperates with, from "
          "[lustre] lts_interop",
          "[announce]") {
  TempDir dir;
  auto events = poll_feed(dir, tags_feed({{"2.17.0", "2025-12-29T19:15:44-05:00"},
                                          {"2.17.0-RC4", "2025-12-23T14:43:26-05:00"},
                                          {"2.16.1", "2024-11-15T19:57:12-05:00"}}));
  auto cfg = lustre_config("lts_interop = { \"2.17\" = \"2.15.8\", \"2.16\" = \"2.15.6\" }\n");
  auto m = render_with(event_for(events, "2.17.0"), cfg);
  CHECK(has(m.text, "Upgrading: Lustre 2.17.0 interoperates with Lustre 2.15.8, the latest 2.15 "
                    "LTS release.\n"));
  CHECK(has(m.html, "<li>Upgrading: Lustre 2.17.0 interoperates with Lustre 2.15.8, the latest "
                    "2.15 LTS release.</li>"));
  // A maintenance release of that branch, or its release candidate, is not new.
  CHECK_FALSE(has(render_with(event_for(events, "2.16.1"), cfg).text, "Upgrading"));
  CHECK_FALSE(has(render_with(event_for(events, "2.17.0-RC4"), cfg).text, "Upgrading"));
  // Not configured for the branch: no line.
  CHECK_FALSE(has(render_with(event_for(events, "2.17.0"), lustre_config("")).text, "Upgrading"));

  SECTION("check-config: branches and GA releases only") {
    auto r = parse_config("[lustre]\nlts_interop = { \"2.x\" = \"2.15.8\", \"2.18\" = "
                          "\"2.15.50\", \"2.19\" = \"2.15\" }\n",
                          "h.toml");
    REQUIRE(r.errors.size() == 3);
    std::string all;
    for (const auto& e : r.errors) all += e.to_string() + "\n";
    CHECK(has(all, "h.toml:2: [lustre] lts_interop: '2.x' is not a branch"));
    CHECK(has(all, "h.toml:2: [lustre] lts_interop.2.18: '2.15.50' is not a GA release"));
    CHECK(has(all, "h.toml:2: [lustre] lts_interop.2.19: '2.15' is not a GA release"));
  }
}
