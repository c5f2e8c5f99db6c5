// Sources made through the core's table of source kinds (daemon/source_kind.hpp).
#include "adapters/sources/source.hpp"

#include <algorithm>
#include <stdexcept>

#include "daemon/source_kind.hpp"
#include "daemon/util.hpp"

namespace herald {

HttpRequest source_request(const SourceConfig& sc, std::string url) {
  HttpRequest req;
  req.url = std::move(url);
  req.timeout_ms = sc.timeout_ms;
  req.connect_timeout_ms = sc.connect_timeout_ms;
  req.max_body = sc.max_size;
  req.max_redirects = sc.max_redirects;  // libcurl drops Authorization on another host
  return req;
}

std::vector<lustre::ChangeLogRelease> load_changelogs(const SourceConfig& sc, HttpTransport& http,
                                                      std::vector<std::string>& warnings) {
  std::vector<lustre::ChangeLogRelease> all;
  for (const auto& location : sc.changelogs) {
    std::string url = location;
    if (url.find("://") == std::string::npos) url = "file://" + url;
    HttpRequest req = source_request(sc, url);
    req.max_body = std::max<int64_t>(sc.max_size, 16 * 1024 * 1024);
    auto resp = fetch(http, req);
    if (!resp) {
      warnings.push_back("ChangeLog " + redact_url(location) + ": " + resp.error().message);
      continue;
    }
    auto releases = lustre::parse_changelog(resp->body);
    all.insert(all.end(), releases.begin(), releases.end());
  }
  return all;
}

std::unique_ptr<Source> make_source(const SourceConfig& sc, const Config& cfg, const Clock& clock,
                                    const HttpTransportFactory& http) {
  const SourceKind* kind = source_kind(sc.kind);
  if (!kind) throw std::invalid_argument("unknown source kind '" + sc.kind + "'");
  if (kind->pushed || !kind->make_source) return nullptr;
  return kind->make_source(sc, cfg, clock, http());
}

}  // namespace herald
