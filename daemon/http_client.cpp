// libcurl GET with conditional headers, timeouts, a body limit and bounded
// redirects. The body limit is enforced while receiving (the write callback
// aborts), so an endless or huge response costs at most max_body bytes.
#include "daemon/http_client.hpp"

#include <curl/curl.h>

#include <cctype>
#include <ctime>
#include <memory>

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

// Lives on the stack of http_get for the whole transfer; libcurl holds its address.
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

}  // namespace

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

Expected<HttpResponse> http_get(const HttpRequest& req) {
  global_init();
  std::unique_ptr<CURL, CurlDeleter> curl(curl_easy_init());
  if (!curl) return temporary_error("curl_easy_init failed");
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

  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https,file");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
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

  CURLcode rc = curl_easy_perform(c);
  if (t.too_large || rc == CURLE_FILESIZE_EXCEEDED)
    return bad_input("response body exceeds the limit of " + std::to_string(req.max_body) +
                     " bytes");
  if (rc != CURLE_OK) {
    std::string msg = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    if (rc == CURLE_TOO_MANY_REDIRECTS)
      return permanent_error("more than " + std::to_string(req.max_redirects) + " redirects");
    if (rc == CURLE_FILE_COULDNT_READ_FILE || rc == CURLE_UNSUPPORTED_PROTOCOL ||
        rc == CURLE_URL_MALFORMAT)
      return permanent_error(msg);
    return temporary_error(msg);
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
  resp.body = std::move(t.body);

  const bool is_file = req.url.rfind("file:", 0) == 0;
  if (is_file || (resp.status >= 200 && resp.status < 300) || resp.status == 304) return resp;
  std::string msg = "HTTP " + std::to_string(resp.status);
  if (resp.status == 429 || resp.status >= 500 || resp.status == 408) {
    if (auto it = resp.headers.find("retry-after"); it != resp.headers.end())
      if (auto s = parse_retry_after(it->second, std::time(nullptr)))
        msg += " retry-after=" + std::to_string(*s);
    return temporary_error(msg);
  }
  return permanent_error(msg);
}

}  // namespace herald
