// A Workflows webhook ("When a Teams webhook request is received") takes
// {"type":"message","attachments":[{Adaptive Card}]} and answers 202 Accepted.
#include "adapters/sinks/teams/teams.hpp"

#include "adapters/sinks/http/http_sink.hpp"
#include "daemon/util.hpp"

namespace herald {

namespace {

nlohmann::json facts(const RenderInput& in) {
  nlohmann::json out = nlohmann::json::array();
  auto fact = [&](const std::string& title, const std::string& value) {
    if (!value.empty()) out.push_back({{"title", title}, {"value", value}});
  };
  if (in.event) {
    const Event& e = *in.event;
    fact("Kind", e.kind);
    fact("Severity", e.severity);
    fact("Source", e.source);
    if (e.time) fact("Time", format_rfc3339(e.time));
    for (const auto& [k, v] : e.tags) fact(k, v);
  } else {
    auto str = [&](const char* name) {
      auto it = in.context.find(name);
      return it != in.context.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    const std::string from = str("window_start_local"), to = str("window_end_local");
    if (!from.empty()) fact("Window", from + " to " + to);
    if (auto it = in.context.find("events"); it != in.context.end() && it->is_number())
      fact("Events", it->dump());
  }
  return out;
}

nlohmann::json card_message(const std::string& title, const std::string& text,
                            const nlohmann::json& fact_set, const std::string& url) {
  nlohmann::json body = nlohmann::json::array();
  if (!title.empty())
    body.push_back({{"type", "TextBlock"}, {"text", title}, {"weight", "Bolder"},
                    {"size", "Medium"}, {"wrap", true}});
  if (!text.empty()) body.push_back({{"type", "TextBlock"}, {"text", text}, {"wrap", true}});
  if (!fact_set.empty()) body.push_back({{"type", "FactSet"}, {"facts", fact_set}});
  nlohmann::json card = {{"$schema", "http://adaptivecards.io/schemas/adaptive-card.json"},
                         {"type", "AdaptiveCard"},
                         {"version", "1.4"},
                         {"body", std::move(body)}};
  if (url.rfind("https://", 0) == 0 || url.rfind("http://", 0) == 0)
    card["actions"] = nlohmann::json::array(
        {{{"type", "Action.OpenUrl"}, {"title", "Open"}, {"url", url}}});
  return {{"type", "message"},
          {"attachments",
           nlohmann::json::array({{{"contentType", "application/vnd.microsoft.card.adaptive"},
                                   {"contentUrl", nullptr},
                                   {"content", std::move(card)}}})}};
}

Expected<NewDelivery> render_teams(const RenderInput& in) {
  auto title = render_part(in, "teams", "title");
  if (!title) return title.error();
  auto text = render_part(in, "teams", "text");
  if (!text) return text.error();
  const std::string url = input_url(in);
  std::string more(k_ellipsis);
  if (!url.empty()) more += " [more](" + url + ")";
  const std::string short_title = truncate_text(*title, 1000, k_ellipsis);
  nlohmann::json fact_set = facts(in);
  nlohmann::json message = card_message(short_title, *text, fact_set, url);
  // Escaping in JSON makes the text's share of the body larger than its bytes:
  // cut by what is over, until it fits.
  size_t budget = text->size();
  for (int round = 0; round < 8; ++round) {
    const size_t size = dump_json(message).size();
    if (size <= k_teams_payload_max) break;
    const size_t over = size - k_teams_payload_max;
    if (budget == 0) {
      fact_set = nlohmann::json::array();  // facts alone too large: drop them
    } else {
      budget = budget > over + more.size() ? budget - over - more.size() : 0;
    }
    std::string cut = truncate_bytes(*text, budget);
    if (cut.size() < text->size()) cut += more;
    message = card_message(short_title, cut, fact_set, url);
  }
  return chat_delivery(in, message);
}

}  // namespace

DestinationKind teams_destination_kind() {
  DestinationKind k;
  k.kind = "teams";
  k.summary = "post an Adaptive Card to a Microsoft Teams channel through a Workflows webhook";
  k.keys = http_common_keys();
  k.default_connections = 1;
  k.default_rate = 1;  // Teams: about 4 requests a second per webhook, stay well below
  k.check = [](const DestinationConfig& d) {
    std::vector<std::pair<std::string, std::string>> problems;
    check_http_url(d, "url", d.url, problems);
    return problems;
  };
  k.render = render_teams;
  k.make_sink = json_post_sink("teams");
  return k;
}

}  // namespace herald
