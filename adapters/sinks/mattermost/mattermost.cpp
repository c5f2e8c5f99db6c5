// Mattermost incoming webhooks take {"text", "username", "icon_url"}; a longer
// text than a post holds would be split into several posts, so it is cut here.
#include "adapters/sinks/mattermost/mattermost.hpp"

#include "adapters/sinks/http/http_sink.hpp"

namespace herald {

namespace {

Expected<NewDelivery> render_mattermost(const RenderInput& in) {
  auto text = render_part(in, "mattermost", "text");
  if (!text) return text.error();
  const std::string url = input_url(in);
  std::string more(k_ellipsis);
  if (!url.empty()) more += " [more](" + url + ")";
  nlohmann::json payload = {{"text", truncate_text(*text, k_mattermost_post_max, more)}};
  if (!in.dest.username.empty()) payload["username"] = in.dest.username;
  if (!in.dest.icon_url.empty()) payload["icon_url"] = in.dest.icon_url;
  return chat_delivery(in, payload);
}

}  // namespace

DestinationKind mattermost_destination_kind() {
  DestinationKind k;
  k.kind = "mattermost";
  k.summary = "post to a Mattermost channel through an incoming webhook (Markdown)";
  k.keys = http_common_keys();
  k.keys.insert(k.keys.end(), {"username", "icon_url"});
  k.default_connections = 1;
  k.default_rate = 1;
  k.check = [](const DestinationConfig& d) {
    std::vector<std::pair<std::string, std::string>> problems;
    check_http_url(d, "url", d.url, problems);
    return problems;
  };
  k.render = render_mattermost;
  k.make_sink = json_post_sink("mattermost");
  return k;
}

}  // namespace herald
