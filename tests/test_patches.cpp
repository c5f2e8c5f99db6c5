// The supported critical-patch list's store and rules: proposals, the
// approval rule with one and two approvals, removal, the audit log written
// with every action, the announcement event stored once with the applied
// addition, and what survives a restart.
#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "daemon/config.hpp"
#include "daemon/patches/patch_list.hpp"
#include "daemon/store.hpp"
#include "tests/support/temp_dir.hpp"

using namespace herald;
using nlohmann::json;

namespace {

PatchEntry sample(const std::string& ticket = "LU-17000") {
  PatchEntry e;
  e.release = "2.15.7";
  e.ticket = ticket;
  e.change_url = "https://review.whamcloud.com/c/fs/lustre-release/+/55123";
  e.severity = "critical";
  e.summary = "ldlm: fix a use-after-free in lock cancel";
  e.branches = {"2.15", "2.16"};
  return e;
}

Config web_config() {
  Config cfg;
  cfg.web.base_url = "https://announce.example.org/";
  return cfg;
}

PatchStore::Announce announce(const Config& cfg, int64_t now) {
  return [&cfg, now](const PatchEntry& e) { return supported_patch_event(cfg, e, now); };
}

std::vector<std::string> actions(Store& store) {
  auto log = store.audit().list("patch:");
  REQUIRE(log.ok());
  std::vector<std::string> out;
  for (const auto& e : *log) out.push_back(e.admin + " " + e.action);
  return out;
}

}  // namespace

TEST_CASE("patches: entries are validated field by field", "[patches]") {
  CHECK(valid_release("2.15.7"));
  CHECK(valid_release("2.15.7.1"));
  CHECK_FALSE(valid_release("2.15"));
  CHECK_FALSE(valid_release("2.15.x"));
  CHECK_FALSE(valid_release("2..7"));
  CHECK(valid_ticket("LU-17000"));
  CHECK_FALSE(valid_ticket("LU-"));
  CHECK_FALSE(valid_ticket("LU-017000"));
  CHECK_FALSE(valid_ticket("lu-17000"));
  CHECK_FALSE(valid_ticket("LU-17000 "));
  const json good = {{"release", "2.15.7"},
                     {"ticket", "LU-17000"},
                     {"change_url", "https://review.whamcloud.com/55123"},
                     {"severity", "high"},
                     {"summary", "osc: fix a deadlock"}};
  auto e = patch_entry_from_json(good);
  REQUIRE(e.ok());
  CHECK(e->branches == std::vector<std::string>{"2.15"});  // the release's own branch
  auto with = [&](const char* field, const json& value) {
    json j = good;
    j[field] = value;
    auto r = patch_entry_from_json(j);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::bad_input);
    return r.error().message;
  };
  CHECK(with("ticket", "LU-x").find("\"ticket\"") != std::string::npos);
  CHECK(with("severity", "urgent").find("low, medium, high or critical") != std::string::npos);
  CHECK(with("change_url", "ftp://x").find("\"change_url\"") != std::string::npos);
  CHECK(with("change_url", "https://a b").find("without spaces") != std::string::npos);
  CHECK(with("summary", std::string(201, 'x')).find("longer than 200") != std::string::npos);
  CHECK(with("branches", json::array({"2.15", "main"})).find("\"branches\"") != std::string::npos);
  CHECK(with("release", 2157).find("must be a string") != std::string::npos);
  json missing = good;
  missing.erase("summary");
  CHECK(patch_entry_from_json(missing).error().message == "\"summary\" is missing");
}

