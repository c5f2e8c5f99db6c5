// The end-of-life schedule readers: endoflife.date product files (the copies
// in tests/fixtures/eol, herald's own config/lustre-eol.md, and small cases of
// our own) and the API v1 answer.
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <regex>
#include <sstream>
#include <string>

#include "adapters/sources/eol/schedule.hpp"
#include "adapters/sources/lustre/release.hpp"
#include "daemon/util.hpp"
#include "tests/support/paths.hpp"

using namespace herald;
using eol::DateField;
using State = DateField::State;

namespace {

std::string fixture(const std::string& name) {
  auto text = read_file(test::fixtures_dir() + "/eol/" + name);
  REQUIRE(text);
  return *text;
}

const eol::Cycle* find(const eol::Product& p, const std::string& name) {
  for (const auto& c : p.cycles)
    if (c.name == name) return &c;
  return nullptr;
}

// "releaseCycle:" entries of a file's front matter, counted without the parser.
size_t release_entries(const std::string& text) {
  static const std::regex entry(R"(^\s*- releaseCycle:)");
  std::istringstream in(text);
  std::string line;
  size_t n = 0;
  int fences = 0;
  while (std::getline(in, line) && fences < 2) {
    if (line == "---") ++fences;
    if (std::regex_search(line, entry)) ++n;
  }
  return n;
}

std::string error_of(const std::string& text) {
  auto p = eol::parse_product_file(text);
  REQUIRE_FALSE(p.ok());
  CHECK(p.error().kind == ErrorKind::bad_input);
  return p.error().message;
}

}  // namespace

TEST_CASE("eol schedule: every endoflife.date product file of the fixtures parses",
          "[eol][schedule]") {
  size_t files = 0;
  for (const auto& ent : std::filesystem::directory_iterator(test::fixtures_dir() + "/eol")) {
    if (ent.path().extension() != ".md") continue;
    ++files;
    const std::string name = ent.path().filename().string();
    INFO(name);
    const std::string text = fixture(name);
    auto p = eol::parse_product_file(text);
    REQUIRE(p.ok());
    CHECK_FALSE(p->title.empty());
    CHECK(p->cycles.size() == release_entries(text));
    for (const auto& c : p->cycles) {
      INFO(c.name);
      CHECK_FALSE(c.name.empty());
      CHECK(c.line > 0);
      CHECK(c.eol.state != State::absent);  // every release of endoflife.date gives its eol
    }
  }
  CHECK(files == 9);
}

TEST_CASE("eol schedule: the fixtures' dates, flags and latest releases are read as written",
          "[eol][schedule]") {
  SECTION("rhel: quoted cycles, support dates, lts given as a date") {
    auto p = eol::parse_product_file(fixture("rhel.md"));
    REQUIRE(p.ok());
    CHECK(p->title == "Red Hat Enterprise Linux");
    REQUIRE(p->cycles.size() >= 2);
    CHECK(p->cycles[0].name == "10");
    const auto* nine = find(*p, "9");
    REQUIRE(nine);
    CHECK(nine->release_date == "2022-05-18");
    CHECK(nine->eoas.text() == "2027-05-31");
    CHECK(nine->eol.text() == "2032-05-31");
    CHECK(nine->eoes.text() == "2036-05-31");
    CHECK(nine->lts);
    CHECK(nine->latest == "9.8");
    CHECK(nine->latest_date == "2026-05-20");
  }
  SECTION("linux-kernel: eol false, and a date followed by a comment") {
    auto p = eol::parse_product_file(fixture("linux-kernel.md"));
    REQUIRE(p.ok());
    const auto* newest = find(*p, "7.2");
    REQUIRE(newest);
    CHECK(newest->eol.state == State::undecided);
    CHECK(newest->eol.text() == "false");
    const auto* seven = find(*p, "7.0");
    REQUIRE(seven);
    CHECK(seven->eol.text() == "2026-06-27");
    const auto* lts = find(*p, "6.18");
    REQUIRE(lts);
    CHECK(lts->lts);
    CHECK_FALSE(seven->lts);
  }
  SECTION("nvidia-driver: eoas true and false; the nested releases of auto: are not read") {
    auto p = eol::parse_product_file(fixture("nvidia-driver.md"));
    REQUIRE(p.ok());
    const auto* r610 = find(*p, "r610-linux");
    REQUIRE(r610);
    CHECK(r610->eoas.state == State::over);
    CHECK(r610->eol.text() == "2027-08-03");
    const auto* r590 = find(*p, "r590-linux");
    REQUIRE(r590);
    CHECK(r590->eoas.state == State::undecided);
    // r470-windows is also under auto: declare: releases: (as "- name:"); that list is skipped.
    const auto* r470 = find(*p, "r470-windows");
    REQUIRE(r470);
    CHECK(r470->line > 100);
  }
  SECTION("oracle-linux: eol and eoes false") {
    auto p = eol::parse_product_file(fixture("oracle-linux.md"));
    REQUIRE(p.ok());
    const auto* ten = find(*p, "10");
    REQUIRE(ten);
    CHECK(ten->eol.state == State::undecided);
    CHECK(ten->eoes.state == State::undecided);
  }
}

