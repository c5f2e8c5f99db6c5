#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include "daemon/ingest.hpp"
#include "tests/support/temp_dir.hpp"

using namespace herald;
using herald::test::TempDir;

namespace {
Event bug(const std::string& key) {
  Event e;
  e.key = key;
  e.kind = "bug.created";
  e.source = "hooks";
  e.time = 1'714'640'000;
  e.title = "Issue " + key;
  return e;
}
}  // namespace

TEST_CASE("ingest: concurrent items are committed in shared transactions and all stored",
          "[ingest]") {
  TempDir dir;
  auto store = Store::open(dir.file("herald.db"));
  REQUIRE(store);
  FakeClock clock;
  std::atomic<int> committed_items{0};
  IngestWriter writer(**store, clock, [&](int n) { committed_items += n; });
  constexpr int k_threads = 16, k_each = 40;
  std::atomic<int> stored{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < k_threads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < k_each; ++i) {
        std::string id = std::to_string(t) + "-" + std::to_string(i);
        auto r = writer.ingest({"hooks", "delivery-" + id, {bug("LU-" + id)}});
        if (r && r->stored) ++stored;
      }
    });
  for (auto& t : threads) t.join();
  CHECK(stored == k_threads * k_each);
  CHECK(committed_items == k_threads * k_each);
  CHECK((*store)->count_events() == k_threads * k_each);
  CHECK(writer.items() == k_threads * k_each);
  // Sixteen threads waiting on each other's commits share transactions.
  CHECK(writer.commits() < writer.items());
}

TEST_CASE("ingest: senders that come back soon after their answer share the next commit",
          "[ingest]") {
  TempDir dir;
  auto store = Store::open(dir.file("herald.db"));
  REQUIRE(store);
  FakeClock clock;
  IngestWriter writer(**store, clock);
  // Like webhook clients: send, wait for the answer, take a moment, send again.
  constexpr int k_senders = 8, k_rounds = 30;
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < k_senders; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < k_rounds; ++i) {
        std::string id = std::to_string(t) + "-" + std::to_string(i);
        REQUIRE(writer.ingest({"hooks", "", {bug("LU-" + id)}}));
        std::this_thread::sleep_for(std::chrono::microseconds(300));
      }
    });
  for (auto& t : threads) t.join();
  const auto took = std::chrono::steady_clock::now() - start;
  REQUIRE(writer.items() == k_senders * k_rounds);
  const double per_commit = double(writer.items()) / double(writer.commits());
  const auto commit_time = took / writer.commits();
  const double commit_ms = std::chrono::duration<double, std::milli>(commit_time).count();
  INFO("items per commit " << per_commit << ", " << commit_ms << " ms per commit");
  if (commit_time < std::chrono::milliseconds(2)) {
    // A disk that flushes this fast leaves no gap worth waiting for.
    WARN("commits too fast here to show the wait for returning senders");
    return;
  }
  // Without the wait they split into groups taking turns, 1 to 4 items a commit.
  CHECK(per_commit >= 5.0);
}

TEST_CASE("ingest: a repeated delivery id is answered but stored once", "[ingest]") {
  TempDir dir;
  auto store = Store::open(dir.file("herald.db"));
  REQUIRE(store);
  FakeClock clock;
  IngestWriter writer(**store, clock);
  auto first = writer.ingest({"hooks", "abc", {bug("LU-1")}});
  REQUIRE(first.ok());
  CHECK(first->stored);
  auto again = writer.ingest({"hooks", "abc", {bug("LU-2")}});
  REQUIRE(again.ok());
  CHECK_FALSE(again->stored);
  CHECK((*store)->count_events() == 1);
  // The same id from another source is another delivery.
  auto other = writer.ingest({"other-hooks", "abc", {bug("LU-3")}});
  REQUIRE(other.ok());
  CHECK(other->stored);
}

TEST_CASE("ingest: new_events counts keys not stored before, once per key", "[ingest]") {
  TempDir dir;
  auto store = Store::open(dir.file("herald.db"));
  REQUIRE(store);
  FakeClock clock;
  IngestWriter writer(**store, clock);
  auto first = writer.ingest({"api", "", {bug("a"), bug("b"), bug("b")}}, true);
  REQUIRE(first.ok());
  CHECK(first->new_events == 2);
  auto second = writer.ingest({"api", "", {bug("b"), bug("c")}}, true);
  REQUIRE(second.ok());
  CHECK(second->new_events == 1);
  CHECK((*store)->count_events() == 3);
}

TEST_CASE("ingest: after stop, what was queued is committed and new items are refused",
          "[ingest]") {
  TempDir dir;
  auto store = Store::open(dir.file("herald.db"));
  REQUIRE(store);
  FakeClock clock;
  IngestWriter writer(**store, clock);
  std::atomic<int> done{0};
  for (int i = 0; i < 100; ++i)
    writer.submit({"hooks", "", {bug("LU-" + std::to_string(i))}},
                  [&](Expected<IngestOutcome> r) { done += r.ok() && r->stored; });
  writer.stop();
  CHECK(done == 100);
  CHECK((*store)->count_events() == 100);
  auto late = writer.ingest({"hooks", "", {bug("LU-late")}});
  REQUIRE_FALSE(late.ok());
  CHECK(late.error().kind == ErrorKind::temporary);
  CHECK((*store)->count_events() == 100);
}
