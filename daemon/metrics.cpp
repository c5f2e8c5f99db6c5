// Prometheus text exposition (version 0.0.4): for each family a # HELP and a
// # TYPE line, then one sample per label set. Families are listed in one
// table so that names, help texts and types stay together; the store's
// figures are queried at scrape time and merged with the process's own
// (a webhook source has no poll state in the store, its last success and
// errors are counted here).
#include "daemon/metrics.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>
#include <string_view>

#include "daemon/http_server.hpp"
#include "daemon/store.hpp"

namespace herald {

namespace {

struct Family {
  std::string_view name;
  std::string_view type;
  std::string_view help;
};

// Counted by the process.
const Family k_families[] = {
    {"herald_webhook_requests_total", "counter",
     "Inbound webhook and event API requests by source and result."},
    {"herald_restricted_items_total", "counter",
     "Confidential tracker items received and withheld (never published), by source."},
    {"herald_ingest_commits_total", "counter", "Group commits of inbound events."},
    {"herald_ingest_items_total", "counter", "Inbound requests committed, by result."},
    {"herald_polls_total", "counter", "Source polls by result."},
    {"herald_deliveries_total", "counter", "Delivery attempts by sink and result."},
    {"herald_inbound_last_success_timestamp_seconds", "gauge",
     "When a push source last delivered an accepted request (Unix time)."},
    {"herald_inbound_errors_total", "counter", "Rejected requests of a push source."},
    {"herald_delivery_recording_failed", "gauge",
     "1 while delivery outcomes cannot be recorded (sending is stopped), else 0."},
    {"herald_destination_disabled", "gauge",
     "1 while a destination is disabled (it answered that it is gone: HTTP 410, a deleted "
     "Discord webhook) until `herald destination enable`, else 0."},
};

const Family* family(std::string_view name) {
  for (const auto& f : k_families)
    if (f.name == name) return &f;
  return nullptr;
}

void header(std::string& out, std::string_view name, std::string_view type,
            std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void sample(std::string& out, std::string_view name, const Labels& labels, int64_t v) {
  out.append(name);
  if (!labels.empty()) {
    out += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i) out += ',';
      out.append(labels[i].first).append("=\"").append(escape_label_value(labels[i].second))
          .append("\"");
    }
    out += '}';
  }
  out.append(" ").append(std::to_string(v)).append("\n");
}

}  // namespace

