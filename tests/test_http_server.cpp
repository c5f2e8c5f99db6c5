#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <vector>
#include <thread>

#include "daemon/http_server.hpp"
#include "tests/support/curl_client.hpp"

using namespace herald;
using herald::test::curl_request;

namespace {
std::string url(const HttpServer& s, const std::string& path) {
  return "http://127.0.0.1:" + std::to_string(s.port()) + path;
}

HttpServerOptions local(int64_t max_body = 1024) {
  HttpServerOptions o;
  o.listen = "127.0.0.1:0";
  o.max_body = max_body;
  return o;
}
}  // namespace

TEST_CASE("http_server: a listen address without a host is loopback, never all interfaces",
          "[http_server]") {
  for (const char* text : {"8080", ":8080", "localhost:8080", " 127.0.0.1:8080 "}) {
    INFO(text);
    auto a = parse_listen(text);
    REQUIRE(a.ok());
    CHECK(a->host == "127.0.0.1");
    CHECK(a->port == 8080);
    CHECK_FALSE(a->ipv6);
  }
  auto any = parse_listen("0.0.0.0:9000");
  REQUIRE(any.ok());
  CHECK(any->host == "0.0.0.0");
  auto v6 = parse_listen("[::1]:9000");
  REQUIRE(v6.ok());
  CHECK(v6->ipv6);
  CHECK(v6->host == "::1");
  for (const char* bad : {"", "host.example:80", "127.0.0.1:99999", "127.0.0.1:http", "[::1]"}) {
    INFO(bad);
    auto r = parse_listen(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().kind == ErrorKind::bad_input);
  }
}

TEST_CASE("http_server: routes get method, path, headers and body; others get 404 and 405",
          "[http_server][threads]") {
  HttpServer server(local());
  InboundRequest seen;
  server.route("POST", "/echo", [&](const InboundRequest& r, Respond respond) {
    seen = r;
    InboundResponse resp = InboundResponse::json(201, {{"got", r.body}});
    resp.headers.emplace_back("X-Test", "yes");
    respond(std::move(resp));
  });
  REQUIRE(server.start().ok());
  REQUIRE(server.port() != 0);
  CHECK(server.address() == "127.0.0.1:" + std::to_string(server.port()));

  auto r = curl_request("POST", url(server, "/echo?x=1"), "hello", {"X-Custom: Value 1"});
  CHECK(r.status == 201);
  CHECK(r.body == "{\"got\":\"hello\"}\n");
  CHECK(r.headers.find("X-Test: yes") != std::string::npos);
  CHECK(seen.method == "POST");
  CHECK(seen.path == "/echo");
  CHECK(seen.peer == "127.0.0.1");
  REQUIRE(seen.header("x-custom"));
  CHECK(*seen.header("X-CUSTOM") == "Value 1");

  CHECK(curl_request("GET", url(server, "/nothing")).status == 404);
  auto wrong = curl_request("GET", url(server, "/echo"));
  CHECK(wrong.status == 405);
  CHECK(wrong.headers.find("Allow: POST") != std::string::npos);
}

TEST_CASE("http_server: a prefix route takes one more path segment and its query arguments",
          "[http_server][threads]") {
  HttpServer server(local());
  std::mutex m;
  std::vector<std::string> seen;
  server.route("GET", "/confirm/*", [&](const InboundRequest& r, Respond respond) {
    const std::string* lang = r.query_arg("lang");
    {
      std::lock_guard lock(m);
      seen.push_back("prefix:" + r.rest + ":" + (lang ? *lang : "-"));
    }
    respond(InboundResponse::text(200, "ok"));
  });
  server.route("GET", "/confirm/all", [&](const InboundRequest&, Respond respond) {
    {
      std::lock_guard lock(m);
      seen.push_back("exact");
    }
    respond(InboundResponse::text(200, "ok"));
  });
  server.route("POST", "/confirm/*", [&](const InboundRequest&, Respond respond) {
    respond(InboundResponse::text(204, ""));
  });
  REQUIRE(server.start().ok());

  CHECK(curl_request("GET", url(server, "/confirm/Tok-3n?lang=fr%20ca&x")).status == 200);
  CHECK(curl_request("GET", url(server, "/confirm/all")).status == 200);
  CHECK(curl_request("POST", url(server, "/confirm/abc"), "x").status == 204);
  // Nothing after the prefix, or a further segment: no route.
  CHECK(curl_request("GET", url(server, "/confirm/")).status == 404);
  CHECK(curl_request("GET", url(server, "/confirm/a/b")).status == 404);
  CHECK(curl_request("GET", url(server, "/confirm")).status == 404);
  auto wrong = curl_request("DELETE", url(server, "/confirm/abc"));
  CHECK(wrong.status == 405);
  CHECK(wrong.headers.find("Allow: GET, POST") != std::string::npos);

  std::lock_guard lock(m);
  CHECK(seen == std::vector<std::string>{"prefix:Tok-3n:fr ca", "exact"});
}

