// Mail transports: SMTP through libcurl, and a Maildir (the embedded default).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "adapters/sinks/sink.hpp"

namespace herald::mail {

struct SmtpOptions {
  std::string url;          // smtp://host:port or smtps://host:port
  std::string ehlo_domain;  // sent in EHLO (appended to the URL path)
  enum class Tls { none, starttls_required, implicit } tls = Tls::none;
  std::string username;     // AUTH when non-empty
  std::string password;     // never logged
  bool verify_peer = true;
  std::string ca_file;      // optional CA bundle
  int64_t connect_timeout_ms = 10'000;
  int64_t timeout_ms = 60'000;       // a transaction, up to the end of the message data
  int64_t data_timeout_ms = 600'000; // then the answer to the final dot
};

// One reused connection (libcurl easy handle) per sink; one transaction per
// recipient so each refusal is known. Classification: 2xx delivered; 4xx and
// 552 retry; other 5xx permanent; connection errors and timeouts retry.
std::unique_ptr<Sink> make_smtp_sink(SmtpOptions opts);

// Writes each recipient's copy by the Maildir protocol: a unique name in
// tmp/, fsync, rename into new/. The directory (with tmp, new, cur) is created
// when missing. The bytes written are the payload as is (CRLF kept).
std::unique_ptr<Sink> make_maildir_sink(std::string directory);

}  // namespace herald::mail
