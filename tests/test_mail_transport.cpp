// SMTP and Maildir sinks against a real SMTP server (tests/tools/smtp_server.py,
// aiosmtpd) and a real file system.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "adapters/sinks/mail/transport.hpp"
#include "daemon/util.hpp"
#include "tests/support/process.hpp"
#include "tests/support/servers.hpp"
#include "tests/support/paths.hpp"

namespace fs = std::filesystem;
using Catch::Matchers::Contains;
using herald::DeliveryResult;
using herald::OutboxItem;

namespace {

using herald::test::SmtpTestServer;


// A fresh directory under /tmp, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "herald-mail-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    m_path = pattern;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(m_path, ec);
  }
  const fs::path& path() const { return m_path; }

 private:
  fs::path m_path;
};


std::string crlf(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

// A release announcement with the head of the real Lustre 2.15 ChangeLog as
// its body, plus lines that SMTP must dot-stuff.
std::string announcement(const std::string& message_id) {
  auto changelog = herald::read_file(herald::test::fixtures_dir() + "/lustre/ChangeLog.b2_15");
  REQUIRE(changelog);
  std::string head = changelog->substr(0, changelog->find("\n\n", 200));
  std::string headers =
      "From: Lustre announcements <announce@lists.lustre.org>\n"
      "To: lustre-discuss@lists.lustre.org\n"
      "Subject: [ANNOUNCE] Lustre 2.15.8 released\n"
      "Date: Tue, 02 Dec 2025 18:19:20 +0000\n"
      "MIME-Version: 1.0\n"
      "Content-Type: text/plain; charset=utf-8\n";
  headers += "Message-ID: " + message_id + "\n";
  return crlf(headers + "\n" + head + "\n.\n..two dots\n.one dot\nend\n");
}

OutboxItem mail_item(int64_t id, std::vector<std::string> recipients) {
  OutboxItem item;
  item.id = id;
  item.idempotency_key = "test-" + std::to_string(id);
  item.destination = "list";
  item.sender = "announce@lists.lustre.org";
  item.recipients = std::move(recipients);
  item.payload = announcement("<" + std::to_string(id) + ".test@herald.invalid>");
  return item;
}

herald::mail::SmtpOptions smtp_options(const SmtpTestServer& server) {
  herald::mail::SmtpOptions opts;
  opts.url = server.url();
  opts.ehlo_domain = "herald.test";
  opts.connect_timeout_ms = 5'000;
  opts.timeout_ms = 20'000;
  return opts;
}

// A loopback port with nothing listening on it.
int closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path());
  return files;
}

}  // namespace

TEST_CASE("sink: delivery statuses have stable names", "[sink]") {
  CHECK(std::string(herald::to_string(DeliveryResult::Status::delivered)) == "delivered");
  CHECK(std::string(herald::to_string(DeliveryResult::Status::retry)) == "retry");
  CHECK(std::string(herald::to_string(DeliveryResult::Status::permanent)) == "permanent");
}

TEST_CASE("mail_transport: three SMTP messages share one connection and one EHLO",
          "[mail_transport]") {
  SmtpTestServer server({"--expect-ehlo", "herald.test"});
  auto sink = herald::mail::make_smtp_sink(smtp_options(server));
  std::vector<OutboxItem> items = {mail_item(1, {"a@example.org"}),
                                   mail_item(2, {"b@example.org"})};
  auto first = sink->deliver_batch(items);
  auto second = sink->deliver_batch({mail_item(3, {"c@example.org"})});

  REQUIRE(first.size() == 2);
  REQUIRE(second.size() == 1);
  for (const auto& r : {first[0], first[1], second[0]}) {
    CHECK(r.status == DeliveryResult::Status::delivered);
    CHECK_THAT(r.detail, Contains("250"));
  }
  CHECK(server.events("connect").size() == 1);
  auto ehlos = server.events("ehlo");
  REQUIRE(ehlos.size() == 1);
  CHECK(ehlos[0].at("hostname") == "herald.test");

  auto messages = server.events("message");
  REQUIRE(messages.size() == 3);
  CHECK(messages[0].at("rcpt") == nlohmann::json::array({"a@example.org"}));
  CHECK(messages[0].at("mail_from") == "announce@lists.lustre.org");
  CHECK(messages[2].at("message_id") == "<3.test@herald.invalid>");
  // Byte for byte what was handed over: CRLF kept, dots un-stuffed again.
  CHECK(server.stored("msg-0001-1.eml") == items[0].payload);
  CHECK(server.stored("msg-0002-1.eml") == items[1].payload);
}

