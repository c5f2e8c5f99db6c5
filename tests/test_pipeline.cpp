// The pipeline end to end inside one process: a file:// feed, the real
// store, templates and composer, and a sink that injects faults. Time is a
// FakeClock; nothing sleeps.
#include <catch2/catch.hpp>

#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "daemon/pipeline.hpp"
#include "daemon/util.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/paths.hpp"

using namespace herald;
using herald::test::TempDir;

namespace {

// Records what it was given and answers from a script (then "delivered").
// Each destination's lane has its own sink; they share the script.
struct ScriptedSink final : Sink {
  std::mutex* mutex;
  std::deque<DeliveryResult>* script;
  std::vector<OutboxItem>* seen;
  void deliver_each(const std::vector<OutboxItem>& items, const ResultFn& done) override {
    for (size_t i = 0; i < items.size(); ++i) {
      DeliveryResult r = DeliveryResult::ok("250 ok");
      {
        std::lock_guard lock(*mutex);
        seen->push_back(items[i]);
        if (!script->empty()) {
          r = script->front();
          script->pop_front();
        }
      }
      if (!done(i, std::move(r))) return;
    }
  }
  std::string describe() const override { return "scripted"; }
};

// What each LaneSink saw, handed over when its lane ends and destroys it.
struct LaneLog {
  std::mutex mutex;
  std::vector<std::pair<std::set<std::thread::id>, std::vector<std::string>>> sinks;
};

// Records, on the lane's own thread, what it was given; one per lane, so
// nothing is shared between lanes but what the pipeline shares.
struct LaneSink final : Sink {
  LaneLog* log = nullptr;
  std::vector<std::string> keys;
  std::set<std::thread::id> threads;
  ~LaneSink() override {
    std::lock_guard lock(log->mutex);
    log->sinks.emplace_back(threads, keys);
  }
  void deliver_each(const std::vector<OutboxItem>& items, const ResultFn& done) override {
    threads.insert(std::this_thread::get_id());
    for (size_t i = 0; i < items.size(); ++i) {
      keys.push_back(items[i].idempotency_key);
      if (!done(i, DeliveryResult::ok("250 ok"))) return;
    }
  }
  std::string describe() const override { return "lane"; }
};

const char* k_feed = R"(<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <id>tag:example,2025:tags</id><title>tags</title><updated>2025-12-29T19:15:44-05:00</updated>
  <entry><id>t:2.17.0</id><title>2.17.0</title><updated>2025-12-29T19:15:44-05:00</updated>
    <link href="https://example.org/tag/2.17.0"/></entry>
  <entry><id>t:2.17.0-RC4</id><title>2.17.0-RC4</title><updated>2025-12-23T14:43:26-05:00</updated>
    <link href="https://example.org/tag/2.17.0-RC4"/></entry>
  <entry><id>t:v2_15_8</id><title>v2_15_8</title><updated>2025-12-02T13:19:28-05:00</updated>
    <link href="https://example.org/tag/v2_15_8"/></entry>
  <entry><id>t:2.15.8</id><title>2.15.8</title><updated>2025-12-02T13:19:20-05:00</updated>
    <link href="https://example.org/tag/2.15.8"/></entry>
  <entry><id>t:2.17.50</id><title>2.17.50</title><updated>2026-01-02T15:33:27-05:00</updated>
    <link href="https://example.org/tag/2.17.50"/></entry>
  <entry><id>t:docs</id><title>documentation refresh</title><updated>2026-01-03T00:00:00Z</updated></entry>
</feed>
)";

