// The supported critical-patch list over real HTTP (herald's server on a free
// port, libcurl as the client): the admin API's 401/403/400/404/409 answers,
// a pending change that no public page shows, the applied entry in the HTML
// page, the JSON (against docs/patches.schema.json) and the Atom feed (by
// herald's feed parser and python3's XML parser), the announcement routed
// once to [security] to with its priority, and `herald patches` end to end.
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "adapters/sources/feed/feed_parser.hpp"
#include "daemon/config.hpp"
#include "daemon/http_server.hpp"
#include "daemon/patches/routes.hpp"
#include "daemon/pipeline.hpp"
#include "daemon/render.hpp"
#include "daemon/store.hpp"
#include "daemon/util.hpp"
#include "tests/support/curl_client.hpp"
#include "tests/support/mail_text.hpp"
#include "tests/support/page_checks.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace herald;
using herald::test::curl_request;
using nlohmann::json;

namespace {

const std::string k_alice = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
const std::string k_bob = "0f9e8d7c6b5a49382716050f9e8d7c6b5a49382716050f9e8d7c6b5a4938271";
const std::string k_carol = "c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00";

std::string config_text(int approvals) {
  return R"([mail]
from = "herald <h@example.org>"

[[source]]
name = "tags"
kind = "feed"
url = "https://example.org/tags.atom"

[[destination]]
name = "list"
to = ["lustre-announce@example.org"]

[http]
listen = "127.0.0.1:0"

[web]
base_url = "https://announce.example.org/"

[[topic]]
name = "security"
title = "Security notices and critical patches"

[[admin]]
name = "alice"
token_file = "alice.token"

[[admin]]
name = "bob"
token_file = "bob.token"
may = ["patches", "approve", "read"]

[[admin]]
name = "carol"
token_file = "carol.token"
may = ["read"]

[[admin]]
name = "dave"
token_file = "dave.token"
may = ["patches"]

[security]
to = ["list"]
approvals = )" +
         std::to_string(approvals) + "\n";
}

struct Site {
  test::TempDir dir;
  Config cfg;
  std::unique_ptr<Store> store;
  std::unique_ptr<Templates> templates;
  FakeClock clock{1'780'000'000};  // 2026-05-28
  HttpServer server{[] {
    HttpServerOptions o;
    o.listen = "127.0.0.1:0";
    return o;
  }()};
  int wakes = 0;

  explicit Site(int approvals = 1) {
    dir.write("alice.token", k_alice + "\n");
    dir.write("bob.token", k_bob);
    dir.write("carol.token", k_carol);
    dir.write("dave.token", std::string(40, 'd'));
    auto r = parse_config(config_text(approvals), dir.file("herald.toml"));
    for (const auto& e : r.errors) FAIL(e.to_string());
    cfg = *r.config;
    store = std::move(*Store::open(dir.file("h.db")));
    templates = std::make_unique<Templates>(*Templates::load(cfg.bundled_templates, ""));
    add_patch_routes(server, cfg, *store, *templates, clock, [this] { ++wakes; });
    REQUIRE(server.start());
  }
  ~Site() { server.stop(std::chrono::milliseconds(100)); }

  std::string base() const { return "http://127.0.0.1:" + std::to_string(server.port()); }
  test::CurlReply get(const std::string& path) { return curl_request("GET", base() + path); }
  test::CurlReply admin(const std::string& method, const std::string& path,
                        const std::string& token, const std::string& body = "") {
    std::vector<std::string> headers = {"Content-Type: application/json"};
    if (!token.empty()) headers.push_back("Authorization: Bearer " + token);
    return curl_request(method, base() + "/api/v1/admin/" + path, body, headers);
  }
  static std::string error_of(const test::CurlReply& r) {
    auto j = json::parse(r.body, nullptr, false);
    return j.is_object() ? j.value("error", "") : "";
  }
};

const json k_add = {{"action", "add"},
                    {"release", "2.15.7"},
                    {"ticket", "LU-17000"},
                    {"change_url", "https://review.whamcloud.com/c/fs/lustre-release/+/55123"},
                    {"severity", "critical"},
                    {"summary", "ldlm: fix a use-after-free in lock cancel <now>"},
                    {"branches", {"2.15", "2.16"}}};

}  // namespace

