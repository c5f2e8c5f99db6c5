// Subscriber digests: each confirmed subscriber in daily or weekly mode gets
// one mail a period with the announcements of their topics and branches
// received in it (what an immediate subscriber got one by one: the events a
// route sends to "topic:NAME" for one of their topics). Periods end at
// 00:00 UTC, weekly ones on Mondays. Each period's mails are written in the
// transaction that records the period as done, so a period is sent exactly
// once across restarts; a first run starts counting, it sends no history.
#pragma once

#include <cstdint>
#include <string>

#include "daemon/clock.hpp"
#include "daemon/config.hpp"
#include "daemon/render.hpp"
#include "daemon/run_report.hpp"
#include "daemon/store.hpp"

namespace herald {

// The start of the period of `mode` ("daily", "weekly") that holds t.
int64_t subscriber_period_start(const std::string& mode, int64_t t);

class SubscriberDigests {
 public:
  // Seconds after a period's end before its digest is made (an event
  // committed just after midnight but stamped before it is in it).
  static constexpr int64_t k_settle_s = 5;

  SubscriberDigests(const Config& cfg, const Templates& templates, Store& store, const Clock& clock)
      : m_cfg(cfg), m_templates(templates), m_store(store), m_clock(clock) {}

  // Sends every period that has ended and is not recorded as sent.
  void run_due(RunReport& report);
  // When run_due has something to do next (Unix s).
  int64_t next_due();

 private:
  Status run_mode(const std::string& mode, int64_t now, RunReport& report);

  const Config& m_cfg;
  const Templates& m_templates;
  Store& m_store;
  const Clock& m_clock;
};

}  // namespace herald
