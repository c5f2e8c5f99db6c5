// libFuzzer target: the mail composer with fuzzed addresses, subject, bodies,
// list headers and extra headers (fields read with FuzzedDataProvider: each
// string ends at a single backslash). Seeds: tests/fuzz/seeds/mail_composer.
// Besides crashes, it stops when a parsed address keeps CR, LF, NUL or a
// non-ASCII addr-spec, an encoded header text has a line break other than
// folding, or a composed message's header breaks the wire rules: lines end
// in CRLF with no bare CR or LF, 7-bit, at most 998 octets, and Date,
// MIME-Version and Message-ID present; body lines end in CRLF and fit 998.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "adapters/sinks/mail/message.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

namespace m = herald::mail;

void check_address(const m::Address& a) {
  FUZZ_CHECK(!herald::fuzz::has_line_break(a.display));
  FUZZ_CHECK(!herald::fuzz::has_line_break(a.email));
  FUZZ_CHECK(a.email.find('@') != std::string::npos);
  for (unsigned char c : a.email) FUZZ_CHECK(c < 0x80);
}

m::Address address(FuzzedDataProvider& in) {
  auto a = m::parse_address(in.ConsumeRandomLengthString(256));
  if (!a) return {"", "fallback@example.org"};
  check_address(*a);
  return *a;
}

void check_header(std::string_view head) {
  size_t pos = 0;
  while (pos < head.size()) {
    const size_t end = head.find("\r\n", pos);
    FUZZ_CHECK(end != std::string_view::npos);
    const std::string_view line = head.substr(pos, end - pos);
    FUZZ_CHECK(line.size() <= 998);
    for (unsigned char c : line) FUZZ_CHECK(c != '\r' && c != '\n' && c != 0 && c < 0x80);
    pos = end + 2;
  }
  for (const char* name : {"\r\nDate: ", "\r\nMIME-Version: 1.0", "\r\nMessage-ID: <"})
    FUZZ_CHECK(std::string("\r\n").append(head).find(name) != std::string::npos);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  m::MessageSpec spec;
  spec.from = address(in);
  const int recipients = in.ConsumeIntegralInRange(1, 3);
  for (int i = 0; i < recipients; ++i) spec.to.push_back(address(in));
  spec.subject = in.ConsumeRandomLengthString(2048);
  const std::string encoded = m::encode_header_text(spec.subject);
  for (size_t i = 0; i < encoded.size(); ++i) {
    // The only line breaks are folds: CRLF then a space.
    if (encoded[i] == '\r')
      FUZZ_CHECK(encoded.compare(i, 3, "\r\n ") == 0);
    else if (encoded[i] == '\n')
      FUZZ_CHECK(i > 0 && encoded[i - 1] == '\r');
    FUZZ_CHECK(encoded[i] != '\0');
  }
  spec.list_id = in.ConsumeRandomLengthString(256);
  spec.list_post = in.ConsumeRandomLengthString(256);
  spec.list_archive = in.ConsumeRandomLengthString(256);
  spec.precedence_list = in.ConsumeBool();
  if (in.ConsumeBool()) {
    std::string name = in.ConsumeRandomLengthString(64);
    std::string value = in.ConsumeRandomLengthString(512);
    spec.extra_headers.emplace_back(std::move(name), std::move(value));
  }
  spec.date = in.ConsumeIntegralInRange<int64_t>(0, 253'402'300'799);
  spec.idempotency_key = in.ConsumeRandomLengthString(128);
  spec.message_id_domain = in.ConsumeBool() ? "lists.lustre.example" : "";
  spec.text_body = in.ConsumeRandomLengthString(16 * 1024);
  spec.html_body = in.ConsumeRemainingBytesAsString();

  auto msg = m::compose(spec);
  if (!msg) {
    FUZZ_CHECK(!msg.error().message.empty());
    return 0;
  }
  const size_t end = msg->find("\r\n\r\n");
  FUZZ_CHECK(end != std::string::npos);
  check_header(std::string_view(*msg).substr(0, end + 2));
  // The bodies too: CRLF line ends only, no line over 998 octets.
  size_t line_start = 0;
  for (size_t i = 0; i < msg->size(); ++i) {
    const char c = (*msg)[i];
    if (c == '\r') FUZZ_CHECK(i + 1 < msg->size() && (*msg)[i + 1] == '\n');
    if (c == '\n') {
      FUZZ_CHECK(i > 0 && (*msg)[i - 1] == '\r');
      FUZZ_CHECK(i - 1 - line_start <= 998);
      line_start = i + 1;
    }
  }
  FUZZ_CHECK(msg->size() - line_start <= 998);
  return 0;
}
