// Composing RFC 5322 / MIME messages with mimetic, with what mimetic gets
// wrong fixed here (see REFERENCE.md "Mail").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "daemon/expected.hpp"

namespace herald::mail {

struct Address {
  std::string display;  // UTF-8, may be empty
  std::string email;    // addr-spec, ASCII
};

// Parses "Name <a@b>" or "a@b". bad_input on CR/LF/NUL, missing '@', or
// non-ASCII in the addr-spec.
Expected<Address> parse_address(std::string_view text);

struct MessageSpec {
  Address from;
  std::vector<Address> to;
  std::string subject;    // UTF-8, one line
  std::string text_body;  // UTF-8, LF or CRLF line ends
  std::string html_body;  // UTF-8; empty = single text/plain part
  int64_t date = 0;       // Unix seconds for the Date header
  std::string idempotency_key;  // Message-ID is derived from it (stable across retries); required
  std::string message_id_domain;  // right-hand side of the Message-ID; empty = From's domain
  // List headers (RFC 2369, 2919); empty = header omitted.
  std::string list_id;           // "Lustre discussion <lustre-discuss.lists.lustre.org>"
  std::string list_post;         // "<mailto:lustre-discuss@lists.lustre.org>" or "NO"
  std::string list_unsubscribe;  // "<https://...>, <mailto:...>"
  bool list_unsubscribe_one_click = false;  // adds List-Unsubscribe-Post (RFC 8058)
  std::string list_archive;
  std::string list_help;
  bool precedence_list = false;  // "Precedence: list"
  // ASCII names; UTF-8 values are RFC 2047 encoded as unstructured text. A
  // name the composer writes itself, Content-* or Bcc is bad_input.
  std::vector<std::pair<std::string, std::string>> extra_headers;
};

// The Message-ID for a key: "<" + hex(sha256(key))[0..32] + "@" + domain + ">".
std::string message_id_for(std::string_view idempotency_key, std::string_view domain);

// RFC 2047 encoding of a header text (unstructured): ASCII-only text is
// returned as is; otherwise UTF-8 "B" or "Q" encoded-words of at most 75
// characters each, split on character boundaries, separated by CRLF SP.
std::string encode_header_text(std::string_view utf8);

// Composes the whole message: CRLF line ends everywhere, 7-bit headers,
// lines <= 998 octets, Date, MIME-Version, Message-ID, multipart/alternative
// (text/plain then text/html, both charset=utf-8, base64 or correct QP) when
// there is HTML. bad_input if any header value or address has CR, LF or NUL.
Expected<std::string> compose(const MessageSpec& spec);

// A body made elsewhere, such as a signed one: its Content-Type and
// Content-Transfer-Encoding values (the latter may be empty) and its wire
// bytes (CRLF line ends, 7-bit, lines <= 998 octets).
struct PrebuiltBody {
  std::string content_type;
  std::string transfer_encoding;
  std::string bytes;
};

// As compose(spec), with the headers of spec and body's bytes written
// unchanged after them (CRLF added when they do not end in one). bad_input
// when spec has a text or HTML body, or the result is not 7-bit CRLF mail.
Expected<std::string> compose(const MessageSpec& spec, const PrebuiltBody& body);

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool is_valid_utf8(std::string_view text);

// Quoted-printable (RFC 2045 6.7) of text, LF or CRLF line ends becoming
// CRLF hard breaks, output lines of at most 76 octets. Besides "=" and 8-bit
// octets, it encodes whitespace at a line's end, and "-", "." and "From " at
// an output line's start, so that the encoded text passes any MTA unchanged.
std::string quoted_printable(std::string_view text);

}  // namespace herald::mail
