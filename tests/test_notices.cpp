// Security notices through the admin API (real HTTP) and the pipeline, with
// an injected clock: draft, approval by one admin and under the two-person
// rule, embargo across a restart, publication ahead of every other delivery
// to the list, a chat channel and every subscriber of the security topic,
// revisions and withdrawals, the audit log, and nothing of a notice's
// content anywhere before its publication.
#include <catch2/catch.hpp>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <map>
#include <set>
#include <string>

#include "adapters/sinks/mail/kind.hpp"
#include "daemon/config.hpp"
#include "daemon/http_server.hpp"
#include "daemon/notices/api.hpp"
#include "daemon/pipeline.hpp"
#include "daemon/render.hpp"
#include "daemon/store.hpp"
#include "daemon/util.hpp"
#include "tests/support/curl_client.hpp"
#include "tests/support/gnupg.hpp"
#include "tests/support/mail_text.hpp"
#include "tests/support/servers.hpp"
#include "tests/support/signed_mail.hpp"
#include "tests/support/temp_dir.hpp"

using namespace herald;
using herald::test::curl_request;
using herald::test::TempDir;

namespace {

const std::string k_alice(40, 'a'), k_bob(40, 'b'), k_carol(40, 'c'), k_dave(40, 'd');

const char* k_title = "Remote crash in the LNet router (embargoed)";

std::string config(int approvals, const std::string& smtp_url = "",
                   const std::string& openpgp = "") {
  return R"(
[herald]
database = "h.db"
[mail]
from = "Lustre security <security@example.org>"
)" + (smtp_url.empty() ? std::string() : "smtp_url = \"" + smtp_url + "\"\n") + openpgp + R"(
[[destination]]
name = "list"
to = ["lustre-announce@example.org"]
[[destination]]
name = "chat"
kind = "webhook"
url = "http://127.0.0.1:9/hook"
secrets = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]
[[route]]
kinds = ["release.published"]
to = ["list"]
[http]
listen = "127.0.0.1:0"
[web]
base_url = "https://announce.example.org"
[[topic]]
name = "security"
title = "Security notices"
kinds = ["security.notice"]
[[topic]]
name = "releases"
kinds = ["release.published"]
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
may = ["approve", "publish", "patches", "read"]
[[admin]]
name = "dave"
token_file = "dave.token"
may = ["read"]
[security]
approvals = )" + std::to_string(approvals) + R"(
to = ["list", "chat"]
)";
}

nlohmann::json fields(const std::string& title = k_title) {
  return {{"severity", "high"},
          {"title", title},
          {"summary", "A crafted LNet message crashes a router."},
          {"details", "Détails: the router dereferences a NULL peer.\n- workaround: none"},
          {"cves", {"CVE-2026-31337"}},
          {"affected_versions", {"2.15.0 - 2.15.6", "2.16.0"}},
          {"affected_branches", {"2.15", "2.16"}},
          {"fixed", {{{"branch", "2.15"}, {"version", "2.15.7"}},
                     {{"branch", "2.16"}, {"version", "2.16.1"}}}},
          {"patches", {{{"ticket", "LU-17000"},
                        {"url", "https://review.whamcloud.com/c/fs/lustre-release/+/55555"}}}},
          {"credits", {"Jane Doe (Example Lab)"}}};
}

