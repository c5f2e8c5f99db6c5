#include "daemon/router.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace herald {

int severity_rank(const std::string& severity) {
  static const char* const k_levels[] = {"info", "low", "medium", "high", "critical"};
  for (int i = 0; i < 5; ++i)
    if (severity == k_levels[i]) return i;
  return 0;
}

static bool matches(const Event& e, const RouteConfig& r) {
  if (!r.kinds.empty() && std::find(r.kinds.begin(), r.kinds.end(), e.kind) == r.kinds.end())
    return false;
  for (const auto& [tag, values] : r.tags) {
    auto it = e.tags.find(tag);
    if (it == e.tags.end()) return false;
    if (std::find(values.begin(), values.end(), it->second) == values.end()) return false;
  }
  if (!r.min_severity.empty() && severity_rank(e.severity) < severity_rank(r.min_severity))
    return false;
  return true;
}

std::vector<std::string> route_event(const Event& e, const std::vector<RouteConfig>& routes) {
  std::vector<std::string> out;
  if (is_proposal_kind(e.kind)) {  // the content waits for an admin: not even in the log
    spdlog::info("event {} ({}) is a proposal held for an admin; not routed", e.key, e.kind);
    return out;
  }
  for (const auto& r : routes) {
    if (!matches(e, r)) continue;
    for (const auto& d : r.to)
      if (std::find(out.begin(), out.end(), d) == out.end()) out.push_back(d);
  }
  return out;
}

}  // namespace herald
