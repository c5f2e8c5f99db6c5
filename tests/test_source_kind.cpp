// The table of source kinds (daemon/source_kind.hpp): what each adapter
// registers, how the configuration loader asks a kind to check its sources,
// and make_source going through the table.
#include <algorithm>
#include <catch2/catch.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "adapters/sources/source.hpp"
#include "daemon/clock.hpp"
#include "daemon/config.hpp"
#include "daemon/source_kind.hpp"
#include "tests/support/config_errors.hpp"
#include "tests/support/fake_http.hpp"

using namespace herald;
using herald::test::config_errors;

namespace {

bool has(const std::string& all, const std::string& line) {
  return all.find(line + "\n") != std::string::npos;
}

// A [mail] section, a destination and a route around the sources given.
std::string with_sources(const std::string& sources, const std::string& http = "") {
  return R"([mail]
from = "herald <h@example.org>"
[[destination]]
name = "list"
to = ["list@example.org"]
[[route]]
kinds = ["release.published"]
to = ["list"]
)" + http +
         sources;
}

}  // namespace

TEST_CASE("source kinds: the adapters register every kind, polled or pushed", "[source_kind]") {
  const auto names = source_kinds();
  for (const char* polled : {"feed", "jira", "github", "eol"}) {
    INFO(polled);
    const SourceKind* k = source_kind(polled);
    REQUIRE(k);
    CHECK(k->kind == polled);
    CHECK_FALSE(k->pushed);
    CHECK(k->make_source);
    CHECK_FALSE(k->add_route);
    CHECK_FALSE(k->keys.empty());
    CHECK(std::find(names.begin(), names.end(), polled) != names.end());
  }
  for (const char* pushed : {"jira-webhook", "github-webhook", "gitlab-webhook"}) {
    INFO(pushed);
    const SourceKind* k = source_kind(pushed);
    REQUIRE(k);
    CHECK(k->pushed);
    CHECK_FALSE(k->make_source);
    CHECK(k->add_route);
    CHECK(std::find(k->keys.begin(), k->keys.end(), "secret") != k->keys.end());
  }
  CHECK(source_kind("rss") == nullptr);
  CHECK(std::is_sorted(names.begin(), names.end()));
}

TEST_CASE("source kinds: an unknown kind is an error at its line naming the known kinds",
          "[source_kind]") {
  auto r = parse_config(with_sources(R"(
[[source]]
name = "tags"
kind = "rss"
url = "https://example.org/tags.atom"
)"),
                        "h.toml");
  const std::string all = config_errors(r);
  INFO(all);
  CHECK_FALSE(r.config);
  CHECK(all.find("h.toml:12: 'kind' must be one of eol, feed, gerrit, github, github-webhook, "
                 "gitlab-webhook, jira, jira-webhook, osv") != std::string::npos);
  CHECK(all.find(", not 'rss'\n") != std::string::npos);
  // The kind is left unset, so the source is also said to need one; no kind's checks run.
  CHECK(has(all, "h.toml:10: [[source]] 'tags' needs a 'kind' (feed)"));
  CHECK(r.errors.size() == 2);
}

TEST_CASE("source kinds: each kind checks its own keys, citing the key's line or the table's",
          "[source_kind]") {
  auto r = parse_config(with_sources(R"(
[[source]]
name = "tags"
kind = "feed"

[[source]]
name = "lu"
kind = "jira"

[[source]]
name = "tools"
kind = "github"
repo = "lustre-tools"

[[source]]
name = "gh-hook"
kind = "github-webhook"
path = "hooks/github"
)"),
                        "h.toml");
  const std::string all = config_errors(r);
  INFO(all);
  CHECK(has(all, "h.toml:10: [[source]] 'tags' needs a 'url'"));
  CHECK(has(all, "h.toml:14: [[source]] 'lu' (jira) needs a 'base_url'"));
  CHECK(has(all, "h.toml:21: [[source]] 'tools' (github) needs 'repo' as owner/name"));
  CHECK(has(all, "h.toml:26: [[source]] 'gh-hook' (webhook) needs a 'path' starting with /"));
  CHECK(has(all, "h.toml:23: [[source]] 'gh-hook' (webhook) needs a 'secret' or 'secret_file'"));
  CHECK(has(all, "h.toml:23: [[source]] 'gh-hook' is a webhook but [http] listen is not set"));
  CHECK(r.errors.size() == 6);
}

