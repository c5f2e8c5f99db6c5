// Source kinds: what the core knows of an adapter under adapters/sources/.
//
// Each kind (feed, jira, github, the webhooks) registers one SourceKind: its
// own configuration keys, the checks of a [[source]] of that kind, and either
// how to make its poller (a polled kind) or how to add its inbound HTTP route
// (a pushed kind). As for destinations (daemon/destination.hpp), the core
// includes no source adapter header: register_adapters (adapters/wiring.cpp)
// fills this table too, along with what the adapters add to the core's work
// that is not one kind's (the release context of an announcement, the event
// API's routes).
#pragma once

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "adapters/sources/source.hpp"
#include "daemon/clock.hpp"
#include "daemon/config.hpp"
#include "daemon/event.hpp"
#include "daemon/http_transport.hpp"

namespace herald {

class HttpServer;
class IngestWriter;
class Metrics;
class Store;

// What the inbound routes of pushed sources may use; each outlives the server.
struct InboundEnv {
  IngestWriter& writer;
  Metrics& metrics;
  const Clock& clock;
  Store* store = nullptr;  // for pages that read what sources stored (GET /support)
};

struct SourceKind {
  std::string kind;     // as written in `kind = "..."`
  std::string summary;  // one line, for docs
  // Pushed to herald's HTTP server (webhooks) rather than polled.
  bool pushed = false;
  // [[source]] keys of this kind's own (besides those every source takes).
  std::vector<std::string> keys;
  // Problems with a source of this kind, each with the key it concerns (""
  // for the [[source]] table itself); the loader cites that key's line and
  // prefixes "[[source]] '<name>' ".
  std::function<std::vector<std::pair<std::string, std::string>>(const SourceConfig&,
                                                                 const Config&)>
      check;
  // Fills the kind's defaults in after the checks (e.g. github's base_url).
  std::function<void(SourceConfig&)> complete;
  // Polled kinds: the poller of a source, with the one transport it keeps.
  std::function<std::unique_ptr<Source>(const SourceConfig&, const Config&, const Clock&,
                                        std::unique_ptr<HttpTransport>)>
      make_source;
  // Pushed kinds: adds the route a source of this kind is posted to.
  std::function<void(HttpServer&, const SourceConfig&, const InboundEnv&)> add_route;
};

// Registers a kind (the last one registered under a name wins).
void register_source_kind(SourceKind kind);
// The kind's entry; nullptr when no adapter registered it.
const SourceKind* source_kind(const std::string& kind);
// Registered kind names, sorted.
std::vector<std::string> source_kinds();
// Whether a source's kind is a registered pushed kind.
bool is_pushed(const SourceConfig& sc);

// Keys to merge into an event's mail context when it is rendered (a Lustre
// release's links and fixed tickets); an empty object when the event is not
// the provider's business.
using ReleaseContextProvider = std::function<nlohmann::json(const Event&, const Config&)>;
void register_release_context(ReleaseContextProvider provider);
// Every registered provider's keys for the event, merged (in registration order).
nlohmann::json release_context(const Event& e, const Config& cfg);

// Inbound routes that are no one source's (the event API, the accounting of
// rejected requests); called once per server, after the sources' routes.
using InboundRoutes = std::function<void(HttpServer&, const Config&, const InboundEnv&)>;
void register_inbound_routes(InboundRoutes routes);
// The route of each pushed source of the configuration, by its kind, then the
// registered inbound routes.
void add_inbound_routes(HttpServer& server, const Config& cfg, const InboundEnv& env);

}  // namespace herald
