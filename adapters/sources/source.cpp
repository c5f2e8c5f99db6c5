// The name -> factory table of source kinds.
#include "adapters/sources/source.hpp"

#include <stdexcept>
#include <string_view>

namespace herald {

std::unique_ptr<Source> make_feed_source(const SourceConfig&, const Config&, const Clock&,
                                         std::unique_ptr<HttpTransport>);
std::unique_ptr<Source> make_jira_source(const SourceConfig&, const Config&, const Clock&,
                                         std::unique_ptr<HttpTransport>);
std::unique_ptr<Source> make_github_source(const SourceConfig&, const Config&, const Clock&,
                                           std::unique_ptr<HttpTransport>);

namespace {
struct SourceKind {
  std::string_view kind;
  std::unique_ptr<Source> (*make)(const SourceConfig&, const Config&, const Clock&,
                                  std::unique_ptr<HttpTransport>);
};
const SourceKind k_source_kinds[] = {
    {"feed", make_feed_source},
    {"jira", make_jira_source},
    {"github", make_github_source},
};
}  // namespace

HttpRequest source_request(const SourceConfig& sc, std::string url) {
  HttpRequest req;
  req.url = std::move(url);
  req.timeout_ms = sc.timeout_ms;
  req.connect_timeout_ms = sc.connect_timeout_ms;
  req.max_body = sc.max_size;
  req.max_redirects = sc.max_redirects;  // libcurl drops Authorization on another host
  return req;
}

std::unique_ptr<Source> make_source(const SourceConfig& sc, const Config& cfg, const Clock& clock,
                                    const HttpTransportFactory& http) {
  for (const auto& k : k_source_kinds)
    if (k.kind == sc.kind) return k.make(sc, cfg, clock, http());
  if (sc.kind.size() > 8 && sc.kind.compare(sc.kind.size() - 8, 8, "-webhook") == 0)
    return nullptr;
  throw std::invalid_argument("unknown source kind '" + sc.kind + "'");
}

}  // namespace herald
