#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>

#include "daemon/config.hpp"
#include "tests/support/config_errors.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/temp_dir.hpp"

using namespace herald;
using herald::test::config_errors;
using herald::test::TempDir;

namespace {
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
  INFO(config_errors(r));
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
  INFO(config_errors(r));
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
  std::string all = config_errors(r);
  INFO(all);
  CHECK(all.find("h.toml:9: unknown key 'intervall' in [[source]]; did you mean 'interval'?") !=
        std::string::npos);
  CHECK(all.find("h.toml:10: 'max_size': 'lots' is not a size") != std::string::npos);
  CHECK(all.find("h.toml:14: destination 'list': 'not-an-address' is not a mail address") !=
        std::string::npos);
  CHECK(all.find("h.toml:17: [[route]] sends to unknown destination 'nowhere'") !=
        std::string::npos);
  CHECK(all.find("h.toml:19: unknown section 'bogus'") != std::string::npos);
  CHECK(all.find("h.toml:3: 'smtp_url': scheme 'http' is not supported; use smtp://, smtps://") !=
        std::string::npos);
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
  CHECK(config_errors(r3).find("HERALD_TEST_UNSET_VAR is not set") != std::string::npos);
}

TEST_CASE("config: the shipped configurations are valid", "[config]") {
  for (const char* name : {"config/demo.toml", "config/herald.toml"}) {
    auto r = load_config(herald::test::source_dir() + "/" + name);
    INFO(name << "\n" << config_errors(r));
    CHECK(r.config);
  }
}

TEST_CASE("config: a listen address that does not parse is reported at its line", "[config]") {
  auto r = parse_config("[http]\nlisten = \"127.0.0.1:99999\"\napi_token = \"t\"\n", "h.toml");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].line == 2);
  CHECK(r.errors[0].message.rfind("'listen': ", 0) == 0);
  auto ok = parse_config("[http]\nlisten = \"8080\"\napi_token = \"t\"\n[mail]\nfrom = \"a@b\"\n",
                         "h.toml");
  CHECK(ok.errors.empty());
}

TEST_CASE("config: errors in [mail] and [delivery] cite the key's line, not line 1", "[config]") {
  std::string text = std::string(k_minimal) + R"(
[delivery]
max_age = "2d"
backoff_max = "1m"
backoff_initial = "5m"
)";
  text.replace(text.find("from = "), text.find('\n', text.find("from = ")) - text.find("from = "),
               "from = \"herald\"\nsmtp_url = \"relay.example.org:25\"");
  auto r = parse_config(text, "h.toml");
  INFO(config_errors(r));
  REQUIRE(r.errors.size() == 3);
  CHECK(r.errors[0].to_string() == "h.toml:3: 'from' must be a mail address, not 'herald'");
  CHECK(r.errors[1].to_string() ==
        "h.toml:4: 'smtp_url': 'relay.example.org:25' is not a URL; use smtp://, smtps://");
  CHECK(r.errors[2].to_string() ==
        "h.toml:22: [delivery] backoff_initial is larger than backoff_max");

  // Only the defaults disagree with the one key set: that key's line.
  auto r2 =
      parse_config(std::string(k_minimal) + "\n[delivery]\nbackoff_initial = \"7h\"\n", "h.toml");
  REQUIRE(r2.errors.size() == 1);
  CHECK(r2.errors[0].line == 19);
}

TEST_CASE("config: checks made after reading cite the key they are about", "[config]") {
  const char* text = R"([mail]
from = "h@example.org"

[[source]]
name = "tags"
kind = "feed"
url = "https://example.org/tags.atom"
interval = "5s"

[[source]]
kind = "github"
name = "tags"
repo = "lustre"

[[destination]]
name = "list"
to = []

[[digest]]
name = "bugs"
schedule = "@daily"
timezone = "Mars/Olympus_Mons"
to = ["list"]
)";
  auto r = parse_config(text, "h.toml");
  std::string all = config_errors(r);
  INFO(all);
  CHECK(all.find("h.toml:8: 'interval' must be at least 10s\n") != std::string::npos);
  CHECK(all.find("h.toml:12: duplicate source name 'tags'\n") != std::string::npos);
  CHECK(all.find("h.toml:13: [[source]] 'tags' (github) needs 'repo' as owner/name\n") !=
        std::string::npos);
  CHECK(all.find("h.toml:17: destination 'list': a mail destination needs 'to' (its recipients)\n") != std::string::npos);
  CHECK(all.find("h.toml:22: [[digest]] 'bugs': unknown time zone") != std::string::npos);
  CHECK(r.errors.size() == 5);
}

