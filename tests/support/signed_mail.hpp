// A signed mail taken apart by tests/tools/check_signed_mail.py (Python's
// email package, independent of herald) and verified by gpg with the test
// keyring of tests/support/gnupg.hpp.
#pragma once

#include <catch2/catch.hpp>

#include <string>

#include "daemon/util.hpp"
#include "tests/support/gnupg.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/temp_dir.hpp"

namespace herald::test {

inline std::string without_cr(std::string s) {
  std::erase(s, '\r');
  return s;
}

// A message taken apart and verified: what the signature covers, as gpg (or
// for PGP/MIME the MIME decoder) gives it back, and what it does not cover.
struct Verified {
  std::string json;           // check_signed_mail.py's answer
  std::string gpg;            // gpg's status output
  bool good = false;          // a good signature by the test key
  std::string text;           // the signed text, LF line ends
  std::string unsigned_text;  // a personal copy's footer; empty without one
  std::string signature;      // the armored signature
};

inline std::string file_or_empty(const std::string& path) { return herald::read_file(path).value_or(""); }

inline Verified verify(const std::string& message) {
  TempDir dir;
  auto path = dir.write("message.eml", message);
  Verified v;
  auto taken = run("/usr/bin/python3 " + herald::test::source_dir() +
                   "/tests/tools/check_signed_mail.py " + path + " " + dir.path());
  v.json = taken.output;
  INFO(taken.output);
  REQUIRE(taken.exit_code == 0);
  auto mime =
      run("/usr/bin/python3 " + herald::test::source_dir() + "/tests/tools/check_mime.py " + path);
  INFO(mime.output);
  CHECK(mime.exit_code == 0);
  v.unsigned_text = without_cr(file_or_empty(dir.file("unsigned.txt")));
  const auto& k = keyring();
  if (taken.output.find("\"form\": \"inline\"") != std::string::npos) {
    auto r = k.gpg("--status-fd 1 --output " + dir.file("verified.txt") + " --decrypt " +
                   dir.file("inline.txt"));
    v.gpg = r.output;
    v.good = r.exit_code == 0 &&
             r.output.find("[GNUPG:] VALIDSIG " + k.fingerprint()) != std::string::npos;
    v.text = without_cr(file_or_empty(dir.file("verified.txt")));
    auto body = without_cr(file_or_empty(dir.file("inline.txt")));
    auto from = body.find("-----BEGIN PGP SIGNATURE-----");
    auto to = body.find("-----END PGP SIGNATURE-----");
    if (from != std::string::npos && to != std::string::npos)
      v.signature = body.substr(from, to - from);
  } else {
    auto r = k.gpg("--status-fd 1 --verify " + dir.file("signature.asc") + " " +
                   dir.file("signed_part.bin"));
    v.gpg = r.output;
    v.good = r.exit_code == 0 &&
             r.output.find("[GNUPG:] VALIDSIG " + k.fingerprint()) != std::string::npos;
    v.text = without_cr(file_or_empty(dir.file("signed_text.txt")));
    v.signature = file_or_empty(dir.file("signature.asc"));
  }
  return v;
}

}  // namespace herald::test
