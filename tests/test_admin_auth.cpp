// [[admin]] and [security]: tokens from files, the checks at their lines, and
// the admin API's bearer-token rule (401 without or with a wrong token, 403
// for an admin not allowed the action).
#include <catch2/catch.hpp>

#include "daemon/admin/auth.hpp"
#include "daemon/config.hpp"
#include "tests/support/config_errors.hpp"
#include "tests/support/temp_dir.hpp"

using namespace herald;
using herald::test::config_errors;

namespace {

const std::string k_alice = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
const std::string k_bob = "0f9e8d7c6b5a49382716050f9e8d7c6b5a49382716050f9e8d7c6b5a4938271";

std::string base(const test::TempDir& dir) {
  dir.write("alice.token", k_alice + "\n");
  dir.write("bob.token", k_bob);
  dir.write("short.token", "tooshort");
  return R"([mail]
from = "herald <h@example.org>"

[[source]]
name = "tags"
kind = "feed"
url = "https://example.org/tags.atom"

[[destination]]
name = "list"
to = ["list@example.org"]
)";
}

InboundRequest with_auth(const std::string& value) {
  InboundRequest r;
  r.method = "GET";
  r.path = "/api/v1/admin/notices";
  r.headers.emplace_back("authorization", value);
  return r;
}

}  // namespace

TEST_CASE("admins and [security] are read, tokens from their files", "[config][admin]") {
  test::TempDir dir;
  const std::string text = base(dir) + R"(
[[admin]]
name = "alice"
token_file = "alice.token"

[[admin]]
name = "bob"
token_file = "bob.token"
may = ["approve", "patches", "read"]

[[admin]]
name = "carol"
token_file = "carol.token"
may = ["patches"]

[security]
prefix = "OSFS-SA"
approvals = 2
to = ["list"]
max_embargo = "7d"
)";
  dir.write("carol.token", std::string(40, 'c'));
  dir.write("h.toml", text);
  auto r = load_config(dir.file("h.toml"));
  INFO(config_errors(r));
  REQUIRE(r.config);
  REQUIRE(r.config->admins.size() == 3);
  CHECK(r.config->admins[0].token == k_alice);  // the file's newline trimmed
  CHECK(r.config->admins[0].may.size() == 5);
  CHECK(r.config->admins[1].may == std::vector<std::string>{"approve", "patches", "read"});
  CHECK(r.config->security.approvals == 2);
  CHECK(r.config->security.to == std::vector<std::string>{"list"});
  CHECK(r.config->security.max_embargo_s == 7 * 86'400);
  CHECK(r.config->security.priority == 100);
}

TEST_CASE("admin and security mistakes are reported at their lines", "[config][admin]") {
  test::TempDir dir;
  const std::string text = base(dir) + R"(
[[admin]]
name = "alice"
token_file = "short.token"

[[admin]]
name = "alice"
token_file = "bob.token"
may = ["approve", "delete"]

[[admin]]
name = "carol"
token_file = "bob.token"

[security]
prefix = "osfs sa"
approvals = 3
to = ["nowhere"]
)";
  dir.write("h.toml", text);
  auto r = load_config(dir.file("h.toml"));
  REQUIRE_FALSE(r.config);
  const std::string errors = config_errors(r);
  INFO(errors);
  const std::string f = dir.file("h.toml");
  CHECK_THAT(errors, Catch::Contains(f + ":15: 'token_file': the token is 8 characters"));
  CHECK_THAT(errors, Catch::Contains(f + ":18: duplicate admin name 'alice'"));
  CHECK_THAT(errors, Catch::Contains(f + ":20: 'may': unknown action 'delete'"));
  CHECK_THAT(errors, Catch::Contains(f + ":24: [[admin]] 'carol' has the token of another admin"));
  CHECK_THAT(errors, Catch::Contains(f + ":27: 'prefix' must be 1 to 16 upper-case"));
  CHECK_THAT(errors, Catch::Contains(f + ":29: [security] sends to unknown destination 'nowhere'"));
}

TEST_CASE("[security] needs admins enough to approve", "[config][admin]") {
  test::TempDir dir;
  const std::string text = base(dir) + R"(
[[admin]]
name = "alice"
token_file = "alice.token"

[security]
approvals = 2
)";
  dir.write("h.toml", text);
  auto r = load_config(dir.file("h.toml"));
  REQUIRE_FALSE(r.config);
  CHECK_THAT(config_errors(r),
             Catch::Contains(":18: [security] approvals = 2 but only 1 [[admin]] may approve"));
}

