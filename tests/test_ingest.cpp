#include <catch2/catch.hpp>

#include <atomic>
#include <future>
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
          "[ingest][threads]") {
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
  CHECK(*(*store)->events().count_events() == k_threads * k_each);
  CHECK(writer.items() == k_threads * k_each);
  // Sixteen threads waiting on each other's commits share transactions.
  CHECK(writer.commits() < writer.items());
}

TEST_CASE("ingest: an answered item is already counted, and on_commit has run", "[ingest][threads]") {
  TempDir dir;
  auto store = Store::open(dir.file("herald.db"));
  REQUIRE(store);
  FakeClock clock;
  std::atomic<int> committed{0};
  IngestWriter writer(**store, clock, [&](int n) { committed += n; });
  for (int i = 0; i < 3; ++i) {
    int64_t items_seen = -1, commits_seen = -1;
    int committed_seen = -1;
    std::promise<void> answered;
    writer.submit({"hooks", "", {bug("LU-" + std::to_string(i))}},
                  [&](Expected<IngestOutcome> r) {
                    REQUIRE(r);
                    items_seen = writer.items();
                    commits_seen = writer.commits();
                    committed_seen = committed;
                    answered.set_value();
                  });
    answered.get_future().wait();
    CHECK(items_seen == i + 1);
    CHECK(commits_seen == i + 1);
    CHECK(committed_seen == i + 1);
  }
}

TEST_CASE("ingest: a repeated delivery id is answered but stored once", "[ingest][threads]") {
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
  CHECK(*(*store)->events().count_events() == 1);
  // The same id from another source is another delivery.
  auto other = writer.ingest({"other-hooks", "abc", {bug("LU-3")}});
  REQUIRE(other.ok());
  CHECK(other->stored);
}

TEST_CASE("ingest: new_events counts keys not stored before, once per key", "[ingest][threads]") {
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
  CHECK(*(*store)->events().count_events() == 3);
}

TEST_CASE("ingest: after stop, what was queued is committed and new items are refused",
          "[ingest][threads]") {
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
  CHECK(*(*store)->events().count_events() == 100);
  auto late = writer.ingest({"hooks", "", {bug("LU-late")}});
  REQUIRE_FALSE(late.ok());
  CHECK(late.error().kind == ErrorKind::temporary);
  CHECK(*(*store)->events().count_events() == 100);
}
