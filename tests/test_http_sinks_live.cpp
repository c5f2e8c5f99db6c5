// The HTTP destination kinds over real HTTP: herald's curl transport against
// tests/tools/http_receiver.py, with the webhook signatures verified
// independently by tests/tools/verify_webhook.py (Python's hmac).
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "adapters/sinks/matrix/matrix.hpp"
#include "adapters/sinks/slack/slack.hpp"
#include "adapters/sinks/webhook/webhook.hpp"
#include "daemon/clock.hpp"
#include "daemon/util.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/process.hpp"
#include "tests/support/servers.hpp"
#include "tests/support/temp_dir.hpp"

using herald::DeliveryResult;
using herald::OutboxItem;
using Status = herald::DeliveryResult::Status;
using json = nlohmann::json;

namespace {

using Receiver = herald::test::HttpReceiver;

const std::string k_tools = herald::test::source_dir() + "/tests/tools";
const std::string k_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";


herald::SinkEnv real_http(const herald::Clock& clock) {
  return {[] { return herald::make_curl_transport(); }, &clock};
}

OutboxItem row(std::string key, std::string payload) {
  OutboxItem it;
  it.id = 1;
  it.idempotency_key = std::move(key);
  it.payload = std::move(payload);
  return it;
}

int verify(const std::string& log, const std::string& secret) {
  auto p = herald::test::ChildProcess::spawn(
      {"/usr/bin/python3", k_tools + "/verify_webhook.py", log, secret});
  while (p.read_line(20'000)) {
  }
  auto status = p.wait_exit(20'000);
  REQUIRE(status);
  return WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
}

}  // namespace

TEST_CASE("webhook over HTTP: a retry keeps its id, every signature verifies", "[sinks][live]") {
  Receiver rx("500,200");
  herald::SystemClock clock;
  herald::DestinationConfig dest;
  dest.name = "hook";
  dest.kind = "webhook";
  dest.url = rx.url("/in?token=abc");
  dest.secrets = {k_secret, "whsec_" + herald::base64_encode(std::string(32, 'k'))};
  auto sink = herald::webhook_destination_kind().make_sink({}, dest, real_http(clock));
  const OutboxItem item = row("event:1", "{\"version\":1,\"text\":\"caf\xC3\xA9\"}");
  auto first = sink->deliver_batch({item});
  CHECK(first[0].status == Status::retry);
  CHECK_THAT(first[0].detail, Catch::Matchers::StartsWith("HTTP 500"));
  CHECK_THAT(first[0].detail, !Catch::Matchers::Contains("token=abc"));
  CHECK(sink->deliver_batch({item})[0].status == Status::delivered);
  auto reqs = rx.requests();
  REQUIRE(reqs.size() == 2);
  CHECK(reqs[0]["method"] == "POST");
  CHECK(reqs[0]["path"] == "/in?token=abc");
  CHECK(reqs[0]["headers"]["webhook-id"] == reqs[1]["headers"]["webhook-id"]);
  CHECK(reqs[1]["body"] == item.payload);
  CHECK(verify(rx.log(), k_secret) == 0);
  // A wrong secret must fail the independent check (it can fail).
  CHECK(verify(rx.log(), "whsec_" + herald::base64_encode(std::string(32, 'z'))) == 1);
}

TEST_CASE("HTTP sinks over HTTP: 429, redirect, 410 and a hung server", "[sinks][live]") {
  Receiver rx("429:120");
  herald::SystemClock clock;
  herald::DestinationConfig dest;
  dest.name = "chat";
  dest.kind = "slack";
  dest.url = rx.url("/services/T0/B0/SECRET");
  dest.timeout_ms = 1500;
  auto sink = herald::slack_destination_kind().make_sink({}, dest, real_http(clock));
  const OutboxItem item = row("event:2", "{\"text\":\"hi\"}");

  auto limited = sink->deliver_batch({item})[0];
  CHECK(limited.status == Status::retry);
  CHECK(limited.retry_after_s == 120);

  rx.set_mode("302");
  auto moved = sink->deliver_batch({item})[0];
  CHECK(moved.status == Status::permanent);
  CHECK(rx.requests().size() == 2);  // the redirect was not followed

  rx.set_mode("410");
  CHECK(sink->deliver_batch({item})[0].status == Status::disable);

  rx.set_mode("hang");
  auto hung = sink->deliver_batch({item})[0];
  CHECK(hung.status == Status::retry);
  CHECK(hung.retry_after_s >= 60);
  for (const auto& r : sink->deliver_batch({item}))
    CHECK_THAT(r.detail, !Catch::Matchers::Contains("SECRET"));
}

TEST_CASE("matrix over HTTP: PUT with the bearer token to the room's send URL", "[sinks][live]") {
  Receiver rx("200");
  herald::SystemClock clock;
  herald::DestinationConfig dest;
  dest.name = "room";
  dest.kind = "matrix";
  dest.homeserver = rx.url("");
  dest.room = "!r:example.org";
  dest.access_token = "syt_live";
  auto sink = herald::matrix_destination_kind().make_sink({}, dest, real_http(clock));
  CHECK(sink->deliver_batch({row("event:3", "{\"msgtype\":\"m.notice\",\"body\":\"x\"}")})[0].status ==
        Status::delivered);
  auto reqs = rx.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0]["method"] == "PUT");
  CHECK(reqs[0]["path"] == "/_matrix/client/v3/rooms/%21r%3Aexample.org/send/m.room.message/" +
                               herald::matrix_txn_id("event:3"));
  CHECK(reqs[0]["headers"]["authorization"] == "Bearer syt_live");
}