struct Fixture {
  TempDir dir;
  FakeClock clock{1'780'000'000};  // 2026-05-28
  Config cfg;
  std::unique_ptr<Store> store;
  std::unique_ptr<Pipeline> pipeline;
  std::unique_ptr<HttpServer> server;
  int wakes = 0;

  // smtp_url: deliver mail there (the other destinations get no sink).
  explicit Fixture(int approvals = 1, const std::string& smtp_url = "",
                   const std::string& openpgp = "") {
    dir.write("alice.token", k_alice);
    dir.write("bob.token", k_bob);
    dir.write("carol.token", k_carol);
    dir.write("dave.token", k_dave);
    dir.write("h.toml", config(approvals, smtp_url, openpgp));
    auto r = load_config(dir.file("h.toml"));
    for (const auto& e : r.errors) FAIL(e.to_string());
    cfg = *r.config;
    open();
  }

  // (Re)opens the store, pipeline and server on the same database: a restart.
  void open() {
    server.reset();
    pipeline.reset();
    store.reset();
    store = std::move(*Store::open(cfg.database));
    auto templates = Templates::load(cfg.bundled_templates, "");
    REQUIRE(templates);
    const MailConfig mail = cfg.mail;
    pipeline = std::make_unique<Pipeline>(
        cfg, std::move(*templates), *store, clock,
        [mail](const std::string& dest) -> std::unique_ptr<Sink> {
          if (mail.smtp_url.empty() || dest == "chat") return nullptr;
          return mail::make_sink(mail);
        });
    HttpServerOptions o;
    o.listen = "127.0.0.1:0";
    server = std::make_unique<HttpServer>(o);
    add_notice_routes(*server, cfg, *store, clock, [this] { ++wakes; });
    REQUIRE(server->start());
  }

  test::CurlReply call(const std::string& method, const std::string& path, const std::string& token,
                       const nlohmann::json& body = nullptr) {
    std::vector<std::string> headers = {"Content-Type: application/json"};
    if (!token.empty()) headers.push_back("Authorization: Bearer " + token);
    return curl_request(method, "http://" + server->address() + "/api/v1/admin/" + path,
                        body.is_null() ? "" : body.dump(), headers);
  }
  nlohmann::json json(const test::CurlReply& r) { return nlohmann::json::parse(r.body); }

  std::string create(const nlohmann::json& f = fields(), const nlohmann::json& extra = {}) {
    nlohmann::json body = {{"notice", f}};
    if (extra.is_object()) body.update(extra);
    auto r = call("POST", "notices", k_alice, body);
    INFO(r.body);
    REQUIRE(r.status == 201);
    return json(r)["id"];
  }

  RunReport pass() {
    RunReport rep;
    pipeline->publish_notices(rep);
    pipeline->route_pending(rep);
    pipeline->run_digests(rep);
    return rep;
  }

  void subscriber(const std::string& address, std::vector<std::string> topics,
                  std::vector<std::string> branches = {}, const std::string& mode = "immediate",
                  const std::string& state = "confirmed") {
    Subscriber s;
    s.address = address;
    s.state = state;
    s.topics = std::move(topics);
    s.branches = std::move(branches);
    s.mode = mode;
    s.subscribed_at = 1000;
    REQUIRE(store->subscribers().add(s));
  }

  std::vector<OutboxRow> rows() {
    auto r = store->outbox().outbox_rows("", 1000);
    REQUIRE(r);
    return *r;
  }
  // Every payload in the outbox, one after the other.
  std::string payloads() {
    std::string all;
    for (const auto& r : rows()) {
      auto p = store->outbox().outbox_payload(r.idempotency_key);
      REQUIRE(p);
      REQUIRE(*p);
      all += (*p)->payload + "\n";
    }
    return all;
  }
  std::vector<std::string> audit_actions(const std::string& subject) {
    auto a = store->audit().list(subject);
    REQUIRE(a);
    std::vector<std::string> out;
    for (const auto& e : *a) out.push_back(e.admin + " " + e.action);
    return out;
  }
};

}  // namespace

TEST_CASE("notices: tokens decide who may do what, and refusals are audited",
          "[notices][threads]") {
  Fixture f;
  CHECK(f.call("GET", "notices", "").status == 401);
  CHECK(f.call("GET", "notices", std::string(40, 'x')).status == 401);
  auto denied = f.call("POST", "notices", k_bob, {{"notice", fields()}});
  CHECK(denied.status == 403);
  CHECK_THAT(denied.body, Catch::Contains("admin 'bob' may not draft"));
  CHECK(f.call("GET", "notices", k_dave).status == 200);
  const std::string id = f.create();
  CHECK(id == "OSFS-SA-2026-001-1");
  CHECK(f.create() == "OSFS-SA-2026-002-1");  // numbered in sequence within the year
  CHECK(f.call("POST", "notices/" + id, k_dave, {{"action", "approve"}}).status == 403);
  CHECK(f.call("POST", "notices/" + id, k_bob, {{"action", "publish"}}).status == 403);
  CHECK(f.call("GET", "notices/OSFS-SA-2026-009", k_dave).status == 404);
  const auto log = f.audit_actions("");
  CHECK(std::count(log.begin(), log.end(), "bob refused") == 2);
  CHECK(std::count(log.begin(), log.end(), "dave refused") == 1);
  auto entries = f.json(f.call("GET", "audit?subject=" + id, k_dave))["entries"];
  REQUIRE(entries.size() == 3);
  CHECK(entries[0]["action"] == "create");
  CHECK(entries[0]["admin"] == "alice");
  CHECK(entries[1]["action"] == "refused");
  CHECK(entries[1]["detail"] == "may not approve");
}

