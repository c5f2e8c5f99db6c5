// libmicrohttpd wrapper. MHD calls the access handler first with the headers,
// then once per body chunk, then once with no data. The first call resolves
// the route and may answer at once (413 from Content-Length, 404, 405, 503:
// the body is then not read). Chunks are appended up to max_body; past it the
// rest is discarded and the answer is 413. On the last call the handler runs.
// If it has not answered when it returns, the connection is suspended (under
// the request's mutex, so that an answer from another thread cannot resume it
// before it is suspended); the answer stores the response and resumes it, and
// MHD calls the access handler again, which queues the response.
//
// MHD_stop_daemon aborts on a suspended connection, so stop() first refuses
// new requests, waits for the answers owed, answers the stragglers 503 itself,
// and closes a gate that turns any later answer into a no-op.
//
// Slow senders: MHD's timeout is an idle timeout, and a client that sends a
// byte a second is never idle. So each connection has a reading clock: it
// starts when the connection opens, stops when a request has arrived whole
// (or is answered early), and starts again when bytes of the next request
// arrive on a kept-alive connection (seen by a sweep thread as the socket's
// received-byte count growing past what it was once the connection went idle).
// The sweep shuts down (shutdown(2), so that MHD notices and cleans up on its
// own thread) every connection whose clock is past read_timeout. It holds the
// registry's mutex while doing so, and MHD's close notification takes the same
// mutex before MHD closes the descriptor, so the sweep never touches a reused
// one. Connection counts are MHD's: a total and a per-address limit.
#include "daemon/http_server.hpp"

#include <arpa/inet.h>
#include <linux/tcp.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdarg>
#include <cstddef>
#include <cstdio>
#include <optional>
#include <shared_mutex>
#include <thread>

#include "daemon/util.hpp"

namespace herald {

const std::string* InboundRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return &v;
  return nullptr;
}

const std::string* InboundRequest::query_arg(std::string_view name) const {
  for (const auto& [k, v] : query)
    if (k == name) return &v;
  return nullptr;
}

InboundResponse InboundResponse::text(int status, std::string body) {
  InboundResponse r;
  r.status = status;
  r.body = std::move(body);
  if (!r.body.empty() && r.body.back() != '\n') r.body += '\n';
  return r;
}

InboundResponse InboundResponse::json(int status, const nlohmann::json& body) {
  InboundResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  return r;
}

Expected<ListenAddress> parse_listen(std::string_view text) {
  std::string s = trim(text);
  ListenAddress a;
  std::string host, port;
  if (!s.empty() && s[0] == '[') {
    auto close = s.find(']');
    if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':')
      return bad_input("listen '" + s + "': expected [IPv6]:port");
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
    a.ipv6 = true;
  } else if (auto colon = s.rfind(':'); colon != std::string::npos) {
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  } else {
    port = s;
  }
  if (host.empty() || iequals(host, "localhost")) host = a.ipv6 ? "::1" : "127.0.0.1";
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(port) > 65535)
    return bad_input("listen '" + s + "': the port must be a number from 0 to 65535");
  unsigned char buf[sizeof(in6_addr)];
  if (inet_pton(a.ipv6 ? AF_INET6 : AF_INET, host.c_str(), buf) != 1)
    return bad_input("listen '" + s + "': '" + host +
                     "' is not a numeric address (write 127.0.0.1, 0.0.0.0, [::1] or localhost)");
  a.host = host;
  a.port = static_cast<uint16_t>(std::stoul(port));
  return a;
}

// Closed (under the exclusive lock) before MHD goes away; answers take the shared lock.
struct HttpServer::Gate {
  std::shared_mutex mutex;
  bool open = true;
};

