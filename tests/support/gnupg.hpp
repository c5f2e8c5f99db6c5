// A throwaway GnuPG home with one passphrase-less Ed25519 signing key, for
// the tests of OpenPGP-signed mail; commands are run through the shell with
// their output collected. Test-only code: failures throw std::runtime_error.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>

#include "tests/support/temp_dir.hpp"

namespace herald::test {

struct RunResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

inline RunResult run(const std::string& command) {
  RunResult r;
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen((command + " 2>&1").c_str(), "r"), pclose);
  if (!pipe) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe.get())) > 0) r.output.append(buf, n);
  int status = pclose(pipe.release());
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// Its gpg-agent is stopped at the end.
class TestKeyring {
 public:
  TestKeyring() {
    auto r = run("gpg --batch --homedir " + m_dir.path() +
                 " --pinentry-mode loopback --passphrase '' --quick-gen-key "
                 "'herald test <security@example.org>' ed25519 sign never");
    if (r.exit_code != 0) throw std::runtime_error("gpg --quick-gen-key failed: " + r.output);
    auto list = run("gpg --batch --homedir " + m_dir.path() + " --with-colons --list-secret-keys");
    std::istringstream lines(list.output);
    for (std::string line; std::getline(lines, line);)
      if (line.starts_with("fpr:") && m_fingerprint.empty())
        m_fingerprint = line.substr(line.find_first_not_of(':', 4), 40);
    if (m_fingerprint.size() != 40) throw std::runtime_error("no fingerprint in: " + list.output);
  }
  ~TestKeyring() { run("gpgconf --homedir " + m_dir.path() + " --kill gpg-agent"); }
  TestKeyring(const TestKeyring&) = delete;
  TestKeyring& operator=(const TestKeyring&) = delete;

  const std::string& home() const { return m_dir.path(); }
  const std::string& fingerprint() const { return m_fingerprint; }
  RunResult gpg(const std::string& args) const {
    return run("gpg --batch --homedir " + m_dir.path() + " " + args);
  }

 private:
  TempDir m_dir;
  std::string m_fingerprint;
};

// One keyring for the whole test run: making a key takes a while.
inline TestKeyring& keyring() {
  static TestKeyring k;
  return k;
}

}  // namespace herald::test
