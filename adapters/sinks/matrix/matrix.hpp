// The matrix destination kind: m.notice messages sent to a room through the
// client-server API with an access token.
#pragma once

#include <string>

#include "adapters/sinks/sink.hpp"
#include "daemon/destination.hpp"
#include "daemon/http_transport.hpp"

namespace herald {

DestinationKind matrix_destination_kind();

// Bytes of content kept under the 65,536-byte limit of a whole event (the
// server adds the envelope and signatures).
inline constexpr size_t k_matrix_content_max = 60'000;

// The transaction id of a delivery: derived from its idempotency key, so that
// a retry is a retransmission the homeserver answers without a second message.
std::string matrix_txn_id(const std::string& idempotency_key);

// PUT {homeserver}/_matrix/client/v3/rooms/{room}/send/m.room.message/{txn}.
std::string matrix_send_url(const std::string& homeserver, const std::string& room,
                            const std::string& txn_id);

// The common classification; a 429 without Retry-After waits the body's
// retry_after_ms (M_LIMIT_EXCEEDED), at least 60 s.
DeliveryResult classify_matrix_answer(const HttpResult& result);

}  // namespace herald
