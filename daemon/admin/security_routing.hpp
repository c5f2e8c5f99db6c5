// Where security notices and critical-patch announcements go: not through
// [[route]]s, but to [security] to and the subscribers of [security] topic,
// at [security] priority, ahead of every other delivery, and never held for
// a digest.
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "daemon/config.hpp"
#include "daemon/subscriptions/audience.hpp"

namespace herald {

// The event kinds routed by [security] rather than by the routes.
inline bool security_routed(const std::string& kind) {
  return kind == "security.notice" || kind == "patch.supported";
}

// The destinations of a security-routed event: [security] to, and
// "topic:NAME" for the topic when it exists and has subscription pages.
inline std::vector<std::string> security_destinations(const Config& cfg) {
  std::vector<std::string> out = cfg.security.to;
  const auto& topics = cfg.topics;
  if (!cfg.web.base_url.empty() &&
      std::any_of(topics.begin(), topics.end(),
                  [&](const TopicConfig& t) { return t.name == cfg.security.topic; }))
    out.push_back(k_topic_prefix + cfg.security.topic);
  return out;
}

}  // namespace herald
