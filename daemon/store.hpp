// The store: SQLite in WAL mode holding events, per-source state, the outbox
// (messages and one delivery per message x recipient), digests and
// destination state.
// Invariant: an event is inserted in the same transaction that advances its
// source's cursor, and outbox rows in the same transaction that marks the
// event routed. All methods are thread-safe (one connection, one mutex).
// Another process holding the write lock (herald outbox retry beside the
// daemon) is waited for, up to a bounded time; then the call answers a
// temporary error.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "adapters/sinks/sink.hpp"
#include "daemon/event.hpp"
#include "daemon/expected.hpp"

struct sqlite3;

namespace herald {

// The schema version this herald writes; a database with a larger
// PRAGMA user_version came from a newer herald and is refused.
inline constexpr int k_schema_version = 4;

struct SourceState {
  std::string source;
  std::string cursor;
  std::string etag;
  std::string last_modified;
  std::string content_hash;  // of the last body parsed, to skip unchanged bodies
  int64_t last_success = 0;
  int64_t last_attempt = 0;
  std::string last_error;
  int64_t error_count = 0;           // total failures
  int64_t consecutive_failures = 0;  // since the last success, drives backoff
  int64_t next_poll_at = 0;
};

// The result of one successful poll, committed atomically.
struct PollCommit {
  std::string source;
  std::vector<Event> events;
  std::vector<bool> announce;  // per event: false = record as seen, do not route
  std::string cursor, etag, last_modified, content_hash;
  int64_t now = 0;
  int64_t next_poll_at = 0;
};

struct StoredEvent {
  int64_t id = 0;
  Event event;
};

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

// Events pushed by one inbound request (webhook delivery, API batch).
struct InboundItem {
  std::string source;
  std::string delivery_id;  // the sender's delivery id; empty = no dedup by delivery
  std::vector<Event> events;
  std::vector<bool> announce = {};  // per event: false = no route can take it: stored routed
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
  std::string state;        // pending, delivered, dead; "" = all
  std::string destination;  // "" = all
  std::optional<int64_t> created_before;  // created_at < this (Unix s)
  int limit = 50;
};

// An outbox message, for `herald preview`.
struct OutboxPayload {
  std::string state, payload;
  int64_t created_at = 0;
};

// A destination an admin (or the destination's own answer) switched off.
struct DisabledDestination {
  std::string reason;
  int64_t since = 0;
};

class Store {
 public:
  // Opens (creating if needed) and migrates the database. Errors: cannot open,
  // schema from a newer herald, migration failure.
  static Expected<std::unique_ptr<Store>> open(const std::string& path);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  Expected<int> schema_version() const;
  // How long a call waits for another connection's write lock before it
  // answers a temporary error (default 30 s).
  void set_busy_timeout(std::chrono::milliseconds wait);

  // Every reader answers an error (temporary) rather than throwing.
  Expected<SourceState> source_state(const std::string& source);
  // Inserts the new events (existing keys are ignored) and advances the
  // source's state in one transaction. Returns how many events were new.
  Expected<int> commit_poll(const PollCommit& poll);
  // Records a failed poll: error text, counters, when to try next. The cursor does not move.
  Status record_poll_failure(const std::string& source, const std::string& error, int64_t now,
                             int64_t next_poll_at);
  // Inserts events pushed to herald (webhooks, API) in one transaction; returns how many were new.
  Expected<int> insert_events(const std::vector<Event>& events, int64_t now);

  // Group commit of inbound requests: every item in one transaction. Per item,
  // true when stored, false when its delivery id was seen before (nothing stored).
  Expected<std::vector<bool>> ingest(const std::vector<InboundItem>& items, int64_t now);

  // Events received in [from, to) (Unix s) whose kind is listed (all when empty), by id.
  Expected<std::vector<StoredEvent>> events_received_between(
      int64_t from, int64_t to, const std::vector<std::string>& kinds);
  // The end of the last digest window committed for a digest, if any.
  Expected<std::optional<int64_t>> digest_window_end(const std::string& name);
  // Writes a digest's deliveries and advances its window end, in one transaction.
  Status commit_digest(const std::string& name, int64_t window_end,
                       const std::vector<NewDelivery>& deliveries, int64_t now);

  Expected<std::vector<StoredEvent>> unrouted_events(int limit);
  // Writes the deliveries and marks the events routed, in one transaction.
  Status commit_routing(const std::vector<int64_t>& event_ids,
                        const std::vector<NewDelivery>& deliveries, int64_t now);

  // Pending rows due at `now` and not leased, highest priority first, then oldest.
  Expected<std::vector<OutboxItem>> due_deliveries(int64_t now, int limit);
  // Claims up to limit due rows of a destination for owner until lease_until,
  // in one immediate transaction: no other claim (this process or another on
  // the same database) takes them until the lease expires or is released.
  Expected<std::vector<OutboxItem>> claim_deliveries(const std::string& destination, int64_t now,
                                                     int limit, const std::string& owner,
                                                     int64_t lease_until);
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
  // attempt or the end of its lease, whichever is later.
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

  // Destination state. A disabled destination's deliveries stay pending and
  // are not claimed until it is enabled.
  Status disable_destination(const std::string& name, const std::string& reason, int64_t now);
  // False when it was not disabled.
  Expected<bool> enable_destination(const std::string& name);
  Expected<std::map<std::string, DisabledDestination>> disabled_destinations();
  Expected<int64_t> count_events();
  Expected<std::vector<std::pair<std::string, int64_t>>> outbox_depth();  // state -> deliveries

  // Read-only figures for the HTTP server's /metrics and /healthz.
  struct CountRow {
    std::string first, second;
    int64_t count = 0;
  };
  // Stored events by (source, kind).
  Expected<std::vector<CountRow>> count_events_by_source_kind();
  // Outbox rows by (destination, state).
  Expected<std::vector<CountRow>> count_outbox_by_destination();
  // Those of `keys` that are already stored as event keys.
  Expected<std::vector<std::string>> existing_event_keys(const std::vector<std::string>& keys);
  // A trivial read; ok when the database answers.
  Status health_check();

  // The stored event with this key, if any.
  Expected<std::optional<StoredEvent>> event_by_key(const std::string& key);
  // The outbox message with this key (or with a delivery of this key), if any.
  Expected<std::optional<OutboxPayload>> outbox_payload(const std::string& idempotency_key);

 private:
  explicit Store(sqlite3* db);
  Status exec(const char* sql);
  Status migrate();

  mutable std::mutex m_mutex;
  sqlite3* m_db;
  std::chrono::milliseconds m_busy_wait{30'000};
};

}  // namespace herald
