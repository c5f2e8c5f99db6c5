// The end-of-life source through the real store, as the pipeline drives it:
// each poll's outcome is committed with its cursor, and what a run would
// announce is what the store holds unrouted afterwards. Time comes from a
// FakeClock stepped across months; the API is served by a real local HTTP
// server (herald's own) with ETag and 304.
#include <catch2/catch.hpp>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "adapters/sources/eol/eol_source.hpp"
#include "adapters/sources/source.hpp"
#include "daemon/config.hpp"
#include "daemon/http_server.hpp"
#include "daemon/release_context.hpp"
#include "daemon/render.hpp"
#include "daemon/store.hpp"
#include "daemon/util.hpp"
#include "tests/support/config_errors.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/temp_dir.hpp"

using namespace herald;

namespace {

// Unix seconds of a UTC date and time.
int64_t utc(int y, unsigned m, unsigned d, int hh = 0, int mm = 0, int ss = 0) {
  return days_from_civil(y, m, d) * 86'400 + hh * 3600 + mm * 60 + ss;
}

const char* const k_lustre = R"(---
title: Lustre
releases:
  - releaseCycle: "2.15"
    releaseDate: 2022-06-16
    lts: true
    eol: false
    latest: "2.15.8"
  - releaseCycle: "2.12"
    releaseDate: 2018-12-21
    lts: true
    eol: 2027-03-31
    latest: "2.12.9"
---
)";

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

// One eol source over a product file (or URL), its store, and the clock.
class Harness {
 public:
  explicit Harness(int64_t start, std::string product = "lustre") : m_clock(start) {
    m_sc.name = product + "-eol";
    m_sc.kind = "eol";
    m_sc.product = std::move(product);
    m_sc.path = m_dir.file("schedule.md");
    open_store();
    restart();
  }

  SourceConfig& config() { return m_sc; }
  FakeClock& clock() { return m_clock; }
  Store& store() { return *m_store; }
  void write(const std::string& text) const { m_dir.write("schedule.md", text); }

  // A new source instance (the process restarted), reading its state from the store.
  void restart() { m_source = make_source(m_sc, Config{}, m_clock); }
  // The database closed and opened again as well.
  void reopen() {
    m_store.reset();
    open_store();
    restart();
  }

  // One poll committed; answers "kind key" of each event it made newly announced.
  std::vector<std::string> poll() {
    auto state = m_store->sources().source_state(m_sc.name);
    REQUIRE(state.ok());
    auto out = m_source->poll(*state);
    INFO((out.ok() ? std::string() : out.error().message));
    REQUIRE(out.ok());
    last = *out;
    PollCommit commit;
    commit.source = m_sc.name;
    commit.events = out->events;
    commit.announce = out->announce;
    commit.cursor = out->cursor;
    commit.etag = out->etag;
    commit.last_modified = out->last_modified;
    commit.content_hash = out->content_hash;
    commit.now = m_clock.now();
    REQUIRE(m_store->sources().commit_poll(commit).ok());
    auto unrouted = m_store->events().unrouted_events(10'000);
    REQUIRE(unrouted.ok());
    std::vector<std::string> keys;
    std::vector<int64_t> ids;
    for (const auto& se : *unrouted) {
      keys.push_back(se.event.kind + " " + se.event.key);
      announced.push_back(se.event);
      ids.push_back(se.id);
    }
    REQUIRE(m_store->outbox().commit_routing(ids, {}, m_clock.now()).ok());
    return keys;
  }

  // Polls every `step` seconds up to `until`; answers "when: kind key" of what was announced.
  std::vector<std::string> run_until(int64_t until, int64_t step = 6 * 3600) {
    std::vector<std::string> out;
    while (m_clock.now() + step <= until) {
      m_clock.advance(step);
      for (const auto& k : poll()) out.push_back(format_rfc3339(m_clock.now()) + " " + k);
    }
    return out;
  }

  std::vector<Event> announced;
  PollOutcome last;

 private:
  void open_store() {
    auto s = Store::open(m_dir.file("h.db"));
    REQUIRE(s.ok());
    m_store = std::move(*s);
  }

  test::TempDir m_dir;
  FakeClock m_clock;
  SourceConfig m_sc;
  std::unique_ptr<Store> m_store;
  std::unique_ptr<Source> m_source;
};

const Event* find_key(const std::vector<Event>& events, const std::string& key) {
  for (const auto& e : events)
    if (e.key == key) return &e;
  return nullptr;
}

}  // namespace

