// Announcements to a topic's audience: one personal mail per confirmed,
// immediate subscriber of the topic whose branches match, each with their
// own To:, links and RFC 8058 headers; nobody else's links; one mail per
// subscriber even when two topics reach them; and 1,000 subscribers with
// different topics, branches and modes each get exactly what they chose.
#include <catch2/catch.hpp>
#include <algorithm>
#include <map>
#include <regex>
#include <set>
#include <string>

#include "daemon/config.hpp"
#include "daemon/pipeline.hpp"
#include "daemon/render.hpp"
#include "daemon/store.hpp"
#include "daemon/subscriptions/audience.hpp"
#include "daemon/subscriptions/digest.hpp"
#include "tests/support/mail_text.hpp"
#include "tests/support/temp_dir.hpp"

using namespace herald;
using herald::test::TempDir;

namespace {

const char* k_config = R"(
[herald]
database = "h.db"
[mail]
from = "Lustre announcements <announce@example.org>"
[[source]]
name = "api"
kind = "feed"
url = "http://127.0.0.1:9/feed"
[http]
listen = "127.0.0.1:0"
[web]
base_url = "https://announce.example.org"
[[topic]]
name = "releases"
title = "Lustre releases"
kinds = ["release.published"]
tags = ["audience=release"]
[[topic]]
name = "testing"
title = "Release candidates"
kinds = ["release.published"]
tags = ["audience=testing"]
[[topic]]
name = "all-releases"
title = "Every release"
kinds = ["release.published"]
[[topic]]
name = "eol"
title = "End-of-life notices"
kinds = ["eol.upcoming", "eol.reached", "eol.changed"]
[[route]]
kinds = ["release.published"]
to = ["topic:releases", "topic:testing", "topic:all-releases"]
[[route]]
kinds = ["eol.upcoming", "eol.reached", "eol.changed"]
to = ["topic:eol"]
)";

struct Fixture {
  TempDir dir;
  FakeClock clock{1'780'000'000};
  std::unique_ptr<Store> store;
  std::unique_ptr<Pipeline> pipeline;

  explicit Fixture(const std::string& config = k_config) {
    dir.write("h.toml", config);
    auto cfg = load_config(dir.file("h.toml"));
    for (const auto& e : cfg.errors) FAIL(e.to_string());
    store = std::move(*Store::open(cfg.config->database));
    auto templates = Templates::load(cfg.config->bundled_templates, "");
    REQUIRE(templates);
    pipeline = std::make_unique<Pipeline>(*cfg.config, std::move(*templates), *store, clock,
                                          [](const std::string&) { return nullptr; });
  }

  int64_t add(const std::string& address, const std::string& state, std::vector<std::string> topics,
              std::vector<std::string> branches = {}, const std::string& mode = "immediate") {
    Subscriber s;
    s.address = address;
    s.state = state;
    s.topics = std::move(topics);
    s.branches = std::move(branches);
    s.mode = mode;
    s.subscribed_at = 1000;
    auto id = store->subscribers().add(s);
    REQUIRE(id);
    return *id;
  }

  void release(const std::string& version, const std::string& audience) {
    Event e;
    e.key = "release:lustre:" + version;
    e.kind = "release.published";
    e.source = "api";
    e.title = "Lustre " + version + " released";
    e.url = "https://example.org/" + version;
    e.tags = {{"branch", version.substr(0, 4)}, {"audience", audience}};
    REQUIRE(store->events().insert_events({e}, clock.now()));
  }

  RunReport route() {
    RunReport r;
    pipeline->route_pending(r);
    return r;
  }

  // recipient -> the readable message, for every delivery.
  std::map<std::string, std::string> mails() {
    auto rows = store->outbox().outbox_rows("", 5000);
    REQUIRE(rows);
    std::map<std::string, std::string> out;
    for (const auto& r : *rows) {
      auto p = store->outbox().outbox_payload(r.idempotency_key);
      REQUIRE(p);
      REQUIRE(*p);
      CHECK(r.destination == "subscribers");
      out[r.recipient] += test::readable_mail((*p)->payload);
    }
    return out;
  }
};

std::vector<std::string> tokens_in(const std::string& text, const std::string& page) {
  std::vector<std::string> out;
  std::regex re("https://announce\\.example\\.org/" + page + "/([A-Za-z0-9_-]{43})");
  for (std::sregex_iterator it(text.begin(), text.end(), re), end; it != end; ++it)
    out.push_back((*it)[1]);
  return out;
}

}  // namespace

