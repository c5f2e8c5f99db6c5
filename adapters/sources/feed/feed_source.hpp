// The feed source (Atom or RSS releases): its kind for the core's table.
#pragma once

#include <memory>

#include "adapters/sources/source.hpp"
#include "daemon/source_kind.hpp"

namespace herald {

// The poller of one kind = "feed" source, with the one transport it keeps.
std::unique_ptr<Source> make_feed_source(const SourceConfig& sc, const Config& cfg,
                                         const Clock& clock, std::unique_ptr<HttpTransport> http);

// The "feed" entry of the source kind table (adapters/wiring.cpp registers it).
SourceKind feed_source_kind();

}  // namespace herald
