// The outbox: messages and one delivery per message x recipient.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "adapters/sinks/sink.hpp"
#include "daemon/expected.hpp"
#include "daemon/store/database.hpp"
#include "daemon/store/events.hpp"

namespace herald {

// One message to write when routing: one delivery per recipient (one with no
// recipient when the list is empty: HTTP destinations). A delivery's key is
// the message's key when there is at most one recipient, else key/recipient.
struct NewDelivery {
  std::string idempotency_key;
  std::string destination;
  std::string sender;
  std::vector<std::string> recipients;
  std::string payload;
  std::string subject;  // for listings
  int priority = 0;     // claims take higher priorities first
};

struct DeliveryOutcome {
  int64_t id = 0;
  DeliveryResult result;
  int64_t next_attempt_at = 0;  // for retries
  bool dead = false;            // permanent, or retried past max age
};

// A delivery and its message, for `herald outbox`.
struct OutboxRow {
  int64_t id = 0;  // the delivery's
  std::string idempotency_key, destination, state, subject, last_error;
  int attempts = 0;
  int64_t created_at = 0, next_attempt_at = 0, delivered_at = 0;
  std::string recipient;  // "" for destinations without per-row recipients
  int64_t message_id = 0;
  std::string message_key, sender, lease_owner;
  int64_t lease_until = 0, payload_size = 0, message_created_at = 0;
  int priority = 0;
};

// Which deliveries `herald outbox list` shows.
struct OutboxFilter {
  std::string state;                      // pending, delivered, dead; "" = all
  std::string destination;                // "" = all
  std::optional<int64_t> created_before;  // created_at < this (Unix s)
  int limit = 50;
};

// An outbox message, for `herald preview`.
struct OutboxPayload {
  std::string state, payload;
  int64_t created_at = 0;
};

class OutboxStore {
 public:
  explicit OutboxStore(Database& db) : m_db(db) {}

  // Writes the deliveries and marks the events routed, in one transaction.
  Status commit_routing(const std::vector<int64_t>& event_ids,
                        const std::vector<NewDelivery>& deliveries, int64_t now);
  // Writes a digest's deliveries and advances its window end, in one transaction.
  Status commit_digest(const std::string& name, int64_t window_end,
                       const std::vector<NewDelivery>& deliveries, int64_t now);
  // Pending rows due at `now` and not leased, highest priority first, then oldest.
  Expected<std::vector<OutboxItem>> due_deliveries(int64_t now, int limit);
  // Claims up to limit due rows of a destination for owner until lease_until,
  // in one immediate transaction: no other claim (this process or another on
  // the same database) takes them until the lease expires or is released.
  Expected<std::vector<OutboxItem>> claim_deliveries(const std::string& destination, int64_t now,
                                                     int limit, const std::string& owner,
                                                     int64_t lease_until);
  // SQLite's plan for the claim (EXPLAIN QUERY PLAN, one step a line): that
  // it walks the claim index and sorts nothing is what keeps a claim cheap
  // with many deliveries pending.
  Expected<std::string> claim_plan();
  // Moves the lease of owner's pending rows forward.
  Status extend_leases(const std::vector<int64_t>& ids, const std::string& owner,
                       int64_t lease_until);
  // Gives claimed rows back unsent: due again at once.
  Status release_leases(const std::vector<int64_t>& ids, const std::string& owner);
  // Owners of leases that have not expired, and releasing all of one owner's.
  Expected<std::vector<std::string>> lease_owners(int64_t now);
  Expected<int> release_owner(const std::string& owner);
  // Destinations with pending rows.
  Expected<std::vector<std::string>> pending_destinations();
  // When a pending row (of destination; any when empty) is next due: its next
  // attempt or the end of its lease, whichever is later. Never for a disabled
  // destination.
  Expected<std::optional<int64_t>> next_due_time(const std::string& destination = "");
  // Records outcomes and ends their leases, in one transaction.
  Status record_outcomes(const std::vector<DeliveryOutcome>& outcomes, int64_t now);
  // For `herald outbox`: rows in a state ("pending", "delivered", "dead", "" = all).
  Expected<std::vector<OutboxRow>> outbox_rows(const std::string& state, int limit);
  Expected<std::vector<OutboxRow>> outbox_rows(const OutboxFilter& filter);
  // One delivery with its message, if it exists.
  Expected<std::optional<OutboxRow>> outbox_row(int64_t id);
  // Makes dead deliveries (or one; of a destination when not empty) pending
  // again, due now, with a fresh age (created_at = now, attempts 0, so a
  // destination's max age counts from the retry). Returns how many.
  Expected<int> retry_dead(std::optional<int64_t> id, int64_t now,
                           const std::string& destination = "");
  // Deletes dead or delivered deliveries created before `created_before` (of
  // a destination when not empty), and the messages left with none. Pending
  // ones are refused (bad_input). Returns how many deliveries.
  Expected<int> purge(const std::string& state, const std::string& destination,
                      int64_t created_before);
  Expected<std::vector<std::pair<std::string, int64_t>>> outbox_depth();
  // Outbox rows by (destination, state).
  Expected<std::vector<CountRow>> count_outbox_by_destination();
  // The outbox message with this key (or with a delivery of this key), if any.
  Expected<std::optional<OutboxPayload>> outbox_payload(const std::string& idempotency_key);

 private:
  Database& m_db;
};

}  // namespace herald