// One per open connection (MHD's socket context), from MHD's open notification
// to its close notification.
struct HttpServer::Connection {
  static constexpr int64_t k_busy = -1;  // a whole request arrived; its answer is under way
  static constexpr int64_t k_idle = -2;  // kept alive, waiting for the next request
  int fd = -1;
  // Steady-clock milliseconds since a request began to arrive, or k_busy, k_idle.
  std::atomic<int64_t> state{k_busy};
  std::atomic<uint64_t> requests{0};  // completed; tells the sweep that an idle spell is new
  // The sweep's own: the received-byte count when it first saw this idle spell.
  uint64_t idle_bytes = 0;
  uint64_t idle_requests = 0;
  bool idle_marked = false;
};

struct HttpServer::Request {
  std::mutex mutex;
  MHD_Connection* connection = nullptr;
  HttpServer::Connection* conn = nullptr;  // its connection's state; may be null
  InboundRequest request;
  const HttpHandler* handler = nullptr;
  std::optional<InboundResponse> early;  // decided from the headers; the body is ignored
  bool answered = false;              // queued without a handler
  int64_t discarded = 0;              // body bytes beyond max_body
  bool dispatched = false;            // the handler was called
  bool suspended = false;
  std::atomic<bool> owed{false};      // counted in m_pending
  std::optional<InboundResponse> response;
};

namespace {

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Bytes the kernel has received on a TCP socket; nullopt when it cannot say.
std::optional<uint64_t> bytes_received(int fd) {
  tcp_info info{};
  socklen_t len = sizeof info;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0 ||
      len < offsetof(tcp_info, tcpi_bytes_received) + sizeof info.tcpi_bytes_received)
    return std::nullopt;
  return info.tcpi_bytes_received;
}

// The reading clock has stopped: the request is whole or being answered.
void mark_busy(HttpServer::Connection* conn) {
  if (conn) conn->state = HttpServer::Connection::k_busy;
}

struct ResponseDeleter {
  void operator()(MHD_Response* r) const { MHD_destroy_response(r); }
};

MHD_Result queue(MHD_Connection* c, const InboundResponse& r) {
  std::unique_ptr<MHD_Response, ResponseDeleter> resp(MHD_create_response_from_buffer(
      r.body.size(), const_cast<char*>(r.body.data()), MHD_RESPMEM_MUST_COPY));
  if (!resp) return MHD_NO;
  MHD_add_response_header(resp.get(), MHD_HTTP_HEADER_CONTENT_TYPE, r.content_type.c_str());
  for (const auto& [k, v] : r.headers) MHD_add_response_header(resp.get(), k.c_str(), v.c_str());
  MHD_Result queued = MHD_queue_response(c, static_cast<unsigned int>(r.status), resp.get());
  if (r.then) {
    try {
      r.then();
    } catch (const std::exception& e) {
      spdlog::error("http: after answering: {}", e.what());
    }
  }
  return queued;
}

MHD_Result collect_header(void* cls, MHD_ValueKind, const char* key, const char* value) {
  auto* req = static_cast<InboundRequest*>(cls);
  req->headers.emplace_back(to_lower(key ? key : ""), value ? value : "");
  return MHD_YES;
}

// MHD hands query arguments already decoded; a bare "?b" has no value.
MHD_Result collect_query(void* cls, MHD_ValueKind, const char* key, const char* value) {
  auto* req = static_cast<InboundRequest*>(cls);
  if (req->query.size() < 64) req->query.emplace_back(key ? key : "", value ? value : "");
  return MHD_YES;
}

// A Content-Length value; nullopt when it is not a plain decimal number.
std::optional<int64_t> parse_length(std::string_view s) {
  if (s.empty() || s.size() > 18 || s.find_first_not_of("0123456789") != std::string_view::npos)
    return std::nullopt;
  return std::stoll(std::string(s));
}

std::string peer_of(MHD_Connection* c) {
  const auto* info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (!info || !info->client_addr) return "";
  char buf[INET6_ADDRSTRLEN] = {};
  const sockaddr* sa = info->client_addr;
  if (sa->sa_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, buf, sizeof buf);
  else if (sa->sa_family == AF_INET6)
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, buf, sizeof buf);
  return buf;
}

