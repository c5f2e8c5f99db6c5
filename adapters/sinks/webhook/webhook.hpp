// The webhook destination kind: a versioned JSON document per event or digest
// (docs/webhook-payload.md), POSTed and signed per Standard Webhooks.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/destination.hpp"
#include "daemon/expected.hpp"

namespace herald {

DestinationKind webhook_destination_kind();

// The payload version this herald writes.
inline constexpr int k_webhook_payload_version = 1;

// The document sent for one render: {"version":1,"type":"event","id":...,"event":{...}}
// or {"version":1,"type":"digest","id":...,"digest":{...}}.
nlohmann::json webhook_payload(const RenderInput& in);

// webhook-id: "msg_" + the first 32 hex digits of SHA-256(idempotency key): the
// same on every attempt of a delivery, so that a receiver can drop a repeat.
std::string webhook_message_id(const std::string& idempotency_key);

// The key bytes of a "whsec_" + base64 secret; an error says what is wrong.
Expected<std::string> webhook_secret_key(const std::string& secret);

// webhook-signature: "v1,<base64 HMAC-SHA256 of id.timestamp.body>" for each
// secret, space-separated (all sign while a key is rotated).
Expected<std::string> webhook_signature(const std::vector<std::string>& secrets,
                                        const std::string& id, int64_t timestamp,
                                        const std::string& body);

}  // namespace herald
