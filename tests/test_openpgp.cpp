// OpenPGP-signed mail: a throwaway GnuPG home with an Ed25519 key, messages
// composed in both forms, taken apart by Python's email package
// (tests/tools/check_signed_mail.py) and verified by gpg itself.
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "adapters/sinks/mail/message.hpp"
#include "adapters/sinks/mail/openpgp.hpp"
#include "tests/support/gnupg.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/temp_dir.hpp"

using herald::mail::compose_signed;
using herald::mail::OpenPgpSigner;
using herald::mail::SignatureForm;
using herald::test::keyring;
using herald::test::run;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string without_cr(std::string s) {
  std::erase(s, '\r');
  return s;
}

const std::string k_long_line(2000, 'x');

std::string sample_text() {
  return "OSFS-SA-2026-001-1 lustre security update\n"
         "\n"
         "Reported by Jürgen Müller, Ωmega team.   \n"
         "From the start of a line this must survive.\n"
         "- a list item\n"
         "-- not a signature separator\n"
         "--\n"
         "---\n"
         "trailing tab\t\n"
         ". a dot line\n" +
         k_long_line + "\n" + "last line";
}

// The text as the verified signature must give it back.
std::string expected_text() {
  return "OSFS-SA-2026-001-1 lustre security update\n"
         "\n"
         "Reported by Jürgen Müller, Ωmega team.\n"
         "From the start of a line this must survive.\n"
         "- a list item\n"
         "-- not a signature separator\n"
         "--\n"
         "---\n"
         "trailing tab\n"
         ". a dot line\n" +
         k_long_line + "\n" + "last line\n";
}

herald::mail::MessageSpec sample_spec() {
  herald::mail::MessageSpec spec;
  spec.from = {"Lustre security", "security@example.org"};
  spec.to = {{"", "lustre-announce@example.org"}};
  spec.subject = "[SECURITY] [OSFS-SA-2026-001-1] lustre security update";
  spec.text_body = sample_text();
  spec.date = 1780000000;
  spec.idempotency_key = "notice:OSFS-SA-2026-001-1";
  return spec;
}

// Writes the message, runs the checker, returns its JSON line.
std::string take_apart(const herald::test::TempDir& dir, const std::string& message) {
  auto path = dir.write("message.eml", message);
  auto r = run("/usr/bin/python3 " + herald::test::source_dir() +
               "/tests/tools/check_signed_mail.py " + path + " " + dir.path());
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  // And the composer's own rules hold: CRLF, 7-bit, lines <= 998 octets, no defects.
  auto mime =
      run("/usr/bin/python3 " + herald::test::source_dir() + "/tests/tools/check_mime.py " + path);
  INFO(mime.output);
  CHECK(mime.exit_code == 0);
  return r.output;
}

}  // namespace

TEST_CASE("openpgp: inline clear-signed mail verifies with gpg and gives back the text",
          "[openpgp]") {
  auto& k = keyring();
  OpenPgpSigner signer({k.home(), k.fingerprint()});
  auto message = compose_signed(sample_spec(), signer, SignatureForm::inline_cleartext);
  INFO((message ? "" : message.error().message));
  REQUIRE(message);

  herald::test::TempDir dir;
  auto json = take_apart(dir, *message);
  CHECK(json.find("\"form\": \"inline\"") != std::string::npos);
  CHECK(json.find("\"transfer_encoding\": \"quoted-printable\"") != std::string::npos);

  auto body = read_file(dir.file("inline.txt"));
  CHECK(body.starts_with("-----BEGIN PGP SIGNED MESSAGE-----\r\n"));
  CHECK(body.find("\r\n- - a list item\r\n") != std::string::npos);  // dash-escaped
  CHECK(body.find("\r\n- From the start") != std::string::npos);     // GnuPG escapes it too

  auto verify = k.gpg("--status-fd 1 --output " + dir.file("verified.txt") + " --decrypt " +
                      dir.file("inline.txt"));
  INFO(verify.output);
  CHECK(verify.exit_code == 0);
  CHECK(verify.output.find("[GNUPG:] GOODSIG") != std::string::npos);
  CHECK(verify.output.find("[GNUPG:] VALIDSIG " + k.fingerprint()) != std::string::npos);
  CHECK(without_cr(read_file(dir.file("verified.txt"))) == expected_text());

  SECTION("a lengthy line stays one line of the decoded body") {
    CHECK(body.find("\r\n" + k_long_line + "\r\n") != std::string::npos);
  }
  SECTION("composing again signs the same text (the signature may differ)") {
    auto again = compose_signed(sample_spec(), signer, SignatureForm::inline_cleartext);
    REQUIRE(again);
  }
}