struct Fixture {
  TempDir dir;
  FakeClock clock{1'767'225'600};  // 2026-01-01
  std::mutex mutex;
  std::deque<DeliveryResult> script;
  std::vector<OutboxItem> seen;
  std::unique_ptr<Store> store;
  std::unique_ptr<Pipeline> pipeline;

  // connections is [mail] max_connections; sinks, when given, replaces the scripted sink.
  explicit Fixture(const std::string& extra_config = "", int connections = 1,
                   SinkFactory sinks = nullptr) {
    dir.write("tags.atom", k_feed);
    std::string text = R"(
[herald]
database = "h.db"
[mail]
from = "Lustre announcements <announce@lists.example.org>"
domain = "lists.example.org"
max_connections = )" + std::to_string(connections) +
                       R"(
[delivery]
max_age = "1d"
backoff_initial = "1m"
backoff_max = "1h"
[lustre]
lts_branches = ["2.15"]
[[source]]
name = "tags"
kind = "feed"
url = "tags.atom"
release_model = "lustre"
changelog = [")" + herald::test::fixtures_dir() +
                       R"(/lustre/ChangeLog.b2_15"]
[[destination]]
name = "discuss"
to = ["lustre-discuss@lists.example.org"]
list_id = "Lustre discussion <lustre-discuss.lists.example.org>"
list_post = "<mailto:lustre-discuss@lists.example.org>"
[[destination]]
name = "testers"
to = ["testers@lists.example.org"]
[[route]]
tags = { audience = "release" }
to = ["discuss"]
[[route]]
tags = { audience = "testing" }
to = ["testers"]
)" + extra_config;
    dir.write("h.toml", text);
    auto cfg = load_config(dir.file("h.toml"));
    for (const auto& e : cfg.errors) FAIL(e.to_string());
    store = std::move(*Store::open(cfg.config->database));
    auto templates = Templates::load(cfg.config->bundled_templates, "");
    REQUIRE(templates);
    if (!sinks)
      sinks = [this](const std::string&) -> std::unique_ptr<Sink> {
        auto s = std::make_unique<ScriptedSink>();
        s->mutex = &mutex;
        s->script = &script;
        s->seen = &seen;
        return s;
      };
    pipeline = std::make_unique<Pipeline>(*cfg.config, std::move(*templates), *store, clock,
                                          std::move(sinks));
  }
  RunReport cycle(bool force = true) {
    RunReport r;
    pipeline->poll_sources(force, r);
    pipeline->route_pending(r);
    pipeline->deliver_due(r);
    return r;
  }
};

}  // namespace

TEST_CASE("pipeline: GA releases go to the list, RCs to testers, dev builds nowhere",
          "[pipeline]") {
  Fixture f;
  auto r = f.cycle();
  CHECK(r.poll_failures == 0);
  CHECK(r.new_events == 4);  // 2.17.0, 2.17.0-RC4, 2.15.8 (two tags), 2.17.50
  CHECK(r.skipped_items == 1);  // "documentation refresh" carries no version
  CHECK(r.deliveries_created == 3);
  CHECK(r.delivered == 3);
  REQUIRE(f.seen.size() == 3);
  std::map<std::string, std::string> by_key;
  for (const auto& it : f.seen) {
    std::string unfolded = it.payload;  // headers may be folded with CRLF SP
    for (size_t p; (p = unfolded.find("\r\n ")) != std::string::npos;) unfolded.erase(p, 2);
    by_key[it.idempotency_key] = unfolded;
  }
  REQUIRE(by_key.count("mail:discuss:release:lustre:2.17.0"));
  REQUIRE(by_key.count("mail:discuss:release:lustre:2.15.8"));
  REQUIRE(by_key.count("mail:testers:release:lustre:2.17.0-RC4"));
  const std::string& lts = by_key["mail:discuss:release:lustre:2.15.8"];
  CHECK(lts.find("Subject: Lustre 2.15.8 (LTS) released\r\n") != std::string::npos);
  CHECK(lts.find("List-Id: Lustre discussion <lustre-discuss.lists.example.org>") !=
        std::string::npos);
  CHECK(by_key["mail:testers:release:lustre:2.17.0-RC4"].find(
            "Subject: Lustre 2.17.0-RC4 release candidate available for testing") !=
        std::string::npos);
  for (const auto& it : f.seen) CHECK(it.sender == "announce@lists.example.org");
  // The ChangeLog enriches the announcement (payload parts are base64; the
  // text is checked decoded in the end-to-end tests). The event carries it:
  auto rows = *f.store->outbox().outbox_rows("", 10);
  CHECK(rows.size() == 3);
}

