// Sources made through the core's table of source kinds (daemon/source_kind.hpp).
#include "adapters/sources/source.hpp"

#include <stdexcept>

#include "daemon/source_kind.hpp"

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

std::unique_ptr<Source> make_source(const SourceConfig& sc, const Config& cfg, const Clock& clock,
                                    const HttpTransportFactory& http) {
  const SourceKind* kind = source_kind(sc.kind);
  if (!kind) throw std::invalid_argument("unknown source kind '" + sc.kind + "'");
  if (kind->pushed || !kind->make_source) return nullptr;
  return kind->make_source(sc, cfg, clock, http());
}

}  // namespace herald
