// Discord webhooks take {"content", "embeds", "username", "avatar_url",
// "allowed_mentions"} and answer 204 (or 200 with ?wait=true). Mentions are
// switched off: an event's text must not ping @everyone.
#include "adapters/sinks/discord/discord.hpp"

#include <cmath>

#include "adapters/sinks/http/http_sink.hpp"

namespace herald {

namespace {

Expected<NewDelivery> render_discord(const RenderInput& in) {
  auto content = render_part(in, "discord", "content");
  if (!content) return content.error();
  auto title = render_part(in, "discord", "title");
  if (!title) return title.error();
  auto text = render_part(in, "discord", "text");
  if (!text) return text.error();
  const std::string url = input_url(in);
  std::string more(k_ellipsis);
  if (!url.empty()) more += " [more](" + url + ")";
  nlohmann::json embed = nlohmann::json::object();
  if (!title->empty()) embed["title"] = truncate_text(*title, k_discord_title_max, k_ellipsis);
  if (!text->empty()) embed["description"] = truncate_text(*text, k_discord_description_max, more);
  // An embed's url must be an absolute http(s) URL, or Discord rejects the message.
  if (url.rfind("https://", 0) == 0 || url.rfind("http://", 0) == 0) embed["url"] = url;
  nlohmann::json payload = {{"allowed_mentions", {{"parse", nlohmann::json::array()}}}};
  if (!content->empty()) payload["content"] = truncate_text(*content, k_discord_content_max, more);
  if (embed.contains("title") || embed.contains("description"))
    payload["embeds"] = nlohmann::json::array({std::move(embed)});
  else if (!payload.contains("content"))
    payload["content"] = truncate_text(input_title(in), k_discord_content_max, more);
  if (!in.dest.username.empty()) payload["username"] = in.dest.username;
  if (!in.dest.icon_url.empty()) payload["avatar_url"] = in.dest.icon_url;
  return chat_delivery(in, payload);
}

}  // namespace

DeliveryResult classify_discord_answer(const HttpResult& result) {
  if (result.ok()) {
    const HttpResponse& r = result.response();
    if (r.status == 404) return DeliveryResult::disable(answer_excerpt(r) + " (the webhook was deleted)");
    if (r.status == 429 && !r.retry_after_s) {
      auto body = nlohmann::json::parse(r.body, nullptr, false);
      if (body.is_object() && body.contains("retry_after") && body["retry_after"].is_number()) {
        const double s = body["retry_after"].get<double>();
        const int64_t wait = s > 0 && s < 1e9 ? static_cast<int64_t>(std::ceil(s)) : 0;
        return DeliveryResult::retry(answer_excerpt(r), std::max<int64_t>(wait, 60));
      }
    }
  }
  return classify_http_answer(result);
}

DestinationKind discord_destination_kind() {
  DestinationKind k;
  k.kind = "discord";
  k.summary = "post to a Discord channel through a webhook (content + one embed)";
  k.keys = http_common_keys();
  k.keys.insert(k.keys.end(), {"username", "icon_url"});
  k.default_connections = 1;
  k.default_rate = 0.5;  // Discord: 5 requests per 2 s per webhook, 30 a minute per channel
  k.check = [](const DestinationConfig& d) {
    std::vector<std::pair<std::string, std::string>> problems;
    check_http_url(d, "url", d.url, problems);
    return problems;
  };
  k.render = render_discord;
  k.make_sink = json_post_sink("discord", classify_discord_answer);
  return k;
}

}  // namespace herald