TEST_CASE("eol schedule: config/lustre-eol.md lists every 2.x branch of the Lustre tags",
          "[eol][schedule][lustre]") {
  auto text = read_file(test::source_dir() + "/config/lustre-eol.md");
  REQUIRE(text);
  auto p = eol::parse_product_file(*text);
  REQUIRE(p.ok());
  CHECK(p->title == "Lustre");

  // Each branch's first (x.y.0) tag and latest GA release, from the tags fixture.
  auto tags = read_file(test::fixtures_dir() + "/lustre/tags.txt");
  REQUIRE(tags);
  std::map<std::string, std::string> first_date;
  std::map<std::string, lustre::Version> latest;
  for (const auto& line : split(*tags, '\n')) {
    auto parts = split(line, ' ');
    if (parts.size() != 2) continue;
    auto v = lustre::parse_version(parts[0]);
    if (!v || v->major != 2 || v->cls != lustre::ReleaseClass::ga || v->build != 0) continue;
    const std::string day = parts[1].substr(0, 10);  // the tagger's local date
    if (v->patch == 0 && (!first_date.count(v->branch()) || day < first_date[v->branch()]))
      first_date[v->branch()] = day;
    auto it = latest.find(v->branch());
    if (it == latest.end() || lustre::release_precedes(it->second, *v))
      latest.insert_or_assign(v->branch(), *v);
  }
  REQUIRE(first_date.size() >= 18);
  CHECK(p->cycles.size() == first_date.size());
  for (const auto& [branch, day] : first_date) {
    INFO(branch);
    const auto* c = find(*p, branch);
    REQUIRE(c);
    CHECK(c->release_date == day);
    CHECK(c->latest == latest.at(branch).text());
    CHECK(c->lts == (branch == "2.10" || branch == "2.12" || branch == "2.15"));
    CHECK(c->eol.state != State::absent);
  }
  // Newest first, as endoflife.date orders its pages.
  CHECK(p->cycles.front().name == "2.17");
  CHECK(p->cycles.back().name == "2.0");
}

TEST_CASE("eol schedule: the branches SECURITY.md does not support are over, with no day",
          "[eol][schedule][lustre]") {
  // No end-of-life date of 2.10 or 2.7 is published (SECURITY.md, the ChangeLogs and the tags
  // give none): the schedule says `true`, over on a day not given, not a made-up date.
  auto text = read_file(test::source_dir() + "/config/lustre-eol.md");
  REQUIRE(text);
  auto p = eol::parse_product_file(*text);
  REQUIRE(p.ok());
  auto security = read_file(test::fixtures_dir() + "/lustre/SECURITY.md");
  REQUIRE(security);
  std::vector<std::string> unsupported, supported;
  for (const auto& line : split(*security, '\n')) {
    // "| 2.10.x  | :x:                |"
    auto cells = split(line, '|');
    if (cells.size() < 3) continue;
    const std::string version = trim(cells[1]), status = trim(cells[2]);
    if (version.size() < 3 || version.substr(version.size() - 2) != ".x") continue;
    const std::string branch = version.substr(0, version.size() - 2);
    (status == ":x:" ? unsupported : supported).push_back(branch);
  }
  CHECK(unsupported == std::vector<std::string>{"2.10", "2.7"});
  CHECK(supported == std::vector<std::string>{"2.15", "2.12"});
  for (const auto& b : unsupported) {
    INFO(b);
    const auto* c = find(*p, b);
    REQUIRE(c);
    CHECK(c->eol.state == State::over);
    CHECK(c->eol.text() == "true");
  }
  for (const auto& b : supported) {
    INFO(b);
    const auto* c = find(*p, b);
    REQUIRE(c);
    CHECK(c->eol.state != State::over);
  }
}

