// Where security announcements go, whatever the [[route]] rules say: the
// [security] to destinations and the subscribers of [security] topic, with
// [security] priority, so that they are delivered ahead of everything else.
// Shared by security notices (security.notice) and the supported
// critical-patch list (patch.supported).
#pragma once

#include <algorithm>
#include <string>
#include <vector>

#include "daemon/config.hpp"
#include "daemon/event.hpp"
#include "daemon/router.hpp"
#include "daemon/subscriptions/audience.hpp"

namespace herald {

// Whether an event of this kind is routed by [security] rather than by the routes.
inline bool is_security_kind(const std::string& kind) {
  return kind == "patch.supported" || kind == "security.notice";
}

// The [security] to names, then "topic:<[security] topic>" when that topic is
// configured and [web] base_url is set (subscriber mail needs its links).
inline std::vector<std::string> security_destinations(const Config& cfg) {
  std::vector<std::string> out = cfg.security.to;
  const bool topic = std::any_of(cfg.topics.begin(), cfg.topics.end(), [&](const TopicConfig& t) {
    return t.name == cfg.security.topic;
  });
  if (topic && !cfg.web.base_url.empty())
    out.push_back(std::string(k_topic_prefix) + cfg.security.topic);
  return out;
}

// The destinations of an event: security_destinations for the security
// kinds, else the routes'.
inline std::vector<std::string> event_destinations(const Config& cfg, const Event& e) {
  return is_security_kind(e.kind) ? security_destinations(cfg) : route_event(e, cfg.routes);
}

// The outbox priority of an event's deliveries.
inline int event_priority(const Config& cfg, const Event& e) {
  return is_security_kind(e.kind) ? cfg.security.priority : 0;
}

}  // namespace herald
