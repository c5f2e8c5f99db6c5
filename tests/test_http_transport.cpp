// The libcurl transport against tests/tools/http_echo.py, a real keep-alive
// HTTP/1.1 server started as a child process that counts the TCP connections
// it accepts; fetch()'s classification of what comes back; and a source's use
// of the transport it is given.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "adapters/sources/source.hpp"
#include "daemon/clock.hpp"
#include "daemon/http_transport.hpp"
#include "daemon/util.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

using namespace herald;
using nlohmann::json;

namespace {

class EchoServer {
 public:
  EchoServer() {
    m_process.emplace(test::ChildProcess::spawn(
        {"/usr/bin/python3", test::source_dir() + "/tests/tools/http_echo.py"},
        m_dir.file("stderr.txt")));
    auto line = m_process->read_line(20'000);
    if (!line || line->rfind("PORT ", 0) != 0)
      throw std::runtime_error("http_echo.py did not start: " +
                               read_file(m_dir.file("stderr.txt")).value_or("(no stderr)"));
    m_url = "http://127.0.0.1:" + line->substr(5);
  }
  std::string url(const std::string& path) const { return m_url + path; }

 private:
  test::TempDir m_dir;
  std::optional<test::ChildProcess> m_process;
  std::string m_url;
};

// A local port nothing listens on (bound, then closed).
int closed_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  close(fd);
  return ntohs(addr.sin_port);
}

HttpRequest request(std::string url) {
  HttpRequest req;
  req.url = std::move(url);
  req.timeout_ms = 10'000;
  return req;
}

}  // namespace

TEST_CASE("http_transport: a POST's body and headers arrive, and a PUT's", "[http_transport]") {
  EchoServer server;
  auto http = make_curl_transport();
  HttpRequest req = request(server.url("/echo/hook?x=1"));
  req.method = "POST";
  req.body = R"({"text":"2.15.8 released"})";
  req.headers = {"Content-Type: application/json", "X-Herald-Test: yes"};
  auto r = http->perform(req);
  REQUIRE(r.ok());
  CHECK(r->status == 200);
  CHECK(r->content_type == "application/json");
  json echo = json::parse(r->body);
  CHECK(echo["method"] == "POST");
  CHECK(echo["path"] == "/echo/hook");
  CHECK(echo["query"]["x"] == "1");
  CHECK(echo["body"] == req.body);
  CHECK(echo["headers"]["content-type"] == "application/json");
  CHECK(echo["headers"]["x-herald-test"] == "yes");
  CHECK(echo["headers"]["user-agent"] == "herald/" HERALD_VERSION);
  CHECK_FALSE(echo["headers"].contains("expect"));

  req.method = "PUT";
  req.body = "second";
  auto put = http->perform(req);
  REQUIRE(put.ok());
  json put_echo = json::parse(put->body);
  CHECK(put_echo["method"] == "PUT");
  CHECK(put_echo["body"] == "second");

  // A GET after them on the same handle is a GET again, with its conditional headers.
  HttpRequest get = request(server.url("/echo"));
  get.etag = "\"v1\"";
  get.last_modified = "Tue, 01 Dec 2026 10:00:00 GMT";
  auto g = http->perform(get);
  REQUIRE(g.ok());
  json get_echo = json::parse(g->body);
  CHECK(get_echo["method"] == "GET");
  CHECK(get_echo["body"] == "");
  CHECK(get_echo["headers"]["if-none-match"] == "\"v1\"");
  CHECK(get_echo["headers"]["if-modified-since"] == "Tue, 01 Dec 2026 10:00:00 GMT");
  CHECK_FALSE(get_echo["headers"].contains("x-herald-test"));
}

TEST_CASE("http_transport: two requests on one transport use one connection", "[http_transport]") {
  EchoServer server;
  auto http = make_curl_transport();
  auto first = http->perform(request(server.url("/echo")));
  REQUIRE(first.ok());
  HttpRequest post = request(server.url("/echo"));
  post.method = "POST";
  post.body = "b";
  auto second = http->perform(post);
  REQUIRE(second.ok());
  CHECK(first->headers.at("x-connection") == "1");
  CHECK(second->headers.at("x-connection") == "1");
  CHECK(second->headers.at("x-connections") == "1");

  // Another transport is another connection: the count above can tell them apart.
  auto other = make_curl_transport()->perform(request(server.url("/echo")));
  REQUIRE(other.ok());
  CHECK(other->headers.at("x-connection") == "2");
}