// The lanes of deliver_due run on their own threads (run under ThreadSanitizer
// by scripts/test.sh).
TEST_CASE("pipeline: each destination's deliveries are sent by lanes of its own",
          "[pipeline][threads]") {
  LaneLog log;  // the lanes make their sinks on their own threads, and end them
  Fixture f("", 3, [&log](const std::string&) -> std::unique_ptr<Sink> {
    auto s = std::make_unique<LaneSink>();
    s->log = &log;
    return s;
  });
  auto r = f.cycle();
  CHECK(r.deliveries_created == 3);
  CHECK(r.delivered == 3);
  std::lock_guard lock(log.mutex);
  REQUIRE(log.sinks.size() >= 2);  // discuss and testers
  std::set<std::string> keys;
  for (const auto& [threads, sent] : log.sinks) {
    REQUIRE(threads.size() == 1);  // a lane's connection stays on the lane's thread
    CHECK(*threads.begin() != std::this_thread::get_id());
    std::set<std::string> destinations;  // mail:<destination>:<event key>
    for (const auto& k : sent) destinations.insert(split(k, ':').at(1));
    CHECK(destinations.size() == 1);
    keys.insert(sent.begin(), sent.end());
  }
  CHECK(keys.size() == 3);
  CHECK((*f.store->outbox().outbox_rows("delivered", 10)).size() == 3);
}

TEST_CASE("pipeline: a second poll of the same feed sends nothing", "[pipeline]") {
  Fixture f;
  f.cycle();
  f.seen.clear();
  f.clock.advance(3600);
  auto r = f.cycle();
  CHECK(r.unchanged == 1);
  CHECK(r.new_events == 0);
  CHECK(f.seen.empty());
}

TEST_CASE("pipeline: temporary failures are retried with backoff, then delivered", "[pipeline]") {
  Fixture f;
  f.script = {DeliveryResult::retry("451 4.3.0 try later"), DeliveryResult::ok("250"),
              DeliveryResult::ok("250")};
  auto r = f.cycle();
  CHECK(r.delivered == 2);
  CHECK(r.retried == 1);
  auto next = *f.store->outbox().next_due_time();
  REQUIRE(next);
  CHECK(*next >= f.clock.now() + 48);  // 1m -20%
  CHECK(*next <= f.clock.now() + 72);  // 1m +20%
  f.seen.clear();
  RunReport r2;
  f.pipeline->deliver_due(r2);
  CHECK(f.seen.empty());  // not due yet
  f.clock.set(*next);
  f.pipeline->deliver_due(r2);
  CHECK(r2.delivered == 1);
  REQUIRE(f.seen.size() == 1);
  CHECK(f.seen[0].attempts == 1);
  CHECK((*f.store->outbox().outbox_rows("pending", 10)).empty());
}

TEST_CASE("pipeline: Retry-After is honoured when longer than the backoff", "[pipeline]") {
  Fixture f;
  f.script = {DeliveryResult::retry("421 busy", 900), DeliveryResult::retry("421 busy", 900),
              DeliveryResult::retry("421 busy", 900)};
  f.cycle();
  // The row that was answered waits at least as long as asked; the destination's other rows
  // are not tried after it (the server asked the destination to wait).
  std::map<std::string, int> tried;
  for (const auto& it : f.seen) ++tried[it.destination];
  for (const auto& [dest, n] : tried) {
    INFO(dest);
    CHECK(n == 1);
  }
  auto pending = f.store->outbox().outbox_rows("pending", 10);
  REQUIRE(pending);
  for (const auto& r : *pending) {
    INFO(r.idempotency_key << " attempts " << r.attempts);
    if (r.attempts == 1) CHECK(r.next_attempt_at >= f.clock.now() + 900);
  }
}

