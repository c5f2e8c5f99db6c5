// The router: which destinations an event goes to, by the [[route]] rules.
#pragma once

#include <string>
#include <vector>

#include "daemon/config.hpp"
#include "daemon/event.hpp"

namespace herald {

// 0 info, 1 low, 2 medium, 3 high, 4 critical; unknown text ranks as info.
int severity_rank(const std::string& severity);

// Destination names for an event, each once, in rule order. A rule matches
// when the kind is listed (or no kinds are), every tag it names has one of
// the listed values, and the severity is at least min_severity. Proposals
// (is_proposal_kind) go nowhere, whatever the rules say.
std::vector<std::string> route_event(const Event& e, const std::vector<RouteConfig>& routes);

}  // namespace herald