TEST_CASE("source kinds: a source that passes its kind's checks gets the kind's defaults",
          "[source_kind]") {
  auto r = parse_config(with_sources(R"(
[[source]]
name = "tools"
kind = "github"
repo = "example/lustre-tools"

[[source]]
name = "gl-hook"
kind = "gitlab-webhook"
path = "/hooks/gitlab"
secret = "s3cret"
)",
                                     "[http]\nlisten = \"127.0.0.1:0\"\n"),
                        "h.toml");
  INFO(config_errors(r));
  REQUIRE(r.config);
  REQUIRE(r.config->sources.size() == 2);
  CHECK(r.config->sources[0].base_url == "https://api.github.com");
  CHECK(is_pushed(r.config->sources[1]));
  CHECK_FALSE(is_pushed(r.config->sources[0]));
}

TEST_CASE("source kinds: make_source makes each polled kind's poller through the table",
          "[source_kind]") {
  Config cfg;
  FakeClock clock(1'700'000'000);
  struct Case {
    const char* kind;
    const char* url_start;
  };
  for (const Case& c : {Case{"feed", "https://example.org/tags.atom"},
                        Case{"jira", "https://jira.example.org/rest/api/2/search"},
                        Case{"github", "https://api.example.org/repos/example/tools/issues"}}) {
    INFO(c.kind);
    SourceConfig sc;
    sc.name = "s";
    sc.kind = c.kind;
    sc.url = "https://example.org/tags.atom";
    sc.release_model = "generic";
    sc.base_url =
        std::string(c.kind) == "jira" ? "https://jira.example.org" : "https://api.example.org";
    sc.repo = "example/tools";
    test::FakeHttp http;
    auto src = make_source(sc, cfg, clock, http.factory());
    REQUIRE(src);
    CHECK(&src->config() != &sc);  // the source keeps its own copy
    CHECK(src->config().kind == c.kind);
    (void)src->poll(SourceState{});  // the fake's empty 200 may not parse; the request counts
    auto requests = http.requests();
    REQUIRE_FALSE(requests.empty());
    CHECK(requests[0].url.rfind(c.url_start, 0) == 0);
  }
  for (const char* pushed : {"jira-webhook", "github-webhook", "gitlab-webhook"}) {
    SourceConfig sc;
    sc.kind = pushed;
    CHECK(make_source(sc, cfg, clock) == nullptr);
  }
  SourceConfig unknown;
  unknown.kind = "rss";
  CHECK_THROWS_AS(make_source(unknown, cfg, clock), std::invalid_argument);
}

TEST_CASE("source kinds: a registered kind is checked and made through its entry",
          "[source_kind]") {
  struct NullSource final : Source {
    explicit NullSource(SourceConfig sc) : m_sc(std::move(sc)) {}
    const SourceConfig& config() const override { return m_sc; }
    Expected<PollOutcome> poll(const SourceState&) override { return PollOutcome{}; }
    SourceConfig m_sc;
  };
  SourceKind k;
  k.kind = "zz-test";
  k.keys = {"url"};
  k.check = [](const SourceConfig& sc, const Config&) {
    std::vector<std::pair<std::string, std::string>> out;
    if (sc.url.rfind("https://", 0) != 0) out.emplace_back("url", "(zz-test) wants https");
    return out;
  };
  k.make_source = [](const SourceConfig& sc, const Config&, const Clock&,
                     std::unique_ptr<HttpTransport>) -> std::unique_ptr<Source> {
    return std::make_unique<NullSource>(sc);
  };
  register_source_kind(std::move(k));

  auto r = parse_config(with_sources(R"(
[[source]]
name = "odd"
kind = "zz-test"
url = "http://example.org/x"
)"),
                        "h.toml");
  const std::string all = config_errors(r);
  INFO(all);
  CHECK(has(all, "h.toml:13: [[source]] 'odd' (zz-test) wants https"));
  CHECK(r.errors.size() == 1);

  SourceConfig sc;
  sc.name = "odd";
  sc.kind = "zz-test";
  Config cfg;
  FakeClock clock;
  auto src = make_source(sc, cfg, clock, test::FakeHttp().factory());
  REQUIRE(src);
  CHECK(src->config().name == "odd");
}

TEST_CASE("source kinds: the release context merges the registered providers", "[source_kind]") {
  Config cfg;
  Event plain;
  plain.key = "k";
  plain.kind = "bug.created";
  // Not a release: the Lustre provider adds nothing.
  CHECK(release_context(plain, cfg) == nlohmann::json::object());

  register_release_context([](const Event& e, const Config&) {
    return e.kind == "zz.test" ? nlohmann::json{{"extra", e.key}} : nlohmann::json::object();
  });
  Event test_event = plain;
  test_event.kind = "zz.test";
  CHECK(release_context(test_event, cfg) == nlohmann::json{{"extra", "k"}});
  CHECK(release_context(plain, cfg) == nlohmann::json::object());
}
