// The teams destination kind: a Microsoft Teams Workflows webhook, one
// Adaptive Card (1.4) per message.
#pragma once

#include "daemon/destination.hpp"

namespace herald {

DestinationKind teams_destination_kind();

// The whole request body stays under Teams' 28 KB message limit.
inline constexpr size_t k_teams_payload_max = 27'000;

}  // namespace herald
