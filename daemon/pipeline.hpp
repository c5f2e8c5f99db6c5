// The pipeline: poll sources into the store, route stored events into the
// outbox, deliver due outbox rows through the sinks. Each step is one call,
// so `run --once`, the daemon loop and the tests drive the same code.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adapters/sinks/sink.hpp"
#include "adapters/sources/source.hpp"
#include "daemon/clock.hpp"
#include "daemon/config.hpp"
#include "daemon/deliver.hpp"
#include "daemon/digest.hpp"
#include "daemon/render.hpp"
#include "daemon/run_report.hpp"
#include "daemon/store.hpp"
#include "daemon/subscriptions/digest.hpp"

namespace herald {


// Renders an event for a destination into its outbox row through the
// destination's kind, Date `now`: what routing stores and `herald preview`
// prints. extra: more template data (a release's links and tickets,
// lustre::announcement_context). Errors: a template or an address that does
// not work.
Expected<NewDelivery> render_delivery(const Config& cfg, const Templates& templates,
                                      const DestinationConfig& dest, const Event& e, int64_t now,
                                      const nlohmann::json* extra = nullptr);

class Pipeline {
 public:
  // The store and clock must outlive the pipeline. sinks: per destination
  // (destination_sinks in herald, fakes in tests).
  Pipeline(Config cfg, Templates templates, Store& store, const Clock& clock, SinkFactory sinks);

  // Polls every source that is due, or all of them in a one-shot run (once,
  // `run --once`). A failing source is recorded and backed off; the others go on.
  void poll_sources(bool once, RunReport& report);
  // Publishes the security notices whose time has come (approved, and their
  // embargo over): each becomes an event for route_pending.
  void publish_notices(RunReport& report);
  // Routes and renders every unrouted event into outbox rows.
  void route_pending(RunReport& report);
  // Collects and commits every digest window that is due into outbox rows.
  void run_digests(RunReport& report);
  // Delivers every row due now and returns (stop: the sends in flight are
  // finished and recorded first). For `run --once` and tests; the daemon
  // delivers in the background instead (start_delivery).
  void deliver_due(RunReport& report, const std::atomic<bool>* stop = nullptr);
  // Background delivery (see deliver.hpp): lanes per destination until stopped.
  void start_delivery(DeliveryHooks hooks);
  Deliverer& deliverer() { return *m_deliverer; }
  // When a poll or a digest is next due (Unix s); outbox retries are the lanes' own.
  int64_t next_wakeup();

  const Config& config() const { return m_cfg; }
  const Templates& templates() const { return m_templates; }

 private:
  // The personal mails of an event to the audience of a topic (confirmed,
  // immediate subscribers whose branches match), into out. An error means
  // the pass must not commit (the audience could not be read).
  static constexpr size_t k_fanout_batch = 500;  // personal copies held at once
  Status route_to_topic(const Event& e, const std::string& topic,
                        const std::vector<Subscriber>& confirmed, const nlohmann::json& release,
                        int64_t now, int priority, std::vector<NewDelivery>& out,
                        RunReport& report);

  Config m_cfg;
  Templates m_templates;
  Store& m_store;
  const Clock& m_clock;
  SinkFactory m_make_sink;
  std::vector<std::unique_ptr<Source>> m_sources;
  std::unique_ptr<DigestRunner> m_digests;
  std::unique_ptr<SubscriberDigests> m_subscriber_digests;  // with [web] base_url
  std::unique_ptr<Deliverer> m_deliverer;  // last: its lanes use the rest
};

}  // namespace herald
