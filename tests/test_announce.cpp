// Release announcements a Lustre admin can act on: what the feed source and
// the bundled release templates make of the real sample tags and ChangeLogs
// in config/sample/.
#include <catch2/catch.hpp>

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
                             const Config& cfg = Config{}) {
  SourceConfig sc;
  sc.name = "tags";
  sc.kind = "feed";
  sc.url = "file://" + dir.write("tags.atom", feed);
  sc.release_model = "lustre";
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
