#include "adapters/sinks/mail/kind.hpp"

#include "adapters/sinks/mail/message.hpp"
#include "adapters/sinks/mail/transport.hpp"
#include "daemon/util.hpp"

namespace herald::mail {

namespace {

// The message of a destination with its recipients (dest.to, or `to` when
// not empty) and, when list_unsubscribe is set, the RFC 8058 headers.
Expected<NewDelivery> build(const Config& cfg, const DestinationConfig& dest,
                            const RenderedMail& mail, const std::string& key, int64_t now,
                            const std::vector<std::string>& to,
                            const std::string& list_unsubscribe) {
  MessageSpec spec;
  auto from = parse_address(dest.from.empty() ? cfg.mail.from : dest.from);
  if (!from) return from.error();
  spec.from = *from;
  for (const auto& r : to.empty() ? dest.to : to) {
    auto a = parse_address(r);
    if (!a) return a.error();
    spec.to.push_back(*a);
  }
  if (!list_unsubscribe.empty()) {
    spec.list_unsubscribe = "<" + list_unsubscribe + ">";
    spec.list_unsubscribe_one_click = true;
  }
  spec.subject = mail.subject;
  spec.text_body = mail.text;
  spec.html_body = mail.html;
  spec.date = now;
  spec.idempotency_key = key;
  spec.message_id_domain = cfg.mail.domain;
  spec.list_id = dest.list_id;
  spec.list_post = dest.list_post;
  spec.list_archive = dest.list_archive;
  spec.list_help = dest.list_help;
  spec.precedence_list = dest.precedence_list && !dest.list_id.empty();
  auto payload = compose(spec);
  if (!payload) return payload.error();
  NewDelivery d;
  d.idempotency_key = key;
  d.destination = dest.name;
  d.sender = spec.from.email;
  for (const auto& a : spec.to) d.recipients.push_back(a.email);
  d.payload = std::move(*payload);
  d.subject = spec.subject;
  return d;
}

// A stand-in for a per-recipient value while the templates render once.
std::string marker(const std::string& name) { return "\x1a" + name + "\x1a"; }

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
    s.replace(p, from.size(), to);
}

Status render_personal(const RenderInput& in, const std::vector<PersonalRecipient>& rcpts,
                       const std::function<Status(NewDelivery)>& emit) {
  if (rcpts.empty()) return ok_status();
  nlohmann::json ctx = in.context;
  for (const auto& [name, value] : rcpts.front().values) ctx[name] = marker(name);
  auto rendered = in.templates.render_mail(in.set, ctx);
  if (!rendered) return rendered.error();
  for (const auto& r : rcpts) {
    RenderedMail mail = *rendered;
    std::string unsubscribe;
    for (const auto& [name, value] : r.values) {
      replace_all(mail.subject, marker(name), value);
      replace_all(mail.text, marker(name), value);
      replace_all(mail.html, marker(name), html_escape(value));
      if (name == "unsubscribe_url") unsubscribe = value;
    }
    auto d = build(in.cfg, in.dest, mail, in.key + "/" + r.address, in.now, {r.address},
                   unsubscribe);
    if (!d) return d.error();
    if (auto s = emit(std::move(*d)); !s) return s;
  }
  return ok_status();
}

}  // namespace

Expected<NewDelivery> build_delivery(const Config& cfg, const DestinationConfig& dest,
                                     const RenderedMail& mail, const std::string& key,
                                     int64_t now) {
  return build(cfg, dest, mail, key, now, {}, "");
}

std::unique_ptr<Sink> make_sink(const MailConfig& mail) {
  if (mail.smtp_url.empty()) return make_maildir_sink(mail.maildir);
  SmtpOptions o;
  o.url = mail.smtp_url;
  o.ehlo_domain = mail.domain;
  o.tls = mail.tls == "starttls"   ? SmtpOptions::Tls::starttls_required
          : mail.tls == "implicit" ? SmtpOptions::Tls::implicit
                                   : SmtpOptions::Tls::none;
  o.username = mail.username;
  o.password = mail.password;
  o.verify_peer = mail.verify_peer;
  o.ca_file = mail.ca_file;
  o.connect_timeout_ms = mail.connect_timeout_ms;
  o.timeout_ms = mail.timeout_ms;
  o.data_timeout_ms = mail.data_timeout_ms;
  return make_smtp_sink(o);
}

DestinationKind mail_destination_kind() {
  DestinationKind k;
  k.kind = "mail";
  k.summary = "mail to a list address or fixed recipients, by SMTP ([mail] smtp_url) or into the Maildir";
  k.keys = {"to",           "from",           "subject_prefix", "list_id",
            "list_post",    "list_archive",   "list_help",      "precedence_list",
            "templates",    "max_connections"};
  k.default_connections = 2;  // [mail] max_connections when the destination sets none
  k.check = [](const DestinationConfig& d) {
    std::vector<std::pair<std::string, std::string>> out;
    if (d.to.empty()) out.push_back({"to", "a mail destination needs 'to' (its recipients)"});
    for (const auto& r : d.to)
      if (auto a = parse_address(r); !a)
        out.push_back({"to", "'" + r + "' is not a mail address: " + a.error().message});
    if (!d.from.empty())
      if (auto a = parse_address(d.from); !a)
        out.push_back({"from", "'" + d.from + "' is not a mail address: " + a.error().message});
    return out;
  };
  k.render = [](const RenderInput& in) -> Expected<NewDelivery> {
    auto rendered = in.templates.render_mail(in.set, in.context);
    if (!rendered) return rendered.error();
    return build_delivery(in.cfg, in.dest, *rendered, in.key, in.now);
  };
  k.render_personal = render_personal;
  k.make_sink = [](const Config& cfg, const DestinationConfig&, const SinkEnv&) {
    return make_sink(cfg.mail);
  };
  return k;
}

}  // namespace herald::mail
