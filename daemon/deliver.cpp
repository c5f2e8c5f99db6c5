// Lanes, leases, per-destination gates and the outcome recorder (see
// deliver.hpp). Retry delays follow the destination's retry schedule (HTTP
// kinds: past its last step the row goes dead) or grow exponentially from
// backoff_initial to backoff_max (mail: dead past max_age), with +-20%
// jitter, and never undercut a server's Retry-After. A permanent refusal
// goes dead at once.
//
// A destination's gate is shared by its lanes: a token bucket for its rate,
// the time a Retry-After asked the whole destination to wait, and whether it
// is disabled (it answered that it is gone; an admin enables it again).
#include "daemon/deliver.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <fstream>
#include <future>
#include <random>
#include <sstream>

#include "daemon/util.hpp"

namespace herald {

namespace {

// Uniform in [lo, hi). Jitter needs no cryptographic strength.
double jitter(double lo, double hi) {
  static thread_local std::mt19937 engine{std::random_device{}()};
  return std::uniform_real_distribution<double>(lo, hi)(engine);
}

// Field 22 of /proc/PID/stat: when the process started, in clock ticks after
// boot. With the pid it names one process for as long as the machine is up.
std::optional<uint64_t> process_start(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto paren = text.rfind(')');  // the command name may hold spaces and parentheses
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream fields(text.substr(paren + 1));
  std::string field;
  for (int i = 3; i <= 22; ++i) {
    if (!(fields >> field)) return std::nullopt;
  }
  try {
    return std::stoull(field);
  } catch (...) {
    return std::nullopt;
  }
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

std::string make_owner() {
  static std::atomic<int> instance{0};
  const pid_t pid = ::getpid();
  return host_name() + ":" + std::to_string(pid) + ":" +
         std::to_string(process_start(pid).value_or(0)) + ":" + std::to_string(++instance);
}

// Whether owner names a herald process of this host that no longer runs.
bool owner_is_gone(const std::string& owner, const std::string& host) {
  auto parts = split(owner, ':');
  if (parts.size() != 4 || parts[0] != host) return false;  // another host: wait for expiry
  char* end = nullptr;
  long pid = std::strtol(parts[1].c_str(), &end, 10);
  if (*end != '\0' || pid <= 0) return false;
  auto start = process_start(static_cast<pid_t>(pid));
  return !start || std::to_string(*start) != parts[2];
}

}  // namespace

// Commits the outcomes the lanes hand over, together, and answers each lane
// when its own is on disk.
class Recorder {
 public:
  static constexpr auto k_group_linger = std::chrono::microseconds(1000);
  static constexpr size_t k_group_size = 32;

  Recorder(Store& store, const Clock& clock, std::function<void(const std::string&)> on_state)
      : m_store(store), m_clock(clock), m_on_state(std::move(on_state)) {}
  ~Recorder() { close(); }

  // The recorder's thread starts with the first run, not at construction: a
  // deliverer built before the daemon blocks its signals starts none.
  void start() {
    std::lock_guard lock(m_mutex);
    if (!m_thread.joinable() && !m_closed) m_thread = std::thread([this] { loop(); });
  }

  // Queues the outcome; the future answers true once it is committed, false
  // when it was given up.
  std::future<bool> submit(const DeliveryOutcome& outcome) {
    std::future<bool> done;
    {
      std::lock_guard lock(m_mutex);
      if (m_closed) {
        std::promise<bool> refused;
        refused.set_value(false);
        return refused.get_future();
      }
      m_queue.push_back({outcome, {}});
      done = m_queue.back().done.get_future();
    }
    m_cv.notify_all();
    return done;
  }

  // Drain mode: a failed commit gives up at once instead of retrying.
  void set_give_up(bool give_up) {
    std::lock_guard lock(m_mutex);
    m_give_up = give_up;
  }
  // The deliverer is stopping: while commits fail, give the waiting lanes up.
  void abandon() {
    {
      std::lock_guard lock(m_mutex);
      m_abandon = true;
    }
    m_cv.notify_all();
  }
  // Ready for another run (drain after drain).
  void reset() {
    std::lock_guard lock(m_mutex);
    m_abandon = false;
  }
  void close() {
    {
      std::lock_guard lock(m_mutex);
      if (m_closed) return;
      m_closed = true;
    }
    m_cv.notify_all();
    if (m_thread.joinable()) m_thread.join();
  }
  std::string problem() const {
    std::lock_guard lock(m_mutex);
    return m_problem;
  }

