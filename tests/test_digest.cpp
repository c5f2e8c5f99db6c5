// Digests with a FakeClock and a real store in a temporary directory: filters, grouping,
// templates, daily and weekly windows, daylight-saving days, the empty-digest rule and a crash
// between collecting and committing. Bug events come from the tracker fixtures through the
// tracker adapter, plus hand-made events where a case needs a shape the fixtures lack.
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <set>

#include "tests/support/base64.hpp"
#include "adapters/sources/tracker/tracker_events.hpp"
#include "daemon/destination.hpp"
#include "daemon/digest.hpp"
#include "daemon/pipeline.hpp"
#include "daemon/util.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/paths.hpp"

using namespace herald;
using herald::test::TempDir;

namespace {

using herald::test::base64_decode;

int64_t utc(int64_t y, unsigned mo, unsigned d, int64_t h, int64_t mi, int64_t s = 0) {
  return days_from_civil(y, mo, d) * 86'400 + h * 3600 + mi * 60 + s;
}

// The four events of the Jira search page fixture: LU-18123 created then resolved (ldlm,
// Critical), LU-18140 created then reprioritised and commented (llite,clio, Blocker).
std::vector<Event> fixture_events() {
  auto body = read_file(herald::test::fixtures_dir() + "/tracker/jira_search_page_v2.json");
  REQUIRE(body);
  auto page = tracker::parse_jira_search_page(*body);
  REQUIRE(page);
  auto d = tracker::events_from_jira_page(*page, "lu-jira", "https://jira.whamcloud.com");
  REQUIRE(d.events.size() == 4);
  return d.events;
}

Event bug(const std::string& ref, const std::string& kind, int64_t time,
          std::map<std::string, std::string> tags, const std::string& summary = "",
          const std::string& severity = "medium") {
  Event e;
  e.key = "jira:" + ref + ":" + format_rfc3339(time);
  e.kind = kind;
  e.source = "lu-jira";
  e.time = time;
  e.severity = severity;
  e.title = ref + ": " + (tags.count("title") ? tags["title"] : "problem in " + ref);
  tags.erase("title");
  e.url = "https://jira.example.org/browse/" + ref;
  e.summary = summary;
  e.tags = std::move(tags);
  e.tags.emplace("project", "LU");
  return e;
}

std::vector<StoredEvent> stored(const std::vector<Event>& events) {
  std::vector<StoredEvent> out;
  for (size_t i = 0; i < events.size(); ++i)
    out.push_back({static_cast<int64_t>(i + 1), events[i]});
  return out;
}


// A composed message's headers (unfolded) and decoded text and HTML parts.
struct Mail {
  std::string key, destination, headers, text, html;
  std::vector<std::string> recipients;
};

Mail open_mail(const OutboxItem& it) {
  Mail m;
  m.key = it.idempotency_key;
  m.destination = it.destination;
  m.recipients = it.recipients;
  const std::string& p = it.payload;
  m.headers = p.substr(0, p.find("\r\n\r\n"));
  for (size_t q; (q = m.headers.find("\r\n ")) != std::string::npos;) m.headers.erase(q, 2);
  for (const char* type : {"text/plain", "text/html"}) {
    size_t at = p.find(std::string("Content-Type: ") + type);
    if (at == std::string::npos) continue;
    size_t body = p.find("\r\n\r\n", at);
    REQUIRE(body != std::string::npos);
    body += 4;
    size_t end = p.find("\r\n--", body);
    std::string decoded =
        base64_decode(p.substr(body, end == std::string::npos ? end : end - body));
    for (size_t q; (q = decoded.find("\r\n")) != std::string::npos;) decoded.erase(q, 1);
    (std::string(type) == "text/plain" ? m.text : m.html) = decoded;
  }
  return m;
}

bool has(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

size_t occurrences(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

struct Fixture {
  TempDir dir;
  FakeClock clock;
  std::string config_path;
  std::optional<Config> cfg;
  std::optional<Templates> templates;
  std::unique_ptr<Store> store;
  std::unique_ptr<DigestRunner> runner;

  Fixture(int64_t start, const std::string& digest_toml) : clock(start) {
    const std::string text = R"(
[herald]
database = "h.db"
[mail]
from = "herald <herald@lists.example.org>"
domain = "lists.example.org"
[[source]]
name = "lu-jira"
kind = "jira"
base_url = "https://jira.whamcloud.com"
[[destination]]
name = "developers"
to = ["Lustre developers <lustre-devel@lists.example.org>"]
subject_prefix = "[lustre-devel]"
list_id = "Lustre development <lustre-devel.lists.example.org>"
[[destination]]
name = "leads"
to = ["leads@example.org"]
)" + digest_toml;
    config_path = dir.write("h.toml", text);
    auto loaded = load_config(config_path);
    for (const auto& e : loaded.errors) FAIL(e.to_string());
    cfg = *loaded.config;
    auto t = Templates::load(cfg->bundled_templates, "");
    REQUIRE(t);
    templates = std::move(*t);
    restart();
  }
  // A new process: the store reopened from its file and a new runner.
  void restart() {
    runner.reset();
    store.reset();
    auto s = Store::open(cfg->database);
    REQUIRE(s);
    store = std::move(*s);
    runner = std::make_unique<DigestRunner>(*cfg, *templates, *store, clock);
  }
  void receive(std::vector<Event> events) {
    REQUIRE(store->events().insert_events(events, clock.now()));
  }
  RunReport run() {
    RunReport r;
    runner->run_due(r);
    return r;
  }
  std::vector<Mail> mails() {
    std::vector<Mail> out;
    auto due = store->outbox().due_deliveries(utc(2100, 1, 1, 0, 0), 100'000);
    REQUIRE(due);
    for (const auto& it : *due) out.push_back(open_mail(it));
    return out;
  }
};

const char* k_daily_london = R"(
[[digest]]
name = "lustre-bugs"
schedule = "0 8 * * *"
timezone = "Europe/London"
to = ["developers"]
title = "Lustre bugs"
)";

}  // namespace

TEST_CASE("digest: the filter takes kinds, projects, components, labels and severity", "[digest]") {
  const auto events = fixture_events();
  DigestConfig d;
  auto matching = [&] {
    std::vector<std::string> keys;
    for (const auto& e : events)
      if (digest_matches(d, e)) keys.push_back(e.kind + " " + e.title.substr(0, 8));
    return keys;
  };
  using V = std::vector<std::string>;
  CHECK(matching() == V{"bug.created LU-18123", "bug.resolved LU-18123", "bug.created LU-18140",
                        "bug.updated LU-18140"});
  SECTION("kinds") {
    d.kinds = {"bug.resolved"};
    CHECK(matching() == V{"bug.resolved LU-18123"});
  }
  SECTION("projects") {
    d.projects = {"LU"};
    CHECK(matching().size() == 4);
    d.projects = {"EX"};
    CHECK(matching().empty());
  }
  SECTION("components: any of an issue's components, case-insensitive") {
    d.components = {"clio"};
    CHECK(matching() == V{"bug.created LU-18140", "bug.updated LU-18140"});
    d.components = {"LDLM", "lnet"};
    CHECK(matching() == V{"bug.created LU-18123", "bug.resolved LU-18123"});
  }
  SECTION("labels: an issue without labels never matches a label filter") {
    d.labels = {"ior"};
    CHECK(matching() == V{"bug.created LU-18140", "bug.updated LU-18140"});
  }
  SECTION("minimum severity") {
    d.min_severity = "critical";  // Blocker; LU-18123 is Critical = high
    CHECK(matching() == V{"bug.created LU-18140", "bug.updated LU-18140"});
    d.min_severity = "high";
    CHECK(matching().size() == 4);
  }
  SECTION("all of them at once") {
    d.kinds = {"bug.updated", "bug.resolved"};
    d.components = {"llite"};
    d.labels = {"crash"};
    CHECK(matching() == V{"bug.updated LU-18140"});
  }
}

TEST_CASE("digest: sections by kind, grouped by component then priority, one entry per issue",
          "[digest]") {
  const int64_t t = utc(2026, 1, 5, 9, 0);
  std::vector<Event> events = {
      bug("LU-1", "bug.created", t, {{"component", "ldlm"}, {"priority", "Minor"}}, "", "low"),
      bug("LU-2", "bug.created", t + 1, {{"component", "ldlm"}, {"priority", "Blocker"}}, "",
          "critical"),
      bug("LU-3", "bug.created", t + 2, {{"component", "llite,clio"}, {"priority", "Major"}},
          "Client crash during IOR.\nSecond line."),
      bug("LU-4", "bug.created", t + 3, {{"priority", "Critical"}}, "", "high"),
      // LU-5 changed twice; the later change arrives first.
      bug("LU-5", "bug.updated", t + 600,
          {{"component", "lnet"},
           {"priority", "Critical"},
           {"status", "In Progress"},
           {"changes", "comment"},
           {"title", "router drops peers (renamed)"}},
          "comment by Peter Jones", "high"),
      bug("LU-5", "bug.updated", t + 60,
          {{"component", "lnet"},
           {"priority", "Major"},
           {"status", "Open"},
           {"changes", "priority"}},
          "priority: Minor -> Major"),
      bug("LU-6", "bug.resolved", t + 5, {{"component", "ldlm"}, {"priority", "Major"}},
          "status: Open -> Resolved\nresolution: (none) -> Fixed"),
      // A later creation of the same key is the same issue: one entry in "new".
      bug("LU-1", "bug.created", t + 7, {{"component", "ldlm"}, {"priority", "Minor"}}, "", "low"),
  };
  DigestConfig d;
  d.name = "bugs";
  DigestContent c = build_digest(d, stored(events), t - 3600, t + 3600);
  CHECK(c.title == "bugs digest");
  CHECK(c.events == 8);
  REQUIRE(c.sections.size() == 4);
  const DigestSection& fresh = c.sections[0];
  CHECK(fresh.id == "new");
  CHECK(fresh.count == 4);  // LU-1 (twice), LU-2, LU-3 (in two components), LU-4
  std::vector<std::string> labels;
  for (const auto& g : fresh.groups) labels.push_back(g.label + ":" + std::to_string(g.count));
  CHECK(labels == std::vector<std::string>{"clio:1", "ldlm:2", "llite:1", "(no component):1"});
  const DigestGroup& ldlm = fresh.groups[1];
  REQUIRE(ldlm.subgroups.size() == 2);
  CHECK(ldlm.subgroups[0].label == "Blocker");  // critical before low
  CHECK(ldlm.subgroups[1].label == "Minor");
  REQUIRE(ldlm.subgroups[1].items.size() == 1);
  CHECK(fresh.items[ldlm.subgroups[1].items[0]].events == 2);
  CHECK(fresh.items[fresh.groups[0].subgroups[0].items[0]].excerpt == "Client crash during IOR.");

  const DigestSection& resolved = c.sections[1];
  CHECK(resolved.id == "resolved");
  REQUIRE(resolved.count == 1);
  CHECK(resolved.items[resolved.groups[0].subgroups[0].items[0]].changes ==
        std::vector<std::string>{"status: Open -> Resolved", "resolution: (none) -> Fixed"});

  const DigestSection& changed = c.sections[2];
  CHECK(changed.id == "changed");
  REQUIRE(changed.count == 1);
  REQUIRE(changed.groups.size() == 1);
  CHECK(changed.groups[0].label == "lnet");
  const DigestSubgroup& sub = changed.groups[0].subgroups.at(0);
  CHECK(sub.label == "Critical");  // the latest state, not the first seen
  const DigestItem& lu5 = changed.items.at(sub.items.at(0));
  CHECK(lu5.identity == "jira:LU-5");
  CHECK(lu5.title == "LU-5: router drops peers (renamed)");
  CHECK(lu5.tags.at("status") == "In Progress");
  CHECK(lu5.events == 2);
  CHECK(lu5.changes ==
        std::vector<std::string>{"priority: Minor -> Major", "comment by Peter Jones"});
  CHECK(c.sections[3].count == 0);

  SECTION("priority first, then component") {
    d.group_by = {"priority", "component"};
    DigestContent p = build_digest(d, stored(events), t - 3600, t + 3600);
    std::vector<std::string> order;
    for (const auto& g : p.sections[0].groups) order.push_back(g.label);
    CHECK(order == std::vector<std::string>{"Blocker", "Critical", "Major", "Minor"});
    CHECK(p.sections[0].groups[1].subgroups[0].label == "(no component)");
  }
  SECTION("no grouping") {
    d.group_by = {};
    DigestContent p = build_digest(d, stored(events), t - 3600, t + 3600);
    REQUIRE(p.sections[0].groups.size() == 1);
    CHECK(p.sections[0].groups[0].label.empty());
    REQUIRE(p.sections[0].groups[0].subgroups.size() == 1);
    const auto& order = p.sections[0].groups[0].subgroups[0].items;
    REQUIRE(order.size() == 4);
    CHECK(p.sections[0].items[order[0]].title.rfind("LU-2:", 0) == 0);  // highest severity first
  }
}

TEST_CASE("digest: the templates show counts, groups, changes and links", "[digest]") {
  Fixture f(utc(2026, 1, 5, 10, 0), k_daily_london);
  auto events = fixture_events();
  events.push_back(bug("LU-9", "bug.created", utc(2026, 1, 5, 9, 0),
                       {{"component", "lnet"}, {"title", "<script>alert(1)</script> & more"}}));
  DigestConfig d = f.cfg->digests.at(0);
  DigestContent c = build_digest(d, stored(events), utc(2026, 1, 5, 8, 0), utc(2026, 1, 6, 8, 0));
  auto mail =
      f.templates->render_mail("digest", digest_context(c, *f.cfg->destination("developers")));
  REQUIRE(mail);
  CHECK(mail->subject ==
        "[lustre-devel] Lustre bugs 2026-01-06: 3 new, 1 resolved, 1 with notable changes");
  const std::string& text = mail->text;
  INFO(text);
  CHECK(text.rfind("Lustre bugs\n2026-01-05 08:00 GMT to 2026-01-06 08:00 GMT\n", 0) == 0);
  CHECK(has(text, "3 new, 1 resolved, 1 with notable changes (5 events)."));
  CHECK(has(text, "\nNew (3)\n"));
  CHECK(has(text, "\nResolved (1)\n"));
  CHECK(has(text, "\nNotable changes (1)\n"));
  CHECK(has(text, "\nldlm (1)\n"));
  CHECK(has(text,
            "  [Critical]\n"
            "  * LU-18123: ldlm: lock cancel races with client eviction (Critical, Resolved)\n"
            "    https://jira.whamcloud.com/browse/LU-18123\n"));
  CHECK(has(text, "    - status: In Progress -> Resolved\n"));
  CHECK(has(text, "    - priority: Major -> Blocker\n"));
  CHECK(has(text, "<script>alert(1)</script> & more"));  // text is not HTML-escaped
  // LU-18140 is in two components: listed under both, counted once.
  CHECK(occurrences(text, "https://jira.whamcloud.com/browse/LU-18140") == 4);
  CHECK(has(text, "the \"lustre-bugs\" digest (0 8 * * *, Europe/London)"));

  const std::string& html = mail->html;
  CHECK(has(html, "<h2 id=\"new\">New (3)</h2>"));
  CHECK(has(html, "<a href=\"#resolved\">1 resolved</a>"));
  CHECK(has(html, "<a href=\"https://jira.whamcloud.com/browse/LU-18140\">"));
  CHECK(has(html, "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more"));
  CHECK(!has(html, "<script>"));
}

TEST_CASE("digest: a daily schedule sends one digest per window", "[digest]") {
  Fixture f(utc(2026, 1, 5, 10, 0), k_daily_london);
  CHECK(f.runner->errors().empty());
  CHECK(f.runner->next_due() == f.clock.now());  // not started yet
  auto r = f.run();
  CHECK(r.deliveries_created == 0);
  CHECK(*f.store->digests().digest_window_end("lustre-bugs") == utc(2026, 1, 5, 10, 0));
  const int64_t fire = utc(2026, 1, 6, 8, 0);  // 08:00 GMT
  CHECK(f.runner->next_due() == fire + DigestRunner::k_settle_s);

  f.clock.set(utc(2026, 1, 5, 12, 0));
  f.receive(fixture_events());
  f.clock.set(fire - 1);
  f.receive({bug("LU-100", "bug.created", fire - 1, {{"component", "lov"}})});
  f.clock.set(fire);
  f.receive({bug("LU-101", "bug.created", fire, {{"component", "lov"}})});  // the next window
  CHECK(f.run().deliveries_created == 0);                                   // settling
  f.clock.set(fire + DigestRunner::k_settle_s);
  r = f.run();
  CHECK(r.deliveries_created == 1);
  CHECK(r.render_failures == 0);
  CHECK(*f.store->digests().digest_window_end("lustre-bugs") == fire);
  auto mails = f.mails();
  REQUIRE(mails.size() == 1);
  const Mail& m = mails[0];
  CHECK(m.key == "digest:lustre-bugs:2026-01-06T08:00:00Z:developers");
  CHECK(m.recipients == std::vector<std::string>{"lustre-devel@lists.example.org"});
  CHECK(has(m.headers,
            "Subject: [lustre-devel] Lustre bugs 2026-01-06: 3 new, 1 resolved, 1 "
            "with notable changes\r\n"));
  CHECK(has(m.headers, "List-Id: Lustre development <lustre-devel.lists.example.org>"));
  CHECK(has(m.text, "2026-01-05 10:00 GMT to 2026-01-06 08:00 GMT"));
  CHECK(has(m.text, "LU-100: problem in LU-100"));
  CHECK(!has(m.text, "LU-101"));
  CHECK(has(m.html, "<a href=\"https://jira.whamcloud.com/browse/LU-18123\">"));

  CHECK(f.run().deliveries_created == 0);  // the window is closed
  CHECK(f.runner->next_due() == utc(2026, 1, 7, 8, 0) + DigestRunner::k_settle_s);
  f.clock.set(utc(2026, 1, 7, 8, 0, 30));
  CHECK(f.run().deliveries_created == 1);
  mails = f.mails();
  REQUIRE(mails.size() == 2);
  const Mail& second = mails[1];
  CHECK(second.key == "digest:lustre-bugs:2026-01-07T08:00:00Z:developers");
  CHECK(has(second.text, "LU-101: problem in LU-101"));
  CHECK(!has(second.text, "LU-100:"));
  CHECK(!has(second.text, "LU-18123"));
  CHECK(has(second.headers, "Subject: [lustre-devel] Lustre bugs 2026-01-07: 1 new\r\n"));
}

TEST_CASE("digest: a weekly schedule collects the whole week", "[digest]") {
  Fixture f(utc(2026, 1, 7, 12, 0), R"(
[[digest]]
name = "weekly"
schedule = "0 8 * * mon"
timezone = "America/New_York"
to = ["developers", "leads"]
)");
  f.run();
  const int64_t monday = utc(2026, 1, 12, 13, 0);  // 08:00 EST
  CHECK(f.runner->next_due() == monday + DigestRunner::k_settle_s);
  f.clock.set(utc(2026, 1, 8, 15, 0));
  f.receive({bug("LU-200", "bug.created", f.clock.now(), {{"component", "mdt"}})});
  f.clock.set(utc(2026, 1, 11, 23, 0));
  f.receive({bug("LU-201", "bug.resolved", f.clock.now(), {{"component", "ost"}},
                 "status: Open -> Resolved")});
  f.clock.set(monday - 60);
  CHECK(f.run().deliveries_created == 0);
  f.clock.set(monday + 60);
  auto r = f.run();
  CHECK(r.deliveries_created == 2);  // the audience: both destinations
  auto mails = f.mails();
  REQUIRE(mails.size() == 2);
  std::map<std::string, Mail> by_dest;
  for (auto& m : mails) by_dest[m.destination] = m;
  CHECK(by_dest["developers"].key == "digest:weekly:2026-01-12T13:00:00Z:developers");
  CHECK(by_dest["leads"].key == "digest:weekly:2026-01-12T13:00:00Z:leads");
  CHECK(by_dest["leads"].recipients == std::vector<std::string>{"leads@example.org"});
  CHECK(has(by_dest["leads"].headers, "Subject: weekly digest 2026-01-12: 1 new, 1 resolved\r\n"));
  for (auto& [dest, m] : by_dest) {
    CHECK(has(m.text, "2026-01-07 07:00 EST to 2026-01-12 08:00 EST"));
    CHECK(has(m.text, "LU-200"));
    CHECK(has(m.text, "LU-201"));
  }
  CHECK(f.runner->next_due() == utc(2026, 1, 19, 13, 0) + DigestRunner::k_settle_s);
}

TEST_CASE("digest: daylight-saving days send exactly one digest and lose no event", "[digest]") {
  // The clock steps 10 minutes at a time over three days around a change; one event arrives
  // at every step. Every digest is sent once at the expected instant, and every event that
  // arrived before the last window end is in exactly one digest.
  auto check = [](const char* tz, const char* schedule, int64_t from, int64_t to,
                  const std::vector<std::string>& expected_ends) {
    Fixture f(from, std::string(R"(
[[digest]]
name = "dst"
send_empty = true
to = ["leads"]
kinds = []
timezone = ")") + tz + "\"\nschedule = \"" +
                        schedule + "\"\n");
    int n = 0;
    std::vector<std::pair<std::string, int64_t>> received;
    for (int64_t t = from; t <= to; t += 600) {
      f.clock.set(t);
      f.run();
      Event e;
      e.key = "tick:" + std::to_string(n);
      e.kind = "tick";
      e.title = "tick " + std::to_string(n++) + ".";
      f.receive({e});
      received.push_back({e.title, t});
    }
    std::vector<std::string> ends;
    std::string all_text;
    for (const auto& m : f.mails()) {
      ends.push_back(m.key);
      all_text += m.text;
    }
    std::vector<std::string> keys;
    for (const auto& e : expected_ends) keys.push_back("digest:dst:" + e + ":leads");
    CHECK(ends == keys);
    const int64_t last_end = f.store->digests().digest_window_end("dst")->value();
    for (const auto& [title, at] : received) {
      INFO(title << " received at " << format_rfc3339(at));
      CHECK(occurrences(all_text, "* " + title + "\n") == (at < last_end ? 1u : 0u));
    }
  };
  SECTION("Europe/London, spring forward: 01:30 does not exist, the digest goes at 02:00 BST") {
    check("Europe/London", "30 1 * * *", utc(2026, 3, 27, 12, 0), utc(2026, 3, 30, 12, 0),
          {"2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"});
  }
  SECTION("Europe/London, fall back: 01:30 happens twice, the digest goes once") {
    check("Europe/London", "30 1 * * *", utc(2026, 10, 23, 12, 0), utc(2026, 10, 26, 12, 0),
          {"2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"});
  }
  SECTION("America/New_York, spring forward: 02:30 does not exist, the digest goes at 03:00") {
    check("America/New_York", "30 2 * * *", utc(2026, 3, 6, 12, 0), utc(2026, 3, 9, 12, 0),
          {"2026-03-07T07:30:00Z", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"});
  }
  SECTION("America/New_York, fall back: 01:30 happens twice, the digest goes once") {
    check("America/New_York", "30 1 * * *", utc(2026, 10, 30, 12, 0), utc(2026, 11, 2, 12, 0),
          {"2026-10-31T05:30:00Z", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"});
  }
}

TEST_CASE("digest: an empty window sends nothing unless send_empty, and still closes", "[digest]") {
  const int64_t fire = utc(2026, 1, 6, 8, 0);
  SECTION("no events at all") {
    Fixture f(utc(2026, 1, 5, 10, 0), k_daily_london);
    f.run();
    f.clock.set(fire + 60);
    CHECK(f.run().deliveries_created == 0);
    CHECK(f.mails().empty());
    CHECK(*f.store->digests().digest_window_end("lustre-bugs") == fire);
  }
  SECTION("only events the filter leaves out") {
    Fixture f(utc(2026, 1, 5, 10, 0), std::string(k_daily_london) + "components = [\"lnet\"]\n");
    f.run();
    f.receive(fixture_events());  // ldlm, llite, clio
    f.clock.set(fire + 60);
    CHECK(f.run().deliveries_created == 0);
    CHECK(f.mails().empty());
    CHECK(*f.store->digests().digest_window_end("lustre-bugs") == fire);
    // The next window starts at the fire time: the old events do not come back.
    f.clock.set(fire + 120);
    f.receive({bug("LU-300", "bug.created", f.clock.now(), {{"component", "lnet"}})});
    f.clock.set(utc(2026, 1, 7, 8, 1));
    CHECK(f.run().deliveries_created == 1);
    auto mails = f.mails();
    REQUIRE(mails.size() == 1);
    CHECK(has(mails[0].text, "LU-300"));
    CHECK(!has(mails[0].text, "LU-18123"));
  }
  SECTION("send_empty") {
    Fixture f(utc(2026, 1, 5, 10, 0), std::string(k_daily_london) + "send_empty = true\n");
    f.run();
    f.clock.set(fire + 60);
    CHECK(f.run().deliveries_created == 1);
    auto mails = f.mails();
    REQUIRE(mails.size() == 1);
    CHECK(has(mails[0].headers,
              "Subject: [lustre-devel] Lustre bugs 2026-01-06: no new activity\r\n"));
    CHECK(has(mails[0].text, "\nNo matching events in this window.\n"));
    CHECK(has(mails[0].html, "<p>No matching events in this window.</p>"));
  }
}

TEST_CASE("digest: a crash between collecting and committing neither loses nor repeats",
          "[digest]") {
  Fixture f(utc(2026, 1, 5, 10, 0), k_daily_london);
  f.run();
  const int64_t fire = utc(2026, 1, 6, 8, 0);
  f.clock.set(utc(2026, 1, 5, 12, 0));
  f.receive(fixture_events());
  f.clock.set(fire + 30);

  auto collected = f.runner->collect_due();  // rendered, then the process dies
  REQUIRE(collected.size() == 1);
  REQUIRE(collected[0].deliveries.size() == 1);
  CHECK(collected[0].events == 4);
  const std::string key = collected[0].deliveries[0].idempotency_key;
  CHECK(key == "digest:lustre-bugs:2026-01-06T08:00:00Z:developers");
  CHECK((*f.store->outbox().outbox_rows("", 10)).empty());
  CHECK(*f.store->digests().digest_window_end("lustre-bugs") == utc(2026, 1, 5, 10, 0));

  f.clock.set(fire + 90);
  f.restart();
  CHECK(f.run().deliveries_created == 1);
  auto mails = f.mails();
  REQUIRE(mails.size() == 1);
  CHECK(mails[0].key == key);  // the same window, the same key
  CHECK(has(mails[0].text, "LU-18123"));
  CHECK(has(mails[0].text, "LU-18140"));
  CHECK(*f.store->digests().digest_window_end("lustre-bugs") == fire);

  SECTION("a second run does not send it again") {
    f.restart();
    CHECK(f.run().deliveries_created == 0);
    CHECK((*f.store->outbox().outbox_rows("", 10)).size() == 1);
  }
  SECTION("a stale batch of the same window committed late writes no second row") {
    REQUIRE(f.runner->commit(collected[0]));
    CHECK((*f.store->outbox().outbox_rows("", 10)).size() == 1);
  }
}

TEST_CASE("digest: after downtime the missed windows are merged into one digest", "[digest]") {
  Fixture f(utc(2026, 1, 5, 10, 0), k_daily_london);
  f.run();
  for (unsigned day = 5; day <= 8; ++day) {
    f.clock.set(utc(2026, 1, day, 12, 0));
    f.receive({bug("LU-" + std::to_string(400 + day), "bug.created", f.clock.now(), {})});
  }
  f.clock.set(utc(2026, 1, 9, 9, 0));  // down from the 5th to the 9th
  CHECK(f.run().deliveries_created == 1);
  auto mails = f.mails();
  REQUIRE(mails.size() == 1);
  CHECK(mails[0].key == "digest:lustre-bugs:2026-01-09T08:00:00Z:developers");
  CHECK(has(mails[0].text, "2026-01-05 10:00 GMT to 2026-01-09 08:00 GMT"));
  for (int n : {405, 406, 407, 408}) CHECK(has(mails[0].text, "LU-" + std::to_string(n) + ":"));
  CHECK(*f.store->digests().digest_window_end("lustre-bugs") == utc(2026, 1, 9, 8, 0));
}

TEST_CASE("digest: a section lists at most max_listed items, the most severe first", "[digest]") {
  const int64_t t = utc(2026, 1, 5, 9, 0);
  std::vector<Event> events = {
      bug("LU-1", "bug.created", t, {{"component", "ldlm"}}, "", "low"),
      bug("LU-2", "bug.created", t + 1, {{"component", "ldlm"}}, "", "critical"),
      bug("LU-3", "bug.created", t + 2, {{"component", "lnet"}}, "", "low"),
      bug("LU-4", "bug.created", t + 3, {{"component", "lnet"}}, "", "medium"),
  };
  DigestConfig d;
  d.name = "capped";
  DigestContent c = build_digest(d, stored(events), t - 60, t + 60, 3);
  CHECK(c.sections[0].count == 4);
  CHECK(c.sections[0].unlisted == 1);
  std::set<std::string> listed;
  for (const auto& item : c.sections[0].items) listed.insert(item.title.substr(0, 4));
  CHECK(listed == std::set<std::string>{"LU-2", "LU-4", "LU-3"});  // LU-1: low and oldest
  auto templates = Templates::load(herald::test::source_dir() + "/templates", "");
  REQUIRE(templates);
  DestinationConfig dest;
  dest.name = "d";
  auto mail = templates->render_mail("digest", digest_context(c, dest));
  REQUIRE(mail);
  CHECK(has(mail->text, "New (4)\n"));
  CHECK(has(mail->text, "  ... and 1 more, not listed.\n"));
  CHECK(!has(mail->text, "LU-1:"));
  CHECK(has(mail->html, "<p>... and 1 more, not listed.</p>"));
  CHECK(mail->subject == "capped digest 2026-01-05: 4 new");
}

TEST_CASE("digest: a schedule that does not parse is a configuration error at its line",
          "[digest]") {
  auto r = parse_config(R"([mail]
from = "herald <herald@lists.example.org>"
[[source]]
name = "lu-jira"
kind = "jira"
base_url = "https://jira.whamcloud.com"
[[destination]]
name = "leads"
to = ["leads@example.org"]
[[digest]]
name = "broken"
schedule = "0 25 * * *"
to = ["leads"]
)",
                        "h.toml");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].to_string() ==
        "h.toml:12: [[digest]] 'broken': field 2 (hour): 25 is out of range 0-23");
}

TEST_CASE("digest: a digest whose schedule does not parse is reported, the others run",
          "[digest]") {
  // Configuration rejects such a schedule; the runner still copes with one it is handed.
  Fixture f(utc(2026, 1, 5, 10, 0), k_daily_london);
  Config cfg = *f.cfg;
  DigestConfig broken = cfg.digests.at(0);
  broken.name = "broken";
  broken.schedule = "0 25 * * *";
  cfg.digests.push_back(broken);
  f.runner = std::make_unique<DigestRunner>(cfg, *f.templates, *f.store, f.clock);
  REQUIRE(f.runner->errors().size() == 1);
  CHECK(f.runner->errors()[0].rfind("digest 'broken': ", 0) == 0);
  f.run();
  CHECK(*f.store->digests().digest_window_end("lustre-bugs"));
  CHECK(!*f.store->digests().digest_window_end("broken"));
}

TEST_CASE("digest: rendering 10,000 events", "[.bench]") {
  // build_digest (filter, merge, group), digest_context, both templates and the MIME message.
  Fixture f(utc(2026, 1, 5, 10, 0), k_daily_london);
  const char* priorities[] = {"Blocker", "Critical", "Major", "Minor", "Trivial"};
  const char* severities[] = {"critical", "high", "medium", "low", "info"};
  const char* kinds[] = {"bug.created", "bug.updated", "bug.updated", "bug.resolved"};
  std::vector<StoredEvent> events;
  const int64_t t = utc(2026, 1, 5, 10, 0);
  for (int i = 0; i < 10'000; ++i) {
    const int issue = i % 6'000;  // 4,000 issues have two events
    Event e = bug("LU-" + std::to_string(20'000 + issue), kinds[i % 4], t + i,
                  {{"component", "comp" + std::to_string(issue % 30)},
                   {"priority", priorities[issue % 5]},
                   {"status", "Open"},
                   {"labels", "l" + std::to_string(issue % 7)},
                   {"changes", "status,comment"}},
                  "status: New -> Open\ncomment by Developer " + std::to_string(i % 50),
                  severities[issue % 5]);
    events.push_back({i + 1, std::move(e)});
  }
  const DigestConfig& d = f.cfg->digests.at(0);
  const DestinationConfig& dest = *f.cfg->destination("developers");
  auto measure = [&](size_t max_listed, size_t& size) {
    double best = 1e9;
    for (int run = 0; run < 5; ++run) {
      auto start = std::chrono::steady_clock::now();
      DigestContent c = build_digest(d, events, t, t + 86'400, max_listed);
      const nlohmann::json context = digest_context(c, dest);
      auto delivery =
          render_for(RenderInput{*f.cfg, *f.templates, dest, "digest", context, nullptr,
                                 "digest:bench", t});
      REQUIRE(delivery);
      best = std::min(
          best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                    .count());
      size = delivery->payload.size();
    }
    return best;
  };
  size_t listed_size = 0, full_size = 0;
  const double listed = measure(k_digest_max_listed, listed_size);
  const double full = measure(SIZE_MAX, full_size);
  WARN("digest of 10000 events (6000 issues), best of 5 runs: "
       << listed << " ms with at most " << k_digest_max_listed
       << " items listed per section (message " << listed_size << " bytes); " << full
       << " ms listing every item (message " << full_size << " bytes)");
  CHECK(listed <= 50.0);
}