TEST_CASE("config: URL schemes are checked per key with the allowed list", "[config]") {
  auto with = [](const std::string& key_line, const std::string& kind = "feed") {
    std::string text = std::string(k_minimal);
    text.replace(text.find("url = "), text.find('\n', text.find("url = ")) - text.find("url = "),
                 key_line);
    if (kind != "feed") text.replace(text.find("\"feed\""), 6, "\"" + kind + "\"");
    return parse_config(text, "h.toml");
  };
  auto gopher = with("url = \"gopher://example.org/tags\"");
  REQUIRE(gopher.errors.size() == 1);
  CHECK(gopher.errors[0].to_string() ==
        "h.toml:8: 'url': scheme 'gopher' is not supported; use http://, https://, file:// or a "
        "path");
  CHECK(with("url = \"tags.atom\"").config);
  CHECK(with("url = \"file:///srv/tags.atom\"").config);
  CHECK(with("url = \"HTTPS://example.org/tags.atom\"").config);
  auto no_host = with("url = \"https:///tags.atom\"");
  REQUIRE(no_host.errors.size() == 1);
  CHECK(no_host.errors[0].message == "'url': 'https:///tags.atom' names no host");

  auto changelog = with("url = \"tags.atom\"\nchangelog = [\"ChangeLog\", \"ftp://x/ChangeLog\"]");
  REQUIRE(changelog.errors.size() == 1);
  CHECK(changelog.errors[0].to_string() ==
        "h.toml:9: 'changelog': scheme 'ftp' is not supported; use http://, https://, file:// or "
        "a path");

  auto tracker = with("base_url = \"file:///srv/jira\"", "jira");
  REQUIRE(tracker.errors.size() == 1);
  CHECK(tracker.errors[0].to_string() ==
        "h.toml:8: 'base_url': scheme 'file' is not supported; use http://, https://");
  auto tracker_path = with("base_url = \"jira.whamcloud.com\"", "jira");
  REQUIRE(tracker_path.errors.size() == 1);
  CHECK(tracker_path.errors[0].message ==
        "'base_url': 'jira.whamcloud.com' is not a URL; use http://, https://");
  CHECK(with("base_url = \"https://jira.whamcloud.com\"", "jira").config);

  // An empty smtp_url is no relay (Maildir), not a bad URL.
  std::string maildir = std::string(k_minimal);
  maildir.replace(maildir.find("[mail]\n") + 7, 0, "smtp_url = \"\"\n");
  CHECK(parse_config(maildir, "h.toml").config);
}

TEST_CASE("config: a file that configures nothing is not valid", "[config]") {
  for (const char* text : {"", "\n\n", "# nothing yet\n"}) {
    auto r = parse_config(text, "h.toml");
    REQUIRE(r.errors.size() == 1);
    CHECK_FALSE(r.config);
    CHECK(r.errors[0].to_string() ==
          "h.toml: the configuration is empty; it needs at least one [[source]] to watch (see "
          "the example herald.toml)");
  }
  const char* no_input = R"([mail]
from = "h@example.org"
[[destination]]
name = "list"
to = ["list@example.org"]
[http]
listen = "8080"
)";
  auto r = parse_config(no_input, "h.toml");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].line == 0);
  CHECK(r.errors[0].message.rfind("nothing to watch: no [[source]]", 0) == 0);
  // The event API alone is an input.
  CHECK(parse_config(std::string(no_input) + "api_token = \"t\"\n", "h.toml").config);
}

