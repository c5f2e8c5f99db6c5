// SMTP sink over one reused libcurl easy handle.
//
// The handle lives as long as the sink, so libcurl keeps the connection open
// between transfers: one EHLO (and AUTH) per connection, not per message.
// Each recipient of an item is one SMTP transaction (MAIL, one RCPT, DATA),
// because libcurl reports no per-recipient result otherwise.
//
// Every transaction is classified from the last server reply (code from
// CURLINFO_RESPONSE_CODE, text captured through CURLOPT_DEBUGFUNCTION) and
// from the command it answered:
//   - 2xx after DATA: accepted.
//   - MAIL, RCPT or DATA refused: 4xx and 552 defer (retry), other 5xx
//     refuse (permanent). 421 is the server closing the session: see below.
//   - Anything else is a session failure: no connection, timeout, connection
//     dropped, greeting/EHLO/STARTTLS/AUTH refused (535 included), TLS error.
//     These retry: the message is fine and the cause is the server or the
//     configuration (a bad password is fixed by the operator, after which the
//     deferred mail goes out instead of having been dead-lettered). The handle
//     is recreated, so the next transfer starts on a new connection, and the
//     rest of the batch is not attempted (a dead relay costs one connect
//     timeout per batch, not one per recipient). A session failure on a
//     connection reused from an earlier transfer is retried once at once on a
//     new connection: servers drop idle connections.
// Timeouts: connect_timeout for the connection; timeout for a transaction up
// to the end of the message data; then data_timeout (10 minutes, as RFC 5321
// 4.5.3.2.6 says) for the answer to the final dot. The message is with the
// server by then, so giving up early would make a duplicate when the server
// was only slow. A progress callback enforces the phases, and abandons a
// transaction that has not reached the final dot when herald is stopping.
// An item is delivered when every recipient accepted it. Otherwise any
// deferred recipient makes the item retry (the next attempt sends to all
// recipients again; receivers drop the duplicate by Message-ID); when nothing
// is deferred, a refused recipient makes it permanent. The detail names each
// recipient that was not accepted with the server's answer. The password, and
// its base64 forms used by AUTH PLAIN and LOGIN, are cut out of every detail.
#include <curl/curl.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

#include "adapters/sinks/mail/transport.hpp"
#include "daemon/util.hpp"

