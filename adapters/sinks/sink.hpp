// The sink contract: deliver one outbox row, answer what happened.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace herald {

// What an outbox row carries to a sink. The payload is final bytes: for mail
// the whole RFC 5322 message, for a webhook the request body.
struct OutboxItem {
  int64_t id = 0;
  std::string idempotency_key;
  std::string destination;              // configured destination name
  std::vector<std::string> recipients;  // mail envelope RCPT TO, or empty
  std::string sender;                   // mail envelope MAIL FROM
  std::string payload;
  int attempts = 0;                     // attempts made before this one
  int64_t created_at = 0;               // when the row was written (Unix s)
};

struct DeliveryResult {
  enum class Status { delivered, retry, permanent };
  Status status = Status::delivered;
  std::string detail;                     // server answer or error, for logs and `outbox list`
  std::optional<int64_t> retry_after_s;   // server-requested wait, when given
  static DeliveryResult ok(std::string d = {}) { return {Status::delivered, std::move(d), {}}; }
  static DeliveryResult retry(std::string d, std::optional<int64_t> after = {}) {
    return {Status::retry, std::move(d), after};
  }
  static DeliveryResult fail(std::string d) { return {Status::permanent, std::move(d), {}}; }
};

const char* to_string(DeliveryResult::Status s);

// A transport. deliver_batch lets a sink reuse one connection across many
// rows; results are in the order of the items. Sinks are used from one
// thread at a time.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual std::vector<DeliveryResult> deliver_batch(const std::vector<OutboxItem>& items) = 0;
  virtual std::string describe() const = 0;  // for logs, no secrets
};

}  // namespace herald
