// Slack incoming webhooks take {"text", "blocks"}: text is what notifications
// show, the blocks what the channel shows. Answers are text ("ok",
// "invalid_blocks", "no_service"): the common classification applies (a
// removed webhook answers 404 or 410).
#include "adapters/sinks/slack/slack.hpp"

#include "adapters/sinks/http/http_sink.hpp"

namespace herald {

namespace {

std::string more_link(const std::string& url) {
  std::string s(k_ellipsis);
  if (!url.empty()) s += " <" + url + "|more>";
  return s;
}

// The top-level text is mrkdwn too (notifications show it): values are escaped.
std::string mrkdwn_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '&') out += "&amp;";
    else if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else out += c;
  }
  return out;
}

Expected<NewDelivery> render_slack(const RenderInput& in) {
  auto title = render_part(in, "slack", "title");
  if (!title) return title.error();
  auto text = render_part(in, "slack", "text");
  if (!text) return text.error();
  const std::string url = input_url(in);
  nlohmann::json blocks = nlohmann::json::array();
  if (!title->empty())
    blocks.push_back({{"type", "header"},
                      {"text",
                       {{"type", "plain_text"},
                        {"text", truncate_text(*title, k_slack_header_max, k_ellipsis)},
                        {"emoji", true}}}});
  if (!text->empty())
    blocks.push_back(
        {{"type", "section"},
         {"text", {{"type", "mrkdwn"}, {"text", truncate_text(*text, k_slack_section_max, more_link(url))}}}});
  const std::string fallback = title->empty() ? *text : mrkdwn_escape(*title);
  nlohmann::json payload = {{"text", truncate_text(fallback, k_slack_section_max, more_link(url))},
                            {"blocks", std::move(blocks)},
                            {"unfurl_links", false}};
  if (!in.dest.username.empty()) payload["username"] = in.dest.username;
  if (!in.dest.icon_url.empty()) payload["icon_url"] = in.dest.icon_url;
  return chat_delivery(in, payload);
}

}  // namespace

DestinationKind slack_destination_kind() {
  DestinationKind k;
  k.kind = "slack";
  k.summary = "post to a Slack channel through an incoming webhook (text + blocks)";
  k.keys = http_common_keys();
  k.keys.insert(k.keys.end(), {"username", "icon_url"});
  k.default_connections = 1;
  k.default_rate = 1;  // Slack: one message a second per webhook
  k.check = [](const DestinationConfig& d) {
    std::vector<std::pair<std::string, std::string>> problems;
    check_http_url(d, "url", d.url, problems);
    return problems;
  };
  k.render = render_slack;
  k.make_sink = json_post_sink("slack");
  return k;
}

}  // namespace herald