namespace herald::mail {
namespace {

struct CurlEasyDeleter {
  void operator()(CURL* handle) const noexcept { curl_easy_cleanup(handle); }
};
using CurlEasy = std::unique_ptr<CURL, CurlEasyDeleter>;

struct CurlSlistDeleter {
  void operator()(curl_slist* list) const noexcept { curl_slist_free_all(list); }
};
using CurlSlist = std::unique_ptr<curl_slist, CurlSlistDeleter>;

bool curl_global_ready() {
  static const bool k_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  return k_ready;
}

using SteadyClock = std::chrono::steady_clock;

// The bytes of one upload, how far libcurl has read them, and the phase
// deadlines of the transaction.
struct PayloadReader {
  std::string_view data;
  size_t offset = 0;
  SteadyClock::time_point started;
  std::optional<SteadyClock::time_point> data_done;  // all bytes handed over: the final dot
  std::chrono::milliseconds timeout{0}, data_timeout{0};
  const std::atomic<bool>* interrupt = nullptr;  // herald is stopping
  std::string aborted;  // why the progress callback ended the transfer
};

// SMTP commands whose name may be recorded; anything else libcurl sends
// (AUTH LOGIN continuation lines) is credentials and is never looked at.
// QUIT is not among them: libcurl closes a failed session itself, and the
// failure, not the goodbye, is what the detail must show.
constexpr std::string_view k_commands[] = {"EHLO", "HELO", "STARTTLS", "AUTH",
                                           "MAIL", "RCPT", "DATA",     "RSET"};

// Longest server reply kept for a detail; the rest is cut.
constexpr size_t k_max_reply = 512;

bool has_line_break(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

// "smtp://user:pw@host:25/x" -> "smtp://host:25/x".
std::string without_userinfo(const std::string& url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return url;
  auto host_start = scheme_end + 3;
  auto at = url.find('@', host_start);
  auto slash = url.find('/', host_start);
  if (at == std::string::npos || (slash != std::string::npos && at > slash)) return url;
  return url.substr(0, host_start) + url.substr(at + 1);
}

std::string effective_url(const SmtpOptions& opts) {
  std::string url = opts.url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (opts.tls == SmtpOptions::Tls::implicit && starts_with_icase(url, "smtp://"))
    url = "smtps://" + url.substr(7);
  auto scheme_end = url.find("://");
  bool has_path =
      scheme_end != std::string::npos && url.find('/', scheme_end + 3) != std::string::npos;
  if (!has_path && !opts.ehlo_domain.empty()) url += "/" + opts.ehlo_domain;
  return url;
}

enum class Outcome { accepted, deferred, refused, session_failure };

struct Transaction {
  Outcome outcome = Outcome::accepted;
  std::string detail;
};

class SmtpSink final : public Sink {
 public:
  explicit SmtpSink(SmtpOptions opts) : m_opts(std::move(opts)), m_url(effective_url(m_opts)) {
    if (!m_opts.password.empty()) {
      m_secrets.push_back(m_opts.password);
      m_secrets.push_back(base64_encode(m_opts.password));
      std::string plain;
      plain.push_back('\0');
      plain += m_opts.username;
      plain.push_back('\0');
      plain += m_opts.password;
      m_secrets.push_back(base64_encode(plain));
    }
    m_errbuf[0] = '\0';
  }
  ~SmtpSink() override {
    // QUIT at cleanup waits for its answer no longer than the general timeout.
    if (m_curl)
      curl_easy_setopt(m_curl.get(), CURLOPT_SERVER_RESPONSE_TIMEOUT,
                       static_cast<long>((m_opts.timeout_ms + 999) / 1000));
  }
  SmtpSink(const SmtpSink&) = delete;  // its address is handed to libcurl
  SmtpSink& operator=(const SmtpSink&) = delete;

  void deliver_each(const std::vector<OutboxItem>& items, const ResultFn& done) override;
  std::string describe() const override;

 private:
  DeliveryResult deliver_item(const OutboxItem& item);
  Transaction transact(const OutboxItem& item, const std::string& rcpt);
  Transaction transact_once(const OutboxItem& item, const std::string& rcpt, bool& reused);
  Transaction classify(CURLcode rc, long code) const;
  bool open_handle(std::string& error);
  void reset_connection();
  std::string redact(std::string text) const;

  void on_reply_line(std::string_view line);
  void on_command(std::string_view line);
  static int debug_trampoline(CURL*, curl_infotype type, char* data, size_t size,
                              void* userp) noexcept;
  static size_t read_trampoline(char* buffer, size_t size, size_t nitems, void* userp) noexcept;
  static int progress_trampoline(void* userp, curl_off_t, curl_off_t, curl_off_t,
                                 curl_off_t) noexcept;

  SmtpOptions m_opts;
  std::string m_url;
  std::vector<std::string> m_secrets;
  CurlEasy m_curl;
  bool m_connection_open = false;  // a transfer succeeded on the current connection
  std::string m_batch_failure;     // set after a session failure: the rest of the batch waits
  std::string m_reply;             // last server reply, one line
  bool m_reply_complete = true;
  std::string m_command;    // name of the last command sent
  bool m_quitting = false;  // QUIT sent: later replies are not recorded
  char m_errbuf[CURL_ERROR_SIZE];
};

int SmtpSink::debug_trampoline(CURL*, curl_infotype type, char* data, size_t size,
                               void* userp) noexcept {
  try {
    auto* self = static_cast<SmtpSink*>(userp);
    std::string_view text(data, size);
    if (type == CURLINFO_HEADER_IN) self->on_reply_line(text);
    if (type == CURLINFO_HEADER_OUT) self->on_command(text);
  } catch (...) {
  }
  return 0;
}

size_t SmtpSink::read_trampoline(char* buffer, size_t size, size_t nitems, void* userp) noexcept {
  auto* reader = static_cast<PayloadReader*>(userp);
  size_t n = std::min(size * nitems, reader->data.size() - reader->offset);
  if (n > 0) std::memcpy(buffer, reader->data.data() + reader->offset, n);
  reader->offset += n;
  if (n == 0 && !reader->data_done) reader->data_done = SteadyClock::now();
  return n;
}

int SmtpSink::progress_trampoline(void* userp, curl_off_t, curl_off_t, curl_off_t,
                                  curl_off_t) noexcept {
  auto* reader = static_cast<PayloadReader*>(userp);
  if (!reader) return 0;
  const auto now = SteadyClock::now();
  using std::chrono::duration_cast;
  using std::chrono::seconds;
  try {
    if (!reader->data_done && reader->interrupt && reader->interrupt->load()) {
      reader->aborted = "interrupted before the end of the message data: herald is stopping";
      return 1;
    }
    if (!reader->data_done && now - reader->started > reader->timeout) {
      reader->aborted = "timed out after " +
                        std::to_string(duration_cast<seconds>(reader->timeout).count()) +
                        "s before the end of the message data";
      return 1;
    }
    if (reader->data_done && now - *reader->data_done > reader->data_timeout) {
      reader->aborted = "no answer to the end of the message data within " +
                        std::to_string(duration_cast<seconds>(reader->data_timeout).count()) +
                        "s (data_timeout); the server may have the message";
      return 1;
    }
  } catch (...) {
    return 1;
  }
  return 0;
}

void SmtpSink::on_reply_line(std::string_view line) {
  if (m_quitting) return;
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  bool last = line.size() <= 3 || line[3] != '-';
  if (m_reply_complete) {
    m_reply = one_line(line);
  } else if (line.size() > 4) {
    m_reply += " " + one_line(line.substr(4));
  }
  if (m_reply.size() > k_max_reply) m_reply.replace(k_max_reply, std::string::npos, "...");
  m_reply_complete = last;
}

void SmtpSink::on_command(std::string_view line) {
  auto name = line.substr(0, line.find_first_of(" \r\n"));
  if (iequals(name, "QUIT")) {
    m_quitting = true;
    return;
  }
  for (auto command : k_commands) {
    if (iequals(name, command)) {
      m_command = std::string(command);
      return;
    }
  }
}

std::string SmtpSink::redact(std::string text) const {
  for (const auto& secret : m_secrets) {
    for (auto pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos))
      text.replace(pos, secret.size(), "***");
  }
  return text;
}

bool SmtpSink::open_handle(std::string& error) {
  if (!curl_global_ready()) {
    error = "curl_global_init failed";
    return false;
  }
  CurlEasy handle(curl_easy_init());
  if (!handle) {
    error = "curl_easy_init failed";
    return false;
  }
  CURL* h = handle.get();
  CURLcode rc = CURLE_OK;
  auto set = [&](CURLoption option, auto value) {
    if (rc == CURLE_OK) rc = curl_easy_setopt(h, option, value);
  };
  set(CURLOPT_URL, m_url.c_str());
  set(CURLOPT_PROTOCOLS_STR, "smtp,smtps");
  set(CURLOPT_NOSIGNAL, 1L);
  set(CURLOPT_TCP_KEEPALIVE, 1L);
  set(CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(m_opts.connect_timeout_ms));
  // The phases (timeout, then data_timeout) are enforced by the progress
  // callback; these are the outer bounds.
  const int64_t longest_ms = m_opts.timeout_ms + m_opts.data_timeout_ms;
  set(CURLOPT_TIMEOUT_MS, static_cast<long>(longest_ms));
  set(CURLOPT_SERVER_RESPONSE_TIMEOUT,
      static_cast<long>((std::max(m_opts.timeout_ms, m_opts.data_timeout_ms) + 999) / 1000));
  set(CURLOPT_NOPROGRESS, 0L);
  set(CURLOPT_XFERINFOFUNCTION,
      static_cast<curl_xferinfo_callback>(&SmtpSink::progress_trampoline));
  set(CURLOPT_XFERINFODATA, static_cast<void*>(nullptr));
  set(CURLOPT_UPLOAD, 1L);
  set(CURLOPT_READFUNCTION, static_cast<curl_read_callback>(&SmtpSink::read_trampoline));
  set(CURLOPT_VERBOSE, 1L);
  set(CURLOPT_DEBUGFUNCTION, static_cast<curl_debug_callback>(&SmtpSink::debug_trampoline));
  set(CURLOPT_DEBUGDATA, static_cast<void*>(this));
  set(CURLOPT_ERRORBUFFER, m_errbuf);
  set(CURLOPT_USE_SSL, m_opts.tls == SmtpOptions::Tls::none ? static_cast<long>(CURLUSESSL_NONE)
                                                            : static_cast<long>(CURLUSESSL_ALL));
  set(CURLOPT_SSL_VERIFYPEER, m_opts.verify_peer ? 1L : 0L);
  set(CURLOPT_SSL_VERIFYHOST, m_opts.verify_peer ? 2L : 0L);
  if (!m_opts.ca_file.empty()) set(CURLOPT_CAINFO, m_opts.ca_file.c_str());
  if (!m_opts.username.empty()) {
    set(CURLOPT_USERNAME, m_opts.username.c_str());
    set(CURLOPT_PASSWORD, m_opts.password.c_str());
  }
  if (rc != CURLE_OK) {
    error = std::string("cannot configure the SMTP client: ") + curl_easy_strerror(rc);
    return false;
  }
  m_curl = std::move(handle);
  m_connection_open = false;
  return true;
}

void SmtpSink::reset_connection() {
  // libcurl keeps a connection whose server stopped answering (a timeout
  // while waiting for the reply to the message data) and would wait for the
  // answer to its QUIT at cleanup. Shutting the socket down first makes the
  // cleanup immediate; libcurl still closes the descriptor.
  if (m_curl) {
    curl_socket_t socket = CURL_SOCKET_BAD;
    if (curl_easy_getinfo(m_curl.get(), CURLINFO_ACTIVESOCKET, &socket) == CURLE_OK &&
        socket != CURL_SOCKET_BAD)
      ::shutdown(socket, SHUT_RDWR);
  }
  m_curl.reset();
  m_connection_open = false;
}

Transaction SmtpSink::classify(CURLcode rc, long code) const {
  if (rc == CURLE_OK) return {Outcome::accepted, m_reply.empty() ? "accepted" : m_reply};
  bool message_command = m_command == "MAIL" || m_command == "RCPT" || m_command == "DATA";
  std::string answer = !m_reply.empty() ? m_reply : std::to_string(code);
  if (code >= 400 && code != 421 && message_command) {
    bool temporary = code / 100 == 4 || code == 552;
    return {temporary ? Outcome::deferred : Outcome::refused, m_command + " " + answer};
  }
  if (code >= 400) {
    std::string detail = (m_command.empty() ? std::string("greeting") : m_command) + " " + answer;
    if (m_command == "AUTH") detail += " (check the SMTP username and password)";
    return {Outcome::session_failure, detail};
  }
  std::string detail = curl_easy_strerror(rc);
  if (m_errbuf[0] != '\0') detail += std::string(": ") + m_errbuf;
  if (!m_command.empty()) detail += " (after " + m_command + ")";
  return {Outcome::session_failure, one_line(detail)};
}

Transaction SmtpSink::transact_once(const OutboxItem& item, const std::string& rcpt, bool& reused) {
  reused = false;
  std::string error;
  if (!m_curl && !open_handle(error)) return {Outcome::session_failure, error};
  CurlSlist rcpts(curl_slist_append(nullptr, rcpt.c_str()));
  if (!rcpts) return {Outcome::session_failure, "out of memory"};
  PayloadReader reader;
  reader.data = item.payload;
  reader.started = SteadyClock::now();
  reader.timeout = std::chrono::milliseconds(m_opts.timeout_ms);
  reader.data_timeout = std::chrono::milliseconds(m_opts.data_timeout_ms);
  reader.interrupt = interrupt_flag();
  CURL* h = m_curl.get();
  curl_easy_setopt(h, CURLOPT_MAIL_FROM, item.sender.c_str());
  curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpts.get());
  curl_easy_setopt(h, CURLOPT_READDATA, static_cast<void*>(&reader));
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, static_cast<void*>(&reader));
  curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(item.payload.size()));
  m_errbuf[0] = '\0';
  m_reply.clear();
  m_reply_complete = true;
  m_command.clear();
  m_quitting = false;
  bool was_open = m_connection_open;
  CURLcode rc = curl_easy_perform(h);
  curl_easy_setopt(h, CURLOPT_MAIL_RCPT, static_cast<curl_slist*>(nullptr));
  curl_easy_setopt(h, CURLOPT_READDATA, static_cast<void*>(nullptr));
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, static_cast<void*>(nullptr));
  long code = 0;
  long new_connections = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &new_connections);
  reused = was_open && new_connections == 0;
  auto result = classify(rc, code);
  if (rc == CURLE_ABORTED_BY_CALLBACK && !reader.aborted.empty())
    result = {Outcome::session_failure,
              reader.aborted + (m_command.empty() ? "" : " (after " + m_command + ")")};
  if (result.outcome == Outcome::session_failure) {
    reset_connection();
  } else {
    m_connection_open = true;
  }
  return result;
}