// Stores the answer and resumes the connection if it waits for it; a no-op
// once the server has stopped or the request was answered.
void complete(HttpServer::Gate& gate, HttpServer::Request& req, InboundResponse response) {
  std::shared_lock gate_lock(gate.mutex);
  if (!gate.open) return;
  bool resume = false;
  {
    std::lock_guard lock(req.mutex);
    if (req.response) return;
    req.response = std::move(response);
    resume = req.suspended;
  }
  // A suspended connection stays alive until resumed, and the gate keeps the daemon.
  if (resume) MHD_resume_connection(req.connection);
}

}  // namespace

struct HttpServer::Impl {
  static MHD_Result access(void* cls, MHD_Connection* c, const char* url, const char* method,
                           const char*, const char* data, size_t* size, void** con_cls) noexcept {
    auto& self = *static_cast<HttpServer*>(cls);
    try {
      if (!*con_cls) return first_call(self, c, url, method, con_cls);
      auto& req = **static_cast<std::shared_ptr<Request>*>(*con_cls);
      if (*size) return body_chunk(self, req, data, size);
      return last_call(self, req, *static_cast<std::shared_ptr<Request>*>(*con_cls));
    } catch (const std::exception& e) {
      spdlog::error("http: {} {}: {}", method ? method : "?", url ? url : "?", e.what());
      return MHD_NO;
    }
  }