TEST_CASE("config: a missing file, a directory or a huge file is named without a line",
          "[config]") {
  TempDir dir;
  auto missing = load_config(dir.file("nope.toml"));
  REQUIRE(missing.errors.size() == 1);
  CHECK(missing.errors[0].to_string() ==
        dir.file("nope.toml") + ": cannot read: No such file or directory");
  auto directory = load_config(dir.path());
  REQUIRE(directory.errors.size() == 1);
  CHECK(directory.errors[0].to_string() ==
        dir.path() + ": is a directory, not a configuration file");
  auto huge = load_config(dir.write("huge.toml", std::string(2 << 20, '#')));
  REQUIRE(huge.errors.size() == 1);
  CHECK(huge.errors[0].message == "is larger than 1024 KiB; this is not a configuration file");
  auto empty = load_config(dir.write("empty.toml", ""));
  REQUIRE(empty.errors.size() == 1);
  CHECK(empty.errors[0].to_string() == dir.file("empty.toml") +
                                           ": the configuration is empty; it needs at least one "
                                           "[[source]] to watch (see the example herald.toml)");
}

TEST_CASE("config: [http] connection limits and read timeout, their defaults and bounds",
          "[config]") {
  // api_token: the event API is something to watch, so the file is valid without a source.
  auto d = parse_config("[http]\nlisten = \"8080\"\napi_token = \"t\"\n", "h.toml");
  REQUIRE(d.config);
  CHECK(d.config->http.max_connections == 1000);
  CHECK(d.config->http.max_connections_per_ip == 64);
  CHECK(d.config->http.read_timeout_ms == 10'000);
  auto set = parse_config(
      "[http]\nlisten = \"8080\"\napi_token = \"t\"\nmax_connections = 200\n"
      "max_connections_per_ip = 0\nread_timeout = \"2s\"\n",
      "h.toml");
  REQUIRE(set.config);
  CHECK(set.config->http.max_connections == 200);
  CHECK(set.config->http.max_connections_per_ip == 0);
  CHECK(set.config->http.read_timeout_ms == 2000);
  auto bad = parse_config(
      "[http]\nlisten = \"8080\"\napi_token = \"t\"\nmax_connections = 0\n"
      "read_timeout = \"2h\"\n",
      "h.toml");
  REQUIRE(bad.errors.size() == 2);
  CHECK(bad.errors[0].line == 4);
  CHECK(bad.errors[0].message == "'max_connections' must be between 1 and 100000");
  CHECK(bad.errors[1].line == 5);
  CHECK(bad.errors[1].message == "'read_timeout' must be at most 1h");
}

// Found by the configuration fuzz target: toml++ quotes what it saw, which
// may be a line break, and an error is one line.
TEST_CASE("config: a TOML syntax error is reported on one line", "[config]") {
  auto r = parse_config("[http]\nthreads = t\n", "h.toml");
  REQUIRE(r.errors.size() == 1);
  const std::string text = r.errors[0].to_string();
  CHECK(text.find_first_of("\r\n") == std::string::npos);
  CHECK(text.rfind("h.toml:2: ", 0) == 0);
}

// Found by the configuration fuzz target: a value quoted in an error may hold
// a line break of its own (a TOML string can), and an error is still one line.
TEST_CASE("config: an error quoting a value with a line break is one line", "[config]") {
  auto r = parse_config(
      "[[destination]]\nname = \"list\"\nkind = \"mail\"\n"
      "to = [\"lustre-devel@lists.lustre.o\\rg\"]\n",
      "h.toml");
  bool named = false;
  for (const auto& e : r.errors) {
    const std::string text = e.to_string();
    INFO(text);
    CHECK(text.find_first_of(std::string("\r\n\0", 3)) == std::string::npos);
    if (e.line == 4 && text.find("is not a mail address") != std::string::npos) named = true;
  }
  CHECK(named);  // the address, at its line
}
