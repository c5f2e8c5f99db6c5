// The slack destination kind: an incoming webhook, text + blocks in mrkdwn.
#pragma once

#include "daemon/destination.hpp"

namespace herald {

DestinationKind slack_destination_kind();

// Slack's limits: a section's text, a header's plain text.
inline constexpr size_t k_slack_section_max = 3000;
inline constexpr size_t k_slack_header_max = 150;

}  // namespace herald
