// HTTP(S) and file:// GET through libcurl, with the limits every source needs.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/expected.hpp"

namespace herald {

struct HttpRequest {
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::string etag;                  // sent as If-None-Match when set
  std::string last_modified;         // sent as If-Modified-Since when set
  int64_t connect_timeout_ms = 10'000;
  int64_t timeout_ms = 30'000;
  int64_t max_body = 10 * 1024 * 1024;  // larger bodies fail with bad_input
  long max_redirects = 5;
  std::string user_agent = "herald/" HERALD_VERSION;
  std::string userpwd;  // "user:password" for basic auth, never logged
};

struct HttpResponse {
  long status = 0;  // 0 for file://
  std::string body;
  std::string etag;
  std::string last_modified;
  std::string content_type;
  std::string effective_url;                  // after redirects
  std::map<std::string, std::string> headers;  // lower-case names, last value wins
  bool not_modified() const { return status == 304; }
};

// Performs a GET. Transport failures and HTTP 5xx/429 are temporary errors
// (the message carries "retry-after=N" seconds when the server said so);
// other HTTP 4xx permanent; an oversized body bad_input. 2xx and 304 succeed.
Expected<HttpResponse> http_get(const HttpRequest& req);

// Parses a Retry-After value (seconds or an HTTP date) relative to now_s.
std::optional<int64_t> parse_retry_after(std::string_view value, int64_t now_s);

}  // namespace herald