TEST_CASE("eol source: stepped day by day, each point is announced once, on its day",
          "[eol][eol_source]") {
  Harness h(utc(2026, 8, 1));
  h.write(k_lustre);
  CHECK(h.poll().empty());  // first poll: nothing is due yet

  auto until_restart = h.run_until(utc(2027, 1, 15));
  h.reopen();  // stopped and started again mid-way, with the committed state
  CHECK(h.poll().empty());
  auto rest = h.run_until(utc(2027, 4, 30));
  std::vector<std::string> all = until_restart;
  all.insert(all.end(), rest.begin(), rest.end());
  CHECK(all == std::vector<std::string>{
                   "2026-10-02T00:00:00Z eol.upcoming eol:lustre:2.12:T-180:2027-03-31",
                   "2026-12-31T00:00:00Z eol.upcoming eol:lustre:2.12:T-90:2027-03-31",
                   "2027-03-01T00:00:00Z eol.upcoming eol:lustre:2.12:T-30:2027-03-31",
                   "2027-03-24T00:00:00Z eol.upcoming eol:lustre:2.12:T-7:2027-03-31",
                   "2027-03-31T00:00:00Z eol.reached eol:lustre:2.12:reached:2027-03-31",
               });
  auto count = h.store().events().count_events();
  REQUIRE(count.ok());
  CHECK(*count == 5);

  const Event* t30 = find_key(h.announced, "eol:lustre:2.12:T-30:2027-03-31");
  REQUIRE(t30);
  CHECK(t30->title == "Lustre 2.12 reaches end of life on 2027-03-31, in 30 days");
  CHECK(t30->time == utc(2027, 3, 1));
  CHECK(t30->tags.at("branch") == "2.12");
  CHECK(t30->tags.at("product") == "lustre");
  CHECK(t30->attributes["upgrade_lts_release"] == "2.15.8");
  CHECK(t30->attributes["upgrade_lts_branch"] == "2.15");
  CHECK(t30->attributes["upgrade_branch_release"] == "2.12.9");
  CHECK(t30->summary.find("2.15.8") != std::string::npos);
  const Event* reached = find_key(h.announced, "eol:lustre:2.12:reached:2027-03-31");
  REQUIRE(reached);
  CHECK(reached->title == "Lustre 2.12 has reached end of life (2027-03-31)");
  CHECK(reached->attributes["upgrade_lts_release"] == "2.15.8");
  CHECK_FALSE(reached->attributes.contains("upgrade_branch_release"));  // no longer supported

  SECTION("polling again at the same instant, by a new instance, announces nothing") {
    h.restart();
    CHECK(h.poll().empty());
    CHECK(*h.store().events().count_events() == 5);
  }
}

