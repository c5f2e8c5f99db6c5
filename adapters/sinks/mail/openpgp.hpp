// OpenPGP signatures for mail with GPGME: inline clear-signed text, or
// PGP/MIME (RFC 3156), where the signature covers exactly the bytes sent.
#pragma once

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

  const SignerConfig& config() const { return m_config; }

 private:
  SignerConfig m_config;
};

// The text that gets signed: LF line ends, whitespace removed from each
// line's end, a final newline. bad_input when it is not UTF-8.
Expected<std::string> normalize_signed_text(std::string_view text);

// The whole message of spec (its html_body must be empty) with its text
// signed in the given form; the signed bytes are exactly those sent.
Expected<std::string> compose_signed(const MessageSpec& spec, const OpenPgpSigner& signer,
                                     SignatureForm form = SignatureForm::inline_cleartext);

}  // namespace herald::mail