TEST_CASE("mail_transport: an SMTP 451 is retried and the retry is delivered", "[mail_transport]") {
  SmtpTestServer server({"--script", "451"});
  auto sink = herald::mail::make_smtp_sink(smtp_options(server));
  auto item = mail_item(7, {"dev@example.org"});

  auto first = sink->deliver_batch({item});
  REQUIRE(first.size() == 1);
  CHECK(first[0].status == DeliveryResult::Status::retry);
  CHECK_THAT(first[0].detail, Contains("451") && Contains("Temporary failure"));
  CHECK_THAT(first[0].detail, Contains("dev@example.org"));

  item.attempts = 1;
  auto second = sink->deliver_batch({item});
  CHECK(second[0].status == DeliveryResult::Status::delivered);
  CHECK(server.stored("msg-0002-1.eml") == item.payload);
  CHECK(server.events("message").size() == 2);
}

TEST_CASE("mail_transport: an SMTP 550 after DATA is permanent with the server's answer",
          "[mail_transport]") {
  SmtpTestServer server({"--script", "550 5.7.1 Spam content rejected"});
  auto sink = herald::mail::make_smtp_sink(smtp_options(server));
  auto results = sink->deliver_batch({mail_item(1, {"x@example.org"})});
  REQUIRE(results.size() == 1);
  CHECK(results[0].status == DeliveryResult::Status::permanent);
  CHECK_THAT(results[0].detail, Contains("550 5.7.1 Spam content rejected"));
  CHECK_FALSE(results[0].retry_after_s.has_value());
}

TEST_CASE("mail_transport: an SMTP 552 is a temporary failure", "[mail_transport]") {
  SmtpTestServer server({"--script", "552 5.2.2 Mailbox full"});
  auto sink = herald::mail::make_smtp_sink(smtp_options(server));
  auto results = sink->deliver_batch({mail_item(1, {"x@example.org"})});
  CHECK(results[0].status == DeliveryResult::Status::retry);
  CHECK_THAT(results[0].detail, Contains("552 5.2.2 Mailbox full"));
}

TEST_CASE("mail_transport: an SMTP relay that is down means retry for the whole batch",
          "[mail_transport]") {
  herald::mail::SmtpOptions opts;
  opts.url = "smtp://127.0.0.1:" + std::to_string(closed_port());
  opts.connect_timeout_ms = 2'000;
  auto sink = herald::mail::make_smtp_sink(opts);
  auto results = sink->deliver_batch(
      {mail_item(1, {"a@example.org"}), mail_item(2, {"b@example.org", "c@example.org"})});
  REQUIRE(results.size() == 2);
  for (const auto& r : results) {
    CHECK(r.status == DeliveryResult::Status::retry);
    CHECK_THAT(r.detail, Contains("connect", Catch::CaseSensitive::No));
  }
  CHECK_THAT(results[1].detail, Contains("not attempted") && Contains("c@example.org"));
}

TEST_CASE("mail_transport: no answer to the final dot within data_timeout means retry",
          "[mail_transport]") {
  SmtpTestServer server({"--delay-data", "5"});
  auto opts = smtp_options(server);
  opts.timeout_ms = 800;
  opts.data_timeout_ms = 800;
  auto sink = herald::mail::make_smtp_sink(opts);
  auto started = std::chrono::steady_clock::now();
  auto results = sink->deliver_batch({mail_item(1, {"a@example.org"})});
  auto elapsed = std::chrono::steady_clock::now() - started;
  CHECK(results[0].status == DeliveryResult::Status::retry);
  CHECK_THAT(results[0].detail, Contains("no answer to the end of the message data"));
  CHECK(elapsed < std::chrono::seconds(4));
}