TEST_CASE("patches: with one approval, the proposer's own approval applies an addition",
          "[patches]") {
  test::TempDir dir;
  auto store = std::move(*Store::open(dir.file("h.db")));
  const Config cfg = web_config();
  auto& patches = store->patches();

  auto proposed = patches.propose("add", sample(), "alice", 1000);
  REQUIRE(proposed.ok());
  REQUIRE(proposed->refusal == PatchRefusal::none);
  const int64_t id = proposed->change.id;
  CHECK(proposed->change.state == "pending");
  // Pending: nothing is supported yet, and nothing announced.
  CHECK(patches.supported("2.15.7")->has_value() == false);
  CHECK(*store->events().count_events() == 0);
  // A second proposal for the same entry waits for the first.
  auto again = patches.propose("add", sample(), "bob", 1001);
  CHECK(again->refusal == PatchRefusal::conflict);

  auto approved = patches.approve(id, "alice", 1, announce(cfg, 1100), 1100);
  REQUIRE(approved.ok());
  CHECK(approved->refusal == PatchRefusal::none);
  CHECK(approved->applied);
  CHECK(approved->change.state == "applied");
  auto listed = patches.supported("2.15.7");
  REQUIRE(listed.ok());
  REQUIRE(listed->has_value());
  REQUIRE((*listed)->size() == 1);
  const PatchEntry& e = (**listed)[0];
  CHECK(e.ticket == "LU-17000");
  CHECK(e.branches == std::vector<std::string>{"2.15", "2.16"});
  CHECK(e.proposed_by == "alice");
  CHECK(e.applied_at == 1100);

  // The announcement: stored once, unrouted, in the same transaction.
  auto unrouted = store->events().unrouted_events(10);
  REQUIRE(unrouted.ok());
  REQUIRE(unrouted->size() == 1);
  const Event& ev = (*unrouted)[0].event;
  CHECK(ev.kind == "patch.supported");
  CHECK(ev.key == "patch:2.15.7:LU-17000:" + std::to_string(id));  // the change applied
  CHECK(ev.severity == "critical");
  CHECK(ev.title ==
        "Supported critical patch for Lustre 2.15.7: LU-17000 ldlm: fix a use-after-free in lock "
        "cancel");
  CHECK(ev.url == "https://announce.example.org/patches/2.15.7");
  CHECK(ev.tags.at("branch") == "2.15 2.16");
  CHECK(ev.tags.at("release") == "2.15.7");
  CHECK(ev.tags.at("ticket") == "LU-17000");
  CHECK(ev.attributes["change_url"] == sample().change_url);

  // Approving an applied change again is a conflict, and so is listing it twice.
  CHECK(patches.approve(id, "bob", 1, announce(cfg, 1200), 1200)->refusal ==
        PatchRefusal::conflict);
  CHECK(patches.propose("add", sample(), "bob", 1200)->refusal == PatchRefusal::conflict);
  CHECK(patches.approve(999, "bob", 1, announce(cfg, 1200), 1200)->refusal ==
        PatchRefusal::not_found);
  CHECK(actions(*store) ==
        std::vector<std::string>{"alice propose", "alice approve", "alice apply", "bob refused"});
}

TEST_CASE("patches: under the two-person rule the author may not approve, two others must",
          "[patches]") {
  test::TempDir dir;
  auto store = std::move(*Store::open(dir.file("h.db")));
  const Config cfg = web_config();
  auto& patches = store->patches();
  const int64_t id = patches.propose("add", sample(), "alice", 1000)->change.id;

  auto own = patches.approve(id, "alice", 2, announce(cfg, 1001), 1001);
  REQUIRE(own.ok());
  CHECK(own->refusal == PatchRefusal::forbidden);
  CHECK(own->why.find("may not approve their own") != std::string::npos);

  auto first = patches.approve(id, "bob", 2, announce(cfg, 1002), 1002);
  CHECK(first->refusal == PatchRefusal::none);
  CHECK_FALSE(first->applied);
  CHECK(first->change.state == "pending");
  CHECK(patches.approve(id, "bob", 2, announce(cfg, 1003), 1003)->refusal ==
        PatchRefusal::conflict);  // already approved
  CHECK(*store->events().count_events() == 0);

  auto second = patches.approve(id, "carol", 2, announce(cfg, 1004), 1004);
  CHECK(second->applied);
  CHECK((*patches.supported("2.15.7"))->size() == 1);
  CHECK(*store->events().count_events() == 1);
  CHECK(actions(*store) == std::vector<std::string>{"alice propose", "alice refused", "bob approve",
                                                    "bob refused", "carol approve", "carol apply"});
}

