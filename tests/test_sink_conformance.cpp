// One conformance suite over every destination kind in the table (and both
// mail transports), each made by its registered factory and talking to a
// real server: tests/tools/http_receiver.py for the HTTP kinds,
// tests/tools/smtp_server.py (aiosmtpd) for SMTP, the file system for
// Maildir. For each: how answers are classified (retry, permanent, disable),
// a server's Retry-After, the idempotency key the same on every attempt of a
// row, and no secret (token, webhook URL path or query, signing key, SMTP
// password) in any result detail, description or log line.
//
// A new kind registered without an entry here fails the first test case.
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "daemon/clock.hpp"
#include "daemon/destination.hpp"
#include "daemon/util.hpp"
#include "tests/support/servers.hpp"
#include "tests/support/temp_dir.hpp"

using Catch::Matchers::Contains;
using herald::DeliveryResult;
using herald::OutboxItem;
using Status = herald::DeliveryResult::Status;

namespace {

// Every log line written while it lives (spdlog's default logger).
class LogCapture {
 public:
  LogCapture() : m_previous(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(m_lines);
    auto logger = std::make_shared<spdlog::logger>("capture", sink);
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(m_previous); }
  std::string text() const { return m_lines.str(); }

 private:
  std::shared_ptr<spdlog::logger> m_previous;
  std::ostringstream m_lines;
};

// What a kind's destination needs to talk to the receiver, and the secrets it carries.
struct HttpCase {
  std::function<void(herald::DestinationConfig&, const herald::test::HttpReceiver&)> configure;
  std::vector<std::string> secrets;
  // The request header carrying the idempotency key ("" when it is in the path, or
  // the body is the whole request).
  std::string key_header;
  int gone_status = 410;
};

const std::string k_path_secret = "B0ZSECRETPATH";
const std::string k_query_secret = "QSECRETKEY";
const std::string k_token = "syt_TOKENSECRET_4b1d";
const std::string k_signing = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

std::map<std::string, HttpCase> http_cases() {
  auto secret_url = [](herald::DestinationConfig& d, const herald::test::HttpReceiver& rx) {
    d.url = rx.url("/hooks/T0/" + k_path_secret + "?key=" + k_query_secret);
  };
  std::map<std::string, HttpCase> cases;
  cases["webhook"] = {[&](herald::DestinationConfig& d, const herald::test::HttpReceiver& rx) {
                        secret_url(d, rx);
                        d.secrets = {k_signing};
                      },
                      {k_path_secret, k_query_secret, k_signing, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
                      "webhook-id"};
  for (const char* kind : {"slack", "mattermost", "teams"})
    cases[kind] = {secret_url, {k_path_secret, k_query_secret}, ""};
  cases["discord"] = {secret_url, {k_path_secret, k_query_secret}, "", 404};
  cases["matrix"] = {[](herald::DestinationConfig& d, const herald::test::HttpReceiver& rx) {
                       d.homeserver = rx.url("");
                       d.room = "!conformance:example.org";
                       d.access_token = k_token;
                     },
                     {k_token},
                     ""};
  return cases;
}

OutboxItem http_row(const std::string& kind) {
  OutboxItem it;
  it.id = 7;
  it.idempotency_key = kind + ":conformance:event-7";
  it.destination = "c-" + kind;
  it.payload = R"({"version":1,"text":"Lustre 2.15.8 released","body":"caf\u00e9"})";
  return it;
}

void check_no_secret(const std::vector<std::string>& texts, const std::vector<std::string>& secrets) {
  for (const auto& text : texts)
    for (const auto& secret : secrets) {
      INFO("secret " << secret);
      CHECK_THAT(text, !Contains(secret));
    }
}

std::string crlf(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

OutboxItem mail_row(const std::string& message_id) {
  OutboxItem it;
  it.id = 9;
  it.idempotency_key = "mail:list:" + message_id;
  it.destination = "list";
  it.sender = "announce@lists.lustre.org";
  it.recipients = {"lustre-discuss@lists.lustre.org"};
  it.payload = crlf(
      "From: Lustre announcements <announce@lists.lustre.org>\n"
      "To: lustre-discuss@lists.lustre.org\n"
      "Subject: [ANNOUNCE] Lustre 2.15.8 released\n"
      "Date: Tue, 02 Dec 2025 18:19:20 +0000\n"
      "Message-ID: " + message_id + "\n"
      "MIME-Version: 1.0\n"
      "Content-Type: text/plain; charset=utf-8\n"
      "\n"
      "Lustre 2.15.8 is available.\n");
  return it;
}

}  // namespace

TEST_CASE("sink conformance: every registered kind is covered by this suite", "[sinks][conformance]") {
  herald::ensure_adapters_registered();
  auto cases = http_cases();
  for (const auto& kind : herald::destination_kinds()) {
    INFO("kind " << kind);
    CHECK((kind == "mail" || cases.count(kind) == 1));
  }
}

TEST_CASE("sink conformance: every HTTP kind classifies answers, keeps its key, hides its secrets",
          "[sinks][conformance][live]") {
  herald::ensure_adapters_registered();
  herald::SystemClock clock;
  const herald::SinkEnv env{[] { return herald::make_curl_transport(); }, &clock};
  for (const auto& [kind_name, c] : http_cases()) {
    const std::string kind = kind_name;  // not a structured binding in the lambdas below
    const HttpCase spec = c;
    DYNAMIC_SECTION(kind) {
      const herald::DestinationKind* k = herald::destination_kind(kind);
      REQUIRE(k);
      herald::test::HttpReceiver rx("500,429:90,200");
      herald::DestinationConfig dest;
      dest.name = "c-" + kind;
      dest.kind = kind;
      dest.timeout_ms = 3000;
      spec.configure(dest, rx);
      REQUIRE(k->check(dest).empty());
      LogCapture logs;
      auto sink = k->make_sink({}, dest, env);
      REQUIRE(sink);
      const OutboxItem row = http_row(kind);
      std::vector<std::string> texts = {sink->describe()};

      // 500: retried; 429 with Retry-After: retried no sooner than the server asked; then 2xx.
      auto failed = sink->deliver_batch({row})[0];
      CHECK(failed.status == Status::retry);
      CHECK_THAT(failed.detail, Contains("500"));
      auto limited = sink->deliver_batch({row})[0];
      CHECK(limited.status == Status::retry);
      REQUIRE(limited.retry_after_s);
      CHECK(*limited.retry_after_s >= 90);
      auto ok = sink->deliver_batch({row})[0];
      CHECK(ok.status == Status::delivered);
      texts.insert(texts.end(), {failed.detail, limited.detail, ok.detail});

      // The three attempts of one row carry one key and one body.
      auto reqs = rx.requests();
      REQUIRE(reqs.size() == 3);
      for (size_t i = 1; i < reqs.size(); ++i) {
        CHECK(reqs[i]["path"] == reqs[0]["path"]);
        CHECK(reqs[i]["body"] == reqs[0]["body"]);
        if (!spec.key_header.empty())
          CHECK(reqs[i]["headers"][spec.key_header] == reqs[0]["headers"][spec.key_header]);
      }
      if (!spec.key_header.empty()) {
        CHECK(reqs[0]["headers"].contains(spec.key_header));
        CHECK_FALSE(reqs[0]["headers"][spec.key_header].get<std::string>().empty());
      }
      if (kind == "matrix")  // the txnId is the last path segment, made from the row's key
        CHECK(reqs[0]["path"].get<std::string>().find("/send/m.room.message/") !=
              std::string::npos);

      // A 3xx is a failure, never followed; other 4xx are permanent; gone disables.
      rx.set_mode("302");
      auto moved = sink->deliver_batch({row})[0];
      CHECK(moved.status == Status::permanent);
      rx.set_mode("400");
      auto refused = sink->deliver_batch({row})[0];
      CHECK(refused.status == Status::permanent);
      rx.set_mode(std::to_string(spec.gone_status));
      auto gone = sink->deliver_batch({row})[0];
      CHECK(gone.status == Status::disable);
      CHECK(rx.requests().size() == 6);  // the redirect was not followed
      texts.insert(texts.end(), {moved.detail, refused.detail, gone.detail});

      texts.push_back(logs.text());
      check_no_secret(texts, spec.secrets);
    }
  }
}

TEST_CASE("sink conformance: SMTP classifies answers, keeps its Message-ID, hides the password",
          "[sinks][conformance][live]") {
  herald::ensure_adapters_registered();
  const std::string password = "Hunter2-conformance!";
  herald::test::SmtpTestServer server({"--auth", "herald:" + password, "--script", "451,250,550"});
  herald::Config cfg;
  cfg.mail.smtp_url = server.url();
  cfg.mail.username = "herald";
  cfg.mail.password = password;
  cfg.mail.domain = "herald.test";
  herald::DestinationConfig dest;
  dest.name = "list";
  dest.kind = "mail";
  herald::SystemClock clock;
  LogCapture logs;
  auto sink = herald::destination_kind("mail")->make_sink(cfg, dest, {{}, &clock});
  REQUIRE(sink);
  const OutboxItem row = mail_row("<conformance.1@herald.test>");

  auto deferred = sink->deliver_batch({row})[0];
  CHECK(deferred.status == Status::retry);
  CHECK_THAT(deferred.detail, Contains("451"));
  CHECK_FALSE(deferred.retry_after_s);  // SMTP has no Retry-After: the backoff decides
  auto accepted = sink->deliver_batch({row})[0];
  CHECK(accepted.status == Status::delivered);
  auto refused = sink->deliver_batch({mail_row("<conformance.2@herald.test>")})[0];
  CHECK(refused.status == Status::permanent);
  CHECK_THAT(refused.detail, Contains("550"));

  // The retry is the same message with the same Message-ID; the server kept it once.
  auto messages = server.events("message");
  REQUIRE(messages.size() == 3);
  CHECK(messages[0]["message_id"] == "<conformance.1@herald.test>");
  CHECK(messages[1]["message_id"] == "<conformance.1@herald.test>");
  CHECK(messages[0]["size"] == messages[1]["size"]);
  CHECK_THAT(messages[0]["answer"].get<std::string>(), Contains("451"));
  CHECK(messages[1]["files"].size() == 1);
  CHECK(messages[2]["files"].empty());
  CHECK_THAT(server.stored(messages[1]["files"][0].get<std::string>()),
             Contains("Message-ID: <conformance.1@herald.test>"));

  check_no_secret({deferred.detail, accepted.detail, refused.detail, sink->describe(), logs.text()},
                  {password, herald::base64_encode(password),
                   herald::base64_encode(std::string("\0herald\0", 8) + password)});
}

TEST_CASE("sink conformance: Maildir delivers the row's bytes and retries a folder it cannot make",
          "[sinks][conformance]") {
  herald::ensure_adapters_registered();
  herald::test::TempDir dir;
  herald::SystemClock clock;
  herald::DestinationConfig dest;
  dest.name = "list";
  dest.kind = "mail";
  const OutboxItem row = mail_row("<conformance.3@herald.test>");
  {
    herald::Config cfg;
    cfg.mail.maildir = dir.file("Maildir");
    auto sink = herald::destination_kind("mail")->make_sink(cfg, dest, {{}, &clock});
    REQUIRE(sink);
    CHECK(sink->deliver_batch({row})[0].status == Status::delivered);
    int found = 0;
    for (const auto& f : std::filesystem::directory_iterator(dir.file("Maildir/new"))) {
      ++found;
      CHECK_THAT(herald::read_file(f.path().string()).value_or(""),
                 Contains("Message-ID: <conformance.3@herald.test>"));
    }
    CHECK(found == 1);
  }
  {
    herald::Config cfg;
    cfg.mail.maildir = dir.write("not-a-directory", "x") + "/Maildir";
    auto sink = herald::destination_kind("mail")->make_sink(cfg, dest, {{}, &clock});
    REQUIRE(sink);
    auto r = sink->deliver_batch({row})[0];
    CHECK(r.status == Status::retry);
    CHECK_FALSE(r.detail.empty());
  }
}