  static MHD_Result first_call(HttpServer& self, MHD_Connection* c, const char* url,
                               const char* method, void** con_cls) {
    auto req = std::make_shared<Request>();
    req->connection = c;
    if (const auto* info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT))
      req->conn = static_cast<Connection*>(info->socket_context);
    if (req->conn) {
      // Headers of a request on a kept-alive connection that the sweep has not seen begin.
      int64_t idle = Connection::k_idle;
      req->conn->state.compare_exchange_strong(idle, steady_ms());
    }
    req->request.method = method ? method : "";
    req->request.path = url ? url : "";
    req->request.peer = peer_of(c);
    MHD_get_connection_values(c, MHD_HEADER_KIND, &collect_header, &req->request);
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, &collect_query, &req->request);
    const auto max_body = self.m_options.max_body;
    if (self.m_stopping) {
      req->early = InboundResponse::text(503, "shutting down");
      req->early->headers.emplace_back("Connection", "close");
    } else if (auto* methods = self.find_route(req->request.path, req->request.rest); !methods) {
      req->early = InboundResponse::text(404, "not found");
    } else if (auto h = methods->find(req->request.method); h == methods->end()) {
      std::string allow;
      for (const auto& [m, _] : *methods) allow += (allow.empty() ? "" : ", ") + m;
      req->early = InboundResponse::text(405, "method not allowed");
      req->early->headers.emplace_back("Allow", allow);
    } else {
      req->handler = &h->second;
    }
    std::optional<InboundResponse> now;
    if (const auto* len = req->request.header("content-length")) {
      auto n = parse_length(*len);
      if (!n)
        now = InboundResponse::text(400, "bad Content-Length");
      else if (*n > max_body)
        now = too_large(self);
      else
        req->request.body.reserve(static_cast<size_t>(*n));
    }
    auto* holder = new std::shared_ptr<Request>(std::move(req));
    *con_cls = holder;
    if (!now) return MHD_YES;
    // Answered before the body is read; MHD closes the connection afterwards.
    (*holder)->answered = true;
    mark_busy((*holder)->conn);
    return reject(self, **holder, *now);
  }

  static InboundResponse too_large(const HttpServer& self) {
    return InboundResponse::text(413, "request body over " + std::to_string(self.m_options.max_body) +
                                       " bytes");
  }

  static MHD_Result reject(HttpServer& self, Request& req, const InboundResponse& r) {
    spdlog::debug("http: {} {} from {}: {}", req.request.method, req.request.path,
                  req.request.peer, r.status);
    if (self.m_on_rejected) self.m_on_rejected(req.request, r.status);
    return queue(req.connection, r);
  }

  static MHD_Result body_chunk(HttpServer& self, Request& req, const char* data, size_t* size) {
    const auto max_body = static_cast<size_t>(self.m_options.max_body);
    if (req.answered) {
      *size = 0;
      return MHD_YES;
    }
    if (req.early || req.discarded) {
      req.discarded += static_cast<int64_t>(*size);
    } else if (req.request.body.size() + *size > max_body) {
      req.discarded = static_cast<int64_t>(req.request.body.size() + *size);
      req.request.body.clear();
      req.request.body.shrink_to_fit();
    } else {
      req.request.body.append(data, *size);
    }
    *size = 0;
    // A sender that goes on long past the limit is cut off.
    return req.discarded > 4 * self.m_options.max_body + 65536 ? MHD_NO : MHD_YES;
  }

  static MHD_Result last_call(HttpServer& self, Request& req,
                              const std::shared_ptr<Request>& shared) {
    if (req.answered) return MHD_YES;
    mark_busy(req.conn);
    req.answered = req.early || req.discarded;
    if (req.early) return reject(self, req, *req.early);
    if (req.discarded) return reject(self, req, too_large(self));
    {
      std::unique_lock lock(req.mutex);
      if (req.dispatched) {
        if (!req.response) return MHD_YES;  // not answered yet
        req.suspended = false;
        lock.unlock();
        settle(self, shared);
        return queue(req.connection, *req.response);
      }
      req.dispatched = true;
    }
    req.owed = true;
    ++self.m_pending;
    auto gate = self.m_gate;
    Respond respond = [gate, shared](InboundResponse r) { complete(*gate, *shared, std::move(r)); };
    try {
      (*req.handler)(req.request, respond);
    } catch (const std::exception& e) {
      spdlog::error("http: {} {}: handler failed: {}", req.request.method, req.request.path,
                    e.what());
      respond(InboundResponse::text(500, "internal error"));
    }
    std::unique_lock lock(req.mutex);
    if (req.response) {
      lock.unlock();
      settle(self, shared);
      return queue(req.connection, *req.response);
    }
    req.suspended = true;
    MHD_suspend_connection(req.connection);
    lock.unlock();
    std::lock_guard s(self.m_suspended_mutex);
    // Not yet resumed-and-answered (that path erases after taking this mutex too).
    self.m_suspended.insert(shared);
    return MHD_YES;
  }

  // The request no longer owes an answer: answered, or its connection went away.
  static void settle(HttpServer& self, const std::shared_ptr<Request>& req) {
    if (!req->owed.exchange(false)) return;
    {
      std::lock_guard s(self.m_suspended_mutex);
      self.m_suspended.erase(req);
    }
    --self.m_pending;
  }

  static void completed(void* cls, MHD_Connection*, void** con_cls,
                        MHD_RequestTerminationCode) noexcept {
    auto* holder = static_cast<std::shared_ptr<Request>*>(*con_cls);
    if (!holder) return;
    if (auto* conn = (*holder)->conn) {
      ++conn->requests;
      conn->state = Connection::k_idle;
    }
    try {
      settle(*static_cast<HttpServer*>(cls), *holder);
    } catch (...) {
    }
    delete holder;
    *con_cls = nullptr;
  }

  static void connection(void* cls, MHD_Connection* c, void** socket_context,
                         MHD_ConnectionNotificationCode code) noexcept {
    auto& self = *static_cast<HttpServer*>(cls);
    try {
      if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const auto* info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!info) return;
        auto conn = std::make_unique<Connection>();
        conn->fd = info->connect_fd;
        conn->state = steady_ms();
        std::lock_guard lock(self.m_connections_mutex);
        self.m_connections.insert(conn.get());
        *socket_context = conn.release();
      } else if (code == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context) {
        auto* conn = static_cast<Connection*>(*socket_context);
        {
          // After this the sweep no longer sees the descriptor that MHD is about to close.
          std::lock_guard lock(self.m_connections_mutex);
          self.m_connections.erase(conn);
        }
        delete conn;
        *socket_context = nullptr;
      }
    } catch (const std::exception& e) {
      spdlog::error("http: connection bookkeeping: {}", e.what());
    }
  }

  // One pass of the read-timeout sweep; returns how many connections it cut off.
  static int sweep(HttpServer& self, int64_t now) {
    const int64_t limit = self.m_options.read_timeout.count();
    int cut = 0;
    std::lock_guard lock(self.m_connections_mutex);
    for (Connection* conn : self.m_connections) {
      int64_t state = conn->state;
      if (state == Connection::k_idle) {
        const uint64_t done = conn->requests;
        auto bytes = bytes_received(conn->fd);
        if (!bytes) continue;
        if (!conn->idle_marked || conn->idle_requests != done) {
          conn->idle_marked = true;
          conn->idle_requests = done;
          conn->idle_bytes = *bytes;
        } else if (*bytes > conn->idle_bytes) {
          conn->state.compare_exchange_strong(state, now);  // the next request has begun
        }
        continue;
      }
      conn->idle_marked = false;
      if (state >= 0 && now - state > limit &&
          conn->state.compare_exchange_strong(state, Connection::k_busy)) {
        shutdown(conn->fd, SHUT_RDWR);
        ++cut;
      }
    }
    return cut;
  }

  static void sweeper(HttpServer& self) {
    const auto limit = self.m_options.read_timeout;
    const auto period =
        std::clamp(limit / 10, std::chrono::milliseconds(100), std::chrono::milliseconds(1000));
    std::unique_lock lock(self.m_sweep_mutex);
    while (!self.m_sweep_wake.wait_for(lock, period, [&] { return self.m_sweep_stop; })) {
      lock.unlock();
      if (int cut = sweep(self, steady_ms()); cut > 0) {
        self.m_slow_closed += cut;
        spdlog::info("http: closed {} connections whose request took longer than {} ms to arrive",
                     cut, limit.count());
      }
      lock.lock();
    }
  }

  static void log(void* cls, const char* fmt, va_list ap) noexcept {
    char buf[512];
    std::vsnprintf(buf, sizeof buf, fmt, ap);
    std::string msg = trim(buf);
    auto& self = *static_cast<HttpServer*>(cls);
    {
      std::lock_guard lock(self.m_log_mutex);
      if (self.m_starting) {
        self.m_start_error += (self.m_start_error.empty() ? "" : "; ") + msg;
        return;
      }
    }
    spdlog::debug("http: libmicrohttpd: {}", msg);
  }
};