TEST_CASE("patches: a removal takes the entry off the list; a cancelled change does nothing",
          "[patches]") {
  test::TempDir dir;
  auto store = std::move(*Store::open(dir.file("h.db")));
  const Config cfg = web_config();
  auto& patches = store->patches();
  // Removing what is not listed is refused.
  CHECK(patches.propose("remove", sample(), "alice", 900)->refusal == PatchRefusal::not_found);
  const int64_t add = patches.propose("add", sample(), "alice", 1000)->change.id;
  REQUIRE(patches.approve(add, "alice", 1, announce(cfg, 1001), 1001)->applied);

  const int64_t cancelled = patches.propose("remove", sample(), "bob", 1100)->change.id;
  auto c = patches.cancel(cancelled, "alice", 1101);
  REQUIRE(c.ok());
  CHECK(c->change.state == "cancelled");
  CHECK(patches.cancel(cancelled, "alice", 1102)->refusal == PatchRefusal::conflict);
  CHECK(patches.approve(cancelled, "alice", 1, announce(cfg, 1103), 1103)->refusal ==
        PatchRefusal::conflict);
  CHECK((*patches.supported("2.15.7"))->size() == 1);

  const int64_t remove = patches.propose("remove", sample(), "bob", 1200)->change.id;
  CHECK(patches.pending()->size() == 1);
  auto removed = patches.approve(remove, "bob", 1, announce(cfg, 1201), 1201);
  CHECK(removed->applied);
  auto left = patches.supported("2.15.7");
  REQUIRE(left->has_value());  // the release is known, its list now empty
  CHECK((*left)->empty());
  CHECK(patches.entries()->at(0).state == "removed");
  CHECK(patches.releases()->empty());
  CHECK(patches.pending()->empty());
  CHECK(*store->events().count_events() == 1);  // a removal announces nothing

  // Added back: listed again, and announced again (another approved change).
  const int64_t back = patches.propose("add", sample(), "alice", 1300)->change.id;
  CHECK(patches.approve(back, "alice", 1, announce(cfg, 1301), 1301)->applied);
  CHECK((*patches.supported("2.15.7"))->size() == 1);
  CHECK(*store->events().count_events() == 2);
  auto first = store->events().event_by_key("patch:2.15.7:LU-17000:" + std::to_string(add));
  auto again = store->events().event_by_key("patch:2.15.7:LU-17000:" + std::to_string(back));
  REQUIRE((first.ok() && again.ok()));
  CHECK(first->has_value());
  REQUIRE(again->has_value());
  CHECK((*again)->event.kind == "patch.supported");
  CHECK((*again)->event.time == 1301);
  // One approval still announces once: approving the applied change again
  // (by another admin, after a restart too) adds nothing.
  CHECK(patches.approve(back, "bob", 1, announce(cfg, 1302), 1302)->refusal ==
        PatchRefusal::conflict);
  store.reset();
  store = std::move(*Store::open(dir.file("h.db")));
  CHECK(store->patches().approve(back, "carol", 1, announce(cfg, 1400), 1400)->refusal ==
        PatchRefusal::conflict);
  CHECK(*store->events().count_events() == 2);
  CHECK(actions(*store) ==
        std::vector<std::string>{"alice propose", "alice approve", "alice apply", "bob propose",
                                 "alice cancel", "alice refused", "bob propose", "bob approve",
                                 "bob apply", "alice propose", "alice approve", "alice apply",
                                 "bob refused", "carol refused"});
}

TEST_CASE("patches: entries, pending changes and approvals survive a restart", "[patches]") {
  test::TempDir dir;
  const Config cfg = web_config();
  int64_t pending_id = 0;
  {
    auto store = std::move(*Store::open(dir.file("h.db")));
    auto& patches = store->patches();
    const int64_t a = patches.propose("add", sample(), "alice", 1000)->change.id;
    REQUIRE(patches.approve(a, "alice", 1, announce(cfg, 1001), 1001)->applied);
    pending_id = patches.propose("add", sample("LU-17001"), "alice", 1002)->change.id;
    REQUIRE(patches.approve(pending_id, "bob", 2, announce(cfg, 1003), 1003).ok());
  }
  auto store = std::move(*Store::open(dir.file("h.db")));
  CHECK(*store->schema_version() == k_schema_version);
  auto& patches = store->patches();
  CHECK((*patches.supported("2.15.7"))->size() == 1);
  auto pending = patches.pending();
  REQUIRE(pending->size() == 1);
  CHECK(pending->at(0).id == pending_id);
  CHECK(pending->at(0).entry.summary == sample().summary);
  CHECK(pending->at(0).approvals == std::vector<std::string>{"bob"});
  auto done = patches.approve(pending_id, "carol", 2, announce(cfg, 1004), 1004);
  CHECK(done->applied);
  CHECK((*patches.supported("2.15.7"))->size() == 2);
  CHECK(*store->events().count_events() == 2);
}

TEST_CASE("patches: without [web] base_url the announcement has no link", "[patches]") {
  const Event e = supported_patch_event(Config{}, sample(), 1000);
  CHECK(e.url.empty());
  CHECK(e.attributes["branch_list"] == "2.15, 2.16");
  CHECK(patch_page_url(Config{}, "2.15.7") == "/patches/2.15.7");
}

TEST_CASE("patches: releases order by their numbers, newest first", "[patches]") {
  std::vector<std::string> r = {"2.15.9", "2.16.1", "2.15.10", "2.14.0"};
  std::sort(r.begin(), r.end(), release_newer);
  CHECK(r == std::vector<std::string>{"2.16.1", "2.15.10", "2.15.9", "2.14.0"});
}
