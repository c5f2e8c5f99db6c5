// The normalised event every source produces and every later stage reads.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace herald {

struct Event {
  std::string key;       // stable dedup key, e.g. "release:lustre:2.15.7"
  std::string kind;      // "release.published", "bug.created", ...
  std::string source;    // name of the configured source that produced it
  int64_t time = 0;      // when it happened, Unix seconds UTC (0 = unknown)
  std::string severity = "info";  // info | low | medium | high | critical
  std::string title;     // one line, no CR/LF
  std::string url;
  std::string summary;   // plain text, may be multi-line
  std::map<std::string, std::string> tags;  // branch, component, priority, class, ...
  nlohmann::json attributes = nlohmann::json::object();  // source specific
};

// Kinds that propose rather than announce (an advisory a watch found, a merged patch that
// may deserve a notice): they are stored for an admin and never routed to a destination.
// The one list of them; the router, the digests and the configuration checks ask here.
inline constexpr const char* k_proposal_kinds[] = {"security.advisory", "patch.candidate"};
inline bool is_proposal_kind(std::string_view kind) {
  for (const char* k : k_proposal_kinds)
    if (kind == k) return true;
  return false;
}

nlohmann::json to_json(const Event& e);
Event event_from_json(const nlohmann::json& j);  // throws nlohmann::json::exception on bad shape

}  // namespace herald