TEST_CASE("eol source: a changed EOL date is announced and re-arms the points",
          "[eol][eol_source]") {
  Harness h(utc(2026, 8, 1));
  h.write(k_lustre);
  h.poll();
  CHECK(h.run_until(utc(2027, 1, 15)).size() == 2);  // T-180 and T-90 of 2027-03-31

  SECTION("moved later: the new date's points come, the old date's do not") {
    h.write(replaced(k_lustre, "eol: 2027-03-31", "eol: 2027-09-30"));
    CHECK(h.poll() ==
          std::vector<std::string>{"eol.changed eol:lustre:2.12:changed:2027-03-31:2027-09-30"});
    const Event& changed = h.announced.back();
    CHECK(changed.title == "Lustre 2.12: end of life moved from 2027-03-31 to 2027-09-30");
    CHECK(changed.attributes["previous_eol"] == "2027-03-31");
    CHECK(changed.attributes["eol"] == "2027-09-30");
    CHECK(h.run_until(utc(2027, 10, 31)) ==
          std::vector<std::string>{
              "2027-04-03T00:00:00Z eol.upcoming eol:lustre:2.12:T-180:2027-09-30",
              "2027-07-02T00:00:00Z eol.upcoming eol:lustre:2.12:T-90:2027-09-30",
              "2027-08-31T00:00:00Z eol.upcoming eol:lustre:2.12:T-30:2027-09-30",
              "2027-09-23T00:00:00Z eol.upcoming eol:lustre:2.12:T-7:2027-09-30",
              "2027-09-30T00:00:00Z eol.reached eol:lustre:2.12:reached:2027-09-30",
          });
  }
  SECTION("moved earlier: the change says it; the point already due is not sent as well") {
    h.write(replaced(k_lustre, "eol: 2027-03-31", "eol: 2027-02-01"));
    CHECK(h.poll() ==
          std::vector<std::string>{"eol.changed eol:lustre:2.12:changed:2027-03-31:2027-02-01"});
    CHECK(h.announced.back().attributes["days_left"] == 17);
    CHECK(h.run_until(utc(2027, 2, 10)) ==
          std::vector<std::string>{
              "2027-01-25T00:00:00Z eol.upcoming eol:lustre:2.12:T-7:2027-02-01",
              "2027-02-01T00:00:00Z eol.reached eol:lustre:2.12:reached:2027-02-01",
          });
  }
  SECTION("withdrawn (false), then set again") {
    h.write(replaced(k_lustre, "eol: 2027-03-31", "eol: false"));
    CHECK(h.poll() ==
          std::vector<std::string>{"eol.changed eol:lustre:2.12:changed:2027-03-31:false"});
    CHECK(h.run_until(utc(2027, 4, 30)).empty());
    h.write(k_lustre);
    CHECK(h.poll() ==
          std::vector<std::string>{"eol.changed eol:lustre:2.12:changed:false:2027-03-31:2"});
  }
  SECTION("over without a day (true): announced as reached") {
    h.write(replaced(k_lustre, "eol: 2027-03-31", "eol: true"));
    CHECK(h.poll() == std::vector<std::string>{"eol.reached eol:lustre:2.12:reached:true"});
    CHECK(h.announced.back().attributes["previous_eol"] == "2027-03-31");
    CHECK(h.run_until(utc(2027, 4, 30)).empty());
  }
}

TEST_CASE("eol source: a date that goes back and forth is announced at every change, once",
          "[eol][eol_source]") {
  const std::string a = k_lustre;  // 2.12 ends 2027-03-31
  const std::string b = replaced(k_lustre, "eol: 2027-03-31", "eol: 2027-09-30");
  Harness h(utc(2026, 8, 1));
  h.write(a);
  h.poll();
  CHECK(h.run_until(utc(2026, 11, 1)) ==
        std::vector<std::string>{
            "2026-10-02T00:00:00Z eol.upcoming eol:lustre:2.12:T-180:2027-03-31"});

  h.write(b);
  CHECK(h.poll() ==
        std::vector<std::string>{"eol.changed eol:lustre:2.12:changed:2027-03-31:2027-09-30"});
  CHECK(h.run_until(utc(2026, 11, 15)).empty());

  h.write(a);
  CHECK(h.poll() ==
        std::vector<std::string>{"eol.changed eol:lustre:2.12:changed:2027-09-30:2027-03-31:2"});
  CHECK(h.announced.back().title == "Lustre 2.12: end of life moved from 2027-09-30 to 2027-03-31");
  // Back on 2027-03-31, its points count down again.
  CHECK(h.run_until(utc(2027, 1, 5)) ==
        std::vector<std::string>{
            "2026-12-31T00:00:00Z eol.upcoming eol:lustre:2.12:T-90:2027-03-31"});

  h.reopen();  // the count of changes is in the committed cursor
  h.write(b);
  CHECK(h.poll() ==
        std::vector<std::string>{"eol.changed eol:lustre:2.12:changed:2027-03-31:2027-09-30:3"});
  const Event& third = h.announced.back();
  CHECK(third.title == "Lustre 2.12: end of life moved from 2027-03-31 to 2027-09-30");
  CHECK(third.attributes["previous_eol"] == "2027-03-31");
  CHECK(third.attributes["eol"] == "2027-09-30");

  SECTION("polled again, by a restarted source too, the change is not sent twice") {
    h.clock().advance(3600);
    CHECK(h.poll().empty());
    h.reopen();
    h.clock().advance(3600);
    CHECK(h.poll().empty());
  }
  SECTION("the points of the new date re-arm, and 2027-03-31's do not come") {
    CHECK(h.run_until(utc(2027, 10, 31)) ==
          std::vector<std::string>{
              "2027-04-03T00:00:00Z eol.upcoming eol:lustre:2.12:T-180:2027-09-30",
              "2027-07-02T00:00:00Z eol.upcoming eol:lustre:2.12:T-90:2027-09-30",
              "2027-08-31T00:00:00Z eol.upcoming eol:lustre:2.12:T-30:2027-09-30",
              "2027-09-23T00:00:00Z eol.upcoming eol:lustre:2.12:T-7:2027-09-30",
              "2027-09-30T00:00:00Z eol.reached eol:lustre:2.12:reached:2027-09-30",
          });
  }
  SECTION("over without a day (true) a second time: reached is announced again") {
    const std::string over = replaced(k_lustre, "eol: 2027-03-31", "eol: true");
    h.write(over);
    CHECK(h.poll() == std::vector<std::string>{"eol.reached eol:lustre:2.12:reached:true:4"});
    h.write(b);
    CHECK(h.poll() ==
          std::vector<std::string>{"eol.changed eol:lustre:2.12:changed:true:2027-09-30:5"});
    h.write(over);
    CHECK(h.poll() == std::vector<std::string>{"eol.reached eol:lustre:2.12:reached:true:6"});
    h.clock().advance(3600);
    CHECK(h.poll().empty());
  }
}