TEST_CASE("openpgp: PGP/MIME mail verifies over the first part's exact bytes", "[openpgp]") {
  auto& k = keyring();
  OpenPgpSigner signer({k.home(), k.fingerprint()});
  auto message = compose_signed(sample_spec(), signer, SignatureForm::pgp_mime);
  INFO((message ? "" : message.error().message));
  REQUIRE(message);

  herald::test::TempDir dir;
  auto json = take_apart(dir, *message);
  CHECK(json.find("\"form\": \"pgp_mime\"") != std::string::npos);
  CHECK(json.find("\"micalg\": \"pgp-sha") != std::string::npos);
  CHECK(json.find("\"protocol\": \"application/pgp-signature\"") != std::string::npos);
  CHECK(json.find("\"first_part_type\": \"text/plain\"") != std::string::npos);
  CHECK(json.find("\"second_part_type\": \"application/pgp-signature\"") != std::string::npos);

  auto part = read_file(dir.file("signed_part.bin"));
  CHECK(part.starts_with("Content-Type: text/plain; charset=\"utf-8\"\r\n"));
  // 7-bit, CRLF only, and no line that starts with "From " or "-".
  for (unsigned char c : part) CHECK_FALSE(c >= 0x80);
  CHECK(without_cr(part).size() + std::count(part.begin(), part.end(), '\n') == part.size());
  CHECK(part.find("\nFrom ") == std::string::npos);
  CHECK(part.find("\n-") == std::string::npos);

  auto verify = k.gpg("--status-fd 1 --verify " + dir.file("signature.asc") + " " +
                      dir.file("signed_part.bin"));
  INFO(verify.output);
  CHECK(verify.exit_code == 0);
  CHECK(verify.output.find("[GNUPG:] VALIDSIG " + k.fingerprint()) != std::string::npos);

  SECTION("the first part decodes to the normalised text") {
    auto decoded =
        run("/usr/bin/python3 -c \"import email,email.policy,sys; m=email."
            "message_from_bytes(open(sys.argv[1],'rb').read(),policy=email.policy."
            "default); sys.stdout.buffer.write(m.get_payload()[0].get_payload("
            "decode=True))\" " +
            dir.file("message.eml"));
    REQUIRE(decoded.exit_code == 0);
    CHECK(without_cr(decoded.output) == expected_text());
  }
}

TEST_CASE("openpgp: a tampered body fails verification", "[openpgp]") {
  auto& k = keyring();
  OpenPgpSigner signer({k.home(), k.fingerprint()});
  herald::test::TempDir dir;

  SECTION("inline") {
    auto message = compose_signed(sample_spec(), signer, SignatureForm::inline_cleartext);
    REQUIRE(message);
    auto pos = message->find("Reported by J");
    REQUIRE(pos != std::string::npos);
    std::string tampered = *message;
    tampered.replace(pos, 11, "Reported bY");
    take_apart(dir, tampered);
    auto verify = k.gpg("--verify " + dir.file("inline.txt"));
    INFO(verify.output);
    CHECK(verify.exit_code != 0);
    CHECK(verify.output.find("BAD signature") != std::string::npos);
  }
  SECTION("PGP/MIME") {
    auto message = compose_signed(sample_spec(), signer, SignatureForm::pgp_mime);
    REQUIRE(message);
    auto pos = message->find("Reported by J");
    REQUIRE(pos != std::string::npos);
    std::string tampered = *message;
    tampered.replace(pos, 11, "Reported bY");
    take_apart(dir, tampered);
    auto verify =
        k.gpg("--verify " + dir.file("signature.asc") + " " + dir.file("signed_part.bin"));
    INFO(verify.output);
    CHECK(verify.exit_code != 0);
    CHECK(verify.output.find("BAD signature") != std::string::npos);
  }
}

TEST_CASE("openpgp: signing errors say what is wrong", "[openpgp]") {
  auto& k = keyring();
  SECTION("a key that is not in the GnuPG home") {
    OpenPgpSigner signer({k.home(), "nobody@example.org"});
    auto message = compose_signed(sample_spec(), signer);
    REQUIRE_FALSE(message);
    CHECK(message.error().kind == herald::ErrorKind::permanent);
    CHECK(message.error().message.find("no secret key for \"nobody@example.org\"") !=
          std::string::npos);
  }
  SECTION("a user id matching one key signs like its fingerprint") {
    OpenPgpSigner signer({k.home(), "security@example.org"});
    auto signature = signer.sign_detached("text\r\n");
    INFO((signature ? "" : signature.error().message));
    REQUIRE(signature);
    CHECK(signature->armored.starts_with("-----BEGIN PGP SIGNATURE-----"));
    CHECK(signature->micalg.starts_with("pgp-sha"));
  }
  SECTION("an expired key, and a user id matching two keys") {
    auto gen = k.gpg(
        "--pinentry-mode loopback --passphrase '' --quick-gen-key "
        "'herald expired <expired@example.org>' ed25519 sign seconds=1");
    INFO(gen.output);
    REQUIRE(gen.exit_code == 0);
    run("sleep 2");
    auto expired = OpenPgpSigner({k.home(), "expired@example.org"}).clearsign("text\n");
    REQUIRE_FALSE(expired);
    CHECK(expired.error().message.find("cannot sign (expired)") != std::string::npos);
    auto ambiguous = OpenPgpSigner({k.home(), "example.org"}).clearsign("text\n");
    REQUIRE_FALSE(ambiguous);
    CHECK(ambiguous.error().message.find("matches 2 secret keys") != std::string::npos);
  }
  SECTION("a GnuPG home that does not exist") {
    OpenPgpSigner signer({k.home() + "/missing", k.fingerprint()});
    auto signature = signer.sign_detached("text\r\n");
    REQUIRE_FALSE(signature);
    CHECK(signature.error().message.find("is not a directory") != std::string::npos);
  }
  SECTION("no key configured") {
    OpenPgpSigner signer({k.home(), ""});
    auto text = signer.clearsign("text\n");
    REQUIRE_FALSE(text);
    CHECK(text.error().message.find("no signing key configured") != std::string::npos);
  }
  SECTION("an HTML part") {
    OpenPgpSigner signer({k.home(), k.fingerprint()});
    auto spec = sample_spec();
    spec.html_body = "<p>x</p>";
    auto message = compose_signed(spec, signer);
    REQUIRE_FALSE(message);
    CHECK(message.error().kind == herald::ErrorKind::bad_input);
  }
}

TEST_CASE("openpgp: the signed text is normalised", "[openpgp]") {
  auto text = herald::mail::normalize_signed_text("a  \r\nb\t\n\nc");
  REQUIRE(text);
  CHECK(*text == "a\nb\n\nc\n");
  CHECK_FALSE(herald::mail::normalize_signed_text("bad \xff byte"));
}
