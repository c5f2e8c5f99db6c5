// The mattermost destination kind: an incoming webhook, Markdown text.
#pragma once

#include "daemon/destination.hpp"

namespace herald {

DestinationKind mattermost_destination_kind();

// Mattermost's post limit (characters).
inline constexpr size_t k_mattermost_post_max = 16383;

}  // namespace herald
