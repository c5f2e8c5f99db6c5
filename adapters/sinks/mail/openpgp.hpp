// OpenPGP signatures for mail with GPGME: inline clear-signed text, or
// PGP/MIME (RFC 3156), where the signature covers exactly the bytes sent.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "adapters/sinks/mail/message.hpp"
#include "daemon/expected.hpp"

namespace herald::mail {

enum class SignatureForm {
  inline_cleartext,  // text/plain body that is a clear-signed message (Debian's advisories)
  pgp_mime,          // multipart/signed with a detached application/pgp-signature part
};

struct SignerConfig {
  std::string gnupg_home;  // GnuPG home directory holding the secret key
  std::string key;         // fingerprint (preferred) or a user id matching exactly one key
};

struct DetachedSignature {
  std::string armored;  // ASCII-armored signature, LF line ends
  std::string micalg;   // "pgp-sha256" and the like (RFC 3156 section 5)
};

// Signs with one key of one GnuPG home. Each call uses its own GPGME context,
// so one signer may be used from several threads. Keys with a passphrase are
// not asked for one: signing fails with an error instead.
class OpenPgpSigner {
 public:
  explicit OpenPgpSigner(SignerConfig config);

  // text clear-signed (dash-escaped by GnuPG), LF line ends.
  Expected<std::string> clearsign(std::string_view text) const;
  // An armored detached signature over exactly data (binary mode).
  Expected<DetachedSignature> sign_detached(std::string_view data) const;

  // The key is in the GnuPG home, unique, and can sign: what signing would
  // find out, without signing (a key listing only).
  Status check() const;

  const SignerConfig& config() const { return m_config; }

  // Signatures made by every signer of the process so far: a personalised
  // fan-out is meant to sign once, not once per copy, and tests count it.
  static uint64_t signatures_made();

 private:
  SignerConfig m_config;
};

// The text that gets signed: LF line ends, whitespace removed from each
// line's end, a final newline. bad_input when it is not UTF-8.
Expected<std::string> normalize_signed_text(std::string_view text);

// text signed in the given form, as the body of a message: inline, a
// text/plain clear-signed body (quoted-printable); PGP/MIME, multipart/signed
// over a text/plain first part. boundary_seed gives the boundary (stable
// bytes for the same seed and text). compose(spec, body) makes the message.
Expected<PrebuiltBody> sign_body(std::string_view text, const OpenPgpSigner& signer,
                                 SignatureForm form, std::string_view boundary_seed);

// A signed body with a footer the signature does not cover (a subscriber's
// own links), so one signature serves every copy: inline, the footer follows
// the "-----END PGP SIGNATURE-----" line in the same text/plain body, as
// mailing lists append theirs; PGP/MIME, a multipart/mixed of the
// multipart/signed and a text/plain footer part. signed_body's bytes are
// kept as they are. bad_input when the footer is not UTF-8.
Expected<PrebuiltBody> with_footer(const PrebuiltBody& signed_body, std::string_view footer,
                                   SignatureForm form, std::string_view boundary_seed);

// The whole message of spec (its html_body must be empty) with its text
// signed in the given form; the signed bytes are exactly those sent.
Expected<std::string> compose_signed(const MessageSpec& spec, const OpenPgpSigner& signer,
                                     SignatureForm form = SignatureForm::inline_cleartext);

}  // namespace herald::mail