// RFC 5321 4.5.3.2.6: the answer to the final dot is waited for 10 minutes by
// default, not the general timeout: the server has the message by then, and a
// reply given up on would make a duplicate.
TEST_CASE("mail_transport: a slow answer to the final dot is waited for, not retried",
          "[mail_transport]") {
  SmtpTestServer server({"--delay-data", "2"});
  auto opts = smtp_options(server);
  opts.timeout_ms = 800;  // shorter than the server's delay; data_timeout keeps its 10 minutes
  auto sink = herald::mail::make_smtp_sink(opts);
  auto results = sink->deliver_batch({mail_item(1, {"a@example.org"})});
  CHECK(results[0].status == DeliveryResult::Status::delivered);
  CHECK(server.events("message").size() == 1);
}

TEST_CASE("mail_transport: one refused recipient among three is reported by address",
          "[mail_transport]") {
  SECTION("550 makes the item permanent; the others got it") {
    SmtpTestServer server({"--reject-rcpt", "gone@example.org=550"});
    auto sink = herald::mail::make_smtp_sink(smtp_options(server));
    auto results =
        sink->deliver_batch({mail_item(1, {"a@example.org", "gone@example.org", "c@example.org"})});
    CHECK(results[0].status == DeliveryResult::Status::permanent);
    CHECK_THAT(results[0].detail,
               Contains("gone@example.org") && Contains("550 5.1.1") && Contains("User unknown"));
    CHECK_THAT(results[0].detail, !Contains("a@example.org") && !Contains("c@example.org"));
    auto messages = server.events("message");
    REQUIRE(messages.size() == 2);
    CHECK(messages[0].at("rcpt") == nlohmann::json::array({"a@example.org"}));
    CHECK(messages[1].at("rcpt") == nlohmann::json::array({"c@example.org"}));

    // The refusal does not spoil the sink: the next message goes out.
    auto next = sink->deliver_batch({mail_item(2, {"d@example.org"})});
    CHECK(next[0].status == DeliveryResult::Status::delivered);
  }
  SECTION("450 makes the item retry and names the deferred address") {
    SmtpTestServer server({"--reject-rcpt", "busy@example.org=450"});
    auto sink = herald::mail::make_smtp_sink(smtp_options(server));
    auto results = sink->deliver_batch({mail_item(1, {"a@example.org", "busy@example.org"})});
    CHECK(results[0].status == DeliveryResult::Status::retry);
    CHECK_THAT(results[0].detail, Contains("busy@example.org") && Contains("450"));
    CHECK(server.events("message").size() == 1);
  }
}

TEST_CASE("mail_transport: the SMTP password never appears in results or descriptions",
          "[mail_transport]") {
  const std::string password = "Hunter2-secret!";
  SmtpTestServer server({"--auth", "herald:" + password});
  auto opts = smtp_options(server);
  opts.username = "herald";

  SECTION("wrong password: retry, the answer is shown, the password is not") {
    opts.password = "Wrong-" + password;
    auto sink = herald::mail::make_smtp_sink(opts);
    auto results = sink->deliver_batch({mail_item(1, {"a@example.org"})});
    CHECK(results[0].status == DeliveryResult::Status::retry);
    CHECK_THAT(results[0].detail, Contains("535"));
    for (const auto& text : {results[0].detail, sink->describe()}) {
      CHECK_THAT(text, !Contains(opts.password) && !Contains(password));
      CHECK_THAT(text, !Contains(herald::base64_encode(opts.password)));
      CHECK_THAT(text,
                 !Contains(herald::base64_encode(std::string("\0herald\0", 8) + opts.password)));
    }
    CHECK(server.events("message").empty());
  }
  SECTION("right password: delivered") {
    opts.password = password;
    auto sink = herald::mail::make_smtp_sink(opts);
    auto results = sink->deliver_batch({mail_item(1, {"a@example.org"})});
    CHECK(results[0].status == DeliveryResult::Status::delivered);
    auto auths = server.events("auth");
    REQUIRE(auths.size() == 1);
    CHECK(auths[0].at("success") == true);
    CHECK_THAT(results[0].detail + sink->describe(), !Contains(password));
  }
}

TEST_CASE("mail_transport: required STARTTLS never falls back to cleartext", "[mail_transport]") {
  SmtpTestServer server;  // offers no STARTTLS
  auto opts = smtp_options(server);
  opts.tls = herald::mail::SmtpOptions::Tls::starttls_required;
  auto sink = herald::mail::make_smtp_sink(opts);
  auto results = sink->deliver_batch({mail_item(1, {"a@example.org"})});
  CHECK(results[0].status == DeliveryResult::Status::retry);
  CHECK(server.events("mail").empty());
  CHECK_THAT(sink->describe(), Contains("STARTTLS"));
}

