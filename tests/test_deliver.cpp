// Delivery lanes and leases on the real store: two deliverers on one
// database never send a row twice, a stop gives claimed rows back, leases of
// a process that is gone are released, and one destination's hung sink does
// not hold up another's. Time is a FakeClock where it matters.
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "daemon/deliver.hpp"
#include "tests/support/temp_dir.hpp"

using namespace herald;
using herald::test::TempDir;

namespace {

// Counts what every sink made by it sent, by idempotency key; a destination
// named "hung" blocks until released.
struct Receiver {
  std::mutex mutex;
  std::condition_variable cv;
  std::map<std::string, int> sent;
  std::set<std::string> in_flight;
  int max_in_flight = 0;
  bool release_hung = false;
  bool hung_waiting = false;

  int total() {
    std::lock_guard lock(mutex);
    int n = 0;
    for (const auto& [k, v] : sent) n += v;
    return n;
  }
};

struct CountingSink final : Sink {
  Receiver* rx;
  void deliver_each(const std::vector<OutboxItem>& items, const ResultFn& done) override {
    for (size_t i = 0; i < items.size(); ++i) {
      {
        std::unique_lock lock(rx->mutex);
        if (!rx->in_flight.insert(items[i].idempotency_key).second)
          FAIL_CHECK("sent twice at the same time: " << items[i].idempotency_key);
        rx->max_in_flight = std::max<int>(rx->max_in_flight, rx->in_flight.size());
        if (items[i].destination == "hung") {
          rx->hung_waiting = true;
          rx->cv.notify_all();
          rx->cv.wait(lock, [&] { return rx->release_hung; });
        }
        ++rx->sent[items[i].idempotency_key];
        rx->in_flight.erase(items[i].idempotency_key);
        rx->cv.notify_all();
      }
      if (!done(i, DeliveryResult::ok("250 ok"))) return;
    }
  }
  std::string describe() const override { return "counting"; }
};

SinkFactory counting(Receiver& rx) {
  return [&rx](const std::string&) -> std::unique_ptr<Sink> {
    auto s = std::make_unique<CountingSink>();
    s->rx = &rx;
    return s;
  };
}

void queue(Store& store, const std::string& destination, int n, int64_t now) {
  std::vector<NewDelivery> rows;
  for (int i = 0; i < n; ++i) {
    NewDelivery d;
    d.idempotency_key = "mail:" + destination + ":" + std::to_string(i);
    d.destination = destination;
    d.sender = "herald@example.org";
    d.recipients = {destination + "@example.org"};
    d.payload = "Subject: " + std::to_string(i) + "\r\n\r\nbody\r\n";
    d.subject = std::to_string(i);
    rows.push_back(std::move(d));
  }
  REQUIRE(store.outbox().commit_routing({}, rows, now));
}

DeliverySettings settings(int lanes) {
  DeliverySettings s;
  s.lanes = lanes;
  s.delivery.batch = 8;
  return s;
}

bool wait_for(const std::function<bool()>& pred, std::chrono::seconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return pred();
}

}  // namespace

