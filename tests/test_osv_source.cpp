// The OSV source (kind = "osv"): the records of tests/fixtures/osv read into
// their fields, package filtering, withdrawals, a directory with a bad file,
// the limits, its configuration, and proposals held by the pipeline: stored,
// never routed.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "adapters/sources/osv/osv_record.hpp"
#include "adapters/sources/source.hpp"
#include "daemon/config.hpp"
#include "daemon/pipeline.hpp"
#include "daemon/router.hpp"
#include "daemon/util.hpp"
#include "tests/support/config_errors.hpp"
#include "tests/support/fake_http.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/temp_dir.hpp"

using namespace herald;

namespace {

std::string fixture(const std::string& name) {
  auto text = read_file(test::fixtures_dir() + "/osv/" + name);
  REQUIRE(text);
  return *text;
}

osv::Record record(const std::string& name) {
  auto docs = osv::split_document(fixture(name));
  REQUIRE(docs);
  REQUIRE(docs->size() == 1);
  auto r = osv::parse_record(docs->front());
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r);
  return *r;
}

// The fixed versions of every range of a record, in order.
std::vector<std::string> fixed(const osv::Record& r) {
  std::vector<std::string> out;
  for (const auto& a : r.affected)
    for (const auto& range : a.ranges)
      for (const auto& e : range.events)
        if (e.type == "fixed") out.push_back(e.value);
  return out;
}

SourceConfig osv_config(const std::string& path, std::vector<std::string> packages = {}) {
  SourceConfig sc;
  sc.name = "osv";
  sc.kind = "osv";
  sc.path = path;
  sc.file = path;
  sc.packages = std::move(packages);
  return sc;
}

Expected<PollOutcome> poll_once(const SourceConfig& sc) {
  FakeClock clock(1'767'225'600);
  auto source = make_source(sc, Config{}, clock);
  REQUIRE(source);
  return source->poll(SourceState{});
}

const Event* find_key(const std::vector<Event>& events, const std::string& key) {
  for (const auto& e : events)
    if (e.key == key) return &e;
  return nullptr;
}

}  // namespace

