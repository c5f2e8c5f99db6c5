// A minimal libcurl client for tests that talk to herald's HTTP server.
#pragma once

#include <curl/curl.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace herald::test {

struct CurlReply {
  long status = 0;  // 0 = transport failure
  std::string body;
  std::string headers;  // raw response header block
};

// Sends one request. chunked = send the body with Transfer-Encoding: chunked
// (no Content-Length).
inline CurlReply curl_request(const std::string& method, const std::string& url,
                              const std::string& body = "",
                              const std::vector<std::string>& headers = {},
                              bool chunked = false) {
  struct EasyDeleter {
    void operator()(CURL* c) const { curl_easy_cleanup(c); }
  };
  struct ListDeleter {
    void operator()(curl_slist* l) const { curl_slist_free_all(l); }
  };
  struct Upload {
    const std::string* data;
    size_t pos = 0;
  } upload{&body};
  CurlReply reply;
  std::unique_ptr<CURL, EasyDeleter> c(curl_easy_init());
  std::unique_ptr<curl_slist, ListDeleter> list;
  auto append = [&](const std::string& h) {
    list.reset(curl_slist_append(list.release(), h.c_str()));
  };
  for (const auto& h : headers) append(h);
  append("Expect:");
  curl_easy_setopt(c.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(c.get(), CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(c.get(), CURLOPT_TIMEOUT, 20L);
  curl_easy_setopt(c.get(), CURLOPT_NOSIGNAL, 1L);
  if (method == "POST" || method == "PUT") {
    if (chunked) {
      append("Transfer-Encoding: chunked");
      curl_easy_setopt(c.get(), CURLOPT_POST, 1L);
      curl_easy_setopt(c.get(), CURLOPT_READDATA, &upload);
      curl_easy_setopt(
          c.get(), CURLOPT_READFUNCTION,
          static_cast<size_t (*)(char*, size_t, size_t, void*)>(
              [](char* buf, size_t size, size_t n, void* p) -> size_t {
                auto* u = static_cast<Upload*>(p);
                size_t k = std::min(size * n, std::min<size_t>(u->data->size() - u->pos, 4096));
                u->data->copy(buf, k, u->pos);
                u->pos += k;
                return k;
              }));
    } else {
      curl_easy_setopt(c.get(), CURLOPT_POSTFIELDS, body.data());
      curl_easy_setopt(c.get(), CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
    }
  }
  curl_easy_setopt(c.get(), CURLOPT_HTTPHEADER, list.get());
  auto sink = static_cast<size_t (*)(char*, size_t, size_t, void*)>(
      [](char* p, size_t size, size_t n, void* out) -> size_t {
        static_cast<std::string*>(out)->append(p, size * n);
        return size * n;
      });
  curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, sink);
  curl_easy_setopt(c.get(), CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(c.get(), CURLOPT_HEADERFUNCTION, sink);
  curl_easy_setopt(c.get(), CURLOPT_HEADERDATA, &reply.headers);
  if (curl_easy_perform(c.get()) == CURLE_OK)
    curl_easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &reply.status);
  return reply;
}

}  // namespace herald::test