TEST_CASE("deliver: two deliverers on one database send each row once", "[deliver][threads]") {
  TempDir dir;
  auto a = Store::open(dir.file("h.db"));
  auto b = Store::open(dir.file("h.db"));  // a second connection, as a second process has
  REQUIRE(a);
  REQUIRE(b);
  FakeClock clock(1'767'225'600);
  queue(**a, "list", 500, clock.now());
  Receiver rx;
  Deliverer one(settings(3), **a, clock, counting(rx));
  Deliverer two(settings(3), **b, clock, counting(rx));
  DeliveryCounts c1, c2;
  std::thread t1([&] { c1 = one.drain(); });
  std::thread t2([&] { c2 = two.drain(); });
  t1.join();
  t2.join();
  CHECK(c1.delivered + c2.delivered == 500);  // how they shared it is the scheduler's
  CHECK(rx.sent.size() == 500);
  for (const auto& [key, n] : rx.sent) CHECK(n == 1);
  CHECK((*(*a)->outbox().outbox_rows("pending", 10)).empty());
}

TEST_CASE("deliver: a hung destination holds up only itself; stop gives claimed rows back",
          "[deliver][threads]") {
  TempDir dir;
  auto store = Store::open(dir.file("h.db"));
  REQUIRE(store);
  SystemClock clock;
  queue(**store, "hung", 5, clock.now());
  queue(**store, "list", 40, clock.now());
  Receiver rx;
  Deliverer d(settings(1), **store, clock, counting(rx));
  d.start({"list", "hung"});
  // Everything for "list" arrives while "hung" waits in its first send.
  REQUIRE(wait_for(
      [&] {
        std::lock_guard lock(rx.mutex);
        int list = 0;
        for (const auto& [k, v] : rx.sent) list += k.rfind("mail:list:", 0) == 0 ? v : 0;
        return rx.hung_waiting && list == 40;
      },
      std::chrono::seconds(20)));
  // The hung lane holds its claimed rows: nobody else may take them.
  Receiver other;
  Deliverer second(settings(1), **store, clock, counting(other));
  CHECK(second.drain().delivered == 0);
  // Stop: the send in flight finishes and is recorded; the four claimed but
  // unsent rows are given back, due at once.
  d.request_stop();
  {
    std::lock_guard lock(rx.mutex);
    rx.release_hung = true;
  }
  rx.cv.notify_all();
  d.stop();
  CHECK(d.stopped());
  int hung_sent = 0;
  for (const auto& [k, v] : rx.sent) hung_sent += k.rfind("mail:hung:", 0) == 0 ? v : 0;
  CHECK(hung_sent == 1);
  auto pending = *(*store)->outbox().outbox_rows("pending", 10);
  CHECK(pending.size() == 4);
  auto due = *(*store)->outbox().next_due_time("hung");
  REQUIRE(due);
  CHECK(*due <= clock.now());
}

TEST_CASE("deliver: leases of a herald that is gone are released; a live one's are kept",
          "[deliver][threads]") {
  TempDir dir;
  auto store = Store::open(dir.file("h.db"));
  REQUIRE(store);
  FakeClock clock(1'767'225'600);
  queue(**store, "list", 4, clock.now());
  char host[256] = {};
  REQUIRE(gethostname(host, sizeof host - 1) == 0);
  // Field 22 of /proc/1/stat: a process that is alive for the whole test.
  std::ifstream in("/proc/1/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::istringstream fields(stat.substr(stat.rfind(')') + 1));
  std::string field;
  for (int i = 3; i <= 22; ++i) fields >> field;
  const std::string live = std::string(host) + ":1:" + field + ":1";
  const std::string gone = std::string(host) + ":1:" + field + "0:1";  // pid 1 started at another time
  auto by_live =
      (*store)->outbox().claim_deliveries("list", clock.now(), 2, live, clock.now() + 3600);
  auto by_gone =
      (*store)->outbox().claim_deliveries("list", clock.now(), 2, gone, clock.now() + 3600);
  REQUIRE(by_live);
  REQUIRE(by_gone);
  REQUIRE(by_live->size() == 2);
  REQUIRE(by_gone->size() == 2);
  Receiver rx;
  Deliverer d(settings(1), **store, clock, counting(rx));
  auto c = d.drain();
  CHECK(c.delivered == 2);  // the gone one's two; the live one's stay leased
  for (const auto& it : *by_gone) CHECK(rx.sent.count(it.idempotency_key) == 1);
  for (const auto& it : *by_live) CHECK(rx.sent.count(it.idempotency_key) == 0);
  // Expired, the live one's lease is claimed again.
  clock.advance(3601);
  CHECK(d.drain().delivered == 2);
}

TEST_CASE("deliver: claims take the highest priority first", "[deliver][threads]") {
  TempDir dir;
  auto store = Store::open(dir.file("h.db"));
  REQUIRE(store);
  FakeClock clock(1'767'225'600);
  queue(**store, "list", 20, clock.now());
  NewDelivery urgent;
  urgent.idempotency_key = "mail:list:urgent";
  urgent.destination = "list";
  urgent.sender = "herald@example.org";
  urgent.recipients = {"list@example.org"};
  urgent.payload = "Subject: urgent\r\n\r\n";
  urgent.priority = 10;
  REQUIRE((*store)->outbox().commit_routing({}, {urgent}, clock.now()));
  auto first =
      (*store)->outbox().claim_deliveries("list", clock.now(), 1, "t:1:1:1", clock.now() + 60);
  REQUIRE(first);
  REQUIRE(first->size() == 1);
  CHECK((*first)[0].idempotency_key == "mail:list:urgent");
}

namespace {
// Answers every delivery 250, except to `deferred` which it defers (451)
// while `defer` holds; records every recipient it was handed.
struct DeferringSink final : Sink {
  std::vector<std::string>* seen;
  const bool* defer;
  std::string deferred;
  void deliver_each(const std::vector<OutboxItem>& items, const ResultFn& done) override {
    for (size_t i = 0; i < items.size(); ++i) {
      REQUIRE(items[i].recipients.size() == 1);
      const std::string& rcpt = items[i].recipients[0];
      seen->push_back(rcpt);
      auto r = (*defer && rcpt == deferred) ? DeliveryResult::retry("451 4.7.1 greylisted")
                                            : DeliveryResult::ok("250 ok");
      if (!done(i, std::move(r))) return;
    }
  }
  std::string describe() const override { return "deferring"; }
};
}  // namespace

TEST_CASE("deliver: a mail to three recipients where one defers is retried only to that one",
          "[deliver][threads]") {
  TempDir dir;
  auto store = Store::open(dir.file("h.db"));
  REQUIRE(store);
  FakeClock clock(1'767'225'600);
  NewDelivery d;
  d.idempotency_key = "mail:list:<m1@example.org>";
  d.destination = "list";
  d.sender = "herald@example.org";
  d.recipients = {"a@example.org", "b@example.org", "c@example.org"};
  d.payload = "Subject: s\r\n\r\nbody\r\n";
  REQUIRE((*store)->outbox().commit_routing({}, {d}, clock.now()));
  std::vector<std::string> seen;
  bool defer = true;
  auto sinks = [&](const std::string&) -> std::unique_ptr<Sink> {
    auto s = std::make_unique<DeferringSink>();
    s->seen = &seen;
    s->defer = &defer;
    s->deferred = "b@example.org";
    return s;
  };
  Deliverer deliverer(settings(1), **store, clock, sinks);
  auto c = deliverer.drain();
  CHECK(c.delivered == 2);
  CHECK(c.retried == 1);
  std::sort(seen.begin(), seen.end());
  CHECK(seen == std::vector<std::string>{"a@example.org", "b@example.org", "c@example.org"});

  auto pending = *(*store)->outbox().outbox_rows("pending", 10);
  REQUIRE(pending.size() == 1);
  CHECK(pending[0].recipient == "b@example.org");
  CHECK(pending[0].idempotency_key == "mail:list:<m1@example.org>/b@example.org");
  CHECK(pending[0].message_key == "mail:list:<m1@example.org>");
  CHECK(pending[0].last_error == "451 4.7.1 greylisted");

  // When it is due again only b is sent to, and then the whole message is delivered.
  seen.clear();
  defer = false;
  clock.advance(24 * 3600);
  c = deliverer.drain();
  CHECK(c.delivered == 1);
  CHECK(seen == std::vector<std::string>{"b@example.org"});
  CHECK((*(*store)->outbox().outbox_rows("delivered", 10)).size() == 3);
  CHECK((*(*store)->outbox().outbox_rows("pending", 10)).empty());
}