TEST_CASE("eol schedule: YAML details of the format", "[eol][schedule]") {
  SECTION("cycles stay text, quoted or not; comments and CRLF line ends are fine") {
    auto p = eol::parse_product_file(
        "---\r\n"
        "# a comment\r\n"
        "title: 'It''s a product'  # trailing comment\r\n"
        "releases:\r\n"
        "  # first the newest\r\n"
        "  - releaseCycle: 2.10\r\n"
        "    eol: 2026-01-31 # announced\r\n"
        "  - releaseCycle: \"2.15\"\r\n"
        "    eol: false\r\n"
        "  - releaseCycle: 9\r\n"
        "    eol: true\r\n"
        "    link: https://example.org/notes#section-2\r\n"
        "---\r\n"
        "The page text: key: value lines here are not read.\r\n");
    REQUIRE(p.ok());
    CHECK(p->title == "It's a product");
    REQUIRE(p->cycles.size() == 3);
    CHECK(p->cycles[0].name == "2.10");
    CHECK(p->cycles[0].eol.state == State::day);
    CHECK(p->cycles[0].eol.text() == "2026-01-31");
    CHECK(p->cycles[1].name == "2.15");
    CHECK(p->cycles[1].eol.state == State::undecided);
    CHECK(p->cycles[2].name == "9");
    CHECK(p->cycles[2].eol.state == State::over);
    CHECK(p->cycles[2].line == 10);
  }
  SECTION("the older names support and extendedSupport, and lts false") {
    auto p = eol::parse_product_file(
        "releases:\n"
        "- releaseCycle: \"1.0\"\n"
        "  support: 2020-01-01\n"
        "  extendedSupport: 2022-02-28\n"
        "  eol: 2021-06-30\n"
        "  lts: false\n");
    REQUIRE(p.ok());
    REQUIRE(p->cycles.size() == 1);
    CHECK(p->cycles[0].eoas.text() == "2020-01-01");
    CHECK(p->cycles[0].eoes.text() == "2022-02-28");
    CHECK_FALSE(p->cycles[0].lts);
  }
  SECTION("unknown keys, with nested blocks, are skipped at both levels") {
    auto p = eol::parse_product_file(
        "auto:\n"
        "  methods:\n"
        "    - git: https://example.org/repo.git\n"
        "alternate_urls:\n"
        "- /other\n"
        "releases:\n"
        "  - releaseCycle: \"3\"\n"
        "    custom:\n"
        "      nested: 1\n"
        "    eol: 2030-12-31\n");
    REQUIRE(p.ok());
    REQUIRE(p->cycles.size() == 1);
    CHECK(p->cycles[0].eol.text() == "2030-12-31");
  }
  SECTION("an escaped double-quoted value") {
    auto p =
        eol::parse_product_file("releases:\n  - releaseCycle: \"a\\\"b\\u00e9\"\n    eol: false\n");
    REQUIRE(p.ok());
    CHECK(p->cycles[0].name == "a\"b\xc3\xa9");
  }
}