Transaction SmtpSink::transact(const OutboxItem& item, const std::string& rcpt) {
  bool reused = false;
  auto result = transact_once(item, rcpt, reused);
  if (result.outcome == Outcome::session_failure && reused)
    result = transact_once(item, rcpt, reused);
  return result;
}

DeliveryResult SmtpSink::deliver_item(const OutboxItem& item) {
  if (item.recipients.empty()) return DeliveryResult::fail("no recipients");
  if (has_line_break(item.sender)) return DeliveryResult::fail("invalid envelope sender");
  for (const auto& rcpt : item.recipients) {
    if (rcpt.empty() || has_line_break(rcpt))
      return DeliveryResult::fail("invalid envelope recipient: " + one_line(rcpt));
  }
  std::vector<std::string> deferred;
  std::vector<std::string> refused;
  std::vector<std::string> not_attempted;
  size_t accepted = 0;
  std::string last_answer;
  for (const auto& rcpt : item.recipients) {
    if (!m_batch_failure.empty()) {
      not_attempted.push_back(rcpt);
      continue;
    }
    auto t = transact(item, rcpt);
    switch (t.outcome) {
      case Outcome::accepted:
        ++accepted;
        last_answer = std::move(t.detail);
        break;
      case Outcome::deferred:
        deferred.push_back(rcpt + ": " + t.detail);
        break;
      case Outcome::refused:
        refused.push_back(rcpt + ": " + t.detail);
        break;
      case Outcome::session_failure:
        deferred.push_back(rcpt + ": " + t.detail);
        m_batch_failure = t.detail;
        break;
    }
  }
  if (deferred.empty() && refused.empty() && not_attempted.empty()) {
    if (item.recipients.size() == 1) return DeliveryResult::ok(redact(last_answer));
    return DeliveryResult::ok(
        redact("accepted by " + std::to_string(accepted) + " recipients: " + last_answer));
  }
  std::string detail;
  auto append = [&detail](const char* label, const std::vector<std::string>& lines) {
    if (lines.empty()) return;
    if (!detail.empty()) detail += "; ";
    detail += label;
    for (size_t i = 0; i < lines.size(); ++i) detail += (i ? ", " : " ") + lines[i];
  };
  append("deferred", deferred);
  append("refused", refused);
  if (!not_attempted.empty()) {
    std::string label = "not attempted after a session failure (" + m_batch_failure + "):";
    append(label.c_str(), not_attempted);
  }
  if (accepted > 0)
    detail += "; accepted by " + std::to_string(accepted) + " of " +
              std::to_string(item.recipients.size()) + " recipients";
  if (!deferred.empty() || !not_attempted.empty()) return DeliveryResult::retry(redact(detail));
  return DeliveryResult::fail(redact(detail));
}

void SmtpSink::deliver_each(const std::vector<OutboxItem>& items, const ResultFn& done) {
  m_batch_failure.clear();
  for (size_t i = 0; i < items.size(); ++i)
    if (!done(i, deliver_item(items[i]))) break;
  m_batch_failure.clear();
}

std::string SmtpSink::describe() const {
  std::string text = "smtp " + without_userinfo(m_url);
  if (m_opts.tls == SmtpOptions::Tls::starttls_required) text += " (STARTTLS required)";
  if (m_opts.tls == SmtpOptions::Tls::implicit) text += " (TLS)";
  if (!m_opts.username.empty()) text += " as " + m_opts.username;
  return redact(text);
}

}  // namespace

std::unique_ptr<Sink> make_smtp_sink(SmtpOptions opts) {
  return std::make_unique<SmtpSink>(std::move(opts));
}

}  // namespace herald::mail
