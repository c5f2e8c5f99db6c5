#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>

#include "daemon/config.hpp"
#include "tests/support/paths.hpp"

using namespace herald;

namespace {
std::string messages(const ConfigResult& r) {
  std::string out;
  for (const auto& e : r.errors) out += e.to_string() + "\n";
  return out;
}
const char* k_minimal = R"(
[mail]
from = "herald <h@example.org>"

[[source]]
name = "tags"
kind = "feed"
url = "https://example.org/tags.atom"

[[destination]]
name = "list"
to = ["list@example.org"]

[[route]]
kinds = ["release.published"]
to = ["list"]
)";
}  // namespace

TEST_CASE("config: a minimal file gets the documented defaults", "[config]") {
  auto r = parse_config(k_minimal, "/etc/herald/herald.toml");
  INFO(messages(r));
  REQUIRE(r.config);
  const Config& c = *r.config;
  CHECK(c.database == "/etc/herald/var/herald.db");
  CHECK(c.mail.smtp_url.empty());
  CHECK(c.mail.maildir == "/etc/herald/var/Maildir");
  CHECK(c.delivery.max_age_ms == 5LL * 86'400'000);
  REQUIRE(c.sources.size() == 1);
  CHECK(c.sources[0].interval_ms == 15 * 60'000);
  CHECK(c.sources[0].max_size == 5 * 1024 * 1024);
  CHECK(c.sources[0].release_model == "generic");
  CHECK(c.destinations[0].precedence_list);
  CHECK(c.routes[0].to == std::vector<std::string>{"list"});
}

TEST_CASE("config: durations, sizes and relative paths are read", "[config]") {
  std::string text = std::string(k_minimal) + R"(
[delivery]
max_age = "2d"
backoff_initial = "30s"
backoff_max = "1h30m"
)";
  text.replace(text.find("url = "), 0, "interval = \"1h\"\nmax_size = \"512KiB\"\n");
  auto r = parse_config(text, "conf/h.toml");
  INFO(messages(r));
  REQUIRE(r.config);
  CHECK(r.config->delivery.max_age_ms == 2 * 86'400'000);
  CHECK(r.config->delivery.backoff_max_ms == 90 * 60'000);
  CHECK(r.config->sources[0].interval_ms == 3'600'000);
  CHECK(r.config->sources[0].max_size == 512 * 1024);
}

TEST_CASE("config: every error is reported with file:line, unknown keys with a suggestion",
          "[config]") {
  const char* text = R"([mail]
from = "herald <h@example.org>"
smtp_url = "http://relay"

[[source]]
name = "tags"
kind = "feed"
url = "https://example.org/tags.atom"
intervall = "15m"
max_size = "lots"

[[destination]]
name = "list"
to = ["not-an-address"]

[[route]]
to = ["nowhere"]

[bogus]
)";
  auto r = parse_config(text, "h.toml");
  REQUIRE_FALSE(r.config);
  std::string all = messages(r);
  INFO(all);
  CHECK(all.find("h.toml:9: unknown key 'intervall' in [[source]]; did you mean 'interval'?") !=
        std::string::npos);
  CHECK(all.find("h.toml:10: 'max_size': 'lots' is not a size") != std::string::npos);
  CHECK(all.find("h.toml:12: destination 'list': 'not-an-address' is not a mail address") !=
        std::string::npos);
  CHECK(all.find("h.toml:16: [[route]] sends to unknown destination 'nowhere'") !=
        std::string::npos);
  CHECK(all.find("h.toml:19: unknown section 'bogus'") != std::string::npos);
  CHECK(all.find("smtp_url must start with smtp:// or smtps://") != std::string::npos);
  CHECK(r.errors.size() == 6);
}

TEST_CASE("config: a TOML syntax error cites its line", "[config]") {
  auto r = parse_config("[mail]\nfrom = \"unterminated\n", "bad.toml");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].file == "bad.toml");
  CHECK(r.errors[0].line == 2);
}

TEST_CASE("config: secrets come from the environment or a file and never appear in errors",
          "[config]") {
  setenv("HERALD_TEST_SMTP_PASSWORD", "s3cret-from-env", 1);
  std::string text = std::string(k_minimal);
  text.replace(text.find("[mail]\n") + 7, 0, "password = \"env:HERALD_TEST_SMTP_PASSWORD\"\n");
  auto r = parse_config(text, "h.toml");
  REQUIRE(r.config);
  CHECK(r.config->mail.password == "s3cret-from-env");

  std::string dir = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp");
  std::string secret_path = dir + "/herald-test-secret";
  std::ofstream(secret_path) << "file-secret\n";
  std::string text2 = std::string(k_minimal);
  text2.replace(text2.find("[mail]\n") + 7, 0, "password_file = \"" + secret_path + "\"\n");
  auto r2 = parse_config(text2, "h.toml");
  REQUIRE(r2.config);
  CHECK(r2.config->mail.password == "file-secret");

  std::string text3 = std::string(k_minimal);
  text3.replace(text3.find("[mail]\n") + 7, 0, "password = \"env:HERALD_TEST_UNSET_VAR\"\n");
  auto r3 = parse_config(text3, "h.toml");
  REQUIRE_FALSE(r3.config);
  CHECK(messages(r3).find("HERALD_TEST_UNSET_VAR is not set") != std::string::npos);
}

TEST_CASE("config: the shipped configurations are valid", "[config]") {
  for (const char* name : {"config/demo.toml", "config/herald.toml"}) {
    auto r = load_config(herald::test::source_dir() + "/" + name);
    INFO(name << "\n" << messages(r));
    CHECK(r.config);
  }
}

TEST_CASE("config: a listen address that does not parse is reported at its line", "[config]") {
  auto r = parse_config("[http]\nlisten = \"127.0.0.1:99999\"\n", "h.toml");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].line == 2);
  CHECK(r.errors[0].message.rfind("'listen': ", 0) == 0);
  auto ok = parse_config("[http]\nlisten = \"8080\"\n[mail]\nfrom = \"a@b\"\n", "h.toml");
  CHECK(ok.errors.empty());
}

TEST_CASE("config: [http] connection limits and read timeout, their defaults and bounds",
          "[config]") {
  auto d = parse_config("[http]\nlisten = \"8080\"\n", "h.toml");
  REQUIRE(d.config);
  CHECK(d.config->http.max_connections == 1000);
  CHECK(d.config->http.max_connections_per_ip == 64);
  CHECK(d.config->http.read_timeout_ms == 10'000);
  auto set = parse_config(
      "[http]\nlisten = \"8080\"\nmax_connections = 200\nmax_connections_per_ip = 0\n"
      "read_timeout = \"2s\"\n",
      "h.toml");
  REQUIRE(set.config);
  CHECK(set.config->http.max_connections == 200);
  CHECK(set.config->http.max_connections_per_ip == 0);
  CHECK(set.config->http.read_timeout_ms == 2000);
  auto bad = parse_config("[http]\nlisten = \"8080\"\nmax_connections = 0\nread_timeout = \"2h\"\n",
                          "h.toml");
  REQUIRE(bad.errors.size() == 2);
  CHECK(bad.errors[0].line == 3);
  CHECK(bad.errors[0].message == "'max_connections' must be between 1 and 100000");
  CHECK(bad.errors[1].line == 4);
  CHECK(bad.errors[1].message == "'read_timeout' must be at most 1h");
}