TEST_CASE("http_transport: error statuses are responses with the server's Retry-After",
          "[http_transport]") {
  EchoServer server;
  auto http = make_curl_transport();

  auto busy = http->perform(request(server.url("/status/500?retry_after=30")));
  REQUIRE(busy.ok());
  CHECK(busy->status == 500);
  CHECK(busy->body == "status body");
  CHECK(busy->retry_after_s == 30);

  auto limited = http->perform(request(server.url("/status/429?retry_after_date=120")));
  REQUIRE(limited.ok());
  CHECK(limited->status == 429);
  REQUIRE(limited->retry_after_s.has_value());
  CHECK(*limited->retry_after_s >= 115);  // the date has a resolution of one second
  CHECK(*limited->retry_after_s <= 121);

  auto gone = http->perform(request(server.url("/status/410")));
  REQUIRE(gone.ok());
  CHECK(gone->status == 410);
  CHECK_FALSE(gone->retry_after_s.has_value());

  auto garbled = http->perform(request(server.url("/status/503?retry_after=soon")));
  REQUIRE(garbled.ok());
  CHECK_FALSE(garbled->retry_after_s.has_value());
}

TEST_CASE("http_transport: fetch classifies statuses as sources need", "[http_transport]") {
  EchoServer server;
  auto http = make_curl_transport();

  auto ok = fetch(*http, request(server.url("/echo")));
  REQUIRE(ok.ok());
  CHECK(ok->status == 200);

  auto busy = fetch(*http, request(server.url("/status/503?retry_after=45")));
  REQUIRE_FALSE(busy.ok());
  CHECK(busy.error().kind == ErrorKind::temporary);
  CHECK(busy.error().retry_after_s == 45);
  CHECK(busy.error().message.find("HTTP 503") != std::string::npos);

  auto limited = fetch(*http, request(server.url("/status/429?retry_after_date=600")));
  REQUIRE_FALSE(limited.ok());
  CHECK(limited.error().kind == ErrorKind::temporary);
  REQUIRE(limited.error().retry_after_s.has_value());
  CHECK(*limited.error().retry_after_s > 590);

  auto gone = fetch(*http, request(server.url("/status/410")));
  REQUIRE_FALSE(gone.ok());
  CHECK(gone.error().kind == ErrorKind::permanent);
  CHECK_FALSE(gone.error().retry_after_s.has_value());

  auto not_modified = fetch(*http, request(server.url("/status/304")));
  REQUIRE(not_modified.ok());
  CHECK(not_modified->not_modified());

  HttpRequest big = request(server.url("/big/5000"));
  big.max_body = 4096;
  auto too_large = fetch(*http, big);
  REQUIRE_FALSE(too_large.ok());
  CHECK(too_large.error().kind == ErrorKind::bad_input);

  auto refused =
      fetch(*http, request("http://127.0.0.1:" + std::to_string(closed_port()) + "/feed"));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().kind == ErrorKind::temporary);

  HttpRequest redirects = request(server.url("/redirect"));
  redirects.max_redirects = 3;
  auto loop = fetch(*http, redirects);
  REQUIRE_FALSE(loop.ok());
  CHECK(loop.error().kind == ErrorKind::permanent);
  CHECK(loop.error().message.find("more than 3 redirects") != std::string::npos);
}