TEST_CASE("eol source: a branch first seen as over without a day (true) sends nothing",
          "[eol][eol_source][lustre]") {
  // config/lustre-eol.md as shipped: 2.10 and 2.7 are `true`, every other branch `false`.
  auto text = read_file(test::source_dir() + "/config/lustre-eol.md");
  REQUIRE(text);
  Harness h(utc(2027, 1, 15));
  h.write(*text);
  CHECK(h.poll().empty());  // no eol.reached flood on first sight
  std::vector<std::string> recorded;
  for (size_t i = 0; i < h.last.events.size(); ++i) {
    CHECK_FALSE(h.last.announce[i]);
    recorded.push_back(h.last.events[i].key);
  }
  CHECK(recorded ==
        std::vector<std::string>{"eol:lustre:2.10:reached:true", "eol:lustre:2.7:reached:true"});
  const Event& e = h.last.events[0];
  CHECK(e.kind == "eol.reached");
  CHECK(e.title == "Lustre 2.10 has reached end of life");  // no date: none was published
  CHECK(e.attributes["eol"] == "true");
  CHECK(e.attributes["eol_display"] == "reached (the day was not published)");
  CHECK_FALSE(e.attributes.contains("days_left"));
  CHECK_FALSE(e.attributes.contains("upgrade_branch_release"));  // not supported

  h.run_until(utc(2027, 2, 15), 86'400);
  CHECK(h.announced.empty());
  h.reopen();
  CHECK(h.poll().empty());
  CHECK(*h.store().events().count_events() == 2);
}

TEST_CASE("eol source: a cycle seen for the first time sends only its nearest due point",
          "[eol][eol_source]") {
  SECTION("a cycle added to a running source") {
    Harness h(utc(2026, 8, 1));
    h.write(k_lustre);
    h.poll();
    CHECK(h.run_until(utc(2026, 11, 15)).size() == 1);  // T-180 of 2.12
    h.write(replaced(k_lustre, "releases:\n",
                     "releases:\n  - releaseCycle: \"2.16\"\n    eol: 2027-01-20\n"));
    // T-180 (2026-07-24) and T-90 (2026-10-22) are both due: only T-90 is sent.
    CHECK(h.poll() == std::vector<std::string>{"eol.upcoming eol:lustre:2.16:T-90:2027-01-20"});
    CHECK(h.announced.back().title == "Lustre 2.16 reaches end of life on 2027-01-20, in 66 days");
    CHECK(h.run_until(utc(2027, 1, 1)) ==
          std::vector<std::string>{
              "2026-12-21T00:00:00Z eol.upcoming eol:lustre:2.16:T-30:2027-01-20",
              "2026-12-31T00:00:00Z eol.upcoming eol:lustre:2.12:T-90:2027-03-31",
          });
  }
  SECTION("the first poll of a new source over a whole distribution's history") {
    Harness h(utc(2026, 6, 1), "debian");
    auto text = read_file(test::fixtures_dir() + "/eol/debian.md");
    REQUIRE(text);
    h.write(*text);
    // Debian 12 (EOL 2026-07-11) is between T-90 and T-30; the cycles that ended years
    // ago are recorded, not announced.
    CHECK(h.poll() == std::vector<std::string>{"eol.upcoming eol:debian:12:T-90:2026-07-11"});
    CHECK(h.announced.back().title == "Debian 12 reaches end of life on 2026-07-11, in 40 days");
    CHECK(*h.store().events().count_events() > 10);
    CHECK(h.run_until(utc(2026, 7, 12), 86'400) ==
          std::vector<std::string>{
              "2026-06-11T00:00:00Z eol.upcoming eol:debian:12:T-30:2026-07-11",
              "2026-07-04T00:00:00Z eol.upcoming eol:debian:12:T-7:2026-07-11",
              "2026-07-11T00:00:00Z eol.reached eol:debian:12:reached:2026-07-11",
          });
  }
  SECTION("first seen just after the day: the day is sent; weeks after: nothing") {
    Harness soon(utc(2027, 4, 3));
    soon.write(k_lustre);
    CHECK(soon.poll() ==
          std::vector<std::string>{"eol.reached eol:lustre:2.12:reached:2027-03-31"});
    Harness late(utc(2027, 5, 1));
    late.write(k_lustre);
    CHECK(late.poll().empty());
    CHECK(*late.store().events().count_events() == 5);  // all recorded as seen
  }
}

TEST_CASE("eol source: a notice is due at local midnight of the configured time zone",
          "[eol][eol_source][timezone]") {
  const std::string schedule = replaced(k_lustre, "eol: 2027-03-31", "eol: 2027-01-15");
  SECTION("Pacific/Auckland (UTC+13 in January): the day before, at 11:00 UTC") {
    Harness h(utc(2026, 12, 1));
    h.config().timezone = "Pacific/Auckland";
    h.config().points = {7};
    h.restart();
    h.write(schedule);
    h.poll();
    h.clock().set(utc(2027, 1, 7, 10, 59, 59));
    CHECK(h.poll().empty());
    h.clock().set(utc(2027, 1, 7, 11, 0, 0));
    CHECK(h.poll() == std::vector<std::string>{"eol.upcoming eol:lustre:2.12:T-7:2027-01-15"});
    CHECK(h.announced.back().time == utc(2027, 1, 7, 11));
    CHECK(h.announced.back().title == "Lustre 2.12 reaches end of life on 2027-01-15, in 7 days");
    h.clock().set(utc(2027, 1, 14, 10, 59, 59));
    CHECK(h.poll().empty());
    h.clock().set(utc(2027, 1, 14, 11, 0, 0));
    CHECK(h.poll() == std::vector<std::string>{"eol.reached eol:lustre:2.12:reached:2027-01-15"});
  }
  SECTION("UTC: the same instant is 13 hours early") {
    Harness h(utc(2026, 12, 1));
    h.config().points = {7};
    h.restart();
    h.write(schedule);
    h.poll();
    h.clock().set(utc(2027, 1, 7, 11, 0, 0));
    CHECK(h.poll().empty());
    h.clock().set(utc(2027, 1, 7, 23, 59, 59));
    CHECK(h.poll().empty());
    h.clock().set(utc(2027, 1, 8));
    CHECK(h.poll() == std::vector<std::string>{"eol.upcoming eol:lustre:2.12:T-7:2027-01-15"});
  }
  SECTION("America/Los_Angeles (UTC-8 in winter): 8 hours after UTC midnight") {
    Harness h(utc(2026, 12, 1));
    h.config().timezone = "America/Los_Angeles";
    h.config().points = {7};
    h.restart();
    h.write(schedule);
    h.poll();
    h.clock().set(utc(2027, 1, 8, 7, 59, 59));
    CHECK(h.poll().empty());
    h.clock().set(utc(2027, 1, 8, 8, 0, 0));
    CHECK(h.poll() == std::vector<std::string>{"eol.upcoming eol:lustre:2.12:T-7:2027-01-15"});
  }
}

namespace {

// The API answer behind an ETag; counts requests and the 304s it gave.
struct ApiServer {
  explicit ApiServer(std::string body) : m_body(std::move(body)), m_server(options()) {
    m_server.route("GET", "/api/v1/products/rhel/", [this](const InboundRequest& req, Respond r) {
      const std::string etag = "\"" + sha256_hex(m_body).substr(0, 16) + "\"";
      std::lock_guard lock(m_mutex);
      const std::string* inm = req.header("if-none-match");
      seen_etags.push_back(inm ? *inm : "");
      InboundResponse resp;
      resp.headers.emplace_back("ETag", etag);
      if (inm && *inm == etag) {
        resp.status = 304;
        ++not_modified;
      } else {
        resp.content_type = "application/json";
        resp.body = m_body;
      }
      r(std::move(resp));
    });
    REQUIRE(m_server.start().ok());
  }
  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(m_server.port()) + "/api/v1/products/rhel/";
  }
  static HttpServerOptions options() {
    HttpServerOptions o;
    o.listen = "127.0.0.1:0";
    return o;
  }

  std::mutex m_mutex;
  std::vector<std::string> seen_etags;
  int not_modified = 0;

 private:
  std::string m_body;
  HttpServer m_server;
};

}  // namespace

TEST_CASE("eol source: the endoflife.date API over HTTP, 304 on the next poll",
          "[eol][eol_source][api]") {
  auto body = read_file(test::fixtures_dir() + "/eol/api_v1_rhel.json");
  REQUIRE(body);
  ApiServer server(*body);
  // RHEL 8 ends 2029-05-31; its T-180 (2028-12-02) is due.
  Harness h(utc(2028, 12, 10), "rhel");
  h.config().path.clear();
  h.config().url = server.url();
  h.restart();

  CHECK(h.poll() == std::vector<std::string>{"eol.upcoming eol:rhel:8:T-180:2029-05-31"});
  CHECK(h.announced.back().title ==
        "Red Hat Enterprise Linux 8 reaches end of life on 2029-05-31, in 172 days");
  CHECK_FALSE(h.last.unchanged);
  const auto first_events = h.last.events.size();
  CHECK(first_events > 1);

  h.clock().advance(3600);
  CHECK(h.poll().empty());
  CHECK(h.last.unchanged);
  CHECK(h.last.events.size() == first_events);  // notices still worked out, from the cursor

  SECTION("a restarted source sends its validator too, and its notices go on") {
    h.reopen();
    h.clock().set(utc(2029, 3, 2));  // T-90 of RHEL 8
    CHECK(h.poll() == std::vector<std::string>{"eol.upcoming eol:rhel:8:T-90:2029-05-31"});
    CHECK(h.last.unchanged);
  }
  std::lock_guard lock(server.m_mutex);
  REQUIRE(server.seen_etags.size() >= 2);
  CHECK(server.seen_etags[0].empty());
  CHECK_FALSE(server.seen_etags[1].empty());
  CHECK(server.not_modified == static_cast<int>(server.seen_etags.size()) - 1);
}

TEST_CASE("eol source: a schedule that does not parse fails the poll and keeps the state",
          "[eol][eol_source]") {
  Harness h(utc(2026, 8, 1));
  h.write("releases:\n  - releaseCycle: \"2.12\"\n    eol: someday\n");
  auto state = h.store().sources().source_state(h.config().name);
  REQUIRE(state.ok());
  auto src = make_source(h.config(), Config{}, h.clock());
  auto out = src->poll(*state);
  REQUIRE_FALSE(out.ok());
  CHECK(out.error().kind == ErrorKind::bad_input);
  CHECK(out.error().message.find("schedule.md: line 3: 'eol' must be a date") != std::string::npos);
}

TEST_CASE("eol source: its configuration keys and their errors", "[eol][eol_source][config]") {
  test::TempDir dir;
  SECTION("a path is read relative to the configuration file") {
    auto r = parse_config(R"([[source]]
name = "lustre-eol"
kind = "eol"
path = "lustre-eol.md"
product = "lustre"
points = [90, 30]
timezone = "Europe/Paris"
)",
                          dir.file("herald.toml"));
    INFO(test::config_errors(r));
    REQUIRE(r.config);
    const auto& sc = r.config->sources.at(0);
    CHECK(sc.file == dir.file("lustre-eol.md"));
    CHECK(sc.points == std::vector<int64_t>{90, 30});
    CHECK(sc.timezone == "Europe/Paris");
  }
  SECTION("the defaults") {
    auto r = parse_config(
        "[[source]]\nname = \"rhel\"\nkind = \"eol\"\nurl = "
        "\"https://endoflife.date/api/v1/products/rhel/\"\nproduct = \"rhel\"\n",
        dir.file("herald.toml"));
    INFO(test::config_errors(r));
    REQUIRE(r.config);
    CHECK(r.config->sources.at(0).points == std::vector<int64_t>{180, 90, 30, 7});
    CHECK(r.config->sources.at(0).timezone == "UTC");
  }
  SECTION("mistakes, each at its line") {
    auto r = parse_config(R"([[source]]
name = "a"
kind = "eol"
path = "a.md"
url = "https://endoflife.date/api/v1/products/a/"
timezone = "Mars/Olympus"
points = [30, 0, 30]

[[source]]
name = "b"
kind = "eol"
product = "has space"

[[source]]
name = "c"
kind = "eol"
path = "lustre-eol.md"
product = "lustre"
changelog = ["ChangeLog"]
)",
                          dir.file("herald.toml"));
    const std::string e = test::config_errors(r);
    INFO(e);
    CHECK_FALSE(r.config);
    const std::string f = dir.file("herald.toml");
    CHECK(e.find(f + ":5: [[source]] 'a' (eol) needs one of 'path' (a product file) or 'url'") !=
          std::string::npos);
    CHECK(e.find(f + ":1: [[source]] 'a' (eol) needs a 'product'") != std::string::npos);
    CHECK(e.find(f + ":6: [[source]] 'a' (eol) unknown time zone 'Mars/Olympus'") !=
          std::string::npos);
    CHECK(e.find(f + ":7: 'points' must be between 1 and 3650") != std::string::npos);
    CHECK(e.find(f + ":7: 'points' lists 30 twice") != std::string::npos);
    CHECK(e.find(f + ":9: [[source]] 'b' (eol) needs one of 'path'") != std::string::npos);
    CHECK(e.find(f + ":12: [[source]] 'b' (eol) 'product' must not hold ':' or white space") !=
          std::string::npos);
    CHECK(e.find(f + ":19: [[source]] 'c' (eol) 'changelog' cross-references a distribution") !=
          std::string::npos);
  }
}