TEST_CASE("pipeline: a permanent failure is dead at once with the answer kept", "[pipeline]") {
  Fixture f;
  f.script = {DeliveryResult::fail("550 5.1.1 no such list")};
  auto r = f.cycle();
  CHECK(r.dead == 1);
  auto dead = *f.store->outbox().outbox_rows("dead", 10);
  REQUIRE(dead.size() == 1);
  CHECK(dead[0].last_error == "550 5.1.1 no such list");
  CHECK(dead[0].attempts == 1);
}

TEST_CASE("pipeline: temporary failures past the maximum age go dead", "[pipeline]") {
  Fixture f;
  for (int i = 0; i < 100; ++i) f.script.push_back(DeliveryResult::retry("451 later"));
  f.cycle();
  int rounds = 0;
  while (!(*f.store->outbox().outbox_rows("pending", 10)).empty() && rounds++ < 100) {
    f.clock.set(**f.store->outbox().next_due_time());
    RunReport r;
    f.pipeline->deliver_due(r);
  }
  auto dead = *f.store->outbox().outbox_rows("dead", 10);
  REQUIRE(dead.size() == 3);
  CHECK(dead[0].last_error.find("gave up after") != std::string::npos);
  CHECK(dead[0].last_error.find("451 later") != std::string::npos);
  // 1 day of retries with a 1 h cap: a handful of tries, not hundreds.
  CHECK(dead[0].attempts > 5);
  CHECK(dead[0].attempts < 40);
}

TEST_CASE("pipeline: a malformed feed is an error on the source; the cursor does not move",
          "[pipeline]") {
  Fixture f;
  f.cycle();
  auto before = *f.store->sources().source_state("tags");
  f.dir.write("tags.atom", "<feed xmlns='http://www.w3.org/2005/Atom'><entry><title>broken");
  f.clock.advance(3600);
  auto r = f.cycle();
  CHECK(r.poll_failures == 1);
  auto after = *f.store->sources().source_state("tags");
  CHECK(after.cursor == before.cursor);
  CHECK(after.content_hash == before.content_hash);
  CHECK(after.consecutive_failures == 1);
  CHECK_FALSE(after.last_error.empty());
  CHECK(after.next_poll_at > f.clock.now());
  CHECK(after.next_poll_at <= f.clock.now() + 40);  // first backoff: 30 s +-20%
}

TEST_CASE("pipeline: entries older than max_age at first sight are recorded, not announced",
          "[pipeline]") {
  Fixture f;
  // The fixture's clock is 2026-01-01; a 20-day max_age keeps 2.17.0 (Dec 29) and
  // 2.17.0-RC4 (Dec 23), not 2.15.8 (Dec 2).
  TempDir dir2;
  std::string text = *herald::read_file(f.dir.file("h.toml"));
  text.replace(text.find("release_model"), 0, "max_age = \"20d\"\n");
  f.dir.write("h.toml", text);
  auto cfg = load_config(f.dir.file("h.toml"));
  REQUIRE(cfg.config);
  auto templates = Templates::load(cfg.config->bundled_templates, "");
  Pipeline p(*cfg.config, std::move(*templates), *f.store, f.clock,
             [&f](const std::string&) -> std::unique_ptr<Sink> {
    auto s = std::make_unique<ScriptedSink>();
    s->mutex = &f.mutex;
    s->script = &f.script;
    s->seen = &f.seen;
    return s;
  });
  RunReport r;
  p.poll_sources(true, r);
  p.route_pending(r);
  p.deliver_due(r);
  CHECK(r.new_events == 4);
  REQUIRE(f.seen.size() == 2);
  std::set<std::string> keys;
  for (const auto& it : f.seen) keys.insert(it.idempotency_key);
  CHECK(keys == std::set<std::string>{"mail:discuss:release:lustre:2.17.0",
                                      "mail:testers:release:lustre:2.17.0-RC4"});
}
