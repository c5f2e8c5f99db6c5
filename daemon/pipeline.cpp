// Pipeline steps. Delivery is the Deliverer's (deliver.hpp): lanes per
// destination, each with its own connection, recording each outcome as it
// completes.
#include "daemon/pipeline.hpp"

#include "daemon/admin/security_routing.hpp"
#include "daemon/notices/notice.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

#include "daemon/admin/security_routing.hpp"
#include "daemon/router.hpp"
#include "daemon/release_context.hpp"
#include "daemon/source_kind.hpp"
#include "daemon/subscriptions/audience.hpp"
#include "daemon/subscriptions/digest.hpp"
#include "daemon/subscriptions/web.hpp"
#include "daemon/util.hpp"

namespace herald {

namespace {

// Uniform in [lo, hi). Jitter needs no cryptographic strength, and OpenSSL's
// generator costs more to set up than a whole unchanged poll.
double jitter(double lo, double hi) {
  static thread_local std::mt19937 engine{std::random_device{}()};
  return std::uniform_real_distribution<double>(lo, hi)(engine);
}

DeliverySettings delivery_settings(const Config& cfg) {
  DeliverySettings ds;
  ds.delivery = cfg.delivery;
  ds.lanes = cfg.mail.max_connections;
  // Twice the longest one send can take, so that renewing a lease at half
  // time never lets it lapse during a send.
  int64_t longest_ms =
      cfg.mail.connect_timeout_ms + cfg.mail.timeout_ms + cfg.mail.data_timeout_ms;
  for (const auto& d : cfg.destinations) {
    DestinationPolicy p;
    p.lanes = d.max_connections > 0 ? d.max_connections : cfg.mail.max_connections;
    if (d.kind != "mail") {  // mail keeps the [delivery] backoff and max_age
      p.rate = d.rate;
      p.burst = d.burst;
      p.retry_schedule_ms = d.retry_schedule_ms;
      longest_ms = std::max(longest_ms, d.timeout_ms);
    }
    ds.policies[d.name] = p;
  }
  ds.lease_s = std::max<int64_t>(300, 2 * longest_ms / 1000);
  return ds;
}

}  // namespace

Expected<NewDelivery> render_delivery(const Config& cfg, const Templates& templates,
                                      const DestinationConfig& dest, const Event& e, int64_t now,
                                      const nlohmann::json* extra) {
  nlohmann::json context = mail_context(e, dest);
  if (extra) context.update(*extra);
  RenderInput in{cfg, templates, dest, dest.templates.empty() ? e.kind : dest.templates, context,
                 &e, delivery_key(dest, e), now};
  return render_for(in);
}

Pipeline::Pipeline(Config cfg, Templates templates, Store& store, const Clock& clock,
                   SinkFactory sinks)
    : m_cfg(std::move(cfg)),
      m_templates(std::move(templates)),
      m_store(store),
      m_clock(clock),
      m_make_sink(std::move(sinks)) {
  m_deliverer = std::make_unique<Deliverer>(delivery_settings(m_cfg), m_store, m_clock, m_make_sink);
  for (const auto& sc : m_cfg.sources)
    if (auto src = make_source(sc, m_cfg, m_clock)) m_sources.push_back(std::move(src));
  if (!m_cfg.digests.empty()) {
    m_digests = std::make_unique<DigestRunner>(m_cfg, m_templates, m_store, m_clock);
    for (const auto& e : m_digests->errors()) spdlog::error("{}", e);
  }
  if (!m_cfg.web.base_url.empty())
    m_subscriber_digests =
        std::make_unique<SubscriberDigests>(m_cfg, m_templates, m_store, m_clock);
}

void Pipeline::poll_sources(bool once, RunReport& report) {
  for (auto& src : m_sources) {
    const SourceConfig& sc = src->config();
    auto stored = m_store.sources().source_state(sc.name);
    if (!stored) {  // the database will answer again; this source is polled on a later pass
      spdlog::error("source {}: cannot read its state, so it is not polled now: {}", sc.name,
                    stored.error().message);
      continue;
    }
    SourceState state = std::move(*stored);
    const int64_t now = m_clock.now();
    if (!once && state.next_poll_at > now) continue;
    ++report.polls;
    auto outcome = src->poll(state);
    const int64_t after = m_clock.now();
    if (!outcome) {
      ++report.poll_failures;
      // Back off: 30 s doubling per consecutive failure, capped at 4 intervals (and 6 h).
      int64_t n = std::min<int64_t>(state.consecutive_failures, 16);
      int64_t wait = std::min<int64_t>({int64_t{30} << n, sc.interval_ms / 1000 * 4, 6 * 3600});
      wait = static_cast<int64_t>(wait * jitter(0.8, 1.2));
      // The server's Retry-After is a floor, up to a day.
      if (const auto& asked = outcome.error().retry_after_s)
        wait = std::max<int64_t>(wait, std::min<int64_t>(std::max<int64_t>(*asked, 0), 86'400));
      // A --once run does not wait for the backoff (and the next one polls every
      // source again): say so, rather than announce a retry that will not happen.
      if (once)
        spdlog::error(
            "source {}: poll failed ({}): {}; cursor unchanged; --once does not retry: the "
            "next run polls again (the daemon would wait {}s)",
            sc.name, to_string(outcome.error().kind), outcome.error().message, wait);
      else
        spdlog::error("source {}: poll failed ({}): {}; cursor unchanged, next try in {}s",
                      sc.name, to_string(outcome.error().kind), outcome.error().message, wait);
      m_store.sources().record_poll_failure(sc.name, outcome.error().message, after, after + wait);
      continue;
    }
    for (const auto& w : outcome->warnings) spdlog::warn("source {}: {}", sc.name, w);
    report.skipped_items += static_cast<int>(outcome->warnings.size());
    PollCommit commit;
    commit.source = sc.name;
    commit.events = std::move(outcome->events);
    commit.announce = std::move(outcome->announce);
    commit.cursor = outcome->cursor;
    commit.etag = outcome->etag;
    commit.last_modified = outcome->last_modified;
    commit.content_hash = outcome->content_hash;
    commit.now = after;
    commit.next_poll_at =
        after + static_cast<int64_t>(sc.interval_ms / 1000.0 * jitter(0.9, 1.1));
    auto added = m_store.sources().commit_poll(commit);
    if (!added) {
      ++report.poll_failures;
      spdlog::error("source {}: could not store the poll: {}", sc.name, added.error().message);
      continue;
    }
    if (outcome->unchanged) ++report.unchanged;
    report.new_events += *added;
    spdlog::info("source {}: {}; {} entries, {} new", sc.name,
                 outcome->unchanged ? "unchanged" : "fetched", commit.events.size(), *added);
  }
}

void Pipeline::route_pending(RunReport& report) {
  for (;;) {
    auto unrouted = m_store.events().unrouted_events(200);
    if (!unrouted) {  // routed on a later pass
      spdlog::error("routing: cannot read the events to route: {}", unrouted.error().message);
      return;
    }
    auto& events = *unrouted;
    if (events.empty()) return;
    std::vector<int64_t> ids;
    std::vector<NewDelivery> deliveries;
    const int64_t now = m_clock.now();
    std::optional<std::vector<Subscriber>> confirmed;  // read once a pass, when a topic needs it
    for (const auto& se : events) {
      ids.push_back(se.id);
      std::optional<nlohmann::json> release;  // links and tickets of a release, made once
      const int priority = event_priority(m_cfg, se.event);
      for (const auto& dname : event_destinations(m_cfg, se.event)) {
        if (dname.rfind(k_topic_prefix, 0) == 0) {
          if (!release) release = release_context(se.event, m_cfg, &m_store);
          if (!confirmed) {
            auto subs = m_store.subscribers().list("confirmed");
            if (!subs) {  // routed on a later pass, with its audience
              spdlog::error("routing: cannot read the subscribers: {}", subs.error().message);
              return;
            }
            confirmed = std::move(*subs);
          }
          auto s = route_to_topic(se.event, dname.substr(std::string(k_topic_prefix).size()),
                                  *confirmed, *release, now, priority, deliveries, report);
          if (!s) {
            spdlog::error("routing: event {} to {}: {}", se.event.key, dname, s.error().message);
            return;
          }
          continue;
        }
        const DestinationConfig* dest = m_cfg.destination(dname);
        if (!dest) continue;  // check-config rejects this; a reload race at worst
        if (!release) release = release_context(se.event, m_cfg, &m_store);
        auto delivery = render_delivery(m_cfg, m_templates, *dest, se.event, now, &*release);
        if (!delivery) {
          ++report.render_failures;
          spdlog::error("event {}: cannot render for destination {}: {}", se.event.key, dname,
                        delivery.error().message);
          continue;
        }
        delivery->priority = priority;
        deliveries.push_back(std::move(*delivery));
      }
    }
    if (auto s = m_store.outbox().commit_routing(ids, deliveries, now); !s) {
      spdlog::error("routing: could not store deliveries: {}", s.error().message);
      return;
    }
    report.routed_events += static_cast<int>(ids.size());
    report.deliveries_created += static_cast<int>(deliveries.size());
  }
}

Status Pipeline::route_to_topic(const Event& e, const std::string& topic_name,
                                const std::vector<Subscriber>& confirmed,
                                const nlohmann::json& release, int64_t now, int priority,
                                std::vector<NewDelivery>& out, RunReport& report) {
  const TopicConfig* topic = nullptr;
  for (const auto& t : m_cfg.topics)
    if (t.name == topic_name) topic = &t;
  const DestinationConfig* dest = m_cfg.destination(k_subscriber_destination);
  if (!topic || !dest) return ok_status();  // check-config rejects this; a reload race at worst
  // [security] names its topic for notices, which go to every subscriber of
  // it at once, whatever their mode: a notice is never held for a digest.
  const bool security = is_security_kind(e.kind);
  if (!security && !topic_carries(*topic, e)) return ok_status();
  const auto audience = topic_audience(confirmed, *topic, e, security ? "" : "immediate");
  if (audience.empty()) return ok_status();
  nlohmann::json context = mail_context(e, *dest);
  context.update(release);
  context["topic"] = topic->title;
  RenderInput in{m_cfg, m_templates, *dest, e.kind, context, &e, delivery_key(*dest, e), now};
  // Personal copies go to the outbox k_fanout_batch at a time, so that memory
  // stays bounded however large the audience. A batch stored before the
  // event is marked routed is harmless: routing again makes the same keys.
  size_t made = 0;
  for (size_t first = 0; first < audience.size(); first += k_fanout_batch) {
    const std::vector<Subscriber> part(
        audience.begin() + static_cast<std::ptrdiff_t>(first),
        audience.begin() + static_cast<std::ptrdiff_t>(std::min(audience.size(), first + k_fanout_batch)));
    auto recipients = personal_recipients(m_store.subscribers(), m_cfg.web.base_url, part);
    if (!recipients) return recipients.error();
    Status stored = ok_status();
    auto rendered = render_personal_for(in, *recipients, [&](NewDelivery d) -> Status {
      d.priority = priority;
      out.push_back(std::move(d));
      ++made;
      if (out.size() < k_fanout_batch) return ok_status();
      stored = m_store.outbox().commit_routing({}, out, now);
      if (!stored) return stored;
      report.deliveries_created += static_cast<int>(out.size());
      out.clear();
      m_deliverer->wake();
      return ok_status();
    });
    if (!stored) return stored;  // not stored: the pass must not mark the event routed
    if (!rendered) {
      ++report.render_failures;
      spdlog::error("event {}: cannot render for topic {}: {}", e.key, topic_name,
                    rendered.error().message);
      return ok_status();
    }
  }
  spdlog::info("event {}: {} personal mails to the subscribers of {}", e.key, made, topic_name);
  return ok_status();
}

void Pipeline::deliver_due(RunReport& report, const std::atomic<bool>* stop) {
  const DeliveryCounts c = m_deliverer->drain(stop);
  report.delivered += c.delivered;
  report.retried += c.retried;
  report.dead += c.dead;
  report.unrecorded += c.unrecorded;
  report.store_failures += c.unclaimed;
}

void Pipeline::start_delivery(DeliveryHooks hooks) {
  m_deliverer->set_hooks(std::move(hooks));
  std::vector<std::string> names;
  for (const auto& d : m_cfg.destinations) names.push_back(d.name);
  m_deliverer->start(names);
}

void Pipeline::run_digests(RunReport& report) {
  if (m_digests) m_digests->run_due(report);
  if (m_subscriber_digests) m_subscriber_digests->run_due(report);
}

void Pipeline::publish_notices(RunReport& report) {
  const int64_t now = m_clock.now();
  auto due = m_store.notices().due(now);
  if (!due) {  // published on a later pass
    spdlog::error("notices: cannot read the notices due: {}", due.error().message);
    return;
  }
  for (auto& n : *due) {
    n.published_at = now;
    auto published = m_store.notices().publish(n, notice_event(n), now);
    if (!published) {
      spdlog::error("notice {}: could not be published now: {}", n.name(),
                    published.error().message);
      continue;
    }
    if (!*published) continue;  // another herald process published it
    ++report.new_events;
    spdlog::info("notice {}: published ({})", n.name(),
                 n.embargo_until ? "its embargo ended" : "approved and released");
  }
}

int64_t Pipeline::next_wakeup() {
  int64_t next = m_clock.now() + 3600;
  // An embargo ends on time: the loop wakes for it.
  auto notice = m_store.notices().next_due();
  if (!notice)
    next = std::min(next, m_clock.now() + 5);
  else if (*notice)
    next = std::min(next, **notice);
  if (m_digests) next = std::min(next, m_digests->next_due());
  if (m_subscriber_digests) next = std::min(next, m_subscriber_digests->next_due());
  for (const auto& src : m_sources) {
    auto st = m_store.sources().source_state(src->config().name);
    // Unreadable now: look again in a few seconds rather than sleep an hour.
    next = std::min(next, st ? st->next_poll_at : m_clock.now() + 5);
  }
  return next;
}

}  // namespace herald
