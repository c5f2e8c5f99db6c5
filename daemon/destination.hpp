// Destination kinds: what the core knows of an adapter under adapters/sinks/.
//
// Each kind (mail, webhook, slack, ...) registers one DestinationKind: the
// configuration keys it takes, how it renders a message for one of its
// destinations, and how it makes a sink (one connection's worth of
// transport). The core includes no adapter header: the one wiring function,
// register_adapters (adapters/wiring.cpp), fills the table at start.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "adapters/sinks/sink.hpp"
#include "daemon/clock.hpp"
#include "daemon/config.hpp"
#include "daemon/event.hpp"
#include "daemon/expected.hpp"
#include "daemon/http_transport.hpp"
#include "daemon/store.hpp"

namespace herald {

class Templates;

// One message to render for one destination.
struct RenderInput {
  const Config& cfg;
  const Templates& templates;
  const DestinationConfig& dest;
  std::string set;                // template set: the event kind, "digest", or dest.templates
  const nlohmann::json& context;  // template data: mail_context (+ extras), or the digest's
  const Event* event = nullptr;   // the event; nullptr for a digest
  std::string key;                // the message's idempotency key (stable: derived from the event)
  int64_t now = 0;
};

// What a sink may use besides its configuration.
struct SinkEnv {
  HttpTransportFactory http;      // make_curl_transport in herald, a fake in tests
  const Clock* clock = nullptr;
};

// One recipient of a personal message: its address and the template values
// that differ per recipient (unsubscribe_url, preferences_url).
struct PersonalRecipient {
  std::string address;
  std::vector<std::pair<std::string, std::string>> values;
};

struct DestinationKind {
  std::string kind;               // as written in `kind = "..."`
  std::string summary;            // one line, for docs and `check-config --keys`
  // [[destination]] keys this kind takes besides name and kind.
  std::vector<std::string> keys;
  // Default sends in flight and messages a second (0 = no limit).
  int default_connections = 2;
  double default_rate = 0;
  // Problems with a destination of this kind (missing or contradicting
  // keys), each naming its key; the loader cites the key's line.
  std::function<std::vector<std::pair<std::string, std::string>>(const DestinationConfig&)> check;
  // Checks of the whole configuration that look outside the file (mail: the
  // [openpgp] key is in its GnuPG home and can sign), made once it is
  // otherwise valid. Each problem names "section.key" (or "section"); the
  // loader cites that key's line, else the section's.
  std::function<std::vector<std::pair<std::string, std::string>>(const Config&)> check_config;
  // The outbox rows (a message to its recipients) of one render.
  std::function<Expected<NewDelivery>(const RenderInput&)> render;
  // One message per recipient, the templates rendered once: each copy gets
  // the recipient's To:, their values, and a key "<in.key>/<address>". With
  // unsubscribe_url among the values, a mail carries List-Unsubscribe
  // and List-Unsubscribe-Post (RFC 8058). Unset for kinds that cannot carry
  // a topic's audience.
  // Each message goes to emit as it is made (so that a caller can store them
  // in bounded batches); an error from emit stops and is answered.
  std::function<Status(const RenderInput&, const std::vector<PersonalRecipient>&,
                       const std::function<Status(NewDelivery)>& emit)>
      render_personal;
  // One connection's worth of transport for a destination.
  std::function<std::unique_ptr<Sink>(const Config&, const DestinationConfig&, const SinkEnv&)>
      make_sink;
};

// Makes one connection's worth of transport for a destination (by name);
// nullptr when the destination is not configured.
using SinkFactory = std::function<std::unique_ptr<Sink>(const std::string& destination)>;

// Registers a kind (the last one registered under a name wins).
void register_destination_kind(DestinationKind kind);
// The kind's entry; nullptr when no adapter registered it.
const DestinationKind* destination_kind(const std::string& kind);
// Registered kind names, sorted.
std::vector<std::string> destination_kinds();

// Registers every adapter herald has, sinks and sources (adapters/wiring.cpp).
// It is called once, by ensure_adapters_registered.
void register_adapters();
// Calls register_adapters the first time; every lookup of a kind table
// (destinations, sources) does this first.
void ensure_adapters_registered();

// The idempotency key of an event's message to a destination:
// "<kind>:<destination>:<event key>". Mail's Message-ID, a webhook's
// webhook-id and a Matrix txnId derive from it.
std::string delivery_key(const DestinationConfig& dest, const Event& e);

// Renders through the destination's kind; an unknown kind is an error.
Expected<NewDelivery> render_for(const RenderInput& in);

// Renders one message per recipient through the destination's kind, each
// handed to emit as it is made.
Status render_personal_for(const RenderInput& in, const std::vector<PersonalRecipient>& recipients,
                           const std::function<Status(NewDelivery)>& emit);
// The same, collected.
Expected<std::vector<NewDelivery>> render_personal_for(
    const RenderInput& in, const std::vector<PersonalRecipient>& recipients);

// The sinks of a configuration's destinations, each made by its kind.
SinkFactory destination_sinks(const Config& cfg, SinkEnv env);

}  // namespace herald