namespace {
// max_connections sockets need as many descriptors, plus the database's and the
// rest; the usual soft limit of 1024 would cap connections below the setting.
void raise_descriptor_limit(unsigned connections) {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  const rlim_t want = static_cast<rlim_t>(connections) + 256;
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? want : std::min(want, rl.rlim_max);
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want)
      spdlog::warn("http: only {} file descriptors allowed, fewer than max_connections needs",
                   rl.rlim_cur);
  }
}
}  // namespace

void HttpServer::MhdDeleter::operator()(MHD_Daemon* d) const { MHD_stop_daemon(d); }

HttpServer::HttpServer(HttpServerOptions options)
    : m_options(std::move(options)), m_gate(std::make_shared<Gate>()) {}

HttpServer::~HttpServer() { stop(std::chrono::seconds(10)); }

void HttpServer::route(const std::string& method, const std::string& path, HttpHandler handler) {
  if (path.size() >= 2 && path.ends_with("/*"))
    m_prefix_routes[path.substr(0, path.size() - 1)][method] = std::move(handler);
  else
    m_routes[path][method] = std::move(handler);
}

const std::map<std::string, HttpHandler>* HttpServer::find_route(const std::string& path,
                                                                std::string& rest) const {
  if (auto it = m_routes.find(path); it != m_routes.end()) return &it->second;
  // A prefix route takes one segment and no further "/": only the prefix that
  // ends at the path's last "/" can take it.
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash + 1 == path.size()) return nullptr;
  auto it = m_prefix_routes.find(path.substr(0, slash + 1));
  if (it == m_prefix_routes.end()) return nullptr;
  rest = path.substr(slash + 1);
  return &it->second;
}