TEST_CASE(
    "http_server: a body over the limit is 413, announced or chunked, and the server "
    "goes on",
    "[http_server][threads]") {
  HttpServer server(local(1000));
  std::atomic<int> handled{0};
  server.route("POST", "/in", [&](const InboundRequest& r, Respond respond) {
    ++handled;
    respond(InboundResponse::text(200, std::to_string(r.body.size())));
  });
  std::atomic<int> rejected{0};
  server.on_rejected([&](const InboundRequest&, int status) {
    if (status == 413) ++rejected;
  });
  REQUIRE(server.start().ok());

  CHECK(curl_request("POST", url(server, "/in"), std::string(1000, 'a')).body == "1000\n");
  auto big = curl_request("POST", url(server, "/in"), std::string(1001, 'a'));
  CHECK(big.status == 413);
  auto huge = curl_request("POST", url(server, "/in"), std::string(3 << 20, 'a'));
  CHECK(huge.status == 413);
  auto chunked = curl_request("POST", url(server, "/in"), std::string(2500, 'b'), {}, true);
  CHECK(chunked.status == 413);
  auto small_chunked = curl_request("POST", url(server, "/in"), std::string(700, 'b'), {}, true);
  CHECK(small_chunked.status == 200);
  CHECK(small_chunked.body == "700\n");
  CHECK(handled == 2);
  CHECK(rejected == 3);
}

TEST_CASE("http_server: an answer given later from another thread reaches the client",
          "[http_server][threads]") {
  HttpServer server(local());
  std::vector<std::thread> workers;
  std::mutex mutex;
  server.route("POST", "/later", [&](const InboundRequest& r, Respond respond) {
    std::lock_guard lock(mutex);
    workers.emplace_back([respond, body = r.body] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      respond(InboundResponse::text(202, "done " + body));
      respond(InboundResponse::text(500, "a second answer is ignored"));
    });
  });
  REQUIRE(server.start().ok());
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i)
    clients.emplace_back([&, i] {
      auto r = curl_request("POST", url(server, "/later"), std::to_string(i));
      if (r.status == 202 && r.body == "done " + std::to_string(i) + "\n") ++ok;
    });
  for (auto& t : clients) t.join();
  CHECK(ok == 8);
  for (auto& t : workers) t.join();
}

TEST_CASE("http_server: stop answers a request still waiting with 503 and refuses new ones",
          "[http_server][threads]") {
  auto server = std::make_unique<HttpServer>(local());
  std::atomic<bool> waiting{false};
  Respond kept;
  server->route("POST", "/never", [&](const InboundRequest&, Respond respond) {
    kept = respond;  // never answered by the handler
    waiting = true;
  });
  REQUIRE(server->start().ok());
  const std::string u = url(*server, "/never");
  test::CurlReply reply;
  std::thread client([&] { reply = curl_request("POST", u, "x"); });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!waiting && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(waiting);  // if not, stop() below still ends the client
  server->stop(std::chrono::milliseconds(100));
  client.join();
  CHECK(reply.status == 503);
  kept(InboundResponse::text(200, "too late"));  // after stop: a no-op, not a crash
  server.reset();
  CHECK(curl_request("POST", u, "x").status == 0);  // nobody listens any more
}

TEST_CASE("http_server: a port already in use is a clear error", "[http_server][threads]") {
  HttpServer first(local());
  REQUIRE(first.start().ok());
  HttpServerOptions o = local();
  o.listen = "127.0.0.1:" + std::to_string(first.port());
  HttpServer second(o);
  auto s = second.start();
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message.find("cannot listen on 127.0.0.1:" + std::to_string(first.port())) !=
        std::string::npos);
}
