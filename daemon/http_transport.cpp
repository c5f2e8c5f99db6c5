// The libcurl transport. One easy handle lives as long as the transport:
// curl_easy_reset before each request clears the options but keeps the
// handle's connection cache, so a source polling the same host, or a sink
// posting to one, reuses its kept-alive connection instead of a new TCP (and
// TLS) handshake per request. Every option is set again for each request, so
// nothing of one request leaks into the next.
//
// The body limit is enforced while receiving (the write callback aborts), so
// an endless or huge response costs at most max_body bytes.
#include "daemon/http_transport.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <ctime>

#include "daemon/util.hpp"

namespace herald {

namespace {

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

void global_init() {
  static const bool done = [] { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }();
  (void)done;
}

// Lives on the stack of perform for the whole transfer; libcurl holds its address.
struct Transfer {
  std::string body;
  int64_t max_body = 0;
  bool too_large = false;
  HttpResponse* resp = nullptr;
};

size_t on_body(char* data, size_t size, size_t n, void* user) noexcept {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  try {
    if (static_cast<int64_t>(t->body.size() + len) > t->max_body) {
      t->too_large = true;
      return 0;  // aborts the transfer with CURLE_WRITE_ERROR
    }
    t->body.append(data, len);
    return len;
  } catch (...) {
    return 0;
  }
}

size_t on_header(char* data, size_t size, size_t n, void* user) noexcept {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  try {
    std::string_view line(data, len);
    if (line.rfind("HTTP/", 0) == 0) {
      t->resp->headers.clear();  // a new response after a redirect or 100-continue
      return len;
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos) return len;
    t->resp->headers[to_lower(trim(line.substr(0, colon)))] = trim(line.substr(colon + 1));
    return len;
  } catch (...) {
    return 0;
  }
}

HttpFailure::Kind kind_of(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
      return HttpFailure::Kind::connect;
    case CURLE_OPERATION_TIMEDOUT:
      return HttpFailure::Kind::timeout;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_USE_SSL_FAILED:
      return HttpFailure::Kind::tls;
    case CURLE_FILESIZE_EXCEEDED:
      return HttpFailure::Kind::too_large;
    default:
      return HttpFailure::Kind::other;
  }
}

// Failures that the same request cannot get past by being tried again.
bool lasting(CURLcode rc) {
  return rc == CURLE_TOO_MANY_REDIRECTS || rc == CURLE_FILE_COULDNT_READ_FILE ||
         rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT;
}

void replace_all(std::string& s, std::string_view what, std::string_view with) {
  if (what.empty()) return;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + with.size()))
    s.replace(at, what.size(), with);
}

// libcurl's own text may quote the URL or a header; what a log must not show is cut out.
std::string scrub(std::string msg, const HttpRequest& req) {
  const std::string_view url = req.url;
  replace_all(msg, url, redact_url(url));
  if (auto q = url.find_first_of("?#"); q != std::string_view::npos)
    replace_all(msg, url.substr(q + 1), "[redacted]");
  if (auto scheme = url.find("://"); scheme != std::string_view::npos) {
    auto end = url.find_first_of("/?#", scheme + 3);
    auto authority = url.substr(scheme + 3, end == std::string_view::npos ? end : end - scheme - 3);
    if (auto at = authority.rfind('@'); at != std::string_view::npos)
      replace_all(msg, authority.substr(0, at), "[redacted]");
  }
  if (!req.userpwd.empty()) replace_all(msg, req.userpwd, "[redacted]");
  if (auto colon = req.userpwd.find(':');
      colon != std::string::npos && colon + 1 < req.userpwd.size())
    replace_all(msg, std::string_view(req.userpwd).substr(colon + 1), "[redacted]");
  for (const auto& h : req.headers) {
    auto colon = h.find(':');
    if (colon == std::string::npos) continue;
    std::string value = trim(std::string_view(h).substr(colon + 1));
    if (value.size() >= 6) replace_all(msg, value, "[redacted]");
  }
  return msg;
}

class CurlTransport final : public HttpTransport {
 public:
  CurlTransport() {
    global_init();
    m_curl.reset(curl_easy_init());
  }

  HttpResult perform(const HttpRequest& req) override {
    const std::string where = redact_url(req.url);
    if (!m_curl) return HttpFailure{HttpFailure::Kind::other, where + ": curl_easy_init failed"};
    const bool get = req.method == "GET";
    if (!get && req.method != "POST" && req.method != "PUT")
      return HttpFailure{HttpFailure::Kind::other,
                         where + ": unsupported method '" + one_line(req.method) + "'", true};
    CURL* c = m_curl.get();
    curl_easy_reset(c);

    HttpResponse resp;
    Transfer t;
    t.max_body = req.max_body;
    t.resp = &resp;
    char errbuf[CURL_ERROR_SIZE] = {0};

    std::unique_ptr<curl_slist, SlistDeleter> headers;
    auto add_header = [&](const std::string& h) {
      headers.reset(curl_slist_append(headers.release(), h.c_str()));
    };
    for (const auto& h : req.headers) add_header(h);
    if (!req.etag.empty()) add_header("If-None-Match: " + req.etag);
    if (!req.last_modified.empty()) add_header("If-Modified-Since: " + req.last_modified);
    // A body is sent at once: no round trip waiting for "100 Continue" (libcurl asks
    // for it above 1 MB, and servers that do not answer it stall the request a second).
    if (!get) add_header("Expect:");

    curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
    // file:// only for reading (ChangeLogs, local feeds); a redirect never leads to one.
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, get ? "http,https,file" : "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, req.max_redirects > 0 ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, req.max_redirects);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(req.connect_timeout_ms));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout_ms));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_USERAGENT, req.user_agent.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(req.max_body));
    if (!req.userpwd.empty()) curl_easy_setopt(c, CURLOPT_USERPWD, req.userpwd.c_str());
    if (!get) {
      // The body stays in req for the whole transfer: no copy.
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, req.body.data());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
      if (req.method == "PUT") curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
    }

