#include <catch2/catch.hpp>

#include "daemon/metrics.hpp"
#include "daemon/store.hpp"
#include "tests/support/temp_dir.hpp"

using namespace herald;
using herald::test::TempDir;

TEST_CASE("metrics: label values are escaped as the exposition format says", "[metrics]") {
  CHECK(escape_label_value("plain") == "plain");
  CHECK(escape_label_value("a\"b\\c\nd") == "a\\\"b\\\\c\\nd");
}

TEST_CASE("metrics: counters add up per label set, and unknown names are refused",
          "[metrics]") {
  Metrics m;
  m.add("herald_webhook_requests_total", {{"source", "gh"}, {"result", "stored"}});
  m.add("herald_webhook_requests_total", {{"source", "gh"}, {"result", "stored"}}, 2);
  m.add("herald_webhook_requests_total", {{"source", "gh"}, {"result", "unauthorized"}});
  CHECK(m.value("herald_webhook_requests_total", {{"source", "gh"}, {"result", "stored"}}) == 3);
  CHECK(m.value("herald_webhook_requests_total", {{"source", "x"}, {"result", "stored"}}) == 0);
  m.set_max("herald_inbound_last_success_timestamp_seconds", {{"source", "gh"}}, 20);
  m.set_max("herald_inbound_last_success_timestamp_seconds", {{"source", "gh"}}, 10);
  CHECK(m.value("herald_inbound_last_success_timestamp_seconds", {{"source", "gh"}}) == 20);
  CHECK_THROWS_AS(m.add("herald_typo_total", {}), std::invalid_argument);
}

TEST_CASE("metrics: the store's events, outbox and source state are read at scrape time",
          "[metrics]") {
  TempDir dir;
  auto store = Store::open(dir.file("herald.db"));
  REQUIRE(store);
  Store& s = **store;
  PollCommit poll;
  poll.source = "tags";
  poll.now = 1'700'000'100;
  Event e;
  e.key = "release:lustre:2.15.7";
  e.kind = "release.published";
  e.source = "tags";
  e.title = "Lustre 2.15.7";
  poll.events = {e};
  REQUIRE(s.sources().commit_poll(poll));
  REQUIRE(s.sources().record_poll_failure("eol", "HTTP 503", 1'700'000'200, 1'700'000'300));
  NewDelivery d;
  d.idempotency_key = "k1";
  d.destination = "lustre-discuss";
  d.sender = "a@b";
  d.recipients = {"c@d"};
  d.payload = "x";
  d.subject = "s";
  REQUIRE(s.outbox().commit_routing({1}, {d}, 1'700'000'100));

  Metrics m;
  m.add("herald_deliveries_total", {{"result", "delivered"}}, 4);
  std::string text = m.render(s, {"tags", "eol"});
  for (const char* line : {
           "# TYPE herald_events gauge",
           "herald_events{source=\"tags\",kind=\"release.published\"} 1",
           "herald_outbox_deliveries{destination=\"lustre-discuss\",state=\"pending\"} 1",
           "herald_outbox_depth{state=\"pending\"} 1",
           "herald_outbox_depth{state=\"dead\"} 0",
           "herald_source_last_success_timestamp_seconds{source=\"tags\"} 1700000100",
           "herald_source_last_success_timestamp_seconds{source=\"eol\"} 0",
           "herald_source_errors_total{source=\"eol\"} 1",
           "herald_source_consecutive_failures{source=\"eol\"} 1",
           "herald_deliveries_total{result=\"delivered\"} 4",
           "herald_store_up 1",
       }) {
    INFO(line);
    CHECK(text.find(std::string(line) + "\n") != std::string::npos);
  }
  // Every sample line belongs to a family announced by # TYPE before it.
  std::string family;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    REQUIRE(end != std::string::npos);
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.rfind("# TYPE ", 0) == 0) {
      family = line.substr(7, line.find(' ', 7) - 7);
    } else if (line[0] != '#') {
      INFO(line);
      CHECK(line.rfind(family, 0) == 0);
    }
  }
}