std::string HttpServer::address() const {
  return (m_address.ipv6 ? "[" + m_address.host + "]" : m_address.host) + ":" +
         std::to_string(m_port);
}

Status HttpServer::start() {
  auto addr = parse_listen(m_options.listen);
  if (!addr) return addr.error();
  raise_descriptor_limit(m_options.max_connections);
  m_address = *addr;
  sockaddr_storage ss{};
  if (addr->ipv6) {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(addr->port);
    inet_pton(AF_INET6, addr->host.c_str(), &s6->sin6_addr);
  } else {
    auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
    s4->sin_family = AF_INET;
    s4->sin_port = htons(addr->port);
    inet_pton(AF_INET, addr->host.c_str(), &s4->sin_addr);
  }
  unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                       MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
  if (addr->ipv6) flags |= MHD_USE_IPv6;
  {
    std::lock_guard lock(m_log_mutex);
    m_starting = true;
    m_start_error.clear();
  }
  MHD_Daemon* d = MHD_start_daemon(
      flags, addr->port, nullptr, nullptr, &Impl::access, this,
      MHD_OPTION_SOCK_ADDR, reinterpret_cast<sockaddr*>(&ss),
      MHD_OPTION_THREAD_POOL_SIZE, static_cast<unsigned int>(std::max(1, m_options.threads)),
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, static_cast<size_t>(m_options.max_header_bytes + 16384),
      MHD_OPTION_CONNECTION_TIMEOUT, static_cast<unsigned int>(m_options.timeout_s),
      MHD_OPTION_CONNECTION_LIMIT, static_cast<unsigned int>(m_options.max_connections),
      MHD_OPTION_PER_IP_CONNECTION_LIMIT,
      static_cast<unsigned int>(m_options.max_connections_per_ip),
      MHD_OPTION_NOTIFY_COMPLETED, &Impl::completed, this,
      MHD_OPTION_NOTIFY_CONNECTION, &Impl::connection, this,
      MHD_OPTION_EXTERNAL_LOGGER, &Impl::log, this,
      MHD_OPTION_END);
  std::string why;
  {
    std::lock_guard lock(m_log_mutex);
    m_starting = false;
    why = m_start_error;
  }
  if (!d)
    return permanent_error("cannot listen on " + m_options.listen +
                           (why.empty() ? std::string() : ": " + why));
  m_daemon.reset(d);
  const auto* info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
  m_port = info ? info->port : addr->port;
  if (m_options.read_timeout.count() > 0) m_sweeper = std::thread([this] { Impl::sweeper(*this); });
  return ok_status();
}

void HttpServer::stop(std::chrono::milliseconds grace) {
  if (!m_daemon) return;
  m_stopping = true;
  auto wait_for_answers = [&](std::chrono::milliseconds limit) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (m_pending > 0 && std::chrono::steady_clock::now() < end)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  };
  const bool owed = m_pending > 0;
  wait_for_answers(grace);
  for (int round = 0; m_pending > 0 && round < 10; ++round) {
    std::vector<std::shared_ptr<Request>> left;
    {
      std::lock_guard lock(m_suspended_mutex);
      left.assign(m_suspended.begin(), m_suspended.end());
    }
    spdlog::warn("http: {} requests still waiting at shutdown; answering them 503", left.size());
    for (const auto& r : left) complete(*m_gate, *r, InboundResponse::text(503, "shutting down"));
    wait_for_answers(std::chrono::seconds(1));
  }
  if (m_pending > 0) spdlog::error("http: {} requests never answered", m_pending.load());
  // The last answers are queued; give the polling threads a moment to write them.
  if (owed) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  {
    std::lock_guard lock(m_sweep_mutex);
    m_sweep_stop = true;
  }
  m_sweep_wake.notify_all();
  if (m_sweeper.joinable()) m_sweeper.join();
  {
    std::unique_lock lock(m_gate->mutex);
    m_gate->open = false;
  }
  m_daemon.reset();
}

}  // namespace herald
