// A scripted HTTP transport for unit tests of policy: each perform() takes the
// next scripted answer (a response or a failure) and records the request.
// Real HTTP is tested against tests/tools/http_receiver.py.
#pragma once

#include <cctype>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "daemon/http_transport.hpp"

namespace herald::test {

// What the fakes made by one factory share: the script and the record.
struct FakeHttpState {
  std::mutex mutex;
  std::deque<HttpResult> script;     // answers, in order
  std::vector<HttpRequest> requests;  // every request performed, in order
  int transports_made = 0;
  // When the script is empty: this answer (a 200 with an empty body by default).
  HttpResult fallback = [] {
    HttpResponse r;
    r.status = 200;
    return HttpResult(std::move(r));
  }();
};

class FakeHttpTransport final : public HttpTransport {
 public:
  explicit FakeHttpTransport(std::shared_ptr<FakeHttpState> state) : m_state(std::move(state)) {}
  HttpResult perform(const HttpRequest& request) override {
    std::lock_guard lock(m_state->mutex);
    m_state->requests.push_back(request);
    if (m_state->script.empty()) return m_state->fallback;
    HttpResult r = std::move(m_state->script.front());
    m_state->script.pop_front();
    return r;
  }

 private:
  std::shared_ptr<FakeHttpState> m_state;
};

// A factory of fakes and its shared state, with helpers to script answers.
class FakeHttp {
 public:
  FakeHttp() : m_state(std::make_shared<FakeHttpState>()) {}

  HttpTransportFactory factory() const {
    auto state = m_state;
    return [state]() -> std::unique_ptr<HttpTransport> {
      {
        std::lock_guard lock(state->mutex);
        ++state->transports_made;
      }
      return std::make_unique<FakeHttpTransport>(state);
    };
  }

  // Queues a response with a status, a body and headers (lower-case names).
  // A "retry-after" header also sets the typed retry_after_s as the transport would.
  FakeHttp& answer(long status, std::string body = {},
                   std::map<std::string, std::string> headers = {}) {
    HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    if (auto it = headers.find("retry-after"); it != headers.end())
      r.retry_after_s = std::stoll(it->second);
    if (auto it = headers.find("content-type"); it != headers.end()) r.content_type = it->second;
    r.headers = std::move(headers);
    std::lock_guard lock(m_state->mutex);
    m_state->script.emplace_back(std::move(r));
    return *this;
  }

  // Queues a transport failure.
  FakeHttp& fail(HttpFailure::Kind kind, std::string message) {
    std::lock_guard lock(m_state->mutex);
    m_state->script.emplace_back(HttpFailure{kind, std::move(message)});
    return *this;
  }

  std::vector<HttpRequest> requests() const {
    std::lock_guard lock(m_state->mutex);
    return m_state->requests;
  }
  int transports_made() const {
    std::lock_guard lock(m_state->mutex);
    return m_state->transports_made;
  }

 private:
  std::shared_ptr<FakeHttpState> m_state;
};

// The value of a "Name: value" header of a request (case-insensitive name); empty when absent.
inline std::string header_value(const HttpRequest& r, const std::string& name) {
  for (const auto& h : r.headers) {
    auto colon = h.find(':');
    if (colon == std::string::npos || colon != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < colon; ++i)
      if (std::tolower(static_cast<unsigned char>(h[i])) !=
          std::tolower(static_cast<unsigned char>(name[i])))
        same = false;
    if (!same) continue;
    size_t v = colon + 1;
    while (v < h.size() && h[v] == ' ') ++v;
    return h.substr(v);
  }
  return {};
}

}  // namespace herald::test
