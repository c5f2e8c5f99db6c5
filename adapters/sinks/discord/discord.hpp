// The discord destination kind: a channel webhook, content + one embed.
#pragma once

#include "adapters/sinks/sink.hpp"
#include "daemon/destination.hpp"
#include "daemon/http_transport.hpp"

namespace herald {

DestinationKind discord_destination_kind();

// Discord's limits (characters).
inline constexpr size_t k_discord_content_max = 2000;
inline constexpr size_t k_discord_title_max = 256;
inline constexpr size_t k_discord_description_max = 4096;

// The common classification, but 404 (Unknown Webhook: it was deleted)
// disables, and a 429 without Retry-After waits for the body's retry_after
// (float seconds), at least 60 s.
DeliveryResult classify_discord_answer(const HttpResult& result);

}  // namespace herald
