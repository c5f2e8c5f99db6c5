// OpenPGP signing with GPGME. Each call makes its own context bound to the
// configured GnuPG home (gpgme_ctx_set_engine_info), looks the key up among
// the secret keys (a user id must match exactly one), signs with armor and
// checks the result: no invalid signers and exactly one signature, whose hash
// algorithm gives PGP/MIME's micalg.
//
// What is signed is what is sent. The text is normalised first (LF, no
// whitespace at line ends, a final newline), so the inline form's body is
// the clear-signed text itself with CRLF line ends, quoted-printable encoded
// (a 7-bit encoding that gives back every byte; long lines become soft
// breaks). For PGP/MIME the first part, headers included, is built in
// canonical form (CRLF, quoted-printable with "From " and "-" at line starts
// encoded), and exactly those bytes are signed detached (RFC 3156 section 5).
//
// A footer that differs per copy (a subscriber's links) goes outside the
// signed data, so that one signature serves every copy: after the armored
// signature in the inline body (quoted-printable works line by line, so the
// signed bytes before it are unchanged), or as the second part of a
// multipart/mixed around the untouched multipart/signed.
#include "adapters/sinks/mail/openpgp.hpp"

#include <gpgme.h>

#include <atomic>
#include <clocale>
#include <filesystem>
#include <memory>
#include <mutex>

#include "daemon/util.hpp"

