#include "daemon/event.hpp"

namespace herald {

nlohmann::json to_json(const Event& e) {
  return nlohmann::json{{"key", e.key},     {"kind", e.kind},         {"source", e.source},
                        {"time", e.time},   {"severity", e.severity}, {"title", e.title},
                        {"url", e.url},     {"summary", e.summary},   {"tags", e.tags},
                        {"attributes", e.attributes}};
}

Event event_from_json(const nlohmann::json& j) {
  Event e;
  e.key = j.at("key").get<std::string>();
  e.kind = j.at("kind").get<std::string>();
  e.source = j.value("source", "");
  e.time = j.value("time", int64_t{0});
  e.severity = j.value("severity", "info");
  e.title = j.value("title", "");
  e.url = j.value("url", "");
  e.summary = j.value("summary", "");
  if (j.contains("tags")) e.tags = j.at("tags").get<std::map<std::string, std::string>>();
  if (j.contains("attributes")) e.attributes = j.at("attributes");
  return e;
}

}  // namespace herald
