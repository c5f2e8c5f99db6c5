// The sink contract: deliver one outbox row, answer what happened.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
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
  int64_t message_id = 0;               // the message this delivery is one recipient of
  std::string message_key;              // its key (the delivery's own, or key/recipient)
};

struct DeliveryResult {
  // disable: the destination is gone (HTTP 410, a deleted Discord webhook):
  // the delivery stays pending and the destination takes nothing until an
  // admin enables it again.
  enum class Status { delivered, retry, permanent, disable };
  Status status = Status::delivered;
  std::string detail;                     // server answer or error, for logs and `outbox list`
  std::optional<int64_t> retry_after_s;   // server-requested wait, when given
  static DeliveryResult ok(std::string d = {}) { return {Status::delivered, std::move(d), {}}; }
  static DeliveryResult retry(std::string d, std::optional<int64_t> after = {}) {
    return {Status::retry, std::move(d), after};
  }
  static DeliveryResult fail(std::string d) { return {Status::permanent, std::move(d), {}}; }
  static DeliveryResult disable(std::string d) { return {Status::disable, std::move(d), {}}; }
};

const char* to_string(DeliveryResult::Status s);

// A transport. deliver_each lets a sink reuse one connection across many
// rows and reports each row's result as soon as it is known (index into
// items, in order), so that the caller can record it before the next send:
// a crash then repeats at most the send in flight. When done answers false
// the sink stops there: the rest of the items are not attempted. Sinks are
// used from one thread at a time.
class Sink {
 public:
  using ResultFn = std::function<bool(size_t index, DeliveryResult result)>;
  virtual ~Sink() = default;
  virtual void deliver_each(const std::vector<OutboxItem>& items, const ResultFn& done) = 0;
  virtual std::string describe() const = 0;  // for logs, no secrets

  // A flag that, once true, asks the sink to abandon a send it can still
  // abandon without a duplicate (before the message is handed over): herald is
  // stopping. The flag must outlive the sink.
  void watch_interrupt(const std::atomic<bool>* flag) { m_interrupt = flag; }

  // All results at once, in the order of the items.
  std::vector<DeliveryResult> deliver_batch(const std::vector<OutboxItem>& items) {
    std::vector<DeliveryResult> out(items.size(), DeliveryResult::retry("sink returned no result"));
    deliver_each(items, [&out](size_t i, DeliveryResult r) {
      if (i < out.size()) out[i] = std::move(r);
      return true;
    });
    return out;
  }

 protected:
  const std::atomic<bool>* interrupt_flag() const { return m_interrupt; }

 private:
  const std::atomic<bool>* m_interrupt = nullptr;
};

}  // namespace herald
