#include "daemon/subscriptions/digest.hpp"

#include "daemon/admin/security_routing.hpp"

#include <date/date.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>

#include "daemon/destination.hpp"
#include "daemon/router.hpp"
#include "daemon/subscriptions/audience.hpp"
#include "daemon/subscriptions/web.hpp"
#include "daemon/util.hpp"

namespace herald {

namespace {

constexpr int64_t k_day = 86'400;
constexpr int64_t k_monday = 4 * k_day;  // 1970-01-05, the first Monday after the epoch
constexpr const char* k_modes[] = {"daily", "weekly"};

int64_t period_length(const std::string& mode) { return mode == "weekly" ? 7 * k_day : k_day; }

int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b < 0 ? 1 : 0); }

std::string state_name(const std::string& mode) { return "subscribers:" + mode; }

std::string utc_date(int64_t t) {
  const date::year_month_day ymd{
      date::floor<date::days>(date::sys_seconds{std::chrono::seconds{t}})};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

}  // namespace

int64_t subscriber_period_start(const std::string& mode, int64_t t) {
  const int64_t len = period_length(mode);
  const int64_t origin = mode == "weekly" ? k_monday : 0;
  return floor_div(t - origin, len) * len + origin;
}

void SubscriberDigests::run_due(RunReport& report) {
  const int64_t now = m_clock.now();
  for (const char* mode : k_modes)
    if (auto s = run_mode(mode, now, report); !s)
      spdlog::error("subscriber digests ({}): {}; tried again at the next pass", mode,
                    s.error().message);
}

int64_t SubscriberDigests::next_due() {
  int64_t next = m_clock.now() + 3600;
  for (const char* mode : k_modes) {
    auto end = m_store.digests().digest_window_end(state_name(mode));
    if (!end || !*end) return m_clock.now();
    next = std::min(next, **end + period_length(mode) + k_settle_s);
  }
  return next;
}

Status SubscriberDigests::run_mode(const std::string& mode, int64_t now, RunReport& report) {
  const std::string name = state_name(mode);
  auto recorded = m_store.digests().digest_window_end(name);
  if (!recorded) return recorded.error();
  const int64_t until = subscriber_period_start(mode, now - k_settle_s);
  if (!*recorded) {  // the first run: count from here, send no history
    spdlog::info("subscriber digests ({}): first period ends {}", mode,
                 utc_date(until + period_length(mode)));
    return m_store.outbox().commit_digest(name, until, {}, now);
  }
  const int64_t from = **recorded;
  if (from >= until) return ok_status();
  const DestinationConfig* dest = m_cfg.destination(k_subscriber_destination);
  if (!dest) return ok_status();

  auto events = m_store.events().events_received_between(from, until, {});
  if (!events) return events.error();
  auto subs = m_store.subscribers().list("confirmed");
  if (!subs) return subs.error();
  // Each event's topics: those a route sends it to and that carry it.
  std::vector<std::vector<const TopicConfig*>> event_topics;
  for (const auto& se : *events) {
    std::vector<const TopicConfig*> topics;
    // Security notices went to every subscriber at once: never again in a digest.
    for (const auto& to : is_security_kind(se.event.kind) ? std::vector<std::string>{}
                                                         : route_event(se.event, m_cfg.routes)) {
      if (to.rfind(k_topic_prefix, 0) != 0) continue;
      const std::string topic = to.substr(std::string(k_topic_prefix).size());
      for (const auto& t : m_cfg.topics)
        if (t.name == topic && topic_carries(t, se.event)) topics.push_back(&t);
    }
    event_topics.push_back(std::move(topics));
  }
  std::vector<Subscriber> readers;
  std::vector<nlohmann::json> contents;
  for (const auto& s : *subs) {
    if (s.mode != mode) continue;
    nlohmann::json items = nlohmann::json::array();
    for (size_t i = 0; i < events->size(); ++i) {
      const Event& e = (*events)[i].event;
      const bool chosen =
          std::any_of(event_topics[i].begin(), event_topics[i].end(), [&](const TopicConfig* t) {
            return std::find(s.topics.begin(), s.topics.end(), t->name) != s.topics.end();
          });
      if (!chosen || !branch_filter_takes(s, e)) continue;
      items.push_back(
          {{"title", e.title}, {"url", e.url}, {"summary", e.summary}, {"kind", e.kind}});
    }
    if (items.empty()) continue;
    readers.push_back(s);
    contents.push_back(std::move(items));
  }
  std::vector<NewDelivery> deliveries;
  if (!readers.empty()) {
    auto recipients = personal_recipients(m_store.subscribers(), m_cfg.web.base_url, readers);
    if (!recipients) return recipients.error();
    const std::string key = "subscription-digest:" + mode + ":" + std::to_string(until);
    for (size_t i = 0; i < readers.size(); ++i) {
      nlohmann::json ctx = {{"mode", mode},
                            {"from_date", utc_date(from)},
                            {"to_date", utc_date(until - 1)},
                            {"items", contents[i]},
                            {"count", contents[i].size()},
                            {"herald_version", HERALD_VERSION}};
      RenderInput in{m_cfg, m_templates, *dest, "subscription.digest", ctx, nullptr, key, now};
      auto mail = render_personal_for(in, {(*recipients)[i]});
      if (!mail) {
        ++report.render_failures;
        spdlog::error("subscriber digests ({}): cannot render for subscriber #{}: {}", mode,
                      readers[i].id, mail.error().message);
        continue;
      }
      for (auto& d : *mail) deliveries.push_back(std::move(d));
    }
  }
  if (auto s = m_store.outbox().commit_digest(name, until, deliveries, now); !s) return s;
  report.deliveries_created += static_cast<int>(deliveries.size());
  spdlog::info("subscriber digests ({}): {} to {}: {} mails", mode, utc_date(from),
               utc_date(until - 1), deliveries.size());
  return ok_status();
}

}  // namespace herald
