// The Gerrit source (kind = "gerrit"): changes merged on maintenance branches
// that carry a configured hashtag or topic, proposed to an admin as
// patch.candidate events (never routed; daemon/event.hpp).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/sources/source.hpp"
#include "daemon/expected.hpp"
#include "daemon/source_kind.hpp"

namespace herald {

// The changes of a Gerrit REST answer: the ")]}'" line Gerrit puts before JSON
// (against cross-site script inclusion) is dropped when present, then the rest
// must be an array of change objects.
Expected<std::vector<nlohmann::json>> parse_gerrit_changes(std::string_view body);

// The poller of one kind = "gerrit" source, with the one transport it keeps.
std::unique_ptr<Source> make_gerrit_source(const SourceConfig& sc, const Config& cfg,
                                           const Clock& clock, std::unique_ptr<HttpTransport> http);

// The "gerrit" entry of the source kind table (adapters/wiring.cpp registers it).
SourceKind gerrit_source_kind();

}  // namespace herald