 private:
  struct Pending {
    DeliveryOutcome outcome;
    std::promise<bool> done;
  };

  void loop() {
    std::unique_lock lock(m_mutex);
    for (;;) {
      m_cv.wait(lock, [&] { return m_closed || !m_queue.empty(); });
      if (m_queue.empty()) return;  // closed and nothing left
      // Group commit: a commit costs about as much for one outcome as for
      // dozens, so the first outcome waits a moment for the others in flight.
      m_cv.wait_for(lock, k_group_linger, [&] {
        return m_closed || m_abandon || m_queue.size() >= k_group_size;
      });
      std::vector<Pending> batch;
      while (!m_queue.empty()) {
        batch.push_back(std::move(m_queue.front()));
        m_queue.pop_front();
      }
      std::vector<DeliveryOutcome> outcomes;
      outcomes.reserve(batch.size());
      for (const auto& p : batch) outcomes.push_back(p.outcome);
      lock.unlock();
      auto status = m_store.outbox().record_outcomes(outcomes, m_clock.now());
      lock.lock();
      if (status) {
        for (auto& p : batch) p.done.set_value(true);
        if (!m_problem.empty()) {
          m_problem.clear();
          spdlog::warn("delivery: outcomes are recorded again; sending resumes");
          notify_state(lock, "");
        }
        continue;
      }
      const auto now = std::chrono::steady_clock::now();
      if (m_problem.empty()) {
        m_problem = "cannot record delivery outcomes: " + status.error().message;
        spdlog::critical("delivery: {}; every destination stops sending until outcomes can be "
                         "recorded ({} sent and waiting)",
                         m_problem, batch.size());
        m_last_log = now;
        notify_state(lock, m_problem);
      } else if (now - m_last_log > std::chrono::seconds(30)) {
        spdlog::critical("delivery: still {}; sending stays stopped ({} sent and waiting)",
                         m_problem, batch.size());
        m_last_log = now;
      }
      if (m_give_up || m_abandon || m_closed) {
        for (auto& p : batch) p.done.set_value(false);
        continue;
      }
      for (auto it = batch.rbegin(); it != batch.rend(); ++it) m_queue.push_front(std::move(*it));
      m_cv.wait_for(lock, std::chrono::seconds(1), [&] { return m_abandon || m_closed; });
    }
  }

  // Calls the hook without the lock (it may take other locks).
  void notify_state(std::unique_lock<std::mutex>& lock, const std::string& problem) {
    if (!m_on_state) return;
    lock.unlock();
    m_on_state(problem);
    lock.lock();
  }