TEST_CASE("eol source: every channel renders its notices with the upgrade path",
          "[eol][eol_source][render]") {
  Harness h(utc(2026, 8, 1));
  h.write(k_lustre);
  h.poll();
  h.run_until(utc(2027, 3, 2));  // ... T-30
  h.write(replaced(k_lustre, "eol: 2027-03-31", "eol: 2027-04-30"));
  h.poll();                      // changed
  h.run_until(utc(2027, 5, 1));  // ... reached
  std::map<std::string, const Event*> by_kind;
  for (const auto& e : h.announced) by_kind[e.kind] = &e;
  REQUIRE(by_kind.size() == 3);

  auto t = Templates::load(test::source_dir() + "/templates", "");
  REQUIRE(t);
  DestinationConfig dest;
  dest.subject_prefix = "[lustre-announce]";
  for (const auto& [kind, e] : by_kind) {
    INFO(kind);
    const auto ctx = mail_context(*e, dest);
    auto mail = t->render_mail(kind, ctx);
    REQUIRE(mail);
    CHECK(mail->subject == "[lustre-announce] " + e->title);
    for (const std::string* body : {&mail->text, &mail->html}) {
      CHECK(body->find(e->title) != std::string::npos);
      CHECK(body->find("Lustre 2.15.8, the latest release of 2.15, the newest long-term support "
                       "branch") != std::string::npos);
      CHECK(body->find("Sent by herald") != std::string::npos);
    }
    const bool supported = kind != "eol.reached";
    CHECK((mail->text.find("Until then: Lustre 2.12.9, the latest release of 2.12.") !=
           std::string::npos) == supported);
    if (kind == "eol.changed") {
      CHECK(mail->text.find("End of life:    2027-04-30") != std::string::npos);
      CHECK(mail->text.find("Before:         2027-03-31") != std::string::npos);
    }
    for (const char* channel : {"slack", "discord", "teams", "mattermost", "matrix"}) {
      INFO(channel);
      CHECK(t->origin(std::string(channel) + "/" + kind + ".text").find(kind) != std::string::npos);
      auto text = t->render(channel, kind, "text", ctx);
      REQUIRE(text);
      CHECK(text->find("the latest release of 2.15, the newest long-term support branch") !=
            std::string::npos);
      CHECK(text->find("End of life:") != std::string::npos);
    }
    for (const char* channel : {"slack", "discord", "teams"}) {
      auto title = t->render(channel, kind, "title", ctx);
      REQUIRE(title);
      CHECK(*title == e->title);
    }
    auto html = t->render("matrix", kind, "html", ctx);
    REQUIRE(html);
    CHECK(html->find("<b>" + e->title + "</b>") != std::string::npos);
  }
}