    CURLcode rc = curl_easy_perform(c);
    // The handle outlives this call: it must not keep pointers into this frame.
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, nullptr);
    if (t.too_large || rc == CURLE_FILESIZE_EXCEEDED)
      return HttpFailure{HttpFailure::Kind::too_large, where +
                                                           ": response body exceeds the limit of " +
                                                           std::to_string(req.max_body) + " bytes"};
    if (rc != CURLE_OK) {
      std::string msg = rc == CURLE_TOO_MANY_REDIRECTS
                            ? "more than " + std::to_string(req.max_redirects) + " redirects"
                        : errbuf[0] ? std::string(errbuf)
                                    : std::string(curl_easy_strerror(rc));
      return HttpFailure{kind_of(rc), where + ": " + scrub(std::move(msg), req), lasting(rc)};
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp.status);
    char* eff = nullptr;
    curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &eff);
    if (eff) resp.effective_url = eff;
    char* ct = nullptr;
    curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
    if (ct) resp.content_type = ct;
    if (auto it = resp.headers.find("etag"); it != resp.headers.end()) resp.etag = it->second;
    if (auto it = resp.headers.find("last-modified"); it != resp.headers.end())
      resp.last_modified = it->second;
    if (auto it = resp.headers.find("retry-after"); it != resp.headers.end())
      resp.retry_after_s = parse_retry_after(it->second, std::time(nullptr));
    resp.body = std::move(t.body);
    return resp;
  }

 private:
  std::unique_ptr<CURL, CurlDeleter> m_curl;
};

}  // namespace

const char* to_string(HttpFailure::Kind kind) {
  switch (kind) {
    case HttpFailure::Kind::connect:
      return "connect";
    case HttpFailure::Kind::timeout:
      return "timeout";
    case HttpFailure::Kind::tls:
      return "tls";
    case HttpFailure::Kind::too_large:
      return "too_large";
    case HttpFailure::Kind::other:
      return "other";
  }
  return "other";
}

std::unique_ptr<HttpTransport> make_curl_transport() { return std::make_unique<CurlTransport>(); }

Expected<HttpResponse> fetch(HttpTransport& transport, const HttpRequest& request) {
  HttpResult result = transport.perform(request);
  if (!result) {
    const HttpFailure& f = result.failure();
    if (f.kind == HttpFailure::Kind::too_large) return bad_input(f.message);
    return Error{f.lasting ? ErrorKind::permanent : ErrorKind::temporary, f.message};
  }
  HttpResponse& resp = result.response();
  const bool is_file = request.url.rfind("file:", 0) == 0;
  if (is_file || (resp.status >= 200 && resp.status < 300) || resp.status == 304)
    return std::move(resp);
  std::string msg = "HTTP " + std::to_string(resp.status);
  if (resp.status == 429 || resp.status >= 500 || resp.status == 408) {
    Error e = temporary_error(msg);
    if (resp.retry_after_s) {
      e.retry_after_s = resp.retry_after_s;
      e.message += " (the server asks to wait " + std::to_string(*resp.retry_after_s) + " s)";
    }
    return e;
  }
  return permanent_error(msg);
}

std::optional<int64_t> parse_retry_after(std::string_view value, int64_t now_s) {
  std::string v = trim(value);
  if (v.empty()) return std::nullopt;
  bool digits = true;
  for (char c : v) digits = digits && std::isdigit(static_cast<unsigned char>(c));
  if (digits) {
    if (v.size() > 9) return std::nullopt;
    return std::stoll(v);
  }
  time_t when = curl_getdate(v.c_str(), nullptr);
  if (when < 0) return std::nullopt;
  return std::max<int64_t>(0, static_cast<int64_t>(when) - now_s);
}

std::string redact_url(std::string_view url) {
  std::string out;
  size_t rest = 0;
  if (auto scheme = url.find("://");
      scheme != std::string_view::npos &&
      url.substr(0, scheme).find_first_of("/?#") == std::string_view::npos) {
    auto end = url.find_first_of("/?#", scheme + 3);
    if (end == std::string_view::npos) end = url.size();
    std::string_view authority = url.substr(scheme + 3, end - scheme - 3);
    if (auto at = authority.rfind('@'); at != std::string_view::npos)
      authority.remove_prefix(at + 1);
    out.append(url.substr(0, scheme + 3)).append(authority);
    rest = end;
  }
  std::string_view tail = url.substr(rest);
  out.append(tail.substr(0, tail.find_first_of("?#")));
  return out;
}

}  // namespace herald
