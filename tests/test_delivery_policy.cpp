// The delivery policy of a destination, on the real store: its retry
// schedule, a server's Retry-After holding the whole destination, a
// destination that is gone being disabled (and staying so across a restart),
// its rate limit, and rows of a destination no longer configured waiting.
#include <catch2/catch.hpp>

#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "daemon/deliver.hpp"
#include "tests/support/temp_dir.hpp"

using namespace herald;
using herald::test::TempDir;

namespace {

// Answers from a script per destination (the last answer repeats), and
// notes when each send happened.
struct Script {
  std::mutex mutex;
  std::map<std::string, std::deque<DeliveryResult>> answers;
  std::map<std::string, int> sent;  // by idempotency key
  std::vector<std::chrono::steady_clock::time_point> times;
};

struct ScriptSink final : Sink {
  Script* script;
  void deliver_each(const std::vector<OutboxItem>& items, const ResultFn& done) override {
    for (size_t i = 0; i < items.size(); ++i) {
      DeliveryResult r = DeliveryResult::ok("200");
      {
        std::lock_guard lock(script->mutex);
        auto& q = script->answers[items[i].destination];
        if (!q.empty()) {
          r = q.front();
          if (q.size() > 1) q.pop_front();
        }
        ++script->sent[items[i].idempotency_key];
        script->times.push_back(std::chrono::steady_clock::now());
      }
      if (!done(i, r)) return;
    }
  }
  std::string describe() const override { return "script"; }
};

SinkFactory sinks(Script& s) {
  return [&s](const std::string&) -> std::unique_ptr<Sink> {
    auto sink = std::make_unique<ScriptSink>();
    sink->script = &s;
    return sink;
  };
}

void queue(Store& store, const std::string& destination, int n, int64_t now) {
  std::vector<NewDelivery> rows;
  for (int i = 0; i < n; ++i) {
    NewDelivery d;
    d.idempotency_key = "webhook:" + destination + ":" + std::to_string(i);
    d.destination = destination;
    d.payload = "{\"n\":" + std::to_string(i) + "}";
    d.subject = std::to_string(i);
    rows.push_back(std::move(d));
  }
  REQUIRE(store.outbox().commit_routing({}, rows, now));
}

DeliverySettings settings(std::map<std::string, DestinationPolicy> policies) {
  DeliverySettings s;
  s.delivery.batch = 8;
  s.policies = std::move(policies);
  return s;
}

DestinationPolicy scheduled(std::vector<int64_t> steps_ms) {
  DestinationPolicy p;
  p.lanes = 1;
  p.retry_schedule_ms = std::move(steps_ms);
  return p;
}

OutboxRow row(Store& store, const std::string& key) {
  auto rows = store.outbox().outbox_rows("", 1000);
  REQUIRE(rows);
  for (const auto& r : *rows)
    if (r.idempotency_key == key) return r;
  FAIL("no outbox row " << key);
  return {};
}

}  // namespace