std::string escape_label_value(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

void Metrics::add(const std::string& name, const Labels& labels, int64_t n) {
  if (!family(name)) throw std::invalid_argument("unknown metric " + name);
  std::lock_guard lock(m_mutex);
  m_values[name][labels] += n;
}

void Metrics::set_max(const std::string& name, const Labels& labels, int64_t v) {
  if (!family(name)) throw std::invalid_argument("unknown metric " + name);
  std::lock_guard lock(m_mutex);
  auto& slot = m_values[name][labels];
  slot = std::max(slot, v);
}

void Metrics::set(const std::string& name, const Labels& labels, int64_t v) {
  if (!family(name)) throw std::invalid_argument("unknown metric " + name);
  std::lock_guard lock(m_mutex);
  m_values[name][labels] = v;
}

void Metrics::set_problem(const std::string& part, const std::string& why) {
  std::lock_guard lock(m_mutex);
  if (why.empty()) {
    m_problems.erase(part);
  } else {
    m_problems[part] = why;
  }
}

std::vector<std::string> Metrics::problems() const {
  std::lock_guard lock(m_mutex);
  std::vector<std::string> out;
  for (const auto& [part, why] : m_problems) out.push_back(part + ": " + why);
  return out;
}

int64_t Metrics::value(const std::string& name, const Labels& labels) const {
  std::lock_guard lock(m_mutex);
  auto f = m_values.find(name);
  if (f == m_values.end()) return 0;
  auto v = f->second.find(labels);
  return v == f->second.end() ? 0 : v->second;
}

std::string Metrics::render(Store& store, const std::vector<std::string>& sources) const {
  std::string out;
  out.reserve(4096);
  header(out, "herald_build_info", "gauge", "herald's version.");
  sample(out, "herald_build_info", {{"version", HERALD_VERSION}}, 1);
  {
    std::lock_guard lock(m_mutex);
    for (const auto& f : k_families) {
      auto it = m_values.find(std::string(f.name));
      if (it == m_values.end() || it->second.empty()) continue;
      header(out, f.name, f.type, f.help);
      for (const auto& [labels, v] : it->second) sample(out, f.name, labels, v);
    }
  }

  bool store_ok = true;
  auto events = store.events().count_events_by_source_kind();
  if (events) {
    header(out, "herald_events", "gauge", "Events in the database by source and kind.");
    for (const auto& r : *events)
      sample(out, "herald_events", {{"source", r.first}, {"kind", r.second}}, r.count);
  } else {
    store_ok = false;
  }
  auto outbox = store.outbox().count_outbox_by_destination();
  if (outbox) {
    header(out, "herald_outbox_deliveries", "gauge",
           "Outbox rows (one per delivery) by destination and state.");
    std::map<std::string, int64_t> depth = {{"pending", 0}, {"delivered", 0}, {"dead", 0}};
    for (const auto& r : *outbox) {
      sample(out, "herald_outbox_deliveries", {{"destination", r.first}, {"state", r.second}},
             r.count);
      depth[r.second] += r.count;
    }
    header(out, "herald_outbox_depth", "gauge", "Outbox rows by state.");
    for (const auto& [state, n] : depth) sample(out, "herald_outbox_depth", {{"state", state}}, n);
  } else {
    store_ok = false;
  }

  std::vector<std::pair<std::string, SourceState>> states;
  for (const auto& s : sources) {
    auto st = store.sources().source_state(s);
    if (!st) {
      store_ok = false;
      states.clear();
      break;
    }
    states.emplace_back(s, std::move(*st));
  }
  if (!states.empty()) {
    header(out, "herald_source_last_success_timestamp_seconds", "gauge",
           "When a source last polled or pushed successfully (Unix time; 0 = never).");
    for (const auto& [name, st] : states) {
      int64_t pushed = value("herald_inbound_last_success_timestamp_seconds", {{"source", name}});
      sample(out, "herald_source_last_success_timestamp_seconds", {{"source", name}},
             std::max(st.last_success, pushed));
    }
    header(out, "herald_source_errors_total", "counter",
           "Failed polls and rejected pushes of a source.");
    for (const auto& [name, st] : states)
      sample(out, "herald_source_errors_total", {{"source", name}},
             st.error_count + value("herald_inbound_errors_total", {{"source", name}}));
    header(out, "herald_source_consecutive_failures", "gauge",
           "Failed polls of a source since its last success.");
    for (const auto& [name, st] : states)
      sample(out, "herald_source_consecutive_failures", {{"source", name}},
             st.consecutive_failures);
  }
  header(out, "herald_store_up", "gauge", "1 when the database answered this scrape.");
  sample(out, "herald_store_up", {}, store_ok ? 1 : 0);
  return out;
}

void add_ops_routes(HttpServer& server, Store& store, Metrics& metrics,
                    std::vector<std::string> sources) {
  server.route("GET", "/healthz", [&store, &metrics](const InboundRequest&, Respond respond) {
    auto s = store.health_check();
    if (!s) {
      spdlog::warn("healthz: {}", s.error().message);
      return respond(InboundResponse::text(503, "store unavailable"));
    }
    auto problems = metrics.problems();
    if (problems.empty()) return respond(InboundResponse::text(200, "ok"));
    std::string text;
    for (const auto& p : problems) text += p + "\n";
    respond(InboundResponse::text(503, text));
  });
  server.route("GET", "/metrics",
               [&store, &metrics, sources = std::move(sources)](const InboundRequest&,
                                                                 Respond respond) {
                 InboundResponse r;
                 r.content_type = "text/plain; version=0.0.4; charset=utf-8";
                 r.body = metrics.render(store, sources);
                 respond(std::move(r));
               });
}

}  // namespace herald