TEST_CASE("fan-out: each subscriber of the topic gets their own mail and links",
          "[subscriptions][fanout]") {
  Fixture f;
  const int64_t ann = f.add("ann@example.org", "confirmed", {"releases"}, {"2.15"});
  const int64_t bob = f.add("bob@example.org", "confirmed", {"releases"});
  f.add("cat@example.org", "confirmed", {"releases"}, {"2.16"});     // another branch
  f.add("dan@example.org", "pending", {"releases"});                 // not confirmed
  f.add("eve@example.org", "confirmed", {"releases"}, {}, "daily");  // digest mode
  f.add("fay@example.org", "unsubscribed", {"releases"});            // left
  f.add("gus@example.org", "confirmed", {"testing"});                // another topic
  f.release("2.15.8", "release");
  auto r = f.route();
  CHECK(r.render_failures == 0);
  auto mails = f.mails();
  REQUIRE(mails.size() == 2);
  REQUIRE(mails.count("ann@example.org"));
  REQUIRE(mails.count("bob@example.org"));
  for (const auto& [address, id] : std::vector<std::pair<std::string, int64_t>>{
           {"ann@example.org", ann}, {"bob@example.org", bob}}) {
    INFO(address);
    const std::string& m = mails[address];
    CHECK(m.find("\r\nTo: " + address + "\r\n") != std::string::npos);
    CHECK(m.find("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n") != std::string::npos);
    std::smatch header;
    REQUIRE(std::regex_search(
        m, header,
        std::regex("List-Unsubscribe: <https://announce\\.example\\.org/unsubscribe/"
                   "([A-Za-z0-9_-]{43})>\r\n")));
    const std::string token = header[1];
    // The header, the text and the HTML carry the same, own token; no other.
    for (const auto& t : tokens_in(m, "unsubscribe")) CHECK(t == token);
    for (const auto& t : tokens_in(m, "preferences")) CHECK(t == token);
    CHECK(tokens_in(m, "preferences").size() == 2);  // text and HTML
    CHECK(m.find("Lustre 2.15.8 released") != std::string::npos);
    CHECK(m.find("you subscribed to Lustre releases") != std::string::npos);
    auto owner = f.store->subscribers().lookup_token(token, "manage", f.clock.now());
    REQUIRE(owner);
    REQUIRE(*owner);
    CHECK((*owner)->subscriber_id == id);
  }
  // Another pass sends nothing again.
  f.route();
  auto rows = f.store->outbox().outbox_rows("", 100);
  REQUIRE(rows);
  CHECK(rows->size() == 2);
}

TEST_CASE("fan-out: a subscriber two topics reach gets one mail", "[subscriptions][fanout]") {
  Fixture f;
  f.add("ann@example.org", "confirmed", {"testing", "all-releases"});
  f.add("bob@example.org", "confirmed", {"releases"});
  f.release("2.16.0-RC1", "testing");
  f.route();
  auto rows = f.store->outbox().outbox_rows("", 100);
  REQUIRE(rows);
  REQUIRE(rows->size() == 1);
  CHECK(rows->front().recipient == "ann@example.org");
}

TEST_CASE("fan-out: a topic that does not carry the event sends nothing",
          "[subscriptions][fanout]") {
  TopicConfig t;
  t.name = "releases";
  t.kinds = {"release.published"};
  t.tags = {"audience=release"};
  Event e;
  e.kind = "release.published";
  e.tags = {{"audience", "testing"}, {"branch", "2.15"}};
  CHECK_FALSE(topic_carries(t, e));
  e.tags["audience"] = "release";
  CHECK(topic_carries(t, e));
  e.kind = "bug.created";
  CHECK_FALSE(topic_carries(t, e));
  Subscriber s;
  s.branches = {"2.16"};
  Event other;
  CHECK(branch_filter_takes(s, other));  // news without a branch is for every branch
  other.tags["branch"] = "2.15";
  CHECK_FALSE(branch_filter_takes(s, other));
}