namespace herald::mail {
namespace {

struct ContextDeleter {
  void operator()(gpgme_ctx_t ctx) const { gpgme_release(ctx); }
};
struct DataDeleter {
  void operator()(gpgme_data_t data) const { gpgme_data_release(data); }
};
struct KeyDeleter {
  void operator()(gpgme_key_t key) const { gpgme_key_unref(key); }
};
using Context = std::unique_ptr<std::remove_pointer_t<gpgme_ctx_t>, ContextDeleter>;
using Data = std::unique_ptr<std::remove_pointer_t<gpgme_data_t>, DataDeleter>;
using Key = std::unique_ptr<std::remove_pointer_t<gpgme_key_t>, KeyDeleter>;

void initialise_gpgme() {
  static std::once_flag once;
  std::call_once(once, [] {
    gpgme_check_version(nullptr);
    gpgme_set_locale(nullptr, LC_CTYPE, "C");
  });
}

std::string describe(gpgme_error_t err) {
  return std::string(gpgme_strsource(err)) + ": " + gpgme_strerror(err);
}

// A GPGME error in words a reader of the log can act on.
Error signing_error(gpgme_error_t err, const SignerConfig& config) {
  switch (gpgme_err_code(err)) {
    case GPG_ERR_NO_AGENT:
    case GPG_ERR_AGENT:
      return temporary_error("OpenPGP: gpg-agent is not available for GnuPG home " +
                             config.gnupg_home + " (" + describe(err) + ")");
    case GPG_ERR_NO_SECKEY:
      return permanent_error("OpenPGP: no secret key for \"" + config.key + "\" in " +
                             config.gnupg_home);
    case GPG_ERR_BAD_PASSPHRASE:
    case GPG_ERR_NO_PASSPHRASE:
    case GPG_ERR_NO_PIN_ENTRY:
    case GPG_ERR_CANCELED:
      return permanent_error("OpenPGP: key \"" + config.key +
                             "\" needs a passphrase; herald cannot enter one (" + describe(err) +
                             ")");
    case GPG_ERR_UNUSABLE_SECKEY:
      return permanent_error("OpenPGP: key \"" + config.key + "\" cannot sign");
    default:
      return permanent_error("OpenPGP: signing failed: " + describe(err));
  }
}

Expected<Context> new_context(const SignerConfig& config) {
  initialise_gpgme();
  std::error_code ec;
  if (!std::filesystem::is_directory(config.gnupg_home, ec))
    return permanent_error("OpenPGP: GnuPG home " + config.gnupg_home + " is not a directory");
  gpgme_ctx_t raw = nullptr;
  if (auto err = gpgme_new(&raw))
    return permanent_error("OpenPGP: cannot start GPGME: " + describe(err));
  Context ctx(raw);
  if (auto err = gpgme_ctx_set_engine_info(ctx.get(), GPGME_PROTOCOL_OpenPGP, nullptr,
                                           config.gnupg_home.c_str()))
    return permanent_error("OpenPGP: GnuPG is not usable: " + describe(err));
  gpgme_set_armor(ctx.get(), 1);
  // Never wait for a pinentry: a daemon has nobody to type a passphrase.
  gpgme_set_pinentry_mode(ctx.get(), GPGME_PINENTRY_MODE_ERROR);
  return ctx;
}

// The one secret key matching config.key, able to sign.
Expected<Key> find_signing_key(gpgme_ctx_t ctx, const SignerConfig& config) {
  if (config.key.empty()) return permanent_error("OpenPGP: no signing key configured");
  if (auto err = gpgme_op_keylist_start(ctx, config.key.c_str(), 1))
    return signing_error(err, config);
  Key found;
  int matches = 0;
  for (;;) {
    gpgme_key_t raw = nullptr;
    auto err = gpgme_op_keylist_next(ctx, &raw);
    if (gpgme_err_code(err) == GPG_ERR_EOF) break;
    if (err) {
      gpgme_op_keylist_end(ctx);
      return signing_error(err, config);
    }
    Key key(raw);
    if (++matches == 1) found = std::move(key);
  }
  gpgme_op_keylist_end(ctx);
  if (matches == 0)
    return permanent_error("OpenPGP: no secret key for \"" + config.key + "\" in " +
                           config.gnupg_home);
  if (matches > 1)
    return permanent_error("OpenPGP: \"" + config.key + "\" matches " + std::to_string(matches) +
                           " secret keys in " + config.gnupg_home + "; give a fingerprint");
  if (found->revoked || found->expired || found->disabled || found->invalid || !found->can_sign)
    return permanent_error("OpenPGP: key \"" + config.key + "\" cannot sign (" +
                           (found->revoked   ? "revoked"
                            : found->expired ? "expired"
                                             : "no usable signing subkey") +
                           ")");
  return found;
}

std::atomic<uint64_t> g_signatures{0};

struct Signed {
  std::string armored;
  std::string micalg;
};

Expected<Signed> sign(const SignerConfig& config, std::string_view data, gpgme_sig_mode_t mode) {
  auto ctx = new_context(config);
  if (!ctx) return ctx.error();
  auto key = find_signing_key(ctx->get(), config);
  if (!key) return key.error();
  if (auto err = gpgme_signers_add(ctx->get(), key->get())) return signing_error(err, config);
  gpgme_set_textmode(ctx->get(), mode == GPGME_SIG_MODE_CLEAR ? 1 : 0);

  gpgme_data_t raw_in = nullptr, raw_out = nullptr;
  if (auto err = gpgme_data_new_from_mem(&raw_in, data.data(), data.size(), 0))
    return signing_error(err, config);
  Data in(raw_in);
  if (auto err = gpgme_data_new(&raw_out)) return signing_error(err, config);
  Data out(raw_out);

  auto err = gpgme_op_sign(ctx->get(), in.get(), out.get(), mode);
  gpgme_sign_result_t result = gpgme_op_sign_result(ctx->get());
  if (result && result->invalid_signers)
    return signing_error(result->invalid_signers->reason ? result->invalid_signers->reason
                                                         : gpgme_error(GPG_ERR_UNUSABLE_SECKEY),
                         config);
  if (err) return signing_error(err, config);
  if (!result || !result->signatures || result->signatures->next)
    return permanent_error("OpenPGP: expected exactly one signature from GnuPG");
  const char* hash = gpgme_hash_algo_name(result->signatures->hash_algo);
  if (!hash) return permanent_error("OpenPGP: GnuPG used an unknown hash algorithm");

  size_t size = 0;
  char* bytes = gpgme_data_release_and_get_mem(out.release(), &size);
  if (!bytes) return permanent_error("OpenPGP: GnuPG returned no signature");
  Signed s{std::string(bytes, size), "pgp-" + to_lower(hash)};
  gpgme_free(bytes);
  g_signatures.fetch_add(1, std::memory_order_relaxed);
  return s;
}

std::string with_crlf(std::string_view lf_text) {
  std::string out;
  out.reserve(lf_text.size() + lf_text.size() / 32);
  for (char c : lf_text) {
    if (c == '\r') continue;
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

// "=_" cannot occur in quoted-printable or armored text.
std::string boundary_for(std::string_view what, std::string_view seed) {
  return "=_herald_" + std::string(what) + "_" +
         sha256_hex(std::string(what) + " boundary\n" + std::string(seed)).substr(0, 32);
}

const char k_text_part_headers[] =
    "Content-Type: text/plain; charset=\"utf-8\"\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n";

}  // namespace

OpenPgpSigner::OpenPgpSigner(SignerConfig config) : m_config(std::move(config)) {}

Status OpenPgpSigner::check() const {
  auto ctx = new_context(m_config);
  if (!ctx) return ctx.error();
  auto key = find_signing_key(ctx->get(), m_config);
  if (!key) return key.error();
  return ok_status();
}

uint64_t OpenPgpSigner::signatures_made() { return g_signatures.load(std::memory_order_relaxed); }

Expected<std::string> OpenPgpSigner::clearsign(std::string_view text) const {
  auto s = sign(m_config, text, GPGME_SIG_MODE_CLEAR);
  if (!s) return s.error();
  return std::move(s->armored);
}

Expected<DetachedSignature> OpenPgpSigner::sign_detached(std::string_view data) const {
  auto s = sign(m_config, data, GPGME_SIG_MODE_DETACH);
  if (!s) return s.error();
  return DetachedSignature{std::move(s->armored), std::move(s->micalg)};
}

Expected<std::string> normalize_signed_text(std::string_view text) {
  if (!is_valid_utf8(text)) return bad_input("signed text: not valid UTF-8");
  std::string out;
  out.reserve(text.size() + 1);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    std::string_view line = text.substr(pos, (eol == text.npos ? text.size() : eol) - pos);
    pos = eol == text.npos ? text.size() : eol + 1;
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r'))
      line.remove_suffix(1);
    out.append(line).append("\n");
  }
  return out;
}

Expected<PrebuiltBody> sign_body(std::string_view text, const OpenPgpSigner& signer,
                                 SignatureForm form, std::string_view boundary_seed) {
  auto normalized = normalize_signed_text(text);
  if (!normalized) return normalized.error();

  if (form == SignatureForm::inline_cleartext) {
    auto signed_text = signer.clearsign(*normalized);
    if (!signed_text) return signed_text.error();
    return PrebuiltBody{"text/plain; charset=\"utf-8\"", "quoted-printable",
                        quoted_printable(with_crlf(*signed_text))};
  }

  // RFC 3156 section 5: the signature covers the first part with its headers,
  // up to but not including the CRLF before the next boundary delimiter.
  const std::string part =
      k_text_part_headers + std::string("\r\n") + quoted_printable(*normalized);
  auto signature = signer.sign_detached(part);
  if (!signature) return signature.error();
  const std::string boundary = boundary_for("signed", boundary_seed);
  std::string body = "This is an OpenPGP/MIME signed message (RFC 4880 and 3156)\r\n";
  body += "--" + boundary + "\r\n" + part + "\r\n--" + boundary + "\r\n";
  body += "Content-Type: application/pgp-signature; name=\"signature.asc\"\r\n";
  body += "Content-Description: OpenPGP digital signature\r\n";
  body += "Content-Disposition: attachment; filename=\"signature.asc\"\r\n\r\n";
  body += with_crlf(signature->armored);
  if (!body.ends_with("\r\n")) body += "\r\n";
  body += "--" + boundary + "--\r\n";
  return PrebuiltBody{"multipart/signed; micalg=\"" + signature->micalg +
                          "\"; protocol=\"application/pgp-signature\"; boundary=\"" + boundary +
                          "\"",
                      "", std::move(body)};
}

Expected<PrebuiltBody> with_footer(const PrebuiltBody& signed_body, std::string_view footer,
                                   SignatureForm form, std::string_view boundary_seed) {
  if (!is_valid_utf8(footer)) return bad_input("signed mail footer: not valid UTF-8");
  std::string text(footer);
  if (!text.empty() && !text.ends_with("\n")) text += "\n";
  if (form == SignatureForm::inline_cleartext) {
    // The clear-signed text ends with a line break, so quoted-printable of the
    // footer continues it line for line; a blank line sets the footer apart.
    PrebuiltBody out = signed_body;
    out.bytes += quoted_printable("\n" + text);
    return out;
  }
  const std::string boundary = boundary_for("footer", boundary_seed);
  std::string_view inner = signed_body.bytes;
  if (inner.ends_with("\r\n")) inner.remove_suffix(2);  // the CRLF belongs to the next delimiter
  std::string body = "This is a multi-part message in MIME format.\r\n";
  body += "--" + boundary + "\r\n";
  // Folded after each parameter: the value is longer than 78 octets.
  std::string content_type = signed_body.content_type;
  for (size_t p = content_type.find("; "); p != content_type.npos;
       p = content_type.find("; ", p + 3))
    content_type.replace(p, 2, ";\r\n ");
  body += "Content-Type: " + content_type + "\r\n";
  if (!signed_body.transfer_encoding.empty())
    body += "Content-Transfer-Encoding: " + signed_body.transfer_encoding + "\r\n";
  body += "\r\n";
  body.append(inner);
  body += "\r\n--" + boundary + "\r\n";
  body += k_text_part_headers;
  body += "Content-Disposition: inline\r\n\r\n";
  std::string encoded = quoted_printable(text);
  if (encoded.ends_with("\r\n")) encoded.resize(encoded.size() - 2);
  body += encoded;
  body += "\r\n--" + boundary + "--\r\n";
  return PrebuiltBody{"multipart/mixed; boundary=\"" + boundary + "\"", "", std::move(body)};
}

Expected<std::string> compose_signed(const MessageSpec& spec, const OpenPgpSigner& signer,
                                     SignatureForm form) {
  if (!spec.html_body.empty())
    return bad_input("signed mail: an HTML part cannot be signed; use text only");
  auto body = sign_body(spec.text_body, signer, form, spec.idempotency_key);
  if (!body) return body.error();
  MessageSpec headers_only = spec;
  headers_only.text_body.clear();
  return compose(headers_only, *body);
}

}  // namespace herald::mail
