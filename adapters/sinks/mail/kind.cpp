#include "adapters/sinks/mail/kind.hpp"

#include <algorithm>
#include <deque>
#include <mutex>
#include <optional>

#include "adapters/sinks/mail/message.hpp"
#include "adapters/sinks/mail/openpgp.hpp"
#include "adapters/sinks/mail/transport.hpp"
#include "daemon/util.hpp"

namespace herald::mail {

namespace {

// The headers of a destination's message with its recipients (dest.to, or
// `to` when not empty) and, when list_unsubscribe is set, the RFC 8058
// headers; the rendered text and HTML as its body.
Expected<MessageSpec> make_spec(const Config& cfg, const DestinationConfig& dest,
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
  return spec;
}

NewDelivery delivery_of(const DestinationConfig& dest, const MessageSpec& spec,
                        std::string payload) {
  NewDelivery d;
  d.idempotency_key = spec.idempotency_key;
  d.destination = dest.name;
  d.sender = spec.from.email;
  for (const auto& a : spec.to) d.recipients.push_back(a.email);
  d.payload = std::move(payload);
  d.subject = spec.subject;
  return d;
}

Expected<NewDelivery> build(const Config& cfg, const DestinationConfig& dest,
                            const RenderedMail& mail, const std::string& key, int64_t now,
                            const std::vector<std::string>& to,
                            const std::string& list_unsubscribe) {
  auto spec = make_spec(cfg, dest, mail, key, now, to, list_unsubscribe);
  if (!spec) return spec.error();
  auto payload = compose(*spec);
  if (!payload) return payload.error();
  return delivery_of(dest, *spec, std::move(*payload));
}

// The form the mail of this render is signed in; none when [openpgp] is
// absent, for a digest, or for an event kind not in [openpgp] kinds.
std::optional<SignatureForm> signature_form(const RenderInput& in) {
  const auto& o = in.cfg.openpgp;
  if (!o.enabled || !in.event) return std::nullopt;
  if (std::find(o.kinds.begin(), o.kinds.end(), in.event->kind) == o.kinds.end())
    return std::nullopt;
  return o.form == "pgp-mime" ? SignatureForm::pgp_mime : SignatureForm::inline_cleartext;
}

OpenPgpSigner signer_of(const Config& cfg) {
  return OpenPgpSigner({cfg.openpgp.gnupg_home, cfg.openpgp.key});
}

// A signing failure as the render's error: the delivery is not made, and the
// caller's log line names the event and this reason.
Error signing_failed(const RenderInput& in, const Error& e) {
  Error out = e;
  out.message = "cannot sign the mail to " + in.dest.name + ": " + e.message;
  return out;
}

// The signed bodies of recent fan-outs, by what they sign. The fan-out to
// subscribers renders a batch of copies at a time; with this a notice is
// signed once however many batches its audience takes.
class SignedBodies {
 public:
  Expected<PrebuiltBody> get(const OpenPgpSigner& signer, SignatureForm form,
                             const std::string& text, const std::string& seed) {
    const std::string id =
        sha256_hex(std::to_string(static_cast<int>(form)) + "\n" + signer.config().gnupg_home +
                   "\n" + signer.config().key + "\n" + seed + "\n" + text);
    {
      std::lock_guard lock(m_mutex);
      for (const auto& [k, body] : m_recent)
        if (k == id) return body;
    }
    // Signed outside the lock: another fan-out need not wait for gpg.
    auto body = sign_body(text, signer, form, seed);
    if (!body) return body.error();
    std::lock_guard lock(m_mutex);
    m_recent.emplace_back(id, *body);
    if (m_recent.size() > k_kept) m_recent.pop_front();
    return body;
  }