TEST_CASE("patches http: the admin API refuses what it must, precisely", "[patches][threads]") {
  Site site;
  SECTION("no token, a wrong one, and an admin not allowed the action") {
    auto none = site.admin("POST", "patches", "", k_add.dump());
    CHECK(none.status == 401);
    CHECK(none.headers.find("WWW-Authenticate: Bearer") != std::string::npos);
    CHECK(site.admin("GET", "patches", std::string(64, 'f')).status == 401);
    auto carol = site.admin("POST", "patches", k_carol, k_add.dump());
    CHECK(carol.status == 403);
    CHECK(Site::error_of(carol) == "admin 'carol' may not patches");
    CHECK(site.admin("GET", "patches", k_carol).status == 200);  // carol may read
    auto log = site.store->audit().list("patches");
    REQUIRE(log.ok());
    REQUIRE(log->size() == 1);  // the 403 is audited
    CHECK(log->at(0).admin == "carol");
    CHECK(log->at(0).action == "refused");
  }
  SECTION("bodies that are not a well-formed change") {
    auto post = [&](const std::string& body) {
      return site.admin("POST", "patches", k_alice, body);
    };
    CHECK(Site::error_of(post("")) == "the body is empty; it must be a JSON object");
    CHECK(Site::error_of(post("{not json")) == "the body is not JSON");
    CHECK(Site::error_of(post("[1]")) == "the body must be a JSON object");
    CHECK(Site::error_of(post("{}")) == "\"action\" is missing or not a string");
    CHECK(Site::error_of(post(R"({"action":"replace"})")) ==
          "\"action\" must be add or remove, not 'replace'");
    json bad = k_add;
    bad["ticket"] = "LU17000";
    auto r = post(bad.dump());
    CHECK(r.status == 400);
    CHECK(Site::error_of(r) == "\"ticket\" must be an LU ticket such as LU-17000, not 'LU17000'");
    CHECK(post(R"({"action":"remove","release":"2.15.7"})").status == 400);
    CHECK(post(R"({"action":"remove","release":"2.15.7","ticket":"LU-1"})").status == 404);
    CHECK(site.store->patches().pending()->empty());
  }
  SECTION("unknown changes and actions on them") {
    CHECK(site.admin("POST", "patch-changes/999", k_alice, R"({"action":"approve"})").status ==
          404);
    CHECK(site.admin("POST", "patch-changes/abc", k_alice, R"({"action":"approve"})").status ==
          404);
    auto id = json::parse(site.admin("POST", "patches", k_alice, k_add.dump()).body)["id"];
    auto r = site.admin("POST", "patch-changes/" + id.dump(), k_alice, R"({"action":"merge"})");
    CHECK(r.status == 400);
    CHECK(Site::error_of(r) == "\"action\" must be approve or cancel, not 'merge'");
  }
}

