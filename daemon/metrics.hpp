// Metrics in the Prometheus text format. Counters and gauges that the process
// counts live here (thread-safe); what the database knows (events by source
// and kind, outbox rows by destination and state, per-source poll state) is
// read from the store when /metrics is scraped, so it survives restarts.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace herald {

class HttpServer;
class Store;

using Labels = std::vector<std::pair<std::string, std::string>>;

class Metrics {
 public:
  // Adds n to a counter, created at 0 on first use. The name must be in the
  // table of known metrics (metrics.cpp), which gives its help text and type.
  void add(const std::string& name, const Labels& labels, int64_t n = 1);
  // Sets a gauge to v if v is larger than its value (timestamps).
  void set_max(const std::string& name, const Labels& labels, int64_t v);
  // Sets a gauge.
  void set(const std::string& name, const Labels& labels, int64_t v);
  // Marks a part of the daemon unwell (why non-empty) or well again (empty):
  // /healthz answers 503 with the reasons while any is unwell.
  void set_problem(const std::string& part, const std::string& why);
  std::vector<std::string> problems() const;
  // The current value; 0 when never set.
  int64_t value(const std::string& name, const Labels& labels) const;

  // The whole exposition: process counters, then the store's figures for the
  // configured sources. Errors reading the store become herald_store_up 0.
  std::string render(Store& store, const std::vector<std::string>& sources) const;

 private:
  mutable std::mutex m_mutex;
  std::map<std::string, std::map<Labels, int64_t>> m_values;  // name -> labels -> value
  std::map<std::string, std::string> m_problems;              // part -> why
};

// Escapes a label value: backslash, double quote and newline.
std::string escape_label_value(const std::string& v);

// GET /healthz (200 "ok" when the store answers and no part is unwell, else
// 503 with the reasons) and GET /metrics.
void add_ops_routes(HttpServer& server, Store& store, Metrics& metrics,
                    std::vector<std::string> sources);

}  // namespace herald
