// The HTTP server: libmicrohttpd behind a small routing table. Handlers get
// the whole request (headers and a body bounded by max_body) and answer
// through a Respond callback, either at once or later from another thread
// (the ingest writer answers after its commit); meanwhile the connection is
// suspended, so an HTTP thread never blocks on the database.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/expected.hpp"

struct MHD_Daemon;

namespace herald {

struct InboundRequest {
  std::string method;
  std::string path;  // without the query string
  // For a prefix route ("/confirm/*"): what follows the prefix ("TOKEN"); else empty.
  std::string rest;
  // The query string's arguments, decoded, in order ("?a=1&b" gives a=1, b=).
  std::vector<std::pair<std::string, std::string>> query;
  std::vector<std::pair<std::string, std::string>> headers;  // names lowercased, in order
  std::string body;
  std::string peer;  // client address, for logs

  // The first header of that name (case-insensitive), or nullptr.
  const std::string* header(std::string_view name) const;
  // The first query argument of that name, or nullptr.
  const std::string* query_arg(std::string_view name) const;
};

struct InboundResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // Runs on an HTTP thread once the answer is queued: logging and counting that
  // should not hold up whoever answered (the ingest writer).
  std::function<void()> then;

  static InboundResponse text(int status, std::string body);
  static InboundResponse json(int status, const nlohmann::json& body);
};

// Answers a request. The first call counts; call it from any thread.
using Respond = std::function<void(InboundResponse)>;
using HttpHandler = std::function<void(const InboundRequest&, Respond)>;

struct HttpServerOptions {
  std::string listen = "127.0.0.1:8080";  // see parse_listen()
  int threads = 2;
  int64_t max_body = 1024 * 1024;         // larger bodies get 413
  size_t max_header_bytes = 32 * 1024;    // request line and headers, about; beyond: 431
  unsigned timeout_s = 30;                // idle connections are closed after this
  unsigned max_connections = 1000;        // beyond: new connections are closed at once
  unsigned max_connections_per_ip = 64;   // from one client address; 0 = no limit
  // A request whose headers and body have not all arrived this long after its
  // first byte (or the connection's opening) is cut off: a slow sender is
  // never idle, so the idle timeout alone does not end it. 0 = no limit.
  std::chrono::milliseconds read_timeout = std::chrono::seconds(10);
};

// A listen address: "8080" and ":8080" mean 127.0.0.1:8080; "host:port" with an
// IPv4 literal or "localhost"; "[v6]:port". 0.0.0.0 only when written. Port 0 = any free.
struct ListenAddress {
  std::string host;  // numeric
  uint16_t port = 0;
  bool ipv6 = false;
};
Expected<ListenAddress> parse_listen(std::string_view text);

class HttpServer {
 public:
  explicit HttpServer(HttpServerOptions options);
  // Stops the server (see stop()).
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Adds a route; call before start(). A path ending in "/*" is a prefix
  // route: it takes every path under the prefix with at least one more
  // character and no further "/" (an exact route wins over it), and the
  // handler finds that part in
  // InboundRequest::rest. Another method on a known path gets 405, an
  // unknown path 404.
  void route(const std::string& method, const std::string& path, HttpHandler handler);
  // Called (on an HTTP thread) for a request the server answers without a
  // handler: 413, 404, 405, 503, with the status. Set before start().
  void on_rejected(std::function<void(const InboundRequest&, int status)> hook) {
    m_on_rejected = std::move(hook);
  }
  // Binds and starts the threads. Errors: bad listen address, bind failure.
  Status start();
  // Connections closed because a request took longer than read_timeout to arrive.
  int64_t slow_closed() const { return m_slow_closed; }
  // The bound port (useful with port 0); 0 before start().
  uint16_t port() const { return m_port; }
  // "127.0.0.1:8080" once started.
  std::string address() const;
  // Refuses new requests with 503, waits up to `grace` for the answers still
  // owed (then answers them 503 itself), and closes every connection. Idempotent.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(30));

  // Per-request and per-connection state and the C trampolines, defined in the .cpp.
  struct Request;
  struct Connection;
  struct Gate;
  struct Impl;

 private:
  struct MhdDeleter {
    void operator()(MHD_Daemon* d) const;
  };

  // The methods of the route that takes path (rest: the prefix route's part), or nullptr.
  const std::map<std::string, HttpHandler>* find_route(const std::string& path,
                                                       std::string& rest) const;

  HttpServerOptions m_options;
  ListenAddress m_address;
  std::map<std::string, std::map<std::string, HttpHandler>> m_routes;  // path -> method -> handler
  std::map<std::string, std::map<std::string, HttpHandler>> m_prefix_routes;  // "/confirm/" -> ...
  std::function<void(const InboundRequest&, int)> m_on_rejected;
  std::shared_ptr<Gate> m_gate;  // closed before the daemon goes, so late answers do nothing
  std::unique_ptr<MHD_Daemon, MhdDeleter> m_daemon;
  uint16_t m_port = 0;
  std::atomic<bool> m_stopping{false};
  std::atomic<int64_t> m_pending{0};  // requests handed to a handler and not yet answered
  std::mutex m_suspended_mutex;
  std::set<std::shared_ptr<Request>> m_suspended;  // waiting for their answer
  // Open connections, for the read-timeout sweep (their owner is MHD's socket context).
  std::mutex m_connections_mutex;
  std::set<Connection*> m_connections;
  std::atomic<int64_t> m_slow_closed{0};
  std::mutex m_sweep_mutex;
  std::condition_variable m_sweep_wake;
  bool m_sweep_stop = false;
  std::thread m_sweeper;  // closes connections whose request is over read_timeout
  std::mutex m_log_mutex;
  std::string m_start_error;  // what MHD said while starting
  bool m_starting = false;
};

}  // namespace herald