TEST_CASE("patches http: a change is public only once applied; HTML, JSON and Atom show it",
          "[patches][threads]") {
  Site site;
  auto proposed = site.admin("POST", "patches", k_alice, k_add.dump());
  REQUIRE(proposed.status == 202);
  const int64_t id = json::parse(proposed.body)["id"];
  CHECK(site.admin("POST", "patches", k_alice, k_add.dump()).status == 409);  // already pending

  // Pending: the admin list has it, no public page does.
  auto listed = json::parse(site.admin("GET", "patches", k_bob).body);
  REQUIRE(listed["changes"].size() == 1);
  CHECK(listed["changes"][0]["entry"]["ticket"] == "LU-17000");
  CHECK(listed["entries"].empty());
  CHECK(site.get("/patches/2.15.7").status == 404);
  CHECK(site.get("/patches/2.15.7.json").status == 404);
  CHECK(site.get("/patches/2.15.7.atom").status == 404);
  CHECK(site.get("/patches").body.find("LU-17000") == std::string::npos);
  CHECK(site.get("/patches").body.find("No release has a list yet") != std::string::npos);

  auto approved =
      site.admin("POST", "patch-changes/" + std::to_string(id), k_alice, R"({"action":"approve"})");
  REQUIRE(approved.status == 200);
  CHECK(json::parse(approved.body)["applied"] == true);
  CHECK(site.wakes == 1);
  CHECK(site.admin("POST", "patch-changes/" + std::to_string(id), k_bob, R"({"action":"approve"})")
            .status == 409);
  auto twice = site.admin("POST", "patches", k_alice, k_add.dump());
  CHECK(twice.status == 409);
  CHECK(Site::error_of(twice) == "LU-17000 for Lustre 2.15.7 is already on the supported list");

  // HTML: herald's layout, escaped, no script, the page's headers.
  auto html = site.get("/patches/2.15.7");
  REQUIRE(html.status == 200);
  CHECK(html.headers.find("Content-Type: text/html; charset=utf-8") != std::string::npos);
  CHECK(html.headers.find("Content-Security-Policy: default-src 'none'") != std::string::npos);
  CHECK(html.body.find("<meta name=\"viewport\"") != std::string::npos);
  CHECK(html.body.find("<h1>Supported critical patches for Lustre 2.15.7</h1>") !=
        std::string::npos);
  CHECK(html.body.find("LU-17000: ldlm: fix a use-after-free in lock cancel &lt;now&gt;") !=
        std::string::npos);
  CHECK(html.body.find("<dd>2.15, 2.16</dd>") != std::string::npos);
  CHECK(html.body.find("<script") == std::string::npos);
  auto index = site.get("/patches");
  CHECK(index.body.find("<a href=\"/patches/2.15.7\">Lustre 2.15.7</a>: 1 patch") !=
        std::string::npos);
  CHECK(site.get("/patches/2.16.0").status == 404);
  auto unknown = site.get("/patches/not-a-release");
  CHECK(unknown.status == 404);
  CHECK(unknown.body.find("That is not a Lustre release number") != std::string::npos);

  // JSON, against the published schema.
  auto j = site.get("/patches/2.15.7.json");
  REQUIRE(j.status == 200);
  const json data = json::parse(j.body);
  CHECK(data["release"] == "2.15.7");
  CHECK(data["url"] == "https://announce.example.org/patches/2.15.7");
  REQUIRE(data["patches"].size() == 1);
  CHECK(data["patches"][0]["supported_since"] == "2026-05-28T20:26:40Z");
  CHECK(test::validates_against_schema(site.dir, "patches.json", j.body, "patches.schema.json"));
  json broken = data;
  broken["patches"][0]["severity"] = "urgent";
  CHECK_FALSE(test::validates_against_schema(site.dir, "broken.json", broken.dump(),
                                             "patches.schema.json"));

  // Atom: herald's own feed parser and python3's XML parser read it.
  auto atom = site.get("/patches/2.15.7.atom");
  REQUIRE(atom.status == 200);
  CHECK(atom.headers.find("Content-Type: application/atom+xml") != std::string::npos);
  auto feed = feed::parse_feed(atom.body, site.base() + "/patches/2.15.7.atom");
  REQUIRE(feed.ok());
  CHECK(feed->format == "atom");
  CHECK(feed->title == "Supported critical patches for Lustre 2.15.7");
  REQUIRE(feed->entries.size() == 1);
  CHECK(feed->entries[0].key == "tag:announce.example.org,2026:patches/2.15.7/LU-17000");
  CHECK(feed->entries[0].title == "LU-17000: ldlm: fix a use-after-free in lock cancel <now>");
  CHECK(feed->entries[0].link == k_add["change_url"]);
  CHECK(feed->entries[0].updated == 1'780'000'000);
  const std::string xml = site.dir.write("patches.atom", atom.body);
  const std::string cmd =
      "/usr/bin/python3 -c 'import sys, xml.etree.ElementTree as ET; "
      "r = ET.parse(sys.argv[1]).getroot(); a = \"{http://www.w3.org/2005/Atom}\"; "
      "assert r.tag == a + \"feed\"; e = r.findall(a + \"entry\"); assert len(e) == 1; "
      "assert e[0].find(a + \"updated\").text == \"2026-05-28T20:26:40Z\"' " +
      xml;
  CHECK(std::system(cmd.c_str()) == 0);

  // A picture of the page as a browser shows it, wide and at a phone's width.
  test::screenshot_page(site.dir, html.body, "patches", "patches-2.15.7.png");
  test::screenshot_page(site.dir, html.body, "patches", "patches-2.15.7-phone.png", "412,1200");
}

TEST_CASE("patches http: the announcement is routed once to [security] to with its priority",
          "[patches][threads]") {
  Site site;
  const int64_t id = json::parse(site.admin("POST", "patches", k_alice, k_add.dump()).body)["id"];
  REQUIRE(
      site.admin("POST", "patch-changes/" + std::to_string(id), k_alice, R"({"action":"approve"})")
          .status == 200);
  Pipeline pipeline(site.cfg, *site.templates, *site.store, site.clock,
                    [](const std::string&) -> std::unique_ptr<Sink> { return nullptr; });
  RunReport report;
  pipeline.route_pending(report);
  pipeline.route_pending(report);  // nothing left: routed once
  CHECK(report.routed_events == 1);
  auto rows = site.store->outbox().outbox_rows("", 10);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 1);
  const OutboxRow& row = rows->at(0);
  CHECK(row.destination == "list");
  CHECK(row.priority == 100);
  CHECK(row.state == "pending");
  CHECK(row.subject ==
        "Supported critical patch for Lustre 2.15.7: LU-17000 ldlm: fix a use-after-free in lock "
        "cancel <now>");
  // The mail's text part says what the patch is and where the list is.
  auto payload = site.store->outbox().outbox_payload(row.idempotency_key);
  REQUIRE(payload.ok());
  REQUIRE(payload->has_value());
  const std::string mail = test::readable_mail((*payload)->payload);
  CHECK(mail.find("Ticket:    LU-17000") != std::string::npos);
  CHECK(mail.find("Branches:  2.15, 2.16") != std::string::npos);
  CHECK(mail.find("https://announce.example.org/patches/2.15.7") != std::string::npos);
  // The same entry removed and added back by a later change is announced
  // again, once.
  auto remove = json{{"action", "remove"}, {"release", "2.15.7"}, {"ticket", "LU-17000"}};
  for (const json& change : {remove, k_add}) {
    const int64_t c = json::parse(site.admin("POST", "patches", k_alice, change.dump()).body)["id"];
    REQUIRE(
        site.admin("POST", "patch-changes/" + std::to_string(c), k_alice, R"({"action":"approve"})")
            .status == 200);
  }
  pipeline.route_pending(report);
  pipeline.route_pending(report);
  auto again = site.store->outbox().outbox_rows("", 10);
  REQUIRE(again->size() == 2);
  CHECK(again->at(0).idempotency_key != again->at(1).idempotency_key);
  CHECK(again->at(0).subject == again->at(1).subject);
}