TEST_CASE("[security] needs admins enough to change the patch list", "[config][admin]") {
  test::TempDir dir;
  // alice may do everything, "patches" included; bob and carol approve notices.
  const std::string admins = base(dir) + R"(
[[admin]]
name = "alice"
token_file = "alice.token"

[[admin]]
name = "bob"
token_file = "bob.token"
may = ["approve", "read"]

[[admin]]
name = "carol"
token_file = "carol.token"
may = ["approve", MAY"read"]

[security]
approvals = 2
)";
  dir.write("carol.token", std::string(40, 'c'));
  auto load = [&](const std::string& carol_may) {
    std::string text = admins;
    text.replace(text.find("MAY"), 3, carol_may);
    dir.write("h.toml", text);
    return load_config(dir.file("h.toml"));
  };
  SECTION("only alice may: a change could never get two approvals besides hers") {
    auto r = load("");
    REQUIRE_FALSE(r.config);
    CHECK_THAT(config_errors(r),
               Catch::Contains(dir.file("h.toml") +
                               ":28: [security] approvals = 2 but only 1 [[admin]] may change "
                               "the patch list ('patches' in may): a change needs 3, its "
                               "proposer and 2 others"));
  }
  SECTION("alice and carol: still one short") {
    auto r = load("\"patches\", ");
    REQUIRE_FALSE(r.config);
    CHECK_THAT(config_errors(r), Catch::Contains(":28: [security] approvals = 2 but only 2 [[admin]] may change the patch list"));
  }
  SECTION("nobody may: the list is not used, and that is fine") {
    std::string text = admins;
    text.replace(text.find("MAY"), 3, "");
    text.replace(text.find("token_file = \"alice.token\"\n"), 27,
                 "token_file = \"alice.token\"\nmay = [\"draft\", \"approve\", \"publish\"]\n");
    dir.write("h.toml", text);
    auto r = load_config(dir.file("h.toml"));
    INFO(config_errors(r));
    CHECK(r.config);
  }
  SECTION("with one approval one admin allowed \"patches\" is enough") {
    std::string text = admins;
    text.replace(text.find("MAY"), 3, "");
    text.replace(text.find("approvals = 2"), 13, "approvals = 1");
    dir.write("h.toml", text);
    auto r = load_config(dir.file("h.toml"));
    INFO(config_errors(r));
    CHECK(r.config);
  }
}

TEST_CASE("the admin API's bearer tokens: 401 and 403", "[admin]") {
  AdminConfig alice{"alice", k_alice, {"draft", "approve", "publish", "patches", "read"}, 1};
  AdminConfig bob{"bob", k_bob, {"read"}, 2};
  AdminAuth auth({alice, bob});

  InboundRequest none;
  auto out = auth.authorize(none, "read");
  REQUIRE(out.refusal);
  CHECK(out.refusal->status == 401);
  CHECK_FALSE(out.admin);
  bool challenge = false;
  for (const auto& [k, v] : out.refusal->headers) challenge |= k == "WWW-Authenticate";
  CHECK(challenge);

  for (const std::string& wrong : {"Bearer " + k_alice.substr(1), "Bearer " + k_alice + "x",
                                  "Basic " + k_alice, std::string("Bearer "), k_alice}) {
    INFO(wrong);
    out = auth.authorize(with_auth(wrong), "read");
    REQUIRE(out.refusal);
    CHECK(out.refusal->status == 401);
  }

  out = auth.authorize(with_auth("Bearer " + k_bob), "approve");
  REQUIRE(out.refusal);
  CHECK(out.refusal->status == 403);
  CHECK(out.refused == "bob");
  CHECK_THAT(out.refusal->body, Catch::Contains("admin 'bob' may not approve"));

  out = auth.authorize(with_auth("Bearer " + k_bob), "read");
  CHECK_FALSE(out.refusal);
  REQUIRE(out.admin);
  CHECK(out.admin->name == "bob");
  out = auth.authorize(with_auth("bearer " + k_alice), "publish");
  REQUIRE(out.admin);
  CHECK(out.admin->name == "alice");
}