 private:
  static constexpr size_t k_kept = 8;
  std::mutex m_mutex;
  std::deque<std::pair<std::string, PrebuiltBody>> m_recent;
};

SignedBodies& signed_bodies() {
  static SignedBodies cache;
  return cache;
}

Expected<NewDelivery> render_signed(const RenderInput& in, SignatureForm form) {
  auto rendered = in.templates.render_mail(in.set, in.context);
  if (!rendered) return rendered.error();
  rendered->html.clear();  // an HTML part cannot be signed: signed mail is text only
  auto spec = make_spec(in.cfg, in.dest, *rendered, in.key, in.now, {}, "");
  if (!spec) return spec.error();
  spec->text_body.clear();
  spec->html_body.clear();
  auto body = sign_body(rendered->text, signer_of(in.cfg), form, in.key);
  if (!body) return signing_failed(in, body.error());
  auto payload = compose(*spec, *body);
  if (!payload) return payload.error();
  return delivery_of(in.dest, *spec, std::move(*payload));
}

// A stand-in for a per-recipient value while the templates render once.
std::string marker(const std::string& name) { return "\x1a" + name + "\x1a"; }

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
    s.replace(p, from.size(), to);
}

// Signed personal copies: the text is rendered without anyone's values and
// signed once; each copy adds its recipient's footer (mail/<set>.footer, else
// mail/default.footer) outside the signed data, so every copy verifies.
Status render_personal_signed(const RenderInput& in, const std::vector<PersonalRecipient>& rcpts,
                              SignatureForm form, const std::function<Status(NewDelivery)>& emit) {
  nlohmann::json ctx = in.context;
  for (const auto& [name, value] : rcpts.front().values) ctx.erase(name);
  auto rendered = in.templates.render_mail(in.set, ctx);
  if (!rendered) return rendered.error();
  const std::string footer_set =
      in.templates.origin("mail/" + in.set + ".footer").empty() ? "default" : in.set;
  nlohmann::json footer_ctx = ctx;
  for (const auto& [name, value] : rcpts.front().values) footer_ctx[name] = marker(name);
  footer_ctx["subject"] = rendered->subject;
  auto footer = in.templates.render("mail", footer_set, "footer", footer_ctx);
  if (!footer) return footer.error();
  auto body = signed_bodies().get(signer_of(in.cfg), form, rendered->text, in.key);
  if (!body) return signing_failed(in, body.error());
  RenderedMail headers_only{rendered->subject, "", ""};
  for (const auto& r : rcpts) {
    std::string own_footer = *footer;
    std::string unsubscribe;
    for (const auto& [name, value] : r.values) {
      replace_all(own_footer, marker(name), value);
      if (name == "unsubscribe_url") unsubscribe = value;
    }
    auto spec = make_spec(in.cfg, in.dest, headers_only, in.key + "/" + r.address, in.now,
                          {r.address}, unsubscribe);
    if (!spec) return spec.error();
    // Without a footer (no links for this recipient) the copy is the signed body itself.
    auto copy = trim(own_footer).empty() ? Expected<PrebuiltBody>(*body)
                                         : with_footer(*body, own_footer, form, in.key);
    if (!copy) return copy.error();
    auto payload = compose(*spec, *copy);
    if (!payload) return payload.error();
    if (auto s = emit(delivery_of(in.dest, *spec, std::move(*payload))); !s) return s;
  }
  return ok_status();
}

Status render_personal(const RenderInput& in, const std::vector<PersonalRecipient>& rcpts,
                       const std::function<Status(NewDelivery)>& emit) {
  if (rcpts.empty()) return ok_status();
  if (auto form = signature_form(in)) return render_personal_signed(in, rcpts, *form, emit);
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
  k.check_config = [](const Config& cfg) {
    std::vector<std::pair<std::string, std::string>> out;
    if (!cfg.openpgp.enabled) return out;
    if (auto st = signer_of(cfg).check(); !st)
      out.push_back({"openpgp.key", "[openpgp] key cannot be used: " + st.error().message});
    return out;
  };
  k.render = [](const RenderInput& in) -> Expected<NewDelivery> {
    if (auto form = signature_form(in)) return render_signed(in, *form);
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