TEST_CASE("osv: every fixture record parses into its fields", "[osv]") {
  SECTION("CVE-2018-5407: Alpine packages and a GIT range, CVSS 3.1 medium") {
    auto r = record("CVE-2018-5407.json");
    CHECK(r.id == "CVE-2018-5407");
    CHECK(r.modified == "2024-05-29T23:34:56Z");
    CHECK(r.published == "2018-11-15T21:29:00Z");
    CHECK(r.aliases.empty());
    CHECK(r.withdrawn.empty());
    REQUIRE(r.affected.size() == 7);
    CHECK(r.affected[0].name == "openssl");
    CHECK(r.affected[0].ecosystem == "Alpine:v3.3");
    CHECK(r.affected[6].name.empty());
    CHECK(r.affected[6].ranges.at(0).type == "GIT");
    CHECK(r.affected[6].ranges.at(0).repo == "https://github.com/nodejs/node");
    auto f = fixed(r);
    REQUIRE(f.size() == 7);
    CHECK(std::count(f.begin(), f.end(), "1.0.2q-r0") == 6);
    CHECK(f.back() == "03b825811ed4af0addcdf6e75bacb3dc1c4c5940");
    CHECK(r.references.size() == 39);

    Event e = osv::advisory_event(r, "osv", {});
    CHECK(e.kind == "security.advisory");
    CHECK(e.key == "osv:CVE-2018-5407:2024-05-29T23:34:56Z");
    CHECK(e.title == "CVE-2018-5407");  // no summary: the id
    CHECK(e.url == "http://www.securityfocus.com/bid/105897");
    CHECK(e.severity == "medium");  // AV:L/AC:H/PR:L/UI:N/S:U/C:H/I:N/A:N = 4.7
    CHECK(e.tags.at("advisory") == "CVE-2018-5407");
    CHECK(e.tags.at("package") == "openssl");
    CHECK_FALSE(e.tags.count("aliases"));
    CHECK_FALSE(e.tags.count("withdrawn"));
    CHECK(e.time == 1'717'025'696);  // 2024-05-29T23:34:56Z
    CHECK(e.summary.find("Simultaneous Multi-threading (SMT)") != std::string::npos);
    const auto& a = e.attributes;
    CHECK(a["modified"] == "2024-05-29T23:34:56Z");
    CHECK(a["affected"].size() == 7);
    CHECK(a["affected"][0]["ranges"][0]["events"][1]["fixed"] == "1.0.2q-r0");
  }
  SECTION("GHSA-9v2f-6vcg-3hgv: an alias, a labelled severity, a WEB reference") {
    auto r = record("GHSA-9v2f-6vcg-3hgv.json");
    CHECK(r.id == "GHSA-9v2f-6vcg-3hgv");
    CHECK(r.modified == "2024-07-03T20:05:21Z");
    CHECK(r.aliases == std::vector<std::string>{"CVE-2024-39236"});
    CHECK(r.severity_label == "CRITICAL");
    REQUIRE(r.affected.size() == 1);
    CHECK(r.affected[0].name == "Gradio");
    CHECK(r.affected[0].versions == std::vector<std::string>{"4.36.1", "4.36.-1"});
    Event e = osv::advisory_event(r, "osv", {});
    CHECK(e.severity == "critical");
    CHECK(e.tags.at("aliases") == "CVE-2024-39236");
    CHECK(e.url == "https://nvd.nist.gov/vuln/detail/CVE-2024-39236");
    CHECK(e.title.rfind("GHSA-9v2f-6vcg-3hgv: Gradio was discovered to contain a code injection",
                        0) == 0);
  }
  SECTION("RHSA-2022:0216: related CVEs, no affected entries, CVSS 3.1 high") {
    auto r = record("RHSA-2022_0216.json");
    CHECK(r.id == "RHSA-2022:0216");
    CHECK(r.modified == "2024-09-01T17:42:35Z");
    CHECK(r.related ==
          std::vector<std::string>{"CVE-2021-44832", "CVE-2021-45046", "CVE-2021-45105"});
    CHECK(r.affected.empty());
    Event e = osv::advisory_event(r, "osv", {});
    CHECK(e.key == "osv:RHSA-2022:0216:2024-09-01T17:42:35Z");
    CHECK(e.severity == "high");  // AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H = 8.1
    CHECK(e.url == "https://access.redhat.com/errata/RHSA-2022:0216");
    CHECK(e.title ==
          "RHSA-2022:0216: Red Hat Security Advisory: Red Hat JBoss Enterprise Application "
          "Platform 7.4 security update");
  }
  SECTION("SUSE-FU-2022:0444-1: empty aliases, no severity at all") {
    auto r = record("SUSE-FU-2022_0444-1.json");
    CHECK(r.id == "SUSE-FU-2022:0444-1");
    CHECK(r.modified == "2022-02-16T15:20:54Z");
    CHECK(r.aliases.empty());
    CHECK(r.related.size() == 51);
    CHECK(r.references.size() == 352);
    Event e = osv::advisory_event(r, "osv", {});
    CHECK(e.severity == "unrated");  // no level it does not claim
    CHECK(e.title == "SUSE-FU-2022:0444-1: Feature update for venv-salt-minion");
  }
}

TEST_CASE("osv: CVSS v3 vectors map to severities", "[osv]") {
  CHECK(osv::severity_from_cvss3("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H") == "critical");
  CHECK(osv::severity_from_cvss3("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H") == "high");
  CHECK(osv::severity_from_cvss3("CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:H/I:N/A:N") == "medium");
  CHECK(osv::severity_from_cvss3("CVSS:3.0/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N") == "medium");
  CHECK(osv::severity_from_cvss3("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N") == "low");
  CHECK(osv::severity_from_cvss3("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N") == "info");
  CHECK(osv::severity_from_cvss3("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H") == "");
  CHECK(osv::severity_from_cvss3("CVSS:3.1/AV:X/AC:L") == "");
}

TEST_CASE("osv: a CVSS v4.0-only record is scored, not given medium", "[osv]") {
  auto r = record("CVE-2018-5407_cvss4.json");
  REQUIRE(r.cvss.size() == 1);
  Event e = osv::advisory_event(r, "osv", {});
  CHECK(e.severity == "critical");  // 9.3
  CHECK(e.attributes["severity_basis"] == "CVSS:4.0 base score 9.3");
  CHECK_FALSE(e.attributes.contains("severity_problems"));

  CHECK(*osv::cvss_base_score("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N") ==
        0.0);
  CHECK(osv::severity_from_score(0.0) == "info");
  CHECK(osv::severity_from_score(6.9) == "medium");
}

TEST_CASE("osv: a vector that cannot be scored leaves the record's label, else unrated",
          "[osv]") {
  auto with = [](const std::string& vector, const char* label) {
    auto j = nlohmann::json::parse(fixture("CVE-2018-5407.json"));
    j["severity"] = nlohmann::json::array({{{"type", "CVSS_V4"}, {"score", vector}}});
    if (label) j["database_specific"] = {{"severity", label}};
    auto r = osv::parse_record(j);
    REQUIRE(r);
    return osv::advisory_event(*r, "osv", {});
  };
  const std::string bad = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/XX:Y";
  SECTION("no label: unrated, and why") {
    Event e = with(bad, nullptr);
    CHECK(e.severity == "unrated");
    CHECK(e.attributes["severity_basis"] ==
          "no severity[] vector could be scored and there is no database_specific.severity");
    REQUIRE(e.attributes["severity_problems"].size() == 1);
    CHECK(e.attributes["severity_problems"][0] == "'" + bad + "': unknown metric 'XX'");
  }
  SECTION("the record's own label") {
    Event e = with(bad, "MODERATE");
    CHECK(e.severity == "medium");
    CHECK(e.attributes["severity_basis"] == "database_specific.severity MODERATE");
    CHECK(e.attributes["severity_problems"].size() == 1);
  }
  SECTION("the v3 path the same way") {
    Event e = with("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H", nullptr);
    CHECK(e.severity == "unrated");
    CHECK(e.attributes["severity_problems"][0] ==
          "'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H': mandatory metric A is missing");
  }
  SECTION("a version herald does not score") {
    Event e = with("AV:N/AC:L/Au:N/C:P/I:P/A:P", nullptr);
    CHECK(e.severity == "unrated");
    CHECK(e.attributes["severity_problems"][0] ==
          "'AV:N/AC:L/Au:N/C:P/I:P/A:P': not a CVSS v3.x or v4.0 vector (only those are scored)");
  }
  SECTION("another vector that scores wins") {
    auto j = nlohmann::json::parse(fixture("CVE-2018-5407.json"));
    j["severity"].push_back({{"type", "CVSS_V4"}, {"score", bad}});
    auto r = osv::parse_record(j);
    REQUIRE(r);
    Event e = osv::advisory_event(*r, "osv", {});
    CHECK(e.severity == "medium");  // the v3.1 vector, 4.7
    CHECK(e.attributes["severity_basis"] == "CVSS:3.1 base score 4.7");
    CHECK(e.attributes["severity_problems"].size() == 1);
  }
  SECTION("a record with no rating at all is unrated") {
    Event e = osv::advisory_event(record("SUSE-FU-2022_0444-1.json"), "osv", {});
    CHECK(e.severity == "unrated");
    CHECK(e.attributes["severity_basis"] ==
          "the record has no rating: neither severity[] nor database_specific.severity");
  }
}

TEST_CASE("osv source: a CVSS v4.0 record scored through the source", "[osv][osv_source]") {
  test::TempDir dir;
  dir.write("CVE-2018-5407_cvss4.json", fixture("CVE-2018-5407_cvss4.json"));
  auto j = nlohmann::json::parse(fixture("SUSE-FU-2022_0444-1.json"));
  j["severity"] = nlohmann::json::array(
      {{{"type", "CVSS_V4"}, {"score", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H"}}});
  dir.write("SUSE.json", j.dump());
  auto out = poll_once(osv_config(dir.path()));
  REQUIRE(out);
  REQUIRE(out->events.size() == 2);
  CHECK(out->warnings.empty());  // an unscored vector skips nothing
  const Event* v4 = find_key(out->events, "osv:CVE-2018-5407:2024-05-29T23:34:56Z");
  REQUIRE(v4);
  CHECK(v4->severity == "critical");
  CHECK(v4->attributes["cvss"][0] ==
        "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N");
  const Event* suse = find_key(out->events, "osv:SUSE-FU-2022:0444-1:2022-02-16T15:20:54Z");
  REQUIRE(suse);
  CHECK(suse->severity == "unrated");
  CHECK(suse->attributes["severity_problems"][0].get<std::string>().find(
            "mandatory metrics SC, SI, SA are missing") != std::string::npos);
}

TEST_CASE("osv: bodies hold one record, an array, or the API's vulns", "[osv]") {
  const std::string one = fixture("GHSA-9v2f-6vcg-3hgv.json");
  CHECK(osv::split_document(one)->size() == 1);
  CHECK(osv::split_document("[" + one + "," + one + "]")->size() == 2);
  CHECK(osv::split_document("{\"vulns\": [" + one + "]}")->size() == 1);
  CHECK(osv::split_document("{}")->empty());
  auto bad = osv::split_document("{\"vulns\": 3}");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message == "'vulns' must be an array");
  auto broken = osv::split_document("{\"id\": ");
  REQUIRE_FALSE(broken);
  CHECK(broken.error().kind == ErrorKind::bad_input);
}

TEST_CASE("osv: a record of bad shape is refused naming the field", "[osv]") {
  auto check = [](const std::string& text, const std::string& message) {
    auto r = osv::parse_record(nlohmann::json::parse(text));
    REQUIRE_FALSE(r);
    CHECK(r.error().message == message);
  };
  check(R"({"modified": "2024-01-01T00:00:00Z"})", "record: 'id' is missing");
  check(R"({"id": "X-1"})", "record X-1: 'modified' is missing");
  check(R"({"id": "X-1", "modified": 7})", "record X-1: 'modified' must be a string");
  check(R"({"id": "X-1", "modified": "m", "aliases": "CVE-1"})",
        "record X-1: 'aliases' must be an array");
  check(R"({"id": "X-1", "modified": "m", "affected": [{"package": {"name": "a"}},
           {"ranges": [{"type": "SEMVER", "events": [{"fixed": 2}]}]}]})",
        "record X-1: 'affected[1].ranges[0].events[0].fixed' must be a string");
  check(R"({"id": "X-1", "modified": "m", "affected": [{"ranges": [{"type": "GIT"}]}]})",
        "record X-1: 'affected[0].ranges[0].events' is missing");
}

TEST_CASE("osv source: packages filter the records of a directory, case-insensitively",
          "[osv][osv_source]") {
  test::TempDir dir;
  for (const char* name : {"CVE-2018-5407.json", "GHSA-9v2f-6vcg-3hgv.json", "RHSA-2022_0216.json",
                           "SUSE-FU-2022_0444-1.json"})
    dir.write(name, fixture(name));
  SECTION("no list: every record") {
    auto out = poll_once(osv_config(dir.path()));
    REQUIRE(out);
    CHECK(out->events.size() == 4);
    CHECK(out->warnings.empty());
  }
  SECTION("a list: only the records naming one of its packages") {
    auto out = poll_once(osv_config(dir.path(), {"OpenSSL", "lustre"}));
    REQUIRE(out);
    REQUIRE(out->events.size() == 1);
    CHECK(out->events[0].key == "osv:CVE-2018-5407:2024-05-29T23:34:56Z");
    CHECK(out->events[0].tags.at("package") == "openssl");
    CHECK(out->announce == std::vector<bool>{true});
  }
  SECTION("gradio, as the record writes it in another case") {
    auto out = poll_once(osv_config(dir.path(), {"gradio"}));
    REQUIRE(out);
    REQUIRE(out->events.size() == 1);
    CHECK(out->events[0].tags.at("package") == "Gradio");
  }
}

TEST_CASE("osv source: a withdrawn record is news under a new key, and says so",
          "[osv][osv_source]") {
  test::TempDir dir;
  std::string text = fixture("GHSA-9v2f-6vcg-3hgv.json");
  dir.write("GHSA-9v2f-6vcg-3hgv.json", text);
  auto first = poll_once(osv_config(dir.file("GHSA-9v2f-6vcg-3hgv.json")));
  REQUIRE(first);
  REQUIRE(first->events.size() == 1);

  auto j = nlohmann::json::parse(text);
  j["modified"] = "2024-08-01T10:00:00Z";
  j["withdrawn"] = "2024-08-01T10:00:00Z";
  dir.write("GHSA-9v2f-6vcg-3hgv.json", j.dump(2));
  auto second = poll_once(osv_config(dir.file("GHSA-9v2f-6vcg-3hgv.json")));
  REQUIRE(second);
  REQUIRE(second->events.size() == 1);
  const Event& e = second->events[0];
  CHECK(e.key == "osv:GHSA-9v2f-6vcg-3hgv:2024-08-01T10:00:00Z");
  CHECK(e.key != first->events[0].key);
  CHECK(e.tags.at("withdrawn") == "true");
  CHECK(e.title.rfind("Withdrawn: GHSA-9v2f-6vcg-3hgv: ", 0) == 0);
  CHECK(e.attributes["withdrawn"] == "2024-08-01T10:00:00Z");
  CHECK(second->content_hash != first->content_hash);
}

TEST_CASE("osv source: a malformed file in a directory is reported by name; the others are read",
          "[osv][osv_source]") {
  test::TempDir dir;
  dir.write("CVE-2018-5407.json", fixture("CVE-2018-5407.json"));
  dir.write("GHSA-9v2f-6vcg-3hgv.json", fixture("GHSA-9v2f-6vcg-3hgv.json"));
  dir.write("broken.json", "{\"id\": \"OSV-1\", \"modified\": ");
  dir.write("shape.json", R"({"id": "OSV-2", "modified": "2024-01-01T00:00:00Z", "affected": 1})");
  dir.write("notes.txt", "not a record, not read");
  auto out = poll_once(osv_config(dir.path()));
  REQUIRE(out);
  CHECK(out->events.size() == 2);
  CHECK(find_key(out->events, "osv:CVE-2018-5407:2024-05-29T23:34:56Z"));
  CHECK(find_key(out->events, "osv:GHSA-9v2f-6vcg-3hgv:2024-07-03T20:05:21Z"));
  REQUIRE(out->warnings.size() == 2);
  CHECK(out->warnings[0].rfind("broken.json: malformed JSON", 0) == 0);
  CHECK(out->warnings[1] == "shape.json: record OSV-2: 'affected' must be an array; skipped");
}

TEST_CASE("osv source: a file over max_size is refused with the file and the limit",
          "[osv][osv_source]") {
  test::TempDir dir;
  dir.write("CVE-2018-5407.json", fixture("CVE-2018-5407.json"));  // 7,303 bytes
  SourceConfig sc = osv_config(dir.file("CVE-2018-5407.json"));
  sc.max_size = 4096;
  auto out = poll_once(sc);
  REQUIRE_FALSE(out);
  CHECK(out.error().kind == ErrorKind::bad_input);
  INFO(out.error().message);
  CHECK(out.error().message.rfind(dir.file("CVE-2018-5407.json") + ": ", 0) == 0);
  CHECK(out.error().message.find("exceeds the limit of 4096") != std::string::npos);

  SECTION("in a directory it is a warning, and the others are read") {
    dir.write("small.json", R"({"id": "OSV-3", "modified": "2024-01-01T00:00:00Z"})");
    SourceConfig d = osv_config(dir.path());
    d.max_size = 4096;
    auto listed = poll_once(d);
    REQUIRE(listed);
    CHECK(listed->events.size() == 1);
    REQUIRE(listed->warnings.size() == 1);
    CHECK(listed->warnings[0].rfind("CVE-2018-5407.json: ", 0) == 0);
  }
}

TEST_CASE("osv source: its configuration keys and their errors", "[osv][osv_source][config]") {
  test::TempDir dir;
  SECTION("a directory and packages") {
    auto r = parse_config(
        "[[source]]\nname = \"advisories\"\nkind = \"osv\"\npath = \"osv\"\n"
        "packages = [\"lustre\", \"kernel\"]\n",
        dir.file("herald.toml"));
    INFO(test::config_errors(r));
    REQUIRE(r.config);
    CHECK(r.config->sources.at(0).file == dir.file("osv"));
    CHECK(r.config->sources.at(0).packages == std::vector<std::string>{"lustre", "kernel"});
  }
  SECTION("mistakes, each at its line") {
    auto r = parse_config(R"([[source]]
name = "a"
kind = "osv"

[[source]]
name = "b"
kind = "osv"
path = "osv"
url = "https://api.osv.dev/v1/vulns/OSV-1"
packages = ["lustre", 3]
)",
                          dir.file("herald.toml"));
    const std::string e = test::config_errors(r);
    INFO(e);
    CHECK_FALSE(r.config);
    const std::string f = dir.file("herald.toml");
    CHECK(e.find(f + ":1: [[source]] 'a' (osv) needs one of 'path'") != std::string::npos);
    CHECK(e.find(f + ":9: [[source]] 'b' (osv) needs one of 'path'") != std::string::npos);
    CHECK(e.find(f + ":10: 'packages' must contain only strings") != std::string::npos);
  }
}