TEST_CASE("http_transport: a body over max_body is too_large, also without a length",
          "[http_transport]") {
  EchoServer server;
  auto http = make_curl_transport();
  HttpRequest req = request(server.url("/big/4096"));
  req.max_body = 4096;
  auto exact = http->perform(req);
  REQUIRE(exact.ok());
  CHECK(exact->body.size() == 4096);

  req.url = server.url("/big/4097");
  auto over = http->perform(req);
  REQUIRE_FALSE(over.ok());
  CHECK(over.failure().kind == HttpFailure::Kind::too_large);
  CHECK(over.failure().message.find("4096 bytes") != std::string::npos);

  // An endless body is cut while it arrives, not read to its end.
  req.url = server.url("/endless");
  req.max_body = 100'000;
  const auto started = std::chrono::steady_clock::now();
  auto endless = http->perform(req);
  REQUIRE_FALSE(endless.ok());
  CHECK(endless.failure().kind == HttpFailure::Kind::too_large);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));

  // The transport is usable after an aborted transfer.
  auto after = http->perform(request(server.url("/echo")));
  REQUIRE(after.ok());
  CHECK(after->status == 200);
}

TEST_CASE("http_transport: a server that never answers is a timeout within timeout_ms",
          "[http_transport]") {
  EchoServer server;
  auto http = make_curl_transport();
  HttpRequest req = request(server.url("/hang"));
  req.timeout_ms = 500;
  const auto started = std::chrono::steady_clock::now();
  auto r = http->perform(req);
  const auto took = std::chrono::steady_clock::now() - started;
  REQUIRE_FALSE(r.ok());
  CHECK(r.failure().kind == HttpFailure::Kind::timeout);
  CHECK(took >= std::chrono::milliseconds(450));
  CHECK(took < std::chrono::milliseconds(3000));
  CHECK(std::string(to_string(r.failure().kind)) == "timeout");
}

TEST_CASE("http_transport: connection refused is a connect failure", "[http_transport]") {
  auto http = make_curl_transport();
  auto r = http->perform(request("http://127.0.0.1:" + std::to_string(closed_port()) + "/x"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.failure().kind == HttpFailure::Kind::connect);
  CHECK(r.failure().message.find("127.0.0.1") != std::string::npos);
}

TEST_CASE("http_transport: max_redirects = 0 returns the 3xx as it is; more follow",
          "[http_transport]") {
  EchoServer server;
  auto http = make_curl_transport();
  HttpRequest req = request(server.url("/redirect?to=/echo/target"));
  req.max_redirects = 0;
  auto r = http->perform(req);
  REQUIRE(r.ok());
  CHECK(r->status == 302);
  CHECK(r->headers.at("location") == "/echo/target");

  req.max_redirects = 1;
  auto followed = http->perform(req);
  REQUIRE(followed.ok());
  CHECK(followed->status == 200);
  CHECK(json::parse(followed->body)["path"] == "/echo/target");
  CHECK(followed->effective_url == server.url("/echo/target"));
}

TEST_CASE("http_transport: file:// is read for GET only", "[http_transport]") {
  test::TempDir dir;
  const std::string path = dir.write("ChangeLog", "TBD Whamcloud\n");
  auto http = make_curl_transport();
  auto r = fetch(*http, request("file://" + path));
  REQUIRE(r.ok());
  CHECK(r->body == "TBD Whamcloud\n");

  HttpRequest post = request("file://" + path);
  post.method = "POST";
  auto refused = http->perform(post);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.failure().lasting);

  auto missing = fetch(*http, request("file://" + dir.file("none")));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().kind == ErrorKind::permanent);
}

TEST_CASE("redact_url keeps scheme, host, port and path only", "[http_transport]") {
  CHECK(redact_url("https://user:pw@tracker.example:8443/rest/api/2/search?jql=x&token=t#frag") ==
        "https://tracker.example:8443/rest/api/2/search");
  CHECK(redact_url("https://hooks.example/services/T0?token=SECRET") ==
        "https://hooks.example/services/T0");
  CHECK(redact_url("http://token@host?q=1") == "http://host");
  CHECK(redact_url("http://host/a@b/c") == "http://host/a@b/c");
  CHECK(redact_url("file:///var/lib/ChangeLog") == "file:///var/lib/ChangeLog");
  CHECK(redact_url("/relative/path?secret=1") == "/relative/path");
  CHECK(redact_url("") == "");
}

