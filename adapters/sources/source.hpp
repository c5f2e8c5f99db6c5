// The source contract: poll once, answer events and the state to commit with them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "adapters/sources/lustre/release.hpp"
#include "daemon/clock.hpp"
#include "daemon/config.hpp"
#include "daemon/event.hpp"
#include "daemon/expected.hpp"
#include "daemon/http_transport.hpp"
#include "daemon/store.hpp"

namespace herald {

struct PollOutcome {
  bool unchanged = false;        // 304, or the same bytes as last time
  std::vector<Event> events;
  std::vector<bool> announce;    // per event; false = record as seen only
  std::string cursor, etag, last_modified, content_hash;
  std::vector<std::string> warnings;  // items skipped, with the reason
};

class Source {
 public:
  virtual ~Source() = default;
  virtual const SourceConfig& config() const = 0;
  // One poll. A failure leaves the source's state as it was (the caller
  // records the error and backs off).
  virtual Expected<PollOutcome> poll(const SourceState& state) = 0;
};

// A GET of url with the source's limits: timeouts, body size, redirects.
HttpRequest source_request(const SourceConfig& sc, std::string url);

// The releases of every ChangeLog the source names (`changelog`: paths or
// URLs), in configuration order. One that cannot be fetched is a warning:
// what it would have said is left out.
std::vector<lustre::ChangeLogRelease> load_changelogs(const SourceConfig& sc, HttpTransport& http,
                                                      std::vector<std::string>& warnings);

// Builds the poller for a [[source]] entry through its kind's entry in the
// table (daemon/source_kind.hpp); nullptr for kinds that are only pushed to
// herald (webhooks), which the HTTP server handles; std::invalid_argument for
// a kind no adapter registered. The
// source makes one transport with http and keeps it for all its polls (its
// connections stay open between them).
std::unique_ptr<Source> make_source(const SourceConfig& sc, const Config& cfg, const Clock& clock,
                                    const HttpTransportFactory& http = make_curl_transport);

}  // namespace herald