TEST_CASE("proposals: a route, digest or topic naming a proposal kind is refused at its line",
          "[osv][router][config]") {
  test::TempDir dir;
  auto r = parse_config(R"([[destination]]
name = "list"
to = ["list@example.org"]

[[route]]
kinds = ["release.published", "security.advisory"]
to = ["list"]

[[digest]]
name = "weekly"
schedule = "@weekly"
kinds = ["patch.candidate"]
to = ["list"]
)",
                        dir.file("herald.toml"));
  const std::string e = test::config_errors(r);
  INFO(e);
  CHECK_FALSE(r.config);
  const std::string f = dir.file("herald.toml");
  CHECK(e.find(f + ":6: [[route]] names 'security.advisory': security.advisory and "
                   "patch.candidate events are proposals held for an admin; they are never "
                   "routed") != std::string::npos);
  CHECK(e.find(f + ":12: [[digest]] 'weekly' names 'patch.candidate': ") != std::string::npos);
}

TEST_CASE("proposals: the router sends them nowhere, whatever the rules", "[osv][router]") {
  RouteConfig all;
  all.to = {"list"};
  Event e;
  e.kind = "security.advisory";
  e.key = "osv:X-1:m";
  CHECK(route_event(e, {all}).empty());
  e.kind = "patch.candidate";
  CHECK(route_event(e, {all}).empty());
  e.kind = "security.notice";  // an admin's notice is sent
  CHECK(route_event(e, {all}) == std::vector<std::string>{"list"});
  CHECK(is_proposal_kind("security.advisory"));
  CHECK_FALSE(is_proposal_kind("release.published"));
}

