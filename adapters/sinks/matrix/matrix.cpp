#include "adapters/sinks/matrix/matrix.hpp"

#include "adapters/sinks/http/http_sink.hpp"
#include "daemon/util.hpp"

namespace herald {

namespace {

// HTML for a Matrix formatted_body: escaped, line breaks kept.
std::string html_text(std::string_view s) {
  std::string out;
  size_t start = 0;
  for (size_t nl = s.find('\n'); nl != std::string_view::npos; nl = s.find('\n', start)) {
    out += html_escape(s.substr(start, nl - start)) + "<br>";
    start = nl + 1;
  }
  return out + html_escape(s.substr(start));
}

Expected<NewDelivery> render_matrix(const RenderInput& in) {
  auto text = render_part(in, "matrix", "text");
  if (!text) return text.error();
  auto html = render_part(in, "matrix", "html");
  if (!html) return html.error();
  const std::string url = input_url(in);
  if (text->empty()) *text = input_title(in);
  nlohmann::json content = {{"msgtype", "m.notice"}, {"body", *text}};
  if (!html->empty()) {
    content["format"] = "org.matrix.custom.html";
    content["formatted_body"] = *html;
  }
  if (dump_json(content).size() > k_matrix_content_max) {
    // Cutting HTML could leave a tag open: the formatted body becomes the cut
    // plain text, escaped, with a link to the event.
    std::string more(k_ellipsis);
    if (!url.empty()) more += " " + url;
    const size_t budget = k_matrix_content_max / 3;  // escaping at most doubles it, plus the body
    std::string body = truncate_bytes(*text, budget);
    if (body.size() < text->size()) body += more;
    content["body"] = body;
    std::string formatted = html_text(truncate_bytes(*text, budget));
    formatted += std::string(k_ellipsis);
    if (!url.empty()) formatted += " <a href=\"" + html_text(url) + "\">more</a>";
    content["format"] = "org.matrix.custom.html";
    content["formatted_body"] = formatted;
  }
  NewDelivery d = chat_delivery(in, content);
  d.recipients = {in.dest.room};
  return d;
}

}  // namespace

std::string matrix_txn_id(const std::string& idempotency_key) {
  return "herald." + sha256_hex(idempotency_key).substr(0, 32);
}

std::string matrix_send_url(const std::string& homeserver, const std::string& room,
                            const std::string& txn_id) {
  std::string base = homeserver;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/_matrix/client/v3/rooms/" + percent_encode(room) + "/send/m.room.message/" +
         percent_encode(txn_id);
}

DeliveryResult classify_matrix_answer(const HttpResult& result) {
  if (result.ok()) {
    const HttpResponse& r = result.response();
    if (r.status == 429 && !r.retry_after_s) {
      auto body = nlohmann::json::parse(r.body, nullptr, false);
      if (body.is_object() && body.contains("retry_after_ms") && body["retry_after_ms"].is_number()) {
        const double ms = body["retry_after_ms"].get<double>();
        const int64_t wait = ms > 0 && ms < 1e12 ? static_cast<int64_t>(ms / 1000) + 1 : 0;
        return DeliveryResult::retry(answer_excerpt(r), std::max<int64_t>(wait, 60));
      }
    }
  }
  return classify_http_answer(result);
}

DestinationKind matrix_destination_kind() {
  DestinationKind k;
  k.kind = "matrix";
  k.summary = "send m.notice messages to a Matrix room with an access token";
  k.keys = http_common_keys();
  std::erase(k.keys, "url");  // no url: homeserver and room
  std::erase(k.keys, "url_file");
  k.keys.insert(k.keys.end(), {"homeserver", "room", "access_token", "access_token_file"});
  k.default_connections = 1;
  k.default_rate = 1;
  k.check = [](const DestinationConfig& d) {
    std::vector<std::pair<std::string, std::string>> problems;
    check_http_url(d, "homeserver", d.homeserver, problems);
    if (d.room.empty())
      problems.push_back({"room", "room is required (a room id, !id:server)"});
    else if (d.room[0] != '!')
      problems.push_back({"room", "room must be a room id (!id:server), not an alias"});
    if (d.access_token.empty()) problems.push_back({"access_token", "access_token is required"});
    if (!d.url.empty()) problems.push_back({"url", "matrix takes homeserver and room, not url"});
    return problems;
  };
  k.render = render_matrix;
  k.make_sink = [](const Config&, const DestinationConfig& dest, const SinkEnv& env) {
    HttpSinkSpec spec;
    spec.kind = "matrix";
    spec.endpoint = dest.homeserver;
    spec.classify = classify_matrix_answer;
    spec.secrets = {dest.access_token};
    spec.build = [dest](const OutboxItem& item, int64_t) -> Expected<HttpRequest> {
      HttpRequest r;
      r.method = "PUT";
      r.url = matrix_send_url(dest.homeserver, dest.room, matrix_txn_id(item.idempotency_key));
      r.headers = {"Content-Type: application/json", "Authorization: Bearer " + dest.access_token};
      r.body = item.payload;
      return r;
    };
    return make_http_sink(dest, env, std::move(spec));
  };
  return k;
}

}  // namespace herald
