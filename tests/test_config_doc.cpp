#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "daemon/config.hpp"
#include "daemon/config_doc.hpp"
#include "daemon/util.hpp"
#include "tests/support/paths.hpp"

using namespace herald;

namespace {

// (section, key) of every key the configuration reads.
std::set<std::pair<std::string, std::string>> table_keys() {
  std::set<std::pair<std::string, std::string>> out;
  for (const auto& s : config_sections())
    for (const auto& k : config_keys(s)) out.insert({s, k});
  return out;
}

// (section, key) of every key written in a TOML file, commented out ("# key = ...") or not,
// under the section header above it ("[mail]", "[[source]]", "# [[source]]").
std::set<std::pair<std::string, std::string>> keys_in_toml(const std::string& text) {
  static const std::regex header(R"(^#?\s*\[\[?([a-z_]+)\]\]?\s*(#.*)?$)");
  static const std::regex key(R"(^#?\s*([a-z_]+)\s*=)");
  std::set<std::pair<std::string, std::string>> out;
  std::istringstream in(text);
  std::string line, section;
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_match(line, m, header))
      section = m[1];
    else if (!section.empty() && std::regex_search(line, m, key))
      out.insert({section, m[1]});
  }
  return out;
}

}  // namespace

TEST_CASE("config docs: every key of the key table is documented, and only those",
          "[config][docs]") {
  std::set<std::pair<std::string, std::string>> documented;
  for (const auto& k : config_key_docs()) {
    INFO(k.section << "." << k.key);
    CHECK(documented.insert({std::string(k.section), std::string(k.key)}).second);
    CHECK_FALSE(k.type.empty());
    CHECK_FALSE(k.meaning.empty());
  }
  const auto table = table_keys();
  for (const auto& [s, k] : table) {
    INFO("undocumented key " << s << "." << k << ": add it to daemon/config_doc.cpp");
    CHECK(documented.count({s, k}) == 1);
  }
  for (const auto& [s, k] : documented) {
    INFO("documented key " << s << "." << k << " is not in the key table");
    CHECK(table.count({s, k}) == 1);
  }
  std::set<std::string> sections;
  for (const auto& s : config_section_docs()) sections.insert(std::string(s.name));
  for (const auto& s : config_sections()) {
    INFO("section " << s);
    CHECK(sections.count(s) == 1);
    CHECK_FALSE(config_keys(s).empty());
  }
  CHECK(sections.size() == config_sections().size());
}

TEST_CASE("config docs: config/herald.toml shows every key in its section", "[config][docs]") {
  auto text = read_file(test::source_dir() + "/config/herald.toml");
  REQUIRE(text);
  const auto written = keys_in_toml(*text);
  for (const auto& [s, k] : table_keys()) {
    INFO("config/herald.toml does not show [" << s << "] " << k);
    CHECK(written.count({s, k}) == 1);
  }
}

TEST_CASE("config docs: the key check reads sections and commented keys", "[config][docs]") {
  auto keys = keys_in_toml(
      "[mail]\nfrom = \"a@b\"\n# tls = \"none\"  # comment\n\n"
      "# [[source]]\n# name = \"x\"\n[[route]]\nto = []\n");
  CHECK(keys == std::set<std::pair<std::string, std::string>>{
                    {"mail", "from"}, {"mail", "tls"}, {"source", "name"}, {"route", "to"}});
}

TEST_CASE("config docs: documented defaults are the ones the configuration applies",
          "[config][docs]") {
  // A configuration with only the required keys; each documented default of a plain key must
  // be what parsing it leaves in place.
  auto r = parse_config(R"(
[mail]
from = "herald <herald@localhost>"
[[source]]
name = "s"
kind = "feed"
url = "https://example.org/tags.atom"
[[destination]]
name = "d"
to = ["d@example.org"]
[[route]]
to = ["d"]
)",
                        "/etc/herald/herald.toml");
  REQUIRE(r.config);
  const Config& c = *r.config;
  // Durations and sizes compare by value ("60s" is "1m"): tagged here, parsed below.
  auto dur = [](int64_t ms) { return "duration:" + std::to_string(ms); };
  auto size = [](int64_t bytes) { return "size:" + std::to_string(bytes); };
  std::map<std::string, std::string> actual = {
      {"herald.log_format", c.log_format},
      {"herald.log_level", c.log_level},
      {"mail.domain", c.mail.domain},
      {"mail.tls", c.mail.tls},
      {"mail.verify_peer", c.mail.verify_peer ? "true" : "false"},
      {"mail.timeout", dur(c.mail.timeout_ms)},
      {"mail.connect_timeout", dur(c.mail.connect_timeout_ms)},
      {"mail.max_connections", std::to_string(c.mail.max_connections)},
      {"delivery.max_age", dur(c.delivery.max_age_ms)},
      {"delivery.backoff_initial", dur(c.delivery.backoff_initial_ms)},
      {"delivery.backoff_max", dur(c.delivery.backoff_max_ms)},
      {"delivery.batch", std::to_string(c.delivery.batch)},
      {"lustre.ga", c.lustre.ga},
      {"lustre.rc", c.lustre.rc},
      {"lustre.dev", c.lustre.dev},
      {"source.interval", dur(c.sources[0].interval_ms)},
      {"source.timeout", dur(c.sources[0].timeout_ms)},
      {"source.connect_timeout", dur(c.sources[0].connect_timeout_ms)},
      {"source.max_size", size(c.sources[0].max_size)},
      {"source.max_redirects", std::to_string(c.sources[0].max_redirects)},
      {"source.release_model", c.sources[0].release_model},
      {"source.project", c.sources[0].project},
      {"source.jql", c.sources[0].jql},
      {"source.api", c.sources[0].api},
      {"source.page_size", std::to_string(c.sources[0].page_size)},
      {"destination.kind", c.destinations[0].kind},
      {"destination.precedence_list", c.destinations[0].precedence_list ? "true" : "false"},
      {"http.max_body", size(c.http.max_body)},
      {"http.threads", std::to_string(c.http.threads)},
  };
  int compared = 0;
  for (const auto& k : config_key_docs()) {
    auto it = actual.find(std::string(k.section) + "." + std::string(k.key));
    if (it == actual.end()) continue;
    INFO(it->first);
    std::string documented(k.default_value);
    if (it->second.rfind("duration:", 0) == 0) {
      auto ms = parse_duration_ms(documented);
      documented = ms ? dur(*ms) : "not a duration: " + documented;
    } else if (it->second.rfind("size:", 0) == 0) {
      auto bytes = parse_size(documented);
      documented = bytes ? size(*bytes) : "not a size: " + documented;
    }
    CHECK(documented == it->second);
    ++compared;
  }
  CHECK(compared == static_cast<int>(actual.size()));
}
