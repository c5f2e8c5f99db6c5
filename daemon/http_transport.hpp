// One HTTP transport for every request herald makes: sources (GET with
// conditional headers) and sinks (POST/PUT of a JSON body). A request goes in;
// a response with status, headers, body and a typed Retry-After comes out, for
// every HTTP status. Only transport failures are errors (no connection,
// timeout, TLS, a body over the limit), each with its kind, so that nothing
// has to parse a retry time or a cause out of an error text.
//
// An implementation keeps its connections between requests (libcurl's
// connection cache): one transport per lane or source, used from one thread
// at a time. The fake for unit tests is tests/support/fake_http.hpp.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/expected.hpp"

namespace herald {

struct HttpRequest {
  std::string method = "GET";        // GET | POST | PUT
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string body;                  // sent for POST and PUT
  std::string etag;                  // sent as If-None-Match when set
  std::string last_modified;         // sent as If-Modified-Since when set
  int64_t connect_timeout_ms = 10'000;
  int64_t timeout_ms = 30'000;       // the whole request
  int64_t max_body = 10 * 1024 * 1024;  // a larger response body is a too_large failure
  long max_redirects = 5;            // 0: a 3xx is returned as it is
  std::string user_agent = "herald/" HERALD_VERSION;
  std::string userpwd;               // "user:password" for basic auth, never logged
};

struct HttpResponse {
  long status = 0;  // 0 for file://
  std::string body;
  std::string etag;
  std::string last_modified;
  std::string content_type;
  std::string effective_url;                   // after redirects
  std::map<std::string, std::string> headers;  // lower-case names, last value wins
  // Retry-After (delta seconds or an HTTP date) as seconds from when the
  // response arrived; unset when absent or unreadable.
  std::optional<int64_t> retry_after_s;
  bool not_modified() const { return status == 304; }
};

// Why a request got no HTTP answer.
struct HttpFailure {
  enum class Kind {
    connect,    // no connection (refused, DNS, unreachable)
    timeout,    // connect or whole-request timeout
    tls,        // handshake or certificate
    too_large,  // the body went past max_body
    other,      // anything else libcurl reports (the message says what)
  };
  Kind kind = Kind::other;
  std::string message;  // names the URL without its query or credentials
  // Trying the same request again cannot help: a malformed URL, a scheme not
  // allowed, a file:// that cannot be read, more redirects than allowed.
  bool lasting = false;
};

const char* to_string(HttpFailure::Kind kind);

// A response, or why there is none.
class HttpResult {
 public:
  HttpResult(HttpResponse r) : m_response(std::move(r)) {}
  HttpResult(HttpFailure f) : m_failure(std::move(f)) {}
  bool ok() const { return m_response.has_value(); }
  explicit operator bool() const { return ok(); }
  const HttpResponse& response() const { return *m_response; }
  HttpResponse& response() { return *m_response; }
  const HttpResponse* operator->() const { return &*m_response; }
  const HttpFailure& failure() const { return m_failure; }

 private:
  std::optional<HttpResponse> m_response;
  HttpFailure m_failure;
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  virtual HttpResult perform(const HttpRequest& request) = 0;
};

// libcurl, one reused easy handle (so one kept-alive connection per host).
std::unique_ptr<HttpTransport> make_curl_transport();

// Makes transports: the real one in herald, a fake in tests.
using HttpTransportFactory = std::function<std::unique_ptr<HttpTransport>()>;

// A GET as sources want it: 2xx and 304 are a response; 5xx and 429 a
// temporary error, other 4xx (and 3xx past the redirect limit) permanent,
// transport failures temporary (too_large: bad_input; lasting ones permanent).
// The error carries the server's Retry-After (Error::retry_after_s). A
// file:// URL's content is a response (status 0).
Expected<HttpResponse> fetch(HttpTransport& transport, const HttpRequest& request);

// Parses a Retry-After value (seconds or an HTTP date) relative to now_s.
std::optional<int64_t> parse_retry_after(std::string_view value, int64_t now_s);

// The URL without userinfo, query and fragment: what logs and errors may show.
std::string redact_url(std::string_view url);

}  // namespace herald