TEST_CASE("patches http: the two-person rule over the API", "[patches][threads]") {
  Site site(2);
  const int64_t id = json::parse(site.admin("POST", "patches", k_alice, k_add.dump()).body)["id"];
  const std::string path = "patch-changes/" + std::to_string(id);
  auto own = site.admin("POST", path, k_alice, R"({"action":"approve"})");
  CHECK(own.status == 403);
  CHECK(Site::error_of(own) ==
        "with 2 approvals required, the author may not approve their own draft");
  auto bob = json::parse(site.admin("POST", path, k_bob, R"({"action":"approve"})").body);
  CHECK(bob["applied"] == false);
  CHECK(bob["approvals_counted"] == 1);
  CHECK(site.get("/patches/2.15.7").status == 404);
  auto cancel = site.admin("POST", path, k_alice, R"({"action":"cancel"})");
  CHECK(cancel.status == 200);
  CHECK(json::parse(cancel.body)["change"]["state"] == "cancelled");
  CHECK(site.store->patches().pending()->empty());
}

TEST_CASE("patches http: herald patches add, approve, list and remove against the server",
          "[patches][threads]") {
  Site site;
  const auto herald = std::filesystem::read_symlink("/proc/self/exe").parent_path() / "herald";
  REQUIRE(std::filesystem::exists(herald));
  struct Run {
    int status;
    std::string out;
  };
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {herald.string(), "patches"});
    args.insert(args.end(), {"--url", site.base(), "--token-file", site.dir.file("alice.token")});
    auto child = test::ChildProcess::spawn(args, site.dir.file("stderr"));
    std::string out;
    while (auto line = child.read_line(20'000)) out += *line + "\n";
    auto status = child.wait_exit(20'000);
    REQUIRE(status);
    return Run{WIFEXITED(*status) ? WEXITSTATUS(*status) : -1, out};
  };
  auto add =
      run({"add", "2.15.7", "LU-17000", "--summary", "ldlm: fix a race", "--change-url",
           "https://review.whamcloud.com/55123", "--severity", "high", "--branches", "2.15, 2.16"});
  CHECK(add.status == 0);
  CHECK(add.out ==
        "change 1: add LU-17000 for 2.15.7, pending\n"
        "It applies once 1 admin has approved it: herald patches approve 1\n");
  auto approve = run({"approve", "1"});
  CHECK(approve.status == 0);
  CHECK(approve.out ==
        "change 1: add LU-17000 for 2.15.7, applied, 1 of 1 approvals (approved by alice)\n");
  auto list = run({"list", "--release", "2.15.7"});
  CHECK(list.status == 0);
  CHECK(list.out ==
        "2.15.7\tLU-17000\tsupported\thigh\t2.15,2.16\t2026-05-28T20:26:40Z\t"
        "https://review.whamcloud.com/55123\tldlm: fix a race\n");
  auto again = run({"approve", "1"});
  CHECK(again.status == 1);
  CHECK(herald::read_file(site.dir.file("stderr"))->find("herald: 409: change 1") !=
        std::string::npos);
  CHECK(run({"remove", "2.15.7", "LU-17000"}).status == 0);
  CHECK(run({"cancel", "2"}).status == 0);
  CHECK(run({"add", "2.15.7", "LU-17001"}).status == 2);  // --summary missing
  CHECK(run({"frobnicate"}).status == 2);
}
