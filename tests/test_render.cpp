#include <catch2/catch.hpp>

#include <filesystem>

#include "daemon/render.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/paths.hpp"

using namespace herald;
using herald::test::TempDir;

namespace {
const std::string k_bundled = herald::test::source_dir() + "/templates";

Event release_event() {
  Event e;
  e.key = "release:lustre:2.15.8";
  e.kind = "release.published";
  e.time = 1'764'699'560;
  e.title = "2.15.8";
  e.url = "https://example.org/tag/2.15.8";
  e.attributes = {{"version", "2.15.8"}, {"branch", "2.15"}, {"lts", true}, {"is_ga", true},
                  {"server_kernels", {"4.18.0-553.82.1.el8 (RHEL8.10)"}},
                  {"client_kernels", nlohmann::json::array()}, {"zfs", "2.3.2"}};
  return e;
}
}  // namespace

TEST_CASE("render: the bundled release template fills subject, text and HTML", "[render]") {
  auto t = Templates::load(k_bundled, "");
  REQUIRE(t);
  DestinationConfig dest;
  dest.name = "discuss";
  auto r = t->render_mail("release.published", mail_context(release_event(), dest));
  REQUIRE(r);
  CHECK(r->subject == "Lustre 2.15.8 (LTS) released");
  CHECK(r->text.find("Lustre 2.15.8, a release of the 2.15 long-term support branch") !=
        std::string::npos);
  CHECK(r->text.find("Server kernels built and tested for this release:\n  4.18.0-553.82.1.el8 "
                     "(RHEL8.10)") != std::string::npos);
  CHECK(r->text.find("Client kernels") == std::string::npos);  // empty list: no heading
  CHECK(r->text.find("Recommended ZFS:       2.3.2") != std::string::npos);
  CHECK(r->text.find("Release: https://example.org/tag/2.15.8") != std::string::npos);
  CHECK(r->html.find("<li>4.18.0-553.82.1.el8 (RHEL8.10)</li>") != std::string::npos);
}

TEST_CASE("render: a release without a date says so instead of a Tagged: date", "[render]") {
  auto t = Templates::load(k_bundled, "");
  REQUIRE(t);
  SECTION("dated") {
    auto r = t->render_mail("release.published", mail_context(release_event(), {}));
    REQUIRE(r);
    CHECK(r->text.find("Tagged:  2025-12-02\n") != std::string::npos);
    CHECK(r->html.find("<li>Tagged: 2025-12-02</li>") != std::string::npos);
    CHECK(r->text.find("date not given") == std::string::npos);
  }
  SECTION("undated (time 0)") {
    Event e = release_event();
    e.time = 0;
    auto r = t->render_mail("release.published", mail_context(e, {}));
    REQUIRE(r);
    CHECK(r->text.find("Tagged:  date not given\n") != std::string::npos);
    CHECK(r->html.find("<li>Tagged: date not given</li>") != std::string::npos);
    CHECK(r->text.find("1970") == std::string::npos);
  }
}

TEST_CASE("render: created, updated and resolved tracker mails say which in the subject",
          "[render]") {
  auto t = Templates::load(k_bundled, "");
  REQUIRE(t);
  DestinationConfig dest;
  dest.subject_prefix = "[lustre-devel]";
  Event e;
  e.title = "LU-18123: lfs migrate hangs on a striped directory";
  e.url = "https://jira.whamcloud.com/browse/LU-18123";
  e.summary = "status: Open -> Resolved";
  const std::pair<const char*, const char*> cases[] = {
      {"bug.created", "Created"}, {"bug.updated", "Updated"}, {"bug.resolved", "Resolved"}};
  for (const auto& [kind, word] : cases) {
    INFO(kind);
    e.kind = kind;
    auto r = t->render_mail(kind, mail_context(e, dest));
    REQUIRE(r);
    CHECK(r->subject == std::string("[lustre-devel] ") + word +
                            ": LU-18123: lfs migrate hangs on a striped directory");
    CHECK(r->text.rfind(std::string(word) + ": LU-18123: lfs migrate", 0) == 0);
    CHECK(r->text.find("https://jira.whamcloud.com/browse/LU-18123") != std::string::npos);
    CHECK(r->text.find("status: Open -> Resolved") != std::string::npos);
    CHECK(r->html.find(std::string("<h1>") + word + ": LU-18123") != std::string::npos);
  }
}

TEST_CASE("render: HTML escapes values; subject and text do not", "[render]") {
  auto t = Templates::load(k_bundled, "");
  REQUIRE(t);
  Event e;
  e.kind = "something.else";
  e.title = "a <b> & \"c\"";
  auto r = t->render_mail(e.kind, mail_context(e, DestinationConfig{}));
  REQUIRE(r);
  CHECK(r->subject == "a <b> & \"c\"");
  CHECK(r->html.find("a &lt;b&gt; &amp; &quot;c&quot;") != std::string::npos);
}

TEST_CASE("render: a configured directory overrides templates file by file", "[render]") {
  TempDir dir;
  std::filesystem::create_directories(dir.file("mail"));
  dir.write("mail/release.published.subject.mustache",
            "[announce] Lustre {{#attributes}}{{version}}{{/attributes}} is out");
  auto t = Templates::load(k_bundled, dir.path());
  REQUIRE(t);
  CHECK(t->origin("mail/release.published.subject") ==
        dir.file("mail/release.published.subject.mustache"));
  CHECK(t->origin("mail/release.published.text") ==
        k_bundled + "/mail/release.published.text.mustache");
  auto r = t->render_mail("release.published", mail_context(release_event(), DestinationConfig{}));
  REQUIRE(r);
  CHECK(r->subject == "[announce] Lustre 2.15.8 is out");
  CHECK(r->text.find("long-term support branch") != std::string::npos);  // bundled text kept
}

TEST_CASE("render: a template that does not parse is reported with its file", "[render]") {
  TempDir dir;
  std::filesystem::create_directories(dir.file("mail"));
  dir.write("mail/default.text.mustache", "{{#open}} never closed");
  auto t = Templates::load(k_bundled, dir.path());
  REQUIRE_FALSE(t);
  CHECK(t.error().message.find(dir.file("mail/default.text.mustache")) != std::string::npos);
}