TEST_CASE("eol schedule: malformed product files are refused with their line", "[eol][schedule]") {
  CHECK(error_of("releases:\n  - releaseCycle: \"1\"\n    eol: 2026-02-30\n") ==
        "line 3: 'eol' must be a date YYYY-MM-DD, true or false, not '2026-02-30'");
  CHECK(error_of("releases:\n  - releaseCycle: \"1\"\n    eol: soon\n") ==
        "line 3: 'eol' must be a date YYYY-MM-DD, true or false, not 'soon'");
  CHECK(error_of("releases:\n  - releaseCycle: \"1\"\n    releaseDate: false\n") ==
        "line 3: 'releaseDate' must be a date YYYY-MM-DD, not 'false'");
  CHECK(error_of("releases:\n  - eol: 2026-01-01\n") == "line 2: a release without 'releaseCycle'");
  CHECK(error_of("releases:\n  - releaseCycle: \"1\n") ==
        "line 2: a \"quoted\" value is not closed on its line");
  CHECK(error_of("releases:\n  - releaseCycle: \"1\"\n     eol: false\n") ==
        "line 3: this line is indented more than the keys of its release");
  CHECK(error_of("releases:\n  - releaseCycle: \"1\"\n   eol: false\n") ==
        "line 3: this line is indented less than the keys of its release");
  CHECK(error_of("releases:\n  - releaseCycle: \"1\"\n  - releaseCycle: \"1\"\n") ==
        "line 3: releaseCycle '1' is listed twice");
  CHECK(error_of("releases:\n  - releaseCycle: \"1\"\n    eol: false\n    eol: true\n") ==
        "line 4: 'eol' is given twice in this release");
  CHECK(error_of("releases:\n  - releaseCycle: [1, 2]\n")
            .rfind("line 2: a value starting with '['", 0) == 0);
  CHECK(error_of("releases:\n  - releaseCycle: \"1\"\n    eol:\n") == "line 3: 'eol' has no value");
  CHECK(error_of("releases:\n  - releaseCycle: \"1\"\n\teol: false\n") ==
        "line 3: a tab in the indentation (YAML indents with spaces)");
  CHECK(error_of("title: x\nreleases: none\n") == "line 2: 'releases' must be a list of releases");
  CHECK(error_of("title: x\n") == "line 1: no 'releases:' list");
  CHECK(error_of("---\ntitle: x\nreleases:\n") ==
        "line 1: the front matter opened here is not closed by a '---' line");
  CHECK(error_of("releases:\n  - releaseCycle: \"1\"\n    eol: 'x' y\n") ==
        "line 3: text after the closing quote");
  CHECK(error_of("releases:\n  releaseCycle: \"1\"\n") ==
        "line 2: expected '- releaseCycle: ...', a release of the list");
  CHECK(error_of("just some words\n") == "line 1: expected 'key: value'");
  CHECK(error_of("releases:\n  - releaseCycle: \"caf\xc3\xa9\"\n  - releaseCycle: \"\xc3(\"\n") ==
        "line 3: not UTF-8 text");
  CHECK(error_of(std::string("releases:\n  - releaseCycle: \"1\0\"\n", 33)) ==
        "line 2: a control character (YAML allows none but tab)");
  CHECK(error_of("releases:\n  - releaseCycle: \"1\\n2\"\n") ==
        "line 2: 'releaseCycle' must be one line of text");

  std::string big = "releases:\n";
  while (big.size() <= eol::k_max_schedule_size) big += "# padding padding padding padding\n";
  CHECK(error_of(big).find("larger than") != std::string::npos);
}

TEST_CASE("eol schedule: the API v1 answer", "[eol][schedule][api]") {
  auto p = eol::parse_api_v1(fixture("api_v1_rhel.json"));
  REQUIRE(p.ok());
  CHECK(p->title == "Red Hat Enterprise Linux");
  const auto md = eol::parse_product_file(fixture("rhel.md"));
  REQUIRE(md.ok());
  // The same schedule as the product file it was made from.
  REQUIRE(p->cycles.size() == md->cycles.size());
  for (size_t i = 0; i < p->cycles.size(); ++i) {
    INFO(md->cycles[i].name);
    CHECK(p->cycles[i].name == md->cycles[i].name);
    CHECK(p->cycles[i].eol == md->cycles[i].eol);
    CHECK(p->cycles[i].eoes == md->cycles[i].eoes);
    CHECK(p->cycles[i].latest == md->cycles[i].latest);
  }

  SECTION("isEol without a date is over; a null date not yet over is undecided") {
    auto q = eol::parse_api_v1(R"({"result": {"releases": [
        {"name": "1", "isEol": true, "eolFrom": null, "isLts": false},
        {"name": "2", "isEol": false, "eolFrom": null, "isLts": true,
         "latest": {"name": "2.4", "date": "2026-01-02", "link": null}}]}})");
    REQUIRE(q.ok());
    CHECK(q->cycles[0].eol.state == State::over);
    CHECK(q->cycles[1].eol.state == State::undecided);
    CHECK(q->cycles[1].lts);
    CHECK(q->cycles[1].latest == "2.4");
  }
  SECTION("malformed answers name what is wrong") {
    CHECK(eol::parse_api_v1("{").error().message == "the API answer is not JSON");
    CHECK(eol::parse_api_v1("{\"result\": {}}").error().message ==
          "the API answer's result has no 'releases' list");
    CHECK(eol::parse_api_v1(R"({"result": {"releases": [{"name": "1", "eolFrom": "2026-13-01"}]}})")
              .error()
              .message == "releases[0] ('1'): 'eolFrom' is not a date YYYY-MM-DD");
    CHECK(eol::parse_api_v1(R"({"result": {"releases": [{"eolFrom": null}]}})").error().message ==
          "releases[0] has no 'name'");
  }
}
