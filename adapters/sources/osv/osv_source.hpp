// The OSV source (kind = "osv"): advisories from OSV records, proposed to an
// admin as security.advisory events (never routed; daemon/event.hpp).
#pragma once

#include <memory>

#include "adapters/sources/source.hpp"
#include "daemon/source_kind.hpp"

namespace herald {

// The poller of one kind = "osv" source, with the one transport it keeps.
std::unique_ptr<Source> make_osv_source(const SourceConfig& sc, const Config& cfg,
                                        const Clock& clock, std::unique_ptr<HttpTransport> http);

// The "osv" entry of the source kind table (adapters/wiring.cpp registers it).
SourceKind osv_source_kind();

}  // namespace herald
