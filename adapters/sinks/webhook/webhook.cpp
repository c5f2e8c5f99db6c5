#include "adapters/sinks/webhook/webhook.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cctype>
#include <optional>

#include "adapters/sinks/http/http_sink.hpp"
#include "daemon/util.hpp"

namespace herald {

namespace {

constexpr std::string_view k_secret_prefix = "whsec_";
// Standard Webhooks: keys of 24 to 64 bytes.
constexpr size_t k_min_key = 24, k_max_key = 64;

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len);
  return std::string(reinterpret_cast<const char*>(md), len);
}

// Standard base64 with padding (missing padding is added); nullopt on any other character.
std::optional<std::string> base64_decode(std::string text) {
  for (char c : text)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '/' && c != '=')
      return std::nullopt;
  while (text.size() % 4 != 0) text += '=';
  size_t pad = 0;
  while (pad < text.size() && text[text.size() - 1 - pad] == '=') ++pad;
  if (pad > 2 || text.find('=') < text.size() - pad) return std::nullopt;
  std::string out(text.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  out.resize(static_cast<size_t>(n) - pad);  // EVP_DecodeBlock counts padding as zero bytes
  return out;
}

Expected<NewDelivery> render_webhook(const RenderInput& in) {
  NewDelivery d;
  d.idempotency_key = in.key;
  d.destination = in.dest.name;
  d.payload = webhook_payload(in).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  d.subject = input_title(in);
  return d;
}

std::unique_ptr<Sink> make_webhook_sink(const Config&, const DestinationConfig& dest,
                                        const SinkEnv& env) {
  HttpSinkSpec spec;
  spec.kind = "webhook";
  spec.endpoint = dest.url;
  spec.secrets = dest.secrets;
  spec.build = [url = dest.url, secrets = dest.secrets](const OutboxItem& item,
                                                        int64_t now) -> Expected<HttpRequest> {
    HttpRequest r;
    r.method = "POST";
    r.url = url;
    r.body = item.payload;
    const std::string id = webhook_message_id(item.idempotency_key);
    r.headers = {"Content-Type: application/json", "webhook-id: " + id,
                 "webhook-timestamp: " + std::to_string(now)};
    if (!secrets.empty()) {
      auto sig = webhook_signature(secrets, id, now, item.payload);
      if (!sig) return sig.error();
      r.headers.push_back("webhook-signature: " + *sig);
    }
    return r;
  };
  return make_http_sink(dest, env, std::move(spec));
}

}  // namespace

nlohmann::json webhook_payload(const RenderInput& in) {
  nlohmann::json j = {{"version", k_webhook_payload_version},
                      {"type", in.event ? "event" : "digest"},
                      {"id", in.key},
                      {"destination", in.dest.name},
                      {"created_at", format_rfc3339(in.now)}};
  if (in.event) {
    nlohmann::json e = to_json(*in.event);
    e["time_rfc3339"] = in.event->time ? nlohmann::json(format_rfc3339(in.event->time)) : nullptr;
    j["event"] = std::move(e);
  } else {
    nlohmann::json d = in.context;
    // Only what describes the digest: the rest is the destination's, already above.
    d.erase("destination_name");
    d.erase("subject_prefix");
    d.erase("herald_version");
    j["digest"] = std::move(d);
  }
  return j;
}

std::string webhook_message_id(const std::string& idempotency_key) {
  return "msg_" + sha256_hex(idempotency_key).substr(0, 32);
}

Expected<std::string> webhook_secret_key(const std::string& secret) {
  if (secret.rfind(k_secret_prefix, 0) != 0)
    return bad_input("a webhook secret starts with \"whsec_\" (whsec_ + base64)");
  auto key = base64_decode(secret.substr(k_secret_prefix.size()));
  if (!key) return bad_input("a webhook secret is whsec_ + base64; the rest is not base64");
  if (key->size() < k_min_key || key->size() > k_max_key)
    return bad_input("a webhook secret's key is 24 to 64 bytes; this one has " +
                     std::to_string(key->size()));
  return *key;
}

Expected<std::string> webhook_signature(const std::vector<std::string>& secrets,
                                        const std::string& id, int64_t timestamp,
                                        const std::string& body) {
  const std::string content = id + "." + std::to_string(timestamp) + "." + body;
  std::string out;
  for (const auto& s : secrets) {
    auto key = webhook_secret_key(s);
    if (!key) return key.error();
    if (!out.empty()) out += ' ';
    out += "v1," + base64_encode(hmac_sha256(*key, content));
  }
  return out;
}

DestinationKind webhook_destination_kind() {
  DestinationKind k;
  k.kind = "webhook";
  k.summary = "POST a versioned JSON document per event or digest, signed per Standard Webhooks";
  k.keys = http_common_keys();
  std::erase(k.keys, "templates");  // the document is not a template's
  k.keys.push_back("secrets");
  k.keys.push_back("secrets_file");
  k.default_connections = 2;
  k.default_rate = 0;
  k.check = [](const DestinationConfig& d) {
    std::vector<std::pair<std::string, std::string>> problems;
    check_http_url(d, "url", d.url, problems);
    for (const auto& s : d.secrets)
      if (auto key = webhook_secret_key(s); !key) problems.push_back({"secrets", key.error().message});
    return problems;
  };
  k.render = render_webhook;
  k.make_sink = make_webhook_sink;
  return k;
}

}  // namespace herald
