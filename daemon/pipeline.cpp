// Pipeline steps. Delivery splits each claimed batch over up to
// [mail].max_connections sinks, each on its own thread with its own reused
// connection, then records every outcome in one transaction. Retry delays
// grow exponentially from backoff_initial to backoff_max with +-20% jitter,
// and never undercut a server's Retry-After; a row older than max_age, or
// permanently refused, goes dead.
#include "daemon/pipeline.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <future>
#include <random>

#include "adapters/sinks/mail/message.hpp"
#include "adapters/sinks/mail/transport.hpp"
#include "daemon/router.hpp"
#include "daemon/util.hpp"

namespace herald {

namespace {

// Uniform in [lo, hi). Jitter needs no cryptographic strength, and OpenSSL's
// generator costs more to set up than a whole unchanged poll.
double jitter(double lo, double hi) {
  static thread_local std::mt19937 engine{std::random_device{}()};
  return std::uniform_real_distribution<double>(lo, hi)(engine);
}

}  // namespace

SinkFactory mail_sink_factory(const MailConfig& mail) {
  if (mail.smtp_url.empty()) {
    std::string dir = mail.maildir;
    return [dir] { return mail::make_maildir_sink(dir); };
  }
  mail::SmtpOptions o;
  o.url = mail.smtp_url;
  o.ehlo_domain = mail.domain;
  o.tls = mail.tls == "starttls"   ? mail::SmtpOptions::Tls::starttls_required
          : mail.tls == "implicit" ? mail::SmtpOptions::Tls::implicit
                                   : mail::SmtpOptions::Tls::none;
  o.username = mail.username;
  o.password = mail.password;
  o.verify_peer = mail.verify_peer;
  o.ca_file = mail.ca_file;
  o.connect_timeout_ms = mail.connect_timeout_ms;
  o.timeout_ms = mail.timeout_ms;
  return [o] { return mail::make_smtp_sink(o); };
}

Expected<NewDelivery> build_mail_delivery(const Config& cfg, const DestinationConfig& dest,
                                          const RenderedMail& mail, const std::string& key,
                                          int64_t now) {
  mail::MessageSpec spec;
  auto from = mail::parse_address(dest.from.empty() ? cfg.mail.from : dest.from);
  if (!from) return from.error();
  spec.from = *from;
  for (const auto& r : dest.to) {
    auto a = mail::parse_address(r);
    if (!a) return a.error();
    spec.to.push_back(*a);
  }
  spec.subject = mail.subject;
  spec.text_body = mail.text;
  spec.html_body = mail.html;
  spec.date = now;
  spec.idempotency_key = key;
  spec.message_id_domain = cfg.mail.domain;
  spec.list_id = dest.list_id;
  spec.list_post = dest.list_post;
  spec.list_archive = dest.list_archive;
  spec.list_help = dest.list_help;
  spec.precedence_list = dest.precedence_list && !dest.list_id.empty();
  auto payload = mail::compose(spec);
  if (!payload) return payload.error();
  NewDelivery d;
  d.idempotency_key = key;
  d.destination = dest.name;
  d.sender = spec.from.email;
  for (const auto& a : spec.to) d.recipients.push_back(a.email);
  d.payload = std::move(*payload);
  d.subject = spec.subject;
  return d;
}

std::string mail_delivery_key(const DestinationConfig& dest, const Event& e) {
  return "mail:" + dest.name + ":" + e.key;
}

Expected<NewDelivery> render_mail_delivery(const Config& cfg, const Templates& templates,
                                           const DestinationConfig& dest, const Event& e,
                                           int64_t now) {
  auto rendered = templates.render_mail(dest.templates.empty() ? e.kind : dest.templates,
                                        mail_context(e, dest));
  if (!rendered) return rendered.error();
  return build_mail_delivery(cfg, dest, *rendered, mail_delivery_key(dest, e), now);
}

Pipeline::Pipeline(Config cfg, Templates templates, Store& store, const Clock& clock,
                   SinkFactory sinks)
    : m_cfg(std::move(cfg)),
      m_templates(std::move(templates)),
      m_store(store),
      m_clock(clock),
      m_make_sink(std::move(sinks)) {
  for (const auto& sc : m_cfg.sources)
    if (auto src = make_source(sc, m_cfg, m_clock)) m_sources.push_back(std::move(src));
  if (!m_cfg.digests.empty()) {
    m_digests = std::make_unique<DigestRunner>(m_cfg, m_templates, m_store, m_clock);
    for (const auto& e : m_digests->errors()) spdlog::error("{}", e);
  }
}

void Pipeline::poll_sources(bool force, RunReport& report) {
  for (auto& src : m_sources) {
    const SourceConfig& sc = src->config();
    SourceState state = m_store.source_state(sc.name);
    const int64_t now = m_clock.now();
    if (!force && state.next_poll_at > now) continue;
    ++report.polls;
    auto outcome = src->poll(state);
    const int64_t after = m_clock.now();
    if (!outcome) {
      ++report.poll_failures;
      // Back off: 30 s doubling per consecutive failure, capped at 4 intervals (and 6 h).
      int64_t n = std::min<int64_t>(state.consecutive_failures, 16);
      int64_t wait = std::min<int64_t>({int64_t{30} << n, sc.interval_ms / 1000 * 4, 6 * 3600});
      wait = static_cast<int64_t>(wait * jitter(0.8, 1.2));
      // The server's Retry-After ("retry-after=N", see http_get) is a floor, up to a day.
      const std::string& why = outcome.error().message;
      if (auto at = why.find("retry-after="); at != std::string::npos) {
        int64_t asked = std::atoll(why.c_str() + at + 12);
        wait = std::max<int64_t>(wait, std::min<int64_t>(asked, 86'400));
      }
      spdlog::error("source {}: poll failed ({}): {}; cursor unchanged, next try in {}s", sc.name,
                    to_string(outcome.error().kind), outcome.error().message, wait);
      m_store.record_poll_failure(sc.name, outcome.error().message, after, after + wait);
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
    auto added = m_store.commit_poll(commit);
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
    auto events = m_store.unrouted_events(200);
    if (events.empty()) return;
    std::vector<int64_t> ids;
    std::vector<NewDelivery> deliveries;
    const int64_t now = m_clock.now();
    for (const auto& se : events) {
      ids.push_back(se.id);
      for (const auto& dname : route_event(se.event, m_cfg.routes)) {
        const DestinationConfig* dest = m_cfg.destination(dname);
        if (!dest) continue;  // check-config rejects this; a reload race at worst
        auto delivery = render_mail_delivery(m_cfg, m_templates, *dest, se.event, now);
        if (!delivery) {
          ++report.render_failures;
          spdlog::error("event {}: cannot render for destination {}: {}", se.event.key, dname,
                        delivery.error().message);
          continue;
        }
        deliveries.push_back(std::move(*delivery));
      }
    }
    if (auto s = m_store.commit_routing(ids, deliveries, now); !s) {
      spdlog::error("routing: could not store deliveries: {}", s.error().message);
      return;
    }
    report.routed_events += static_cast<int>(ids.size());
    report.deliveries_created += static_cast<int>(deliveries.size());
  }
}

int64_t Pipeline::retry_delay_s(int attempts, std::optional<int64_t> retry_after) const {
  const auto& d = m_cfg.delivery;
  double base = static_cast<double>(d.backoff_initial_ms) / 1000.0;
  for (int i = 0; i < attempts && base < d.backoff_max_ms / 1000.0; ++i) base *= 2;
  base = std::min(base, d.backoff_max_ms / 1000.0);
  auto wait = static_cast<int64_t>(base * jitter(0.8, 1.2));
  if (retry_after) wait = std::max(wait, *retry_after);
  return std::max<int64_t>(wait, 1);
}

void Pipeline::deliver_due(RunReport& report, const std::atomic<bool>* stop) {
  const size_t conns = static_cast<size_t>(std::max(1, m_cfg.mail.max_connections));
  while (!(stop && stop->load())) {
    const int64_t now = m_clock.now();
    auto items = m_store.due_deliveries(now, m_cfg.delivery.batch);
    if (items.empty()) return;
    const size_t lanes = std::min(conns, items.size());
    while (m_sinks.size() < lanes) m_sinks.push_back(m_make_sink());
    // Lane i takes items i, i+lanes, ...: equal shares, one connection each.
    std::vector<std::vector<OutboxItem>> shares(lanes);
    for (size_t i = 0; i < items.size(); ++i) shares[i % lanes].push_back(std::move(items[i]));
    std::vector<std::future<std::vector<DeliveryResult>>> running;
    for (size_t l = 1; l < lanes; ++l)
      running.push_back(std::async(std::launch::async, [this, l, &shares] {
        return m_sinks[l]->deliver_batch(shares[l]);
      }));
    std::vector<std::vector<DeliveryResult>> results(lanes);
    results[0] = m_sinks[0]->deliver_batch(shares[0]);
    for (size_t l = 1; l < lanes; ++l) results[l] = running[l - 1].get();

    const int64_t done_at = m_clock.now();
    std::vector<DeliveryOutcome> outcomes;
    for (size_t l = 0; l < lanes; ++l) {
      for (size_t i = 0; i < shares[l].size(); ++i) {
        const OutboxItem& it = shares[l][i];
        DeliveryOutcome o;
        o.id = it.id;
        o.result = i < results[l].size() ? results[l][i]
                                         : DeliveryResult::retry("sink returned no result");
        using S = DeliveryResult::Status;
        if (o.result.status == S::retry) {
          o.next_attempt_at = done_at + retry_delay_s(it.attempts, o.result.retry_after_s);
          if (o.next_attempt_at - it.created_at > m_cfg.delivery.max_age_ms / 1000) {
            o.dead = true;
            o.result.detail = "gave up after " + std::to_string(it.attempts + 1) +
                              " attempts: " + o.result.detail;
          }
        } else if (o.result.status == S::permanent) {
          o.dead = true;
        }
        if (o.dead) {
          ++report.dead;
          spdlog::error("delivery {} to {}: dead: {}", it.idempotency_key, it.destination,
                        o.result.detail);
        } else if (o.result.status == S::retry) {
          ++report.retried;
          spdlog::warn("delivery {} to {}: retry at {} (attempt {}): {}", it.idempotency_key,
                       it.destination, format_rfc3339(o.next_attempt_at), it.attempts + 1,
                       o.result.detail);
        } else {
          ++report.delivered;
          spdlog::info("delivery {} to {}: delivered: {}", it.idempotency_key, it.destination,
                       o.result.detail);
        }
        outcomes.push_back(std::move(o));
      }
    }
    if (auto s = m_store.record_outcomes(outcomes, done_at); !s) {
      spdlog::error("delivery: could not record outcomes: {}", s.error().message);
      return;
    }
  }
}

void Pipeline::run_digests(RunReport& report) {
  if (m_digests) m_digests->run_due(report);
}

int64_t Pipeline::next_wakeup() {
  int64_t next = m_clock.now() + 3600;
  if (m_digests) next = std::min(next, m_digests->next_due());
  for (const auto& src : m_sources)
    next = std::min(next, m_store.source_state(src->config().name).next_poll_at);
  if (auto due = m_store.next_due_time()) next = std::min(next, *due);
  return next;
}

}  // namespace herald
