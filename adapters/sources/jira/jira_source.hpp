// The Jira source (a search polled for updated issues): its kind for the core's table.
#pragma once

#include <memory>

#include "adapters/sources/source.hpp"
#include "daemon/source_kind.hpp"

namespace herald {

// The poller of one kind = "jira" source, with the one transport it keeps.
std::unique_ptr<Source> make_jira_source(const SourceConfig& sc, const Config& cfg,
                                         const Clock& clock, std::unique_ptr<HttpTransport> http);

// The "jira" entry of the source kind table (adapters/wiring.cpp registers it).
SourceKind jira_source_kind();

}  // namespace herald
