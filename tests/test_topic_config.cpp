// [[topic]] and [web]: topics read with their kinds and tags, the checks of
// names and tags at their lines, base_url's scheme.
#include <catch2/catch.hpp>

#include "daemon/config.hpp"
#include "tests/support/config_errors.hpp"

using namespace herald;
using herald::test::config_errors;

namespace {

const char* k_base = R"([mail]
from = "herald <h@example.org>"

[[source]]
name = "tags"
kind = "feed"
url = "https://example.org/tags.atom"

[[destination]]
name = "list"
to = ["list@example.org"]
)";

}  // namespace

TEST_CASE("topics and the web base URL are read", "[config][subscriptions]") {
  const std::string text = std::string(k_base) + R"(
[[topic]]
name = "security"
title = "Security notices"
kinds = ["release.published", "security.notice"]
tags = ["class=security"]

[[topic]]
name = "eol"

[web]
base_url = "https://announce.example.org/"

[http]
listen = "127.0.0.1:0"
)";
  auto r = parse_config(text, "h.toml");
  INFO(config_errors(r));
  REQUIRE(r.config);
  REQUIRE(r.config->topics.size() == 2);
  const auto& t = r.config->topics[0];
  CHECK(t.name == "security");
  CHECK(t.title == "Security notices");
  CHECK(t.kinds == std::vector<std::string>{"release.published", "security.notice"});
  CHECK(t.tags == std::vector<std::string>{"class=security"});
  CHECK(r.config->topics[1].title == "eol");  // the title defaults to the name
  CHECK(r.config->web.base_url == "https://announce.example.org");  // no trailing slash
}

TEST_CASE("topic and web errors cite their lines", "[config][subscriptions]") {
  const std::string text = std::string(k_base) + R"(
[[topic]]
name = "a b"

[[topic]]
name = "eol"
tags = ["class"]

[[topic]]
name = "eol"

[[topic]]
title = "nameless"

[web]
base_url = "ftp://example.org"
)";
  auto r = parse_config(text, "h.toml");
  REQUIRE_FALSE(r.config);
  const auto e = config_errors(r);
  CHECK(e.find("h.toml:13: [[topic]] name 'a b' may hold only") != std::string::npos);
  CHECK(e.find("h.toml:16: [[topic]] 'eol': tag 'class' is not key=value") != std::string::npos);
  CHECK(e.find("h.toml:20: [[topic]] 'eol' is defined twice") != std::string::npos);
  CHECK(e.find("h.toml:23: [[topic]] needs a 'name'") != std::string::npos);
  CHECK(e.find("h.toml:27: 'base_url' must start with https:// or http://") != std::string::npos);
  INFO(e);
  CHECK(r.errors.size() == 5);
}

TEST_CASE("a digest's topic audience is checked like a route's", "[config][subscriptions]") {
  const std::string base = std::string(k_base) + R"(
[[topic]]
name = "bugs"

[[digest]]
name = "developers"
schedule = "@daily"
to = ["list", "topic:bugs", "topic:nope"]
)";
  auto r = parse_config(base + R"(
[web]
base_url = "https://announce.example.org"

[http]
listen = "127.0.0.1:0"
)", "h.toml");
  REQUIRE_FALSE(r.config);
  auto e = config_errors(r);
  INFO(e);
  CHECK(e.find("h.toml:19: [[digest]] 'developers' sends to unknown topic 'nope'") !=
        std::string::npos);
  CHECK(r.errors.size() == 1);

  // A topic's subscribers need the links of [web] base_url.
  r = parse_config(base, "h.toml");
  REQUIRE_FALSE(r.config);
  e = config_errors(r);
  CHECK(e.find("h.toml:19: [[digest]] 'developers' sends to topic 'bugs', which needs [web] "
               "base_url") != std::string::npos);
}