TEST_CASE("delivery policy: the retry schedule spaces attempts, then the row is dead",
          "[deliver][policy][threads]") {
  TempDir dir;
  auto store = Store::open(dir.file("h.db"));
  REQUIRE(store);
  FakeClock clock(1'767'225'600);
  queue(**store, "hook", 1, clock.now());
  Script script;
  script.answers["hook"] = {DeliveryResult::retry("HTTP 500")};
  Deliverer d(settings({{"hook", scheduled({5'000, 300'000})}}), **store, clock, sinks(script));

  CHECK(d.drain().retried == 1);
  const int64_t t0 = clock.now();
  OutboxRow r = row(**store, "webhook:hook:0");
  CHECK(r.state == "pending");
  CHECK(r.next_attempt_at >= t0 + 4);  // 5 s +-20%
  CHECK(r.next_attempt_at <= t0 + 6);
  CHECK(d.drain().retried == 0);  // not due yet: nothing is sent
  clock.set(r.next_attempt_at);
  CHECK(d.drain().retried == 1);
  r = row(**store, "webhook:hook:0");
  CHECK(r.next_attempt_at >= clock.now() + 240);  // 5 min +-20%
  CHECK(r.next_attempt_at <= clock.now() + 360);
  clock.set(r.next_attempt_at);
  CHECK(d.drain().dead == 1);  // the third failure: the schedule had two waits
  r = row(**store, "webhook:hook:0");
  CHECK(r.state == "dead");
  CHECK(r.attempts == 3);
  CHECK(r.last_error.find("retry schedule is used up") != std::string::npos);
  CHECK(r.last_error.find("HTTP 500") != std::string::npos);
}

TEST_CASE("delivery policy: a Retry-After longer than the schedule's wait is honoured and holds "
          "the destination",
          "[deliver][policy][threads]") {
  TempDir dir;
  auto store = Store::open(dir.file("h.db"));
  REQUIRE(store);
  FakeClock clock(1'767'225'600);
  queue(**store, "slow", 3, clock.now());
  queue(**store, "other", 3, clock.now());
  Script script;
  script.answers["slow"] = {DeliveryResult::retry("HTTP 429", 120), DeliveryResult::ok("200")};
  Deliverer d(settings({{"slow", scheduled({5'000})}, {"other", scheduled({5'000})}}), **store,
              clock, sinks(script));
  auto c = d.drain();
  CHECK(c.retried == 1);
  CHECK(c.delivered == 3);  // the other destination is not held up
  int slow_sent = 0;
  for (const auto& [key, n] : script.sent) slow_sent += key.rfind("webhook:slow:", 0) == 0 ? n : 0;
  CHECK(slow_sent == 1);  // the destination waits: its other rows are not tried after the 429
  CHECK(row(**store, "webhook:slow:0").next_attempt_at >= clock.now() + 120);
  clock.advance(121);
  c = d.drain();
  CHECK(c.delivered == 3);
}

TEST_CASE("delivery policy: a destination that is gone is disabled, its rows stay pending",
          "[deliver][policy][threads]") {
  TempDir dir;
  auto store = Store::open(dir.file("h.db"));
  REQUIRE(store);
  FakeClock clock(1'767'225'600);
  queue(**store, "gone", 4, clock.now());
  queue(**store, "fine", 2, clock.now());
  Script script;
  script.answers["gone"] = {DeliveryResult::disable("HTTP 410 Gone")};
  std::vector<std::string> told;
  DeliveryHooks hooks;
  hooks.disabled = [&](const std::string& dest, const std::string& why) {
    told.push_back(dest + ": " + why);
  };
  auto policies = std::map<std::string, DestinationPolicy>{{"gone", scheduled({5'000})},
                                                           {"fine", scheduled({5'000})}};
  {
    Deliverer d(settings(policies), **store, clock, sinks(script), hooks);
    auto c = d.drain();
    CHECK(c.delivered == 2);
    CHECK(c.dead == 0);
    REQUIRE(told.size() == 1);
    CHECK(told[0] == "gone: HTTP 410 Gone");
    CHECK(d.disabled().count("gone") == 1);
    CHECK(d.drain().delivered == 0);  // disabled: nothing more is sent
  }
  int gone_sent = 0;
  for (const auto& [key, n] : script.sent) gone_sent += key.rfind("webhook:gone:", 0) == 0 ? n : 0;
  CHECK(gone_sent == 1);
  for (int i = 0; i < 4; ++i) CHECK(row(**store, "webhook:gone:" + std::to_string(i)).state == "pending");
  // A restart reads that it is disabled and sends nothing; enabled, everything goes.
  {
    Deliverer d(settings(policies), **store, clock, sinks(script));
    CHECK(d.drain().delivered == 0);
    CHECK(d.disabled().at("gone") == "HTTP 410 Gone");
  }
  script.answers["gone"] = {DeliveryResult::ok("200")};
  auto enabled = (*store)->destinations().enable("gone");
  REQUIRE(enabled);
  CHECK(*enabled);  // the store had recorded it disabled
  Deliverer d(settings(policies), **store, clock, sinks(script));
  CHECK(d.drain().delivered == 4);
}

TEST_CASE("delivery policy: a running deliverer takes up a destination enabled by another command",
          "[deliver][policy][threads]") {
  TempDir dir;
  auto store = Store::open(dir.file("h.db"));
  REQUIRE(store);
  FakeClock clock(1'767'225'600);
  queue(**store, "gone", 3, clock.now());
  Script script;
  script.answers["gone"] = {DeliveryResult::disable("HTTP 410 Gone")};
  std::mutex mutex;
  std::vector<std::string> enabled;
  int delivered = 0;
  DeliveryHooks hooks;
  hooks.enabled = [&](const std::string& dest) {
    std::lock_guard lock(mutex);
    enabled.push_back(dest);
  };
  hooks.outcome = [&](const OutboxItem&, const DeliveryOutcome& o) {
    std::lock_guard lock(mutex);
    delivered += o.result.status == DeliveryResult::Status::delivered;
  };
  Deliverer d(settings({{"gone", scheduled({5'000})}}), **store, clock, sinks(script), hooks);
  d.start({"gone"});
  auto wait_for = [&](auto done) {
    for (int i = 0; i < 500 && !done(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return done();
  };
  REQUIRE(wait_for([&] { return d.disabled().count("gone") == 1; }));
  {
    std::lock_guard lock(script.mutex);
    script.answers["gone"] = {DeliveryResult::ok("200")};
  }
  // Nothing changed in the store: a refresh sends nothing.
  d.refresh();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  CHECK(d.disabled().count("gone") == 1);
  {
    std::lock_guard lock(mutex);
    CHECK(delivered == 0);
  }
  // `herald destination enable gone` (another connection), then the refresh it wakes.
  {
    auto other = Store::open(dir.file("h.db"));
    REQUIRE(other);
    REQUIRE(*(*other)->destinations().enable("gone"));
  }
  d.refresh();
  CHECK(wait_for([&] {
    std::lock_guard lock(mutex);
    return delivered == 3;
  }));
  d.stop();
  CHECK(d.disabled().empty());
  CHECK(enabled == std::vector<std::string>{"gone"});
}

TEST_CASE("delivery policy: the rate limit spaces sends over all of a destination's lanes",
          "[deliver][policy][threads]") {
  TempDir dir;
  auto store = Store::open(dir.file("h.db"));
  REQUIRE(store);
  SystemClock clock;  // the bucket refills in real time
  queue(**store, "chat", 6, clock.now());
  Script script;
  DestinationPolicy p;
  p.lanes = 2;
  p.rate = 10;  // a message every 100 ms
  p.burst = 1;
  Deliverer d(settings({{"chat", p}}), **store, clock, sinks(script));
  CHECK(d.drain().delivered == 6);
  REQUIRE(script.times.size() == 6);
  // The first goes at once; each further one waits for a token.
  const auto span = script.times.back() - script.times.front();
  CHECK(span >= std::chrono::milliseconds(450));
}

TEST_CASE("delivery policy: rows of a destination no longer configured wait unsent",
          "[deliver][policy][threads]") {
  TempDir dir;
  auto store = Store::open(dir.file("h.db"));
  REQUIRE(store);
  FakeClock clock(1'767'225'600);
  queue(**store, "removed", 2, clock.now());
  queue(**store, "kept", 2, clock.now());
  Script script;
  Deliverer d(settings({{"kept", scheduled({5'000})}}), **store, clock, sinks(script));
  CHECK(d.drain().delivered == 2);
  CHECK(row(**store, "webhook:removed:0").state == "pending");
  CHECK(row(**store, "webhook:removed:1").state == "pending");
}
