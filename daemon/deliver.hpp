// Delivery: claim due outbox rows, send them through a sink, record each
// outcome before the next send.
//
// Each destination has its own lanes (threads), each with its own sink and
// so its own connection: a destination whose server is slow or hung holds up
// its own lanes only, never another destination, and never the daemon loop
// (polls, routing, digests go on). A lane claims a few rows at a time with a
// lease in the store, so no other lane or herald process sends them while it
// works; an expired lease is claimed again, and the leases of a herald that
// died on this host are released when the next one starts.
//
// Outcomes go to one recorder that commits what the lanes hand it together
// (group commit). A lane goes on sending while its outcomes are committed,
// but never has more than k_unrecorded_per_lane of them uncommitted, and
// every outcome of a chunk is committed before the lane claims again: a
// crash repeats at most that many sends per lane, each with the idempotency
// key of the first (the webhook-id, the Message-ID), and a lane that has not
// yet learnt that a commit failed sends at most that many more. When
// outcomes cannot be recorded (disk full, database gone) every lane stops
// sending until they can; the recorder says so (log, the recording hook that
// feeds /metrics and /healthz) and retries. In drain mode (`run --once`,
// tests) it gives up at once instead and the run reports the rows whose
// outcome is unrecorded.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "adapters/sinks/sink.hpp"
#include "daemon/clock.hpp"
#include "daemon/config.hpp"
#include "daemon/destination.hpp"
#include "daemon/store.hpp"

namespace herald {

// Sends of one lane whose outcome may be waiting for its commit (see above).
inline constexpr int k_unrecorded_per_lane = 8;

// How one destination is served.
struct DestinationPolicy {
  int lanes = 2;          // connections, and sends in flight
  double rate = 0;        // messages a second over all its lanes; 0 = no limit
  int burst = 1;          // tokens the bucket holds
  // The wait after each failed attempt; past the last, dead. Empty: the
  // [delivery] backoff, dead past max_age.
  std::vector<int64_t> retry_schedule_ms;
};

struct DeliverySettings {
  DeliveryConfig delivery;  // backoff, maximum age, rows claimed at once
  int lanes = 2;            // for a destination without a policy (tests)
  int64_t lease_s = 1800;   // longer than twice the longest single send
  // Per destination. When the map is not empty, rows of a destination it
  // does not name (removed from the configuration) wait, unsent.
  std::map<std::string, DestinationPolicy> policies;
};

// What the lanes did; filled while they run.
struct DeliveryCounts {
  int delivered = 0, retried = 0, dead = 0;
  int unrecorded = 0;  // sent (or attempted) but the outcome could not be stored
  int unclaimed = 0;   // lanes that could not claim their destination's rows
};

struct DeliveryHooks {
  // After each outcome is recorded (from a lane thread).
  std::function<void(const OutboxItem&, const DeliveryOutcome&)> outcome;
  // When the store stops taking claims or outcomes (why), and when it takes
  // them again (empty).
  std::function<void(const std::string& problem)> recording;
  // A destination answered that it is gone (why): its lanes stop taking rows
  // until it is enabled again. Called once per destination, from a lane.
  std::function<void(const std::string& destination, const std::string& why)> disabled;
  // An admin enabled a disabled destination (`herald destination enable`):
  // its deliveries are due again. From the thread that called refresh().
  std::function<void(const std::string& destination)> enabled;
};

class Recorder;

class Deliverer {
 public:
  // The store, clock and hooks' targets must outlive the deliverer.
  Deliverer(DeliverySettings settings, Store& store, const Clock& clock, SinkFactory sinks,
            DeliveryHooks hooks = {});
  ~Deliverer();  // stop()
  Deliverer(const Deliverer&) = delete;
  Deliverer& operator=(const Deliverer&) = delete;

  // Before start(): what the lanes report.
  void set_hooks(DeliveryHooks hooks);
  // Background mode: releases the leases of herald processes of this host that
  // are gone, reads which destinations are disabled, then runs lanes for each
  // destination named and each that has pending rows, until stop().
  void start(const std::vector<std::string>& destinations);
  // Another herald command wrote the database: reads again which destinations
  // are disabled (an enabled one gets its lanes back) and has every lane look
  // for due rows again (`herald outbox retry`).
  void refresh();
  // Rows may have become due (routing, digests): lanes look again, and
  // destinations that have none yet get lanes.
  void wake();
  // No new sends; what is in flight is finished and recorded; claimed rows not
  // yet sent are released. request_stop returns at once, stop waits.
  void request_stop();
  void stop();
  // Every lane has ended (after request_stop).
  bool stopped() const;

  // Drain mode: releases stale leases as start() does, delivers every row due
  // now, then returns (stop: finish the sends in flight and return early).
  // Not while started.
  DeliveryCounts drain(const std::atomic<bool>* stop = nullptr);

  // Empty while claims and outcomes are being recorded; else why they are not.
  std::string recording_problem() const;
  // This deliverer's lease owner: host:pid:process start:instance.
  const std::string& owner() const { return m_owner; }
  // Destinations disabled now (name -> why).
  std::map<std::string, std::string> disabled() const;

 private:
  struct Lane;
  struct Gate;  // per destination: rate-limit tokens, Retry-After pause, disabled
  const DestinationPolicy& policy(const std::string& destination) const;
  Gate& gate_locked(const std::string& destination);
  // Waits until the destination may take count more messages; how many it may (0: stopping,
  // disabled, or in drain mode paused by a Retry-After). Unused tokens go back by give_back.
  int take_tokens(Lane& lane, int count, uint64_t seen, bool drain);
  void give_back(Lane& lane, int count);
  void add_lanes_locked(const std::string& destination, bool drain);
  void run_lane(Lane& lane, bool drain);
  // Sends one claimed chunk; false when the lane must stop.
  bool send_chunk(Lane& lane, std::vector<OutboxItem> items);
  DeliveryOutcome classify(const OutboxItem& item, DeliveryResult result, int64_t done_at);
  int64_t retry_delay_s(int attempts, std::optional<int64_t> retry_after) const;
  void release_stale_leases();
  // The store's disabled destinations into the gates; returns those enabled since.
  std::vector<std::string> load_disabled();
  void wait_for_work(Lane& lane, uint64_t seen, int64_t due_at);
  // A claim failed (why) or worked (empty); tells the hook when the combined state changes.
  void set_claim_problem(const std::string& why);
  void report_problem();

  DeliverySettings m_settings;
  Store& m_store;
  const Clock& m_clock;
  SinkFactory m_make_sink;
  DeliveryHooks m_hooks;
  std::string m_owner;
  std::unique_ptr<Recorder> m_recorder;

  mutable std::mutex m_mutex;
  std::condition_variable m_wake;
  uint64_t m_generation = 0;  // bumped by wake()
  std::atomic<bool> m_stopping{false};
  const std::atomic<bool>* m_external_stop = nullptr;  // drain's
  bool m_started = false;
  std::map<std::string, std::vector<std::unique_ptr<Lane>>> m_lanes;  // by destination
  std::map<std::string, std::unique_ptr<Gate>> m_gates;                // by destination
  std::set<std::string> m_unconfigured_warned;
  std::atomic<int> m_running{0};

  std::mutex m_counts_mutex;
  DeliveryCounts m_counts;

  mutable std::mutex m_problem_mutex;
  std::string m_claim_problem;
  std::string m_reported_problem;  // what the hook was last told
};

}  // namespace herald