  Store& m_store;
  const Clock& m_clock;
  std::function<void(const std::string&)> m_on_state;
  mutable std::mutex m_mutex;
  std::condition_variable m_cv;
  std::deque<Pending> m_queue;
  bool m_closed = false, m_give_up = false, m_abandon = false;
  std::string m_problem;
  std::chrono::steady_clock::time_point m_last_log;
  std::thread m_thread;
};

struct Deliverer::Lane {
  std::string destination;
  std::unique_ptr<Sink> sink;
  std::thread thread;
  std::atomic<bool> ended{false};  // run_lane returned (the destination was disabled, ...)
};

struct Deliverer::Gate {
  double tokens = 0;
  int64_t refilled_ms = 0;       // 0: the bucket starts full
  int64_t paused_until_ms = 0;   // a Retry-After for the whole destination
  bool disabled = false;
  std::string why;
  // Disables a lane has decided and not yet seen committed: until it has, the
  // store not listing the destination does not mean an admin enabled it.
  int disables_in_flight = 0;
};

const DestinationPolicy& Deliverer::policy(const std::string& destination) const {
  static const DestinationPolicy k_none;
  auto it = m_settings.policies.find(destination);
  return it == m_settings.policies.end() ? k_none : it->second;
}

Deliverer::Gate& Deliverer::gate_locked(const std::string& destination) {
  auto& g = m_gates[destination];
  if (!g) g = std::make_unique<Gate>();
  return *g;
}

std::map<std::string, std::string> Deliverer::disabled() const {
  std::lock_guard lock(m_mutex);
  std::map<std::string, std::string> out;
  for (const auto& [name, g] : m_gates)
    if (g->disabled) out[name] = g->why;
  return out;
}

int Deliverer::take_tokens(Lane& lane, int count, uint64_t seen, bool drain) {
  std::unique_lock lock(m_mutex);
  for (;;) {
    if (m_stopping.load() || (m_external_stop && m_external_stop->load())) return 0;
    Gate& g = gate_locked(lane.destination);
    if (g.disabled) return 0;
    const int64_t now = m_clock.now_ms();
    int64_t wait_ms = 0;
    if (g.paused_until_ms > now) {
      if (drain) return 0;  // the rows are due later, not now
      wait_ms = g.paused_until_ms - now;
    } else {
      const DestinationPolicy& p = policy(lane.destination);
      if (p.rate <= 0) return count;
      const double cap = std::max(1, p.burst);
      if (g.refilled_ms == 0 || now < g.refilled_ms) {
        if (g.refilled_ms == 0) g.tokens = cap;
        g.refilled_ms = now;
      }
      g.tokens = std::min(cap, g.tokens + static_cast<double>(now - g.refilled_ms) / 1000.0 * p.rate);
      g.refilled_ms = now;
      if (g.tokens >= 1) {
        const int n = std::min(count, static_cast<int>(g.tokens));
        g.tokens -= n;
        return n;
      }
      wait_ms = static_cast<int64_t>((1.0 - g.tokens) / p.rate * 1000.0) + 1;
    }
    m_wake.wait_for(lock, std::chrono::milliseconds(std::clamp<int64_t>(wait_ms, 1, 3'600'000)),
                    [&] { return m_stopping.load() || m_generation != seen; });
    seen = m_generation;
  }
}

void Deliverer::give_back(Lane& lane, int count) {
  if (count <= 0) return;
  std::lock_guard lock(m_mutex);
  const DestinationPolicy& p = policy(lane.destination);
  if (p.rate <= 0) return;
  Gate& g = gate_locked(lane.destination);
  g.tokens = std::min<double>(std::max(1, p.burst), g.tokens + count);
}

Deliverer::Deliverer(DeliverySettings settings, Store& store, const Clock& clock,
                     SinkFactory sinks, DeliveryHooks hooks)
    : m_settings(std::move(settings)),
      m_store(store),
      m_clock(clock),
      m_make_sink(std::move(sinks)),
      m_hooks(std::move(hooks)),
      m_owner(make_owner()),
      m_recorder(std::make_unique<Recorder>(store, clock,
                                            [this](const std::string&) { report_problem(); })) {}

Deliverer::~Deliverer() {
  stop();
  m_recorder->close();
}

void Deliverer::release_stale_leases() {
  auto owners = m_store.outbox().lease_owners(m_clock.now());
  if (!owners) {
    spdlog::error("delivery: cannot read leases: {}", owners.error().message);
    return;
  }
  const std::string host = host_name();
  for (const auto& o : *owners) {
    if (o == m_owner || !owner_is_gone(o, host)) continue;
    auto n = m_store.outbox().release_owner(o);
    if (!n) {
      spdlog::error("delivery: cannot release the leases of {}: {}", o, n.error().message);
    } else if (*n > 0) {
      spdlog::warn("delivery: {} deliveries were claimed by herald {}, which stopped without "
                   "recording them; they are due again (a repeat carries the same Message-ID)",
                   *n, o);
    }
  }
}

void Deliverer::add_lanes_locked(const std::string& destination, bool drain) {
  if (auto it = m_lanes.find(destination); it != m_lanes.end() && !it->second.empty()) {
    // Lanes that ended (their destination was disabled, and is enabled again) make
    // way for new ones; lanes still running serve the destination as they are.
    for (const auto& lane : it->second)
      if (!lane->ended.load()) return;
    for (auto& lane : it->second)
      if (lane->thread.joinable()) lane->thread.join();
    it->second.clear();
  }
  if (!m_settings.policies.empty() && !m_settings.policies.count(destination)) {
    if (m_unconfigured_warned.insert(destination).second)
      spdlog::warn("delivery: destination {} has pending deliveries but is not configured; they "
                   "wait until it is configured again (or `herald outbox purge`)",
                   destination);
    return;
  }
  if (Gate& g = gate_locked(destination); g.disabled) {
    if (m_unconfigured_warned.insert(destination).second)
      spdlog::warn("delivery: destination {} is disabled ({}); its deliveries wait until "
                   "`herald destination enable {}`",
                   destination, g.why, destination);
    return;
  }
  auto& lanes = m_lanes[destination];
  const int count = m_settings.policies.empty() ? m_settings.lanes : policy(destination).lanes;
  for (int i = 0; i < std::max(1, count); ++i) {
    auto lane = std::make_unique<Lane>();
    lane->destination = destination;
    Lane* raw = lane.get();
    ++m_running;
    lane->thread = std::thread([this, raw, drain] { run_lane(*raw, drain); });
    lanes.push_back(std::move(lane));
  }
}

void Deliverer::set_hooks(DeliveryHooks hooks) { m_hooks = std::move(hooks); }

std::vector<std::string> Deliverer::load_disabled() {
  std::vector<std::string> enabled;
  auto disabled = m_store.destinations().disabled();
  if (!disabled) {
    spdlog::error("delivery: cannot read which destinations are disabled: {}",
                  disabled.error().message);
    return enabled;
  }
  std::lock_guard lock(m_mutex);
  for (auto& [name, g] : m_gates) {
    if (g->disabled && g->disables_in_flight == 0 && !disabled->count(name)) {
      g->disabled = false;
      g->why.clear();
      m_unconfigured_warned.erase(name);
      enabled.push_back(name);
    }
  }
  for (const auto& entry : *disabled) {
    Gate& g = gate_locked(entry.first);
    g.disabled = true;
    g.why = entry.second.reason;
  }
  return enabled;
}

void Deliverer::refresh() {
  for (const auto& name : load_disabled()) {
    spdlog::info("destination {} was enabled again; its deliveries are due", name);
    if (m_hooks.enabled) m_hooks.enabled(name);
  }
  wake();
}

void Deliverer::start(const std::vector<std::string>& destinations) {
  m_recorder->start();
  m_recorder->set_give_up(false);
  m_recorder->reset();
  m_stopping = false;
  release_stale_leases();
  load_disabled();
  auto pending = m_store.outbox().pending_destinations();
  if (!pending) spdlog::error("delivery: cannot list destinations: {}", pending.error().message);
  std::lock_guard lock(m_mutex);
  m_started = true;
  for (const auto& d : destinations) add_lanes_locked(d, false);
  if (pending)
    for (const auto& d : *pending) add_lanes_locked(d, false);
}

void Deliverer::wake() {
  auto pending = m_store.outbox().pending_destinations();
  {
    std::lock_guard lock(m_mutex);
    if (!m_started || m_stopping) return;
    if (pending)
      for (const auto& d : *pending) add_lanes_locked(d, false);
    ++m_generation;
  }
  m_wake.notify_all();
}

void Deliverer::request_stop() {
  {
    std::lock_guard lock(m_mutex);
    m_stopping = true;
  }
  m_recorder->abandon();
  m_wake.notify_all();
}

void Deliverer::stop() {
  request_stop();
  std::map<std::string, std::vector<std::unique_ptr<Lane>>> lanes;
  {
    std::lock_guard lock(m_mutex);
    lanes.swap(m_lanes);
    m_started = false;
  }
  for (auto& [name, list] : lanes)
    for (auto& lane : list)
      if (lane->thread.joinable()) lane->thread.join();
}

bool Deliverer::stopped() const { return m_running.load() == 0; }

std::string Deliverer::recording_problem() const {
  std::string problem = m_recorder->problem();
  if (!problem.empty()) return problem;
  std::lock_guard lock(m_problem_mutex);
  return m_claim_problem;
}

void Deliverer::set_claim_problem(const std::string& why) {
  {
    std::lock_guard lock(m_problem_mutex);
    if (m_claim_problem == why) return;
    m_claim_problem = why;
  }
  report_problem();
}

void Deliverer::report_problem() {
  const std::string now = recording_problem();
  {
    std::lock_guard lock(m_problem_mutex);
    if (now == m_reported_problem) return;
    m_reported_problem = now;
  }
  if (m_hooks.recording) m_hooks.recording(now);
}

DeliveryCounts Deliverer::drain(const std::atomic<bool>* stop) {
  {
    std::lock_guard counts(m_counts_mutex);
    m_counts = {};
  }
  m_recorder->start();
  m_recorder->set_give_up(true);
  m_recorder->reset();
  m_stopping = false;
  m_external_stop = stop;
  release_stale_leases();
  load_disabled();
  auto pending = m_store.outbox().pending_destinations();
  if (!pending) {
    spdlog::error("delivery: cannot list destinations: {}", pending.error().message);
  } else {
    std::map<std::string, std::vector<std::unique_ptr<Lane>>> lanes;
    {
      std::lock_guard lock(m_mutex);
      for (const auto& d : *pending) add_lanes_locked(d, true);
      lanes.swap(m_lanes);
    }
    for (auto& [name, list] : lanes)
      for (auto& lane : list) lane->thread.join();
  }
  m_external_stop = nullptr;
  std::lock_guard counts(m_counts_mutex);
  return m_counts;
}

void Deliverer::wait_for_work(Lane&, uint64_t seen, int64_t due_at) {
  const int64_t wait_ms = std::clamp<int64_t>(due_at * 1000 - m_clock.now_ms(), 100, 3'600'000);
  std::unique_lock lock(m_mutex);
  m_wake.wait_for(lock, std::chrono::milliseconds(wait_ms),
                  [&] { return m_stopping.load() || m_generation != seen; });
}

void Deliverer::run_lane(Lane& lane, bool drain) {
  auto stop_requested = [&] {
    return m_stopping.load() || (m_external_stop && m_external_stop->load());
  };
  while (!stop_requested()) {
    uint64_t seen = 0;
    {
      std::lock_guard lock(m_mutex);
      seen = m_generation;
    }
    const int64_t now = m_clock.now();
    if (!m_recorder->problem().empty()) {  // sends stay stopped until outcomes are recorded
      if (drain) break;
      wait_for_work(lane, seen, now + 1);
      continue;
    }
    // The gate: disabled, paused by a Retry-After, or out of rate tokens.
    const DestinationPolicy& pol = policy(lane.destination);
    int want = m_settings.delivery.batch;
    if (pol.rate > 0) want = std::min(want, std::max(1, pol.burst));
    const int allowed = take_tokens(lane, want, seen, drain);
    if (allowed == 0) break;  // stopping, disabled, or (drain) paused
    auto claimed = m_store.outbox().claim_deliveries(lane.destination, m_clock.now(), allowed,
                                                     m_owner, m_clock.now() + m_settings.lease_s);
    if (claimed && static_cast<int>(claimed->size()) < allowed)
      give_back(lane, allowed - static_cast<int>(claimed->size()));
    else if (!claimed)
      give_back(lane, allowed);
    if (!claimed) {
      spdlog::error("delivery to {}: cannot claim deliveries, so nothing is sent: {}",
                    lane.destination, claimed.error().message);
      set_claim_problem("cannot claim deliveries: " + claimed.error().message);
      if (drain) {
        std::lock_guard lock(m_counts_mutex);
        ++m_counts.unclaimed;
        break;
      }
      wait_for_work(lane, seen, now + 5);
      continue;
    }
    set_claim_problem("");
    if (claimed->empty()) {
      if (drain) break;
      auto due = m_store.outbox().next_due_time(lane.destination);
      wait_for_work(lane, seen, !due ? now + 5 : *due ? **due : now + 3600);
      continue;
    }
    if (!send_chunk(lane, std::move(*claimed))) break;
  }
  --m_running;
  m_wake.notify_all();
  lane.ended = true;  // last: add_lanes_locked may join this thread from here on
}

bool Deliverer::send_chunk(Lane& lane, std::vector<OutboxItem> items) {
  if (!lane.sink) {
    lane.sink = m_make_sink(lane.destination);
    if (!lane.sink) {
      spdlog::error("delivery to {}: no sink for this destination (kind without an adapter?); "
                    "its deliveries wait",
                    lane.destination);
      std::vector<int64_t> ids;
      for (const auto& it : items) ids.push_back(it.id);
      (void)m_store.outbox().release_leases(ids, m_owner);
      return false;
    }
    lane.sink->watch_interrupt(&m_stopping);
  }
  int64_t lease_until = m_clock.now() + m_settings.lease_s;
  size_t next = 0;
  bool keep_going = true;
  // Outcomes handed to the recorder and not yet known to be committed, oldest first.
  struct Unsettled {
    size_t index;
    DeliveryOutcome outcome;
    std::future<bool> committed;
  };
  std::deque<Unsettled> unsettled;
  bool all_recorded = true;
  auto settle_oldest = [&] {
    Unsettled u = std::move(unsettled.front());
    unsettled.pop_front();
    const bool recorded = u.committed.get();
    const OutboxItem& item = items[u.index];
    if (u.outcome.result.status == DeliveryResult::Status::disable) {
      std::lock_guard lock(m_mutex);
      --gate_locked(item.destination).disables_in_flight;
    }
    {
      std::lock_guard lock(m_counts_mutex);
      if (!recorded) {
        ++m_counts.unrecorded;
      } else if (u.outcome.dead) {
        ++m_counts.dead;
      } else if (u.outcome.result.status != DeliveryResult::Status::delivered) {
        ++m_counts.retried;
      } else {
        ++m_counts.delivered;
      }
    }
    if (!recorded) {
      spdlog::error("delivery {} to {}: {} but the outcome could not be recorded; it will be "
                    "attempted again after a restart",
                    item.idempotency_key, item.destination, to_string(u.outcome.result.status));
      all_recorded = false;
    } else if (m_hooks.outcome) {
      m_hooks.outcome(item, u.outcome);
    }
  };
  lane.sink->deliver_each(items, [&](size_t i, DeliveryResult result) {
    next = i + 1;
    const OutboxItem& item = items[i];
    DeliveryOutcome outcome = classify(item, std::move(result), m_clock.now());
    unsettled.push_back({i, outcome, m_recorder->submit(outcome)});
    while (unsettled.size() > static_cast<size_t>(k_unrecorded_per_lane)) settle_oldest();
    if (!all_recorded) {
      keep_going = false;
      return false;
    }
    // Outcomes are not being recorded (a full disk): no more sends until they are;
    // the lane waits for its own below, then in run_lane.
    if (!m_recorder->problem().empty()) return false;
    if (outcome.result.status == DeliveryResult::Status::disable) {
      keep_going = false;  // the rest of the chunk waits for the destination to be enabled
      return false;
    }
    // The server asked the destination to wait: the rest of the chunk goes back, and the
    // lane's gate waits (see take_tokens).
    if (outcome.result.status == DeliveryResult::Status::retry && outcome.result.retry_after_s &&
        *outcome.result.retry_after_s > 0)
      return false;
    if (m_stopping.load() || (m_external_stop && m_external_stop->load())) {
      keep_going = false;
      return false;
    }
    // A long chunk keeps its rows: the lease is renewed at half time.
    const int64_t now = m_clock.now();
    if (next < items.size() && now > lease_until - m_settings.lease_s / 2) {
      std::vector<int64_t> rest;
      for (size_t k = next; k < items.size(); ++k) rest.push_back(items[k].id);
      if (auto s = m_store.outbox().extend_leases(rest, m_owner, now + m_settings.lease_s); s)
        lease_until = now + m_settings.lease_s;
    }
    return true;
  });
  while (!unsettled.empty()) settle_oldest();
  if (!all_recorded) keep_going = false;
  if (next < items.size()) {  // stopped early: the rest was not sent
    std::vector<int64_t> rest;
    for (size_t k = next; k < items.size(); ++k) rest.push_back(items[k].id);
    if (auto s = m_store.outbox().release_leases(rest, m_owner); !s)
      spdlog::warn("delivery to {}: {} claimed deliveries stay leased until their lease ends: {}",
                   lane.destination, rest.size(), s.error().message);
  }
  return keep_going;
}

int64_t Deliverer::retry_delay_s(int attempts, std::optional<int64_t> retry_after) const {
  const auto& d = m_settings.delivery;
  double base = static_cast<double>(d.backoff_initial_ms) / 1000.0;
  for (int i = 0; i < attempts && base < d.backoff_max_ms / 1000.0; ++i) base *= 2;
  base = std::min(base, d.backoff_max_ms / 1000.0);
  auto wait = static_cast<int64_t>(base * jitter(0.8, 1.2));
  if (retry_after) wait = std::max(wait, *retry_after);
  return std::max<int64_t>(wait, 1);
}

DeliveryOutcome Deliverer::classify(const OutboxItem& it, DeliveryResult result,
                                    int64_t done_at) {
  DeliveryOutcome o;
  o.id = it.id;
  o.result = std::move(result);
  using S = DeliveryResult::Status;
  const DestinationPolicy& pol = policy(it.destination);
  if (o.result.status == S::retry && !pol.retry_schedule_ms.empty()) {
    const auto& steps = pol.retry_schedule_ms;
    if (it.attempts >= static_cast<int>(steps.size())) {
      o.dead = true;
      o.result.detail = "gave up after " + std::to_string(it.attempts + 1) +
                        " attempts (the retry schedule is used up): " + o.result.detail;
    } else {
      auto wait = static_cast<int64_t>(static_cast<double>(steps[static_cast<size_t>(it.attempts)]) /
                                       1000.0 * jitter(0.8, 1.2));
      if (o.result.retry_after_s) wait = std::max(wait, *o.result.retry_after_s);
      o.next_attempt_at = done_at + std::max<int64_t>(wait, 1);
    }
  } else if (o.result.status == S::retry) {
    o.next_attempt_at = done_at + retry_delay_s(it.attempts, o.result.retry_after_s);
    if (o.next_attempt_at - it.created_at > m_settings.delivery.max_age_ms / 1000) {
      o.dead = true;
      o.result.detail =
          "gave up after " + std::to_string(it.attempts + 1) + " attempts: " + o.result.detail;
    }
  } else if (o.result.status == S::permanent) {
    o.dead = true;
  } else if (o.result.status == S::disable) {
    o.next_attempt_at = done_at;  // due as soon as the destination is enabled again
    bool first = false;
    {
      std::lock_guard lock(m_mutex);
      Gate& g = gate_locked(it.destination);
      first = !g.disabled;
      g.disabled = true;
      g.why = o.result.detail;
      ++g.disables_in_flight;  // until the lane settles this outcome
    }
    if (first) {
      spdlog::error("destination {} is disabled: {}; its deliveries stay pending until an admin "
                    "runs `herald destination enable {}`",
                    it.destination, o.result.detail, it.destination);
      if (m_hooks.disabled) m_hooks.disabled(it.destination, o.result.detail);
    }
    return o;
  }
  // A server's Retry-After holds the whole destination, not only this row.
  if (o.result.status == S::retry && o.result.retry_after_s && *o.result.retry_after_s > 0) {
    std::lock_guard lock(m_mutex);
    Gate& g = gate_locked(it.destination);
    g.paused_until_ms = std::max(g.paused_until_ms, m_clock.now_ms() + *o.result.retry_after_s * 1000);
  }
  if (o.dead) {
    spdlog::error("delivery {} to {}: dead: {}", it.idempotency_key, it.destination,
                  o.result.detail);
  } else if (o.result.status == S::retry) {
    spdlog::warn("delivery {} to {}: retry at {} (attempt {}): {}", it.idempotency_key,
                 it.destination, format_rfc3339(o.next_attempt_at), it.attempts + 1,
                 o.result.detail);
  } else {
    spdlog::info("delivery {} to {}: delivered: {}", it.idempotency_key, it.destination,
                 o.result.detail);
  }
  return o;
}

}  // namespace herald