TEST_CASE("http_transport: failure messages never show a URL's query or credentials",
          "[http_transport]") {
  EchoServer server;
  auto http = make_curl_transport();
  auto check_clean = [](const HttpFailure& f) {
    INFO(f.message);
    CHECK(f.message.find("SECRET") == std::string::npos);
    CHECK(f.message.find("PASSWORD") == std::string::npos);
  };

  auto refused = http->perform(request(
      "http://someone:PASSWORD@127.0.0.1:" + std::to_string(closed_port()) + "/x?token=SECRET"));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.failure().kind == HttpFailure::Kind::connect);
  check_clean(refused.failure());

  HttpRequest hang = request(server.url("/hang?token=SECRET"));
  hang.timeout_ms = 300;
  hang.headers = {"Authorization: Bearer SECRET-bearer"};
  auto timeout = http->perform(hang);
  REQUIRE_FALSE(timeout.ok());
  CHECK(timeout.failure().kind == HttpFailure::Kind::timeout);
  check_clean(timeout.failure());
  CHECK(timeout.failure().message.find("/hang") != std::string::npos);

  HttpRequest big = request(server.url("/big/100?token=SECRET"));
  big.max_body = 10;
  big.userpwd = "someone:PASSWORD";
  auto too_large = http->perform(big);
  REQUIRE_FALSE(too_large.ok());
  check_clean(too_large.failure());

  auto malformed = http->perform(request("http://[::1/x?token=SECRET"));
  REQUIRE_FALSE(malformed.ok());
  check_clean(malformed.failure());

  auto status = fetch(*http, request(server.url("/status/401?token=SECRET")));
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().message.find("SECRET") == std::string::npos);
}

TEST_CASE("parse_retry_after reads seconds and HTTP dates", "[http_transport]") {
  const int64_t now = 1'700'000'000;  // Tue, 14 Nov 2023 22:13:20 GMT
  CHECK(parse_retry_after("120", now) == 120);
  CHECK(parse_retry_after(" 0 ", now) == 0);
  CHECK(parse_retry_after("Tue, 14 Nov 2023 22:15:20 GMT", now) == 120);
  CHECK(parse_retry_after("Tue, 14 Nov 2023 22:00:00 GMT", now) == 0);  // past: now
  CHECK_FALSE(parse_retry_after("", now).has_value());
  CHECK_FALSE(parse_retry_after("soon", now).has_value());
  CHECK_FALSE(parse_retry_after("-5", now).has_value());
  CHECK_FALSE(parse_retry_after("99999999999", now).has_value());
}

namespace {

// Answers every request with one small RSS feed and an ETag, and remembers the requests.
class RecordingTransport final : public HttpTransport {
 public:
  explicit RecordingTransport(std::vector<HttpRequest>& seen) : m_seen(seen) {}
  HttpResult perform(const HttpRequest& request) override {
    m_seen.push_back(request);
    HttpResponse r;
    r.status = 200;
    r.etag = "\"feed-1\"";
    r.body =
        "<rss version='2.0'><channel><title>t</title><item><title>one</title>"
        "<link>https://example.org/1</link><guid>1</guid></item></channel></rss>";
    return r;
  }

 private:
  std::vector<HttpRequest>& m_seen;
};

}  // namespace

TEST_CASE("make_source: a source makes its transport once and polls through it",
          "[http_transport]") {
  std::vector<HttpRequest> seen;
  int made = 0;
  HttpTransportFactory factory = [&]() -> std::unique_ptr<HttpTransport> {
    ++made;
    return std::make_unique<RecordingTransport>(seen);
  };
  SourceConfig sc;
  sc.name = "releases";
  sc.kind = "feed";
  sc.url = "https://example.org/feed.rss?token=t";
  sc.release_model = "generic";
  sc.timeout_ms = 1234;
  Config cfg;
  FakeClock clock(1'700'000'000);
  auto src = make_source(sc, cfg, clock, factory);
  REQUIRE(src);
  auto first = src->poll(SourceState{});
  REQUIRE(first.ok());
  CHECK(first->events.size() == 1);
  SourceState state;
  state.etag = first->etag;
  state.content_hash = first->content_hash;
  auto second = src->poll(state);
  REQUIRE(second.ok());
  CHECK(second->unchanged);
  CHECK(made == 1);
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].url == sc.url);
  CHECK(seen[0].timeout_ms == 1234);
  CHECK(seen[0].etag.empty());
  CHECK(seen[1].etag == "\"feed-1\"");
}
