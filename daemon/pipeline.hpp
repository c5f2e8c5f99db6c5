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
#include "daemon/digest.hpp"
#include "daemon/render.hpp"
#include "daemon/run_report.hpp"
#include "daemon/store.hpp"

namespace herald {


// Makes one connection's worth of transport for mail destinations.
using SinkFactory = std::function<std::unique_ptr<Sink>()>;

// The mail transport the configuration asks for: SMTP when [mail].smtp_url is
// set, else the Maildir.
SinkFactory mail_sink_factory(const MailConfig& mail);

// The outbox row for a rendered mail to a mail destination: From ([mail].from or the
// destination's), To, list headers and a Message-ID derived from key. bad_input when an
// address or a header value is invalid.
Expected<NewDelivery> build_mail_delivery(const Config& cfg, const DestinationConfig& dest,
                                          const RenderedMail& mail, const std::string& key,
                                          int64_t now);

// The idempotency key of an event's mail to a destination (its Message-ID derives from it).
std::string mail_delivery_key(const DestinationConfig& dest, const Event& e);

// Renders an event for a mail destination into its outbox row, Date `now`: what routing
// stores and `herald preview` prints. Errors: a template or an address that does not work.
Expected<NewDelivery> render_mail_delivery(const Config& cfg, const Templates& templates,
                                           const DestinationConfig& dest, const Event& e,
                                           int64_t now);

class Pipeline {
 public:
  // The store and clock must outlive the pipeline.
  Pipeline(Config cfg, Templates templates, Store& store, const Clock& clock, SinkFactory sinks);

  // Polls every source that is due (all of them when force). A failing
  // source is recorded and backed off; the others go on.
  void poll_sources(bool force, RunReport& report);
  // Routes and renders every unrouted event into outbox rows.
  void route_pending(RunReport& report);
  // Collects and commits every digest window that is due into outbox rows.
  void run_digests(RunReport& report);
  // Delivers due rows until none is due or stop becomes true (the batch in
  // flight is finished and recorded first).
  void deliver_due(RunReport& report, const std::atomic<bool>* stop = nullptr);
  // When something is next due (Unix s): a source poll, a digest or an outbox retry.
  int64_t next_wakeup();

  const Config& config() const { return m_cfg; }

 private:
  int64_t retry_delay_s(int attempts, std::optional<int64_t> retry_after) const;

  Config m_cfg;
  Templates m_templates;
  Store& m_store;
  const Clock& m_clock;
  SinkFactory m_make_sink;
  std::vector<std::unique_ptr<Source>> m_sources;
  std::vector<std::unique_ptr<Sink>> m_sinks;  // one per connection, kept across batches
  std::unique_ptr<DigestRunner> m_digests;
};

}  // namespace herald