TEST_CASE("proposals: the pipeline stores an advisory and creates no delivery", "[osv][pipeline]") {
  test::TempDir dir;
  std::filesystem::create_directory(dir.file("osv"));
  dir.write("osv/CVE-2018-5407.json", fixture("CVE-2018-5407.json"));
  dir.write("osv/GHSA-9v2f-6vcg-3hgv.json", fixture("GHSA-9v2f-6vcg-3hgv.json"));
  dir.write("h.toml", R"(
[herald]
database = "h.db"
[[source]]
name = "advisories"
kind = "osv"
path = "osv"
[[destination]]
name = "discuss"
to = ["lustre-discuss@lists.example.org"]
[[route]]
to = ["discuss"]
[[digest]]
name = "everything"
schedule = "@daily"
kinds = []
to = ["discuss"]
)");
  auto cfg = load_config(dir.file("h.toml"));
  INFO(test::config_errors(cfg));
  REQUIRE(cfg.config);
  auto store = Store::open(cfg.config->database);
  REQUIRE(store);
  auto templates = Templates::load(cfg.config->bundled_templates, "");
  REQUIRE(templates);
  FakeClock clock(1'767'225'600);
  Pipeline p(*cfg.config, std::move(*templates), **store, clock,
             [](const std::string&) -> std::unique_ptr<Sink> { return nullptr; });
  RunReport r;
  p.poll_sources(true, r);
  CHECK(r.poll_failures == 0);
  CHECK(r.new_events == 2);
  p.route_pending(r);
  CHECK(r.routed_events == 2);
  CHECK(r.deliveries_created == 0);
  auto stored = (*store)->events().event_by_key("osv:CVE-2018-5407:2024-05-29T23:34:56Z");
  REQUIRE(stored);
  REQUIRE(stored->has_value());
  CHECK((*stored)->event.kind == "security.advisory");
  CHECK((*(*store)->events().unrouted_events(10)).empty());
  CHECK((*(*store)->outbox().outbox_rows("", 10)).empty());
  clock.advance(2 * 86'400);
  p.run_digests(r);
  CHECK((*(*store)->outbox().outbox_rows("", 10)).empty());
}

TEST_CASE("osv source: a URL answering the OSV API's vulns, then 304", "[osv][osv_source]") {
  test::FakeHttp http;
  const std::string body = "{\"vulns\": [" + fixture("CVE-2018-5407.json") + ", " +
                           fixture("GHSA-9v2f-6vcg-3hgv.json") + "]}";
  http.answer(200, body);
  http.answer(304);
  SourceConfig sc;
  sc.name = "osv";
  sc.kind = "osv";
  sc.url = "https://osv.example.org/query?package=openssl";
  sc.packages = {"openssl"};
  FakeClock clock(1'767'225'600);
  auto source = make_source(sc, Config{}, clock, http.factory());
  auto first = source->poll(SourceState{});
  REQUIRE(first);
  REQUIRE(first->events.size() == 1);
  CHECK(first->events[0].key == "osv:CVE-2018-5407:2024-05-29T23:34:56Z");

  SourceState state;
  state.etag = "\"v1\"";  // as the transport reads it from the answer
  state.content_hash = first->content_hash;
  auto second = source->poll(state);
  REQUIRE(second);
  CHECK(second->unchanged);
  CHECK(second->events.empty());
  auto requests = http.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[0].etag.empty());
  CHECK(requests[1].etag == "\"v1\"");
  CHECK(test::header_value(requests[0], "Accept") == "application/json");

  SECTION("a body that is not OSV fails the poll naming the URL, not its query") {
    http.answer(200, "[1, 2");
    auto bad = source->poll(SourceState{});
    REQUIRE_FALSE(bad);
    CHECK(bad.error().message.rfind("https://osv.example.org/query: malformed JSON", 0) == 0);
  }
}
