// The end-of-life source (kind = "eol"): a product's schedule, from a local
// endoflife.date product file or the endoflife.date API, turned into notices.
#pragma once

#include <memory>

#include "adapters/sources/source.hpp"
#include "daemon/source_kind.hpp"

namespace herald {

// The poller of one kind = "eol" source, with the one transport it keeps.
std::unique_ptr<Source> make_eol_source(const SourceConfig& sc, const Config& cfg,
                                        const Clock& clock, std::unique_ptr<HttpTransport> http);

// The "eol" entry of the source kind table (adapters/wiring.cpp registers it).
SourceKind eol_source_kind();

}  // namespace herald