TEST_CASE("fan-out: 1,000 subscribers each get exactly what they chose",
          "[subscriptions][fanout]") {
  Fixture f;
  const std::vector<std::vector<std::string>> topic_sets = {
      {"releases"}, {"testing"}, {"all-releases"}, {"releases", "testing"}, {}};
  const std::vector<std::vector<std::string>> branch_sets = {
      {}, {"2.15"}, {"2.16"}, {"2.15", "2.16"}};
  const std::vector<std::string> modes = {"immediate", "immediate", "daily", "weekly"};
  const std::vector<std::string> states = {"confirmed", "confirmed", "confirmed", "pending",
                                           "unsubscribed"};
  struct Want {
    std::vector<std::string> topics, branches;
    std::string mode, state;
  };
  std::map<std::string, Want> people;
  for (int i = 0; i < 1000; ++i) {
    Want w{topic_sets[i % topic_sets.size()], branch_sets[(i / 5) % branch_sets.size()],
           modes[(i / 20) % modes.size()], states[(i / 80) % states.size()]};
    const std::string address = "member" + std::to_string(i) + "@example.org";
    f.add(address, w.state, w.topics, w.branches, w.mode);
    people[address] = w;
  }
  RunReport start;
  f.pipeline->run_digests(start);  // digest periods start counting here
  f.release("2.15.8", "release");
  f.release("2.16.0-RC1", "testing");
  auto r = f.route();
  CHECK(r.render_failures == 0);
  auto mails = f.mails();
  // Expected by the rules, independently of the code: a confirmed, immediate
  // subscriber gets 2.15.8 if they chose releases or all-releases and their
  // branches take 2.15, and 2.16.0-RC1 if testing or all-releases and 2.16.
  auto has = [](const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
  };
  size_t expected_mails = 0;
  for (const auto& [address, w] : people) {
    INFO(address);
    const bool active = w.state == "confirmed" && w.mode == "immediate";
    const bool ga = active && (has(w.topics, "releases") || has(w.topics, "all-releases")) &&
                    (w.branches.empty() || has(w.branches, "2.15"));
    const bool rc = active && (has(w.topics, "testing") || has(w.topics, "all-releases")) &&
                    (w.branches.empty() || has(w.branches, "2.16"));
    expected_mails += ga + rc;
    auto it = mails.find(address);
    const std::string got = it == mails.end() ? "" : it->second;
    CHECK((got.find("Lustre 2.15.8 released") != std::string::npos) == ga);
    CHECK((got.find("Lustre 2.16.0-RC1 released") != std::string::npos) == rc);
    if (ga || rc) CHECK(got.find("\r\nTo: " + address + "\r\n") != std::string::npos);
  }
  CHECK(expected_mails > 100);  // the mix reaches many
  auto rows = f.store->outbox().outbox_rows("", 5000);
  REQUIRE(rows);
  CHECK(rows->size() == expected_mails);

  // Past the next Monday, after a restart: each daily and weekly subscriber
  // gets one digest with what the same rules give them, and nobody else does.
  f.clock.set(subscriber_period_start("weekly", f.clock.now()) + 7 * 86'400 + 60);
  f.pipeline.reset();
  {
    auto cfg = load_config(f.dir.file("h.toml"));
    auto templates = Templates::load(cfg.config->bundled_templates, "");
    f.pipeline = std::make_unique<Pipeline>(*cfg.config, std::move(*templates), *f.store, f.clock,
                                            [](const std::string&) { return nullptr; });
  }
  RunReport d;
  f.pipeline->run_digests(d);
  f.pipeline->run_digests(d);
  auto digest_rows = f.store->outbox().outbox_rows("", 5000);
  REQUIRE(digest_rows);
  std::map<std::string, int> digests;
  for (const auto& row : *digest_rows)
    if (row.idempotency_key.rfind("subscription-digest:", 0) == 0) ++digests[row.recipient];
  auto all = f.mails();
  size_t expected_digests = 0;
  for (const auto& [address, w] : people) {
    INFO(address);
    const bool active = w.state == "confirmed" && w.mode != "immediate";
    const bool ga = active && (has(w.topics, "releases") || has(w.topics, "all-releases")) &&
                    (w.branches.empty() || has(w.branches, "2.15"));
    const bool rc = active && (has(w.topics, "testing") || has(w.topics, "all-releases")) &&
                    (w.branches.empty() || has(w.branches, "2.16"));
    CHECK(digests[address] == ((ga || rc) ? 1 : 0));
    expected_digests += (ga || rc);
    if (!(ga || rc)) continue;
    const std::string& got = all[address];
    CHECK(got.find(w.mode + " digest") != std::string::npos);
    CHECK((got.find("Lustre 2.15.8 released") != std::string::npos) == ga);
    CHECK((got.find("Lustre 2.16.0-RC1 released") != std::string::npos) == rc);
  }
  CHECK(expected_digests > 50);
  CHECK(d.deliveries_created == static_cast<int>(expected_digests));
}

TEST_CASE("fan-out: digest subscribers get one mail a period, once, across a restart",
          "[subscriptions][fanout][digest]") {
  Fixture f;
  CHECK(subscriber_period_start("daily", 86'400 * 3 + 5) == 86'400 * 3);
  CHECK(subscriber_period_start("weekly", 1'780'000'000) % (7 * 86'400) == 4 * 86'400);
  // Day 0 (1970-01-01) was a Thursday, so Mondays are the days d with (d + 3) % 7 == 0.
  CHECK((subscriber_period_start("weekly", 1'780'000'000) / 86'400 + 3) % 7 == 0);

  RunReport r;
  f.pipeline->run_digests(r);  // the first run starts counting: nothing from before
  CHECK(r.deliveries_created == 0);
  f.add("day@example.org", "confirmed", {"releases"}, {"2.15"}, "daily");
  f.add("week@example.org", "confirmed", {"releases", "testing"}, {}, "weekly");
  f.add("now@example.org", "confirmed", {"releases"});
  f.add("other@example.org", "confirmed", {"releases"}, {"2.16"}, "daily");
  f.release("2.15.8", "release");
  f.release("2.16.0-RC1", "testing");
  f.route();
  auto count = [&](const std::string& address) {
    auto rows = f.store->outbox().outbox_rows("", 100);
    REQUIRE(rows);
    return std::count_if(rows->begin(), rows->end(),
                         [&](const OutboxRow& row) { return row.recipient == address; });
  };
  CHECK(count("now@example.org") == 1);
  CHECK(count("day@example.org") == 0);

  // Past midnight: the daily digest, with the 2.15 release only.
  const int64_t midnight = subscriber_period_start("daily", f.clock.now()) + 86'400;
  f.clock.set(midnight + 60);
  f.pipeline->run_digests(r);
  f.pipeline->run_digests(r);
  CHECK(count("day@example.org") == 1);
  CHECK(count("other@example.org") == 0);  // nothing on 2.16 GA that day
  CHECK(count("week@example.org") == 0);
  auto mails = f.mails();
  const std::string& day = mails["day@example.org"];
  CHECK(day.find("daily digest") != std::string::npos);
  CHECK(day.find("Lustre 2.15.8 released") != std::string::npos);
  CHECK(day.find("2.16.0-RC1") == std::string::npos);
  CHECK(day.find("List-Unsubscribe-Post: List-Unsubscribe=One-Click") != std::string::npos);

  // A restart (a new pipeline over the same database) sends that period no second time.
  f.pipeline.reset();
  Fixture* fp = &f;
  {
    auto cfg = load_config(fp->dir.file("h.toml"));
    auto templates = Templates::load(cfg.config->bundled_templates, "");
    f.pipeline = std::make_unique<Pipeline>(*cfg.config, std::move(*templates), *f.store, f.clock,
                                            [](const std::string&) { return nullptr; });
  }
  f.pipeline->run_digests(r);
  CHECK(count("day@example.org") == 1);

  // Past the next Monday: the weekly digest, with both releases.
  const int64_t monday = subscriber_period_start("weekly", f.clock.now()) + 7 * 86'400;
  f.clock.set(monday + 60);
  f.pipeline->run_digests(r);
  CHECK(count("week@example.org") == 1);
  CHECK(count("day@example.org") == 1);  // its later days had nothing
  mails = f.mails();
  CHECK(mails["week@example.org"].find("Lustre 2.15.8 released") != std::string::npos);
  CHECK(mails["week@example.org"].find("Lustre 2.16.0-RC1 released") != std::string::npos);
}

TEST_CASE("fan-out: a Lustre EOL notice reaches the subscribers of its branch",
          "[subscriptions][fanout][eol]") {
  Fixture f;
  f.add("b215@example.org", "confirmed", {"eol"}, {"2.15"});
  f.add("b216@example.org", "confirmed", {"eol"}, {"2.16"});
  f.add("all@example.org", "confirmed", {"eol", "releases"});
  f.add("rel@example.org", "confirmed", {"releases"});
  Event e;
  e.key = "eol:lustre:2.15:T-30:2027-06-30";
  e.kind = "eol.upcoming";
  e.source = "lustre-eol";
  e.title = "Lustre 2.15 reaches its end of life in 30 days";
  e.tags = {{"project", "lustre"}, {"branch", "2.15"}};
  REQUIRE(f.store->events().insert_events({e}, f.clock.now()));
  auto r = f.route();
  CHECK(r.render_failures == 0);
  auto mails = f.mails();
  CHECK(mails.size() == 2);
  CHECK(mails.count("b215@example.org"));
  CHECK(mails.count("all@example.org"));
  for (const auto& [address, m] : mails) {
    INFO(address);
    CHECK(m.find("Lustre 2.15 reaches its end of life in 30 days") != std::string::npos);
    CHECK(m.find("you subscribed to End-of-life notices") != std::string::npos);
    CHECK(m.find("List-Unsubscribe-Post: List-Unsubscribe=One-Click") != std::string::npos);
  }
}

TEST_CASE("fan-out: a [[digest]] naming topics sends each subscriber their own digest, once",
          "[subscriptions][fanout][digest]") {
  Fixture f(std::string(k_config) + R"(
[[topic]]
name = "bugs"
title = "Bug digest"
kinds = ["bug.created", "bug.updated", "bug.resolved"]
[[topic]]
name = "lnet"
title = "LNet bugs"
kinds = ["bug.created", "bug.updated", "bug.resolved"]
tags = ["component=lnet"]
[[digest]]
name = "developers"
schedule = "@daily"
to = ["topic:bugs", "topic:lnet"]
)");
  RunReport r;
  f.pipeline->run_digests(r);  // starts the window
  CHECK(r.deliveries_created == 0);
  f.add("ann@example.org", "confirmed", {"bugs"});
  f.add("bob@example.org", "confirmed", {"bugs"}, {"2.15"}, "daily");  // any mode
  f.add("cat@example.org", "confirmed", {"lnet"});
  f.add("dan@example.org", "confirmed", {"bugs", "lnet"}, {}, "weekly");
  f.add("eve@example.org", "pending", {"bugs"});
  f.add("fay@example.org", "confirmed", {"releases"});
  f.add("gus@example.org", "confirmed", {"lnet"}, {"2.16"});  // no LNet bug on 2.16 itself
  auto bug = [&](const std::string& ticket, const std::string& component,
                 const std::string& branch) {
    Event e;
    e.key = "jira:" + ticket + ":2026-05-28T10:00:00.000Z";
    e.kind = "bug.created";
    e.source = "api";
    e.title = ticket + ": a " + component + " bug";
    e.url = "https://jira.whamcloud.com/browse/" + ticket;
    e.tags = {{"component", component}, {"priority", "Major"}};
    if (!branch.empty()) e.tags["branch"] = branch;
    REQUIRE(f.store->events().insert_events({e}, f.clock.now()));
  };
  bug("LU-18001", "lnet", "2.15");
  bug("LU-18002", "ldiskfs", "2.16");
  bug("LU-18003", "lnet", "");
  f.route();
  auto rows = f.store->outbox().outbox_rows("", 100);
  REQUIRE(rows);
  CHECK(rows->empty());  // no route: nothing before the digest

  f.clock.set(subscriber_period_start("daily", f.clock.now()) + 86'400 + 60);
  r = {};
  f.pipeline->run_digests(r);
  CHECK(r.render_failures == 0);
  f.pipeline->run_digests(r);  // once
  auto mails = f.mails();
  std::set<std::string> got;
  for (const auto& [address, m] : mails) got.insert(address);
  CHECK(got == std::set<std::string>{"ann@example.org", "bob@example.org", "cat@example.org",
                                     "dan@example.org", "gus@example.org"});
  const std::map<std::string, std::set<std::string>> expected = {
      {"ann@example.org", {"LU-18001", "LU-18002", "LU-18003"}},
      {"bob@example.org", {"LU-18001", "LU-18003"}},  // 2.15 and no branch
      {"cat@example.org", {"LU-18001", "LU-18003"}},  // LNet only
      {"dan@example.org", {"LU-18001", "LU-18002", "LU-18003"}},
      {"gus@example.org", {"LU-18003"}}};  // a bug naming no branch is news for every branch
  for (const auto& [address, tickets] : expected) {
    INFO(address);
    const std::string& m = mails[address];
    CHECK(m.find("\r\nTo: " + address + "\r\n") != std::string::npos);
    CHECK(m.find("List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n") != std::string::npos);
    for (const char* t : {"LU-18001", "LU-18002", "LU-18003"})
      CHECK((m.find(std::string(t) + ": a ") != std::string::npos) == tickets.count(t) > 0);
    const auto own = tokens_in(m, "unsubscribe");
    REQUIRE_FALSE(own.empty());
    for (const auto& t : own) CHECK(t == own.front());
    for (const auto& [other, om] : mails)
      if (other != address) CHECK(om.find(own.front()) == std::string::npos);
  }
  // Dan chose both topics: one mail, not two.
  rows = f.store->outbox().outbox_rows("", 100);
  REQUIRE(rows);
  CHECK(std::count_if(rows->begin(), rows->end(), [](const OutboxRow& row) {
          return row.recipient == "dan@example.org";
        }) == 1);
}