TEST_CASE("eol source: a release announcement reads the schedule an API source stored",
          "[eol][eol_source][api][announce]") {
  auto body = read_file(test::fixtures_dir() + "/eol/api_v1_rhel.json");
  REQUIRE(body);
  ApiServer server(*body);
  Harness h(utc(2029, 4, 1), "rhel");  // RHEL 8 ends 2029-05-31: 60 days on
  h.config().path.clear();
  h.config().url = server.url();
  h.restart();
  Config cfg;
  cfg.sources = {h.config()};

  Event e;
  e.kind = "release.published";
  e.key = "release:lustre:2.15.20";
  e.title = "Lustre 2.15.20";
  e.time = utc(2029, 4, 1);
  e.attributes = {
      {"version", "2.15.20"},         {"branch", "2.15"},
      {"server_distros", {"RHEL 8"}}, {"server_kernels", {"4.18.0-553.82.1.el8 (RHEL8.10)"}},
      {"client_distros", {"RHEL 9"}}, {"client_kernels", {"5.14.0-611.7.1.el9 (RHEL9.7)"}}};
  // Nothing stored yet, and the API is not fetched at render time.
  CHECK_FALSE(release_context(e, cfg, &h.store()).contains("distro_eol"));
  CHECK(server.seen_etags.empty());

  h.poll();
  const nlohmann::json expected = nlohmann::json::parse(R"([
      {"distro": "RHEL 8.10", "role": "servers", "eol": "2029-05-31", "eol_cycle": "RHEL 8",
       "status": "near", "is_past": false}])");
  nlohmann::json ctx = release_context(e, cfg, &h.store());
  CHECK(ctx["distro_eol"] == expected);
  CHECK(ctx["has_distro_eol"] == true);

  // Restarted: the stored schedule serves, with no request to the API.
  h.reopen();
  const size_t requests = [&] {
    std::lock_guard lock(server.m_mutex);
    return server.seen_etags.size();
  }();
  ctx = release_context(e, cfg, &h.store());
  CHECK(ctx["distro_eol"] == expected);
  {
    std::lock_guard lock(server.m_mutex);
    CHECK(server.seen_etags.size() == requests);
  }

  auto t = Templates::load(test::source_dir() + "/templates", "");
  REQUIRE(t);
  nlohmann::json full = mail_context(e, DestinationConfig{});
  full.update(ctx);
  auto mail = t->render_mail("release.published", full);
  REQUIRE(mail);
  CHECK(mail->text.find("Distributions near or past their end of life:\n"
                        "  RHEL 8.10 (servers): end of life on 2029-05-31\n") != std::string::npos);
}