TEST_CASE("mail_transport: a connection the server closed while idle is replaced",
          "[mail_transport]") {
  SmtpTestServer server({"--idle-timeout", "0.5"});
  auto sink = herald::mail::make_smtp_sink(smtp_options(server));
  CHECK(sink->deliver_batch({mail_item(1, {"a@example.org"})})[0].status ==
        DeliveryResult::Status::delivered);
  // The server closes the idle connection after 0.5 s; wait until it did (its log says so).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (server.events("disconnect").empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE(server.events("disconnect").size() == 1);
  CHECK(sink->deliver_batch({mail_item(2, {"a@example.org"})})[0].status ==
        DeliveryResult::Status::delivered);
  CHECK(server.events("connect").size() == 2);
  CHECK(server.events("message").size() == 2);
}

TEST_CASE("mail_transport: an envelope address with a line break is refused before sending",
          "[mail_transport]") {
  SmtpTestServer server;
  auto sink = herald::mail::make_smtp_sink(smtp_options(server));
  auto injected = mail_item(1, {"a@example.org>\r\nRCPT TO:<b@example.org"});
  auto no_rcpt = mail_item(2, {});
  auto results = sink->deliver_batch({injected, no_rcpt});
  CHECK(results[0].status == DeliveryResult::Status::permanent);
  CHECK(results[1].status == DeliveryResult::Status::permanent);
  CHECK(server.events("connect").empty());
}

TEST_CASE("mail_transport: Maildir creates its folders and writes a copy per recipient",
          "[mail_transport]") {
  TempDir tmp;
  auto dir = tmp.path() / "var" / "mail" / "herald";
  auto sink = herald::mail::make_maildir_sink(dir.string());
  CHECK_THAT(sink->describe(), Contains(dir.string()));

  auto two = mail_item(1, {"a@example.org", "b@example.org"});
  auto none = mail_item(2, {});
  auto results = sink->deliver_batch({two, none});
  REQUIRE(results.size() == 2);
  CHECK(results[0].status == DeliveryResult::Status::delivered);
  CHECK(results[1].status == DeliveryResult::Status::delivered);

  for (const char* sub : {"tmp", "new", "cur"}) CHECK(fs::is_directory(dir / sub));
  CHECK((fs::status(dir).permissions() & fs::perms::others_all) == fs::perms::none);
  CHECK(files_in(dir / "tmp").empty());
  CHECK(files_in(dir / "cur").empty());
  auto delivered = files_in(dir / "new");
  REQUIRE(delivered.size() == 3);
  int copies_of_two = 0;
  std::set<std::string> names;
  for (const auto& file : delivered) {
    names.insert(file.filename().string());
    auto bytes = herald::read_file(file.string());
    REQUIRE(bytes);
    CHECK((*bytes == two.payload || *bytes == none.payload));
    if (*bytes == two.payload) ++copies_of_two;
    // Maildir readers split the name at ':' for flags: it must not appear.
    CHECK(file.filename().string().find(':') == std::string::npos);
  }
  CHECK(copies_of_two == 2);
  CHECK(names.size() == 3);

  // A second sink on the existing folder adds, never overwrites.
  auto again = herald::mail::make_maildir_sink(dir.string());
  CHECK(again->deliver_batch({none})[0].status == DeliveryResult::Status::delivered);
  CHECK(files_in(dir / "new").size() == 4);
}

TEST_CASE("mail_transport: a Maildir that cannot be created means retry with the reason",
          "[mail_transport]") {
  TempDir tmp;
  auto blocker = tmp.path() / "not-a-dir";
  { std::ofstream(blocker.string()) << "x"; }
  auto sink = herald::mail::make_maildir_sink((blocker / "maildir").string());
  auto results = sink->deliver_batch({mail_item(1, {"a@example.org"}), mail_item(2, {})});
  REQUIRE(results.size() == 2);
  for (const auto& r : results) {
    CHECK(r.status == DeliveryResult::Status::retry);
    CHECK_THAT(r.detail, Contains("Not a directory") && Contains(blocker.string()));
  }
}