TEST_CASE("notices: bad fields get a precise 400", "[notices][threads]") {
  Fixture f;
  auto bad = [&](nlohmann::json fl) {
    auto r = f.call("POST", "notices", k_alice, {{"notice", fl}});
    CHECK(r.status == 400);
    return f.json(r)["error"].get<std::string>();
  };
  auto fl = fields();
  fl["severity"] = "urgent";
  CHECK_THAT(bad(fl), Catch::Contains("'severity' must be low, medium, high or critical"));
  fl = fields();
  fl["cves"] = {"CVE-2026-1"};
  CHECK(bad(fl) == "'cves'[0]: 'CVE-2026-1' is not a CVE id (CVE-2026-1234)");
  fl = fields();
  fl["fixed"] = {{{"branch", "2.15"}, {"version", "2.16.1"}}};
  CHECK_THAT(bad(fl), Catch::Contains("'fixed'[0]: '2.16.1' is not a release of branch 2.15"));
  fl = fields();
  fl["colour"] = "red";
  CHECK(bad(fl) == "unknown field 'colour'");
  fl = fields();
  fl["title"] = "two\nlines";
  CHECK(bad(fl) == "'title' must be one line");
  fl = fields();
  fl.erase("summary");
  CHECK(bad(fl) == "'summary' is required");
  CHECK(f.call("POST", "notices", k_alice, nlohmann::json::array()).status == 400);
  auto far = f.call("POST", "notices", k_alice,
                    {{"notice", fields()}, {"embargo", f.clock.now() + 15 * 86'400}});
  CHECK(far.status == 400);
  CHECK_THAT(far.body, Catch::Contains("more than 14 days"));
  CHECK(f.store->notices().list()->empty());
}

TEST_CASE("notices: approved and published, ahead of everything, to the list, chat and "
          "the security topic",
          "[notices][threads]") {
  Fixture f;
  f.subscriber("now@example.org", {"security"});
  f.subscriber("daily@example.org", {"security"}, {}, "daily");  // no digest wait
  f.subscriber("b215@example.org", {"security", "releases"}, {"2.15"});
  f.subscriber("b212@example.org", {"security"}, {"2.12"});  // not affected
  f.subscriber("releases@example.org", {"releases"});
  f.subscriber("pending@example.org", {"security"}, {}, "immediate", "pending");

  // Earlier news queued for the list.
  Event rel;
  rel.key = "release:lustre:2.16.0";
  rel.kind = "release.published";
  rel.source = "tags";
  rel.title = "Lustre 2.16.0 released";
  rel.tags = {{"branch", "2.16"}};
  REQUIRE(f.store->events().insert_events({rel}, f.clock.now()));
  f.pass();
  REQUIRE(f.rows().size() == 1);

  // Capture what herald logs from here on.
  auto ring = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1000);
  auto previous = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", ring));
  spdlog::set_level(spdlog::level::info);

  const std::string id = f.create();
  auto early = f.call("POST", "notices/" + id, k_carol, {{"action", "publish"}});
  CHECK(early.status == 409);
  CHECK_THAT(early.body, Catch::Contains("only an approved notice"));
  auto approved = f.call("POST", "notices/" + id, k_alice, {{"action", "approve"}});
  REQUIRE(approved.status == 200);
  CHECK(f.json(approved)["state"] == "approved");  // 1 approval: the author's counts
  f.clock.advance(60);
  auto before = f.pass();
  CHECK(before.deliveries_created == 0);
  CHECK(f.rows().size() == 1);
  CHECK(f.payloads().find("LNet router") == std::string::npos);

  auto published = f.call("POST", "notices/" + id, k_carol, {{"action", "publish"}});
  REQUIRE(published.status == 202);
  CHECK(f.json(published)["state"] == "scheduled");
  CHECK(f.wakes == 1);
  // Nothing of the content reached a log line (ids, admins and states only).
  for (const auto& line : ring->last_formatted()) {
    INFO(line);
    CHECK(line.find("LNet") == std::string::npos);
    CHECK(line.find("CVE-2026") == std::string::npos);
  }
  spdlog::set_default_logger(previous);

  auto rep = f.pass();
  CHECK(rep.new_events == 1);
  auto n = f.store->notices().find(id);
  REQUIRE(*n);
  CHECK((*n)->state == "published");
  CHECK((*n)->published_by == "carol");
  auto ev = f.store->events().event_by_key("notice:" + id);
  REQUIRE(ev);
  REQUIRE(*ev);
  CHECK((*ev)->event.kind == "security.notice");
  CHECK((*ev)->event.tags.at("branch") == "2.15 2.16");
  CHECK((*ev)->event.attributes["fixed"][1]["version"] == "2.16.1");

  std::map<std::string, int> priority_of;  // recipient or destination -> priority
  for (const auto& r : f.rows())
    if (r.idempotency_key.find(id) != std::string::npos)
      priority_of[r.recipient.empty() ? r.destination : r.recipient] = r.priority;
  CHECK(priority_of == std::map<std::string, int>{{"lustre-announce@example.org", 100},
                                                  {"chat", 100},
                                                  {"now@example.org", 100},
                                                  {"daily@example.org", 100},
                                                  {"b215@example.org", 100}});
  // The notice's deliveries are claimed before the release queued earlier.
  auto due = f.store->outbox().due_deliveries(f.clock.now(), 10);
  REQUIRE(due);
  REQUIRE(due->size() == 6);
  for (size_t i = 0; i < 5; ++i) CHECK(due->at(i).idempotency_key.find(id) != std::string::npos);
  CHECK(due->at(5).idempotency_key.find("2.16.0") != std::string::npos);

  // Published once: a second publish is refused, a second pass sends nothing.
  CHECK(f.call("POST", "notices/" + id, k_carol, {{"action", "publish"}}).status == 409);
  CHECK(f.pass().deliveries_created == 0);
  CHECK(f.audit_actions(id) == std::vector<std::string>{"alice create", "alice approve",
                                                        "carol publish", "herald published"});
}

TEST_CASE("notices: two approvals, never the author's", "[notices][threads]") {
  Fixture f(2);
  const std::string id = f.create();
  auto own = f.call("POST", "notices/" + id, k_alice, {{"action", "approve"}});
  CHECK(own.status == 403);
  CHECK_THAT(own.body, Catch::Contains("the author may not approve"));
  auto first = f.call("POST", "notices/" + id, k_bob, {{"action", "approve"}});
  REQUIRE(first.status == 200);
  CHECK(f.json(first)["state"] == "draft");
  CHECK(f.json(first)["approvals_counted"] == 1);
  CHECK(f.call("POST", "notices/" + id, k_bob, {{"action", "approve"}}).status == 409);
  CHECK(f.call("POST", "notices/" + id, k_carol, {{"action", "publish"}}).status == 409);
  auto second = f.call("POST", "notices/" + id, k_carol, {{"action", "approve"}});
  REQUIRE(second.status == 200);
  CHECK(f.json(second)["state"] == "approved");
  CHECK(f.call("POST", "notices/" + id, k_carol, {{"action", "publish"}}).status == 202);
  f.pass();
  CHECK((*f.store->notices().find(id))->state == "published");
  CHECK(f.audit_actions(id) ==
        std::vector<std::string>{"alice create", "alice refused", "bob approve", "carol approve",
                                 "carol publish", "herald published"});
}

TEST_CASE("notices: an embargo holds a notice until it ends, across a restart",
          "[notices][threads]") {
  Fixture f;
  const int64_t embargo = f.clock.now() + 3 * 86'400;
  const std::string id = f.create(fields(), nlohmann::json{{"embargo", format_rfc3339(embargo)}});
  REQUIRE(f.call("POST", "notices/" + id, k_alice, {{"action", "approve"}}).status == 200);
  auto sched = f.call("POST", "notices/" + id, k_carol, {{"action", "publish"}});
  REQUIRE(sched.status == 202);
  CHECK(f.json(sched)["publish_at"] == format_rfc3339(embargo));
  CHECK(f.pass().deliveries_created == 0);
  // The daemon's loop sleeps no longer than until the embargo ends.
  f.clock.set(embargo - 600);
  f.pass();
  CHECK(f.pipeline->next_wakeup() == embargo);
  f.clock.set(embargo - 1);
  CHECK(f.pass().deliveries_created == 0);
  CHECK(f.payloads().find("LNet") == std::string::npos);

  f.open();  // restart
  f.pass();
  CHECK(f.pipeline->next_wakeup() == embargo);
  f.clock.set(embargo + 20);
  auto rep = f.pass();
  CHECK(rep.deliveries_created == 2);  // the list and chat (no subscribers)
  auto n = *f.store->notices().find(id);
  CHECK(n->published_at == embargo + 20);
  CHECK_THAT(f.payloads(), Catch::Contains("LNet router"));
  CHECK(f.audit_actions(id).back() == "herald published");
}

TEST_CASE("notices: revisions and withdrawals are notices too", "[notices][threads]") {
  Fixture f;
  const std::string id = f.create();
  // A draft is changed in place; its approvals are dropped.
  REQUIRE(f.call("POST", "notices/" + id, k_alice, {{"action", "approve"}}).status == 200);
  auto changed = f.call("POST", "notices/" + id, k_alice,
                        {{"action", "revise"}, {"notice", fields("Changed title")}});
  REQUIRE(changed.status == 200);
  CHECK(f.json(changed)["state"] == "draft");
  CHECK(f.json(changed)["approvals"].empty());
  REQUIRE(f.call("POST", "notices/" + id, k_alice, {{"action", "approve"}}).status == 200);
  REQUIRE(f.call("POST", "notices/" + id, k_alice, {{"action", "publish"}}).status == 202);
  f.pass();

  auto no_reason = f.call("POST", "notices/OSFS-SA-2026-001", k_alice,
                          {{"action", "revise"}, {"notice", fields("Changed title")}});
  CHECK(no_reason.status == 400);
  auto rev = f.call("POST", "notices/OSFS-SA-2026-001", k_alice,
                    {{"action", "revise"},
                     {"notice", fields("Changed title")},
                     {"reason", "2.16.1 also needs LU-17001"}});
  REQUIRE(rev.status == 201);
  CHECK(f.json(rev)["id"] == "OSFS-SA-2026-001-2");
  // One open revision at a time.
  CHECK(f.call("POST", "notices/OSFS-SA-2026-001-1", k_alice,
               {{"action", "withdraw"}, {"reason", "x"}})
            .status == 409);
  REQUIRE(f.call("POST", "notices/OSFS-SA-2026-001", k_alice, {{"action", "approve"}}).status ==
          200);
  REQUIRE(f.call("POST", "notices/OSFS-SA-2026-001", k_alice, {{"action", "publish"}}).status ==
          202);
  f.pass();
  auto ev2 = *f.store->events().event_by_key("notice:OSFS-SA-2026-001-2");
  REQUIRE(ev2);
  CHECK(ev2->event.attributes["revision"] == 2);
  CHECK(ev2->event.attributes["revision_reason"] == "2.16.1 also needs LU-17001");

  auto wd = f.call("POST", "notices/OSFS-SA-2026-001", k_alice,
                   {{"action", "withdraw"}, {"reason", "Not a vulnerability after all"}});
  REQUIRE(wd.status == 201);
  CHECK(f.json(wd)["id"] == "OSFS-SA-2026-001-3");
  CHECK(f.json(wd)["withdrawn"] == true);
  REQUIRE(f.call("POST", "notices/OSFS-SA-2026-001-3", k_alice, {{"action", "approve"}}).status ==
          200);
  REQUIRE(f.call("POST", "notices/OSFS-SA-2026-001-3", k_alice, {{"action", "publish"}}).status ==
          202);
  f.pass();
  auto ev3 = *f.store->events().event_by_key("notice:OSFS-SA-2026-001-3");
  REQUIRE(ev3);
  CHECK(ev3->event.attributes["withdrawn"] == true);

  // An unpublished notice that is withdrawn is discarded, and never sent.
  const std::string other = f.create();
  auto gone = f.call("POST", "notices/" + other, k_alice,
                     {{"action", "withdraw"}, {"reason", "duplicate of OSFS-SA-2026-001"}});
  REQUIRE(gone.status == 200);
  CHECK(f.json(gone)["state"] == "discarded");
  CHECK(f.call("POST", "notices/" + other, k_alice, {{"action", "approve"}}).status == 409);
  auto list = f.json(f.call("GET", "notices", k_dave))["notices"];
  CHECK(list.size() == 4);
}

TEST_CASE("notices: the whole path, embargo to a signed mail at a real SMTP server, both forms",
          "[notices][openpgp][threads]") {
  for (const std::string form : {"inline", "pgp-mime"}) {
    DYNAMIC_SECTION(form) {
      test::SmtpTestServer server;
      const auto& k = test::keyring();
      Fixture f(2, server.url(),
                "[openpgp]\ngnupg_home = \"" + k.home() + "\"\nkey = \"" + k.fingerprint() +
                    "\"\nform = \"" + form + "\"\n");
      const std::string long_line(2000, 'x');
      auto fl = fields();
      fl["details"] = "Grüße aus Zürich: the router dereferences a NULL peer.\n" + long_line +
                      "\nFrom the logs, a crafted message suffices.\n- workaround: none\n"
                      "-----BEGIN not a signature\n";
      const int64_t embargo = f.clock.now() + 2 * 3600;
      const std::string id = f.create(fl, nlohmann::json{{"embargo", embargo}});
      REQUIRE(f.call("POST", "notices/" + id, k_bob, {{"action", "approve"}}).status == 200);
      REQUIRE(f.call("POST", "notices/" + id, k_carol, {{"action", "approve"}}).status == 200);
      REQUIRE(f.call("POST", "notices/" + id, k_carol, {{"action", "publish"}}).status == 202);
      RunReport early = f.pass();
      f.pipeline->deliver_due(early);
      CHECK(server.events("message").empty());  // held by the embargo

      f.clock.set(embargo + 30);
      RunReport rep = f.pass();
      REQUIRE(rep.deliveries_created == 2);  // the list and chat (no subscribers)
      RunReport sent;
      for (const auto& r : f.rows())
        if (r.destination == "list") REQUIRE(r.priority == 100);
      f.pipeline->deliver_due(sent);  // chat has no sink here: only the list's mail leaves
      REQUIRE(server.events("message").size() == 1);
      const std::string message = server.stored("msg-0001-1.eml");
      INFO(message);
      CHECK_THAT(message, Catch::Contains("Subject: [SECURITY] [" + id + "]"));
      auto v = test::verify(message);
      INFO(v.json << v.gpg);
      CHECK(v.good);
      CHECK_THAT(v.text, Catch::Contains("Grüße aus Zürich"));
      CHECK_THAT(v.text, Catch::Contains(long_line));
      CHECK_THAT(v.text, Catch::Contains("\nFrom the logs, a crafted message suffices.\n"));
      CHECK_THAT(v.text, Catch::Contains("\n- workaround: none\n"));
      CHECK_THAT(v.text, Catch::Contains("For the 2.15 branch"));
      CHECK_THAT(v.text, Catch::Contains("2.16.1"));
    }
  }
}

TEST_CASE("notices: what the watches proposed is listed for admins, and sent nowhere",
          "[notices][threads]") {
  Fixture f;
  Event adv;
  adv.key = "osv:GHSA-9v2f-6vcg-3hgv:2024-01-01T00:00:00Z";
  adv.kind = "security.advisory";
  adv.source = "osv";
  adv.title = "An advisory for lustre";
  adv.tags = {{"advisory", "GHSA-9v2f-6vcg-3hgv"}, {"withdrawn", "true"}};
  Event cand = adv;
  cand.key = "gerrit:fs/lustre-release:55555";
  cand.kind = "patch.candidate";
  cand.title = "LU-17000 lnet: check the peer";
  REQUIRE(f.store->events().insert_events({adv}, f.clock.now()));
  REQUIRE(f.store->events().insert_events({cand}, f.clock.now() + 1));
  CHECK(f.pass().deliveries_created == 0);
  CHECK(f.call("GET", "proposals", "").status == 401);
  auto r = f.call("GET", "proposals", k_dave);
  REQUIRE(r.status == 200);
  auto list = f.json(r)["proposals"];
  REQUIRE(list.size() == 2);
  CHECK(list[0]["key"] == cand.key);  // newest first
  CHECK(list[1]["key"] == adv.key);
  CHECK(list[1]["tags"]["withdrawn"] == "true");
  CHECK(f.json(f.call("GET", "proposals?limit=1", k_dave))["proposals"].size() == 1);
  CHECK(f.call("GET", "proposals?limit=0", k_dave).status == 400);
}

TEST_CASE("notices: entries of the supported patch list are cited, checked, copied and sent",
          "[notices][patches][openpgp][threads]") {
  test::SmtpTestServer server;
  const auto& k = test::keyring();
  Fixture f(1, server.url(),
            "[openpgp]\ngnupg_home = \"" + k.home() + "\"\nkey = \"" + k.fingerprint() +
                "\"\nform = \"inline\"\n");
  PatchEntry entry;
  entry.release = "2.15.7";
  entry.ticket = "LU-17000";
  entry.change_url = "https://review.whamcloud.com/c/fs/lustre-release/+/55123";
  entry.severity = "critical";
  entry.summary = "ldlm: fix a use-after-free in lock cancel";
  entry.branches = {"2.15"};
  auto change = [&](const std::string& action) {
    auto p = f.store->patches().propose(action, entry, "alice", f.clock.now());
    REQUIRE(p.ok());
    REQUIRE(p->refusal == PatchRefusal::none);
    REQUIRE(f.store->patches().approve(p->change.id, "alice", 1, {}, f.clock.now())->applied);
  };
  change("add");

  auto refused = [&](const nlohmann::json& cited) {
    auto fl = fields();
    fl["patch_list"] = cited;
    auto r = f.call("POST", "notices", k_alice, {{"notice", fl}});
    CHECK(r.status == 400);
    return f.json(r)["error"].get<std::string>();
  };
  CHECK(refused({{{"release", "2.15.7"}, {"ticket", "LU-17999"}}}) ==
        "'patch_list'[0]: LU-17999 is not on the approved list of Lustre 2.15.7");
  CHECK(refused({{{"release", "2.15.7"}, {"ticket", "LU-17000"}},
                 {{"release", "2.15.8"}, {"ticket", "LU-17000"}}}) ==
        "'patch_list'[1]: LU-17000 is not on the approved list of Lustre 2.15.8");
  CHECK(refused({{{"release", "2.15"}, {"ticket", "LU-17000"}}}) ==
        "'patch_list'[0]: '2.15' is not a release (2.15.7)");
  CHECK(refused({{{"ticket", "LU-17000"}}}) ==
        "'patch_list'[0] must be {\"release\": \"2.15.7\", \"ticket\": \"LU-17000\"}");
  CHECK(f.store->notices().list()->empty());

  auto fl = fields();
  fl["patch_list"] = {{{"release", "2.15.7"}, {"ticket", "LU-17000"}}};
  const std::string id = f.create(fl);
  auto cited = f.json(f.call("GET", "notices/" + id, k_dave))["notice"]["patch_list"];
  REQUIRE(cited.size() == 1);
  CHECK(cited[0] == nlohmann::json{{"release", "2.15.7"},
                                   {"ticket", "LU-17000"},
                                   {"change_url", entry.change_url},
                                   {"severity", "critical"},
                                   {"summary", entry.summary},
                                   {"page_url", "https://announce.example.org/patches/2.15.7"}});
  // What the API showed may come back in a revision; the entry is copied
  // again from the list, never from the body.
  cited[0]["summary"] = "something else";
  fl["patch_list"] = cited;
  REQUIRE(f.call("POST", "notices/" + id, k_alice, {{"action", "revise"}, {"notice", fl}}).status ==
          200);
  CHECK(f.json(f.call("GET", "notices/" + id, k_dave))["notice"]["patch_list"][0]["summary"] ==
        entry.summary);

  // The entry leaves the list before the notice is sent: the notice says what
  // was approved, as it was cited.
  change("remove");
  REQUIRE(f.call("POST", "notices/" + id, k_alice, {{"action", "approve"}}).status == 200);
  REQUIRE(f.call("POST", "notices/" + id, k_carol, {{"action", "publish"}}).status == 202);
  RunReport rep = f.pass();
  f.pipeline->deliver_due(rep);
  REQUIRE(server.events("message").size() == 1);
  auto v = test::verify(server.stored("msg-0001-1.eml"));
  INFO(v.text);
  CHECK(v.good);
  CHECK_THAT(v.text,
             Catch::Contains("\nSupported critical patches:\n"
                             "  LU-17000 for Lustre 2.15.7 (severity critical): ldlm: fix a "
                             "use-after-free in lock cancel\n"
                             "  https://review.whamcloud.com/c/fs/lustre-release/+/55123\n"
                             "  The list of Lustre 2.15.7: "
                             "https://announce.example.org/patches/2.15.7\n"));
  // A revision cites the list as it is now: the entry is gone.
  auto rev = f.call("POST", "notices/" + id, k_alice,
                    {{"action", "revise"}, {"notice", fl}, {"reason", "typo"}});
  CHECK(rev.status == 400);
  CHECK(f.json(rev)["error"] ==
        "'patch_list'[0]: LU-17000 is not on the approved list of Lustre 2.15.7");
}
