// Message composition. mimetic holds the MIME tree (MimeEntity, Header, Field,
// ContentType); everything that goes into it has been validated and encoded
// here first, and the wire bytes are written here by walking that tree,
// because mimetic's own writer gets the details wrong (REFERENCE.md "Mail").
//
// Header values are checked for CR, LF and NUL before anything else (a
// subject with "\r\nBcc:" must not become a header), non-ASCII text becomes
// RFC 2047 encoded-words (whichever of "Q" and "B" is shorter, at most 75
// characters per word, words split between UTF-8 characters), and the
// writer folds each field at whitespace outside quoted strings with CRLF SP
// so lines stay within 78 octets where possible and within 998 always.
// Bodies are put in canonical form (CRLF) and base64 encoded in 76-column
// lines, so the whole message is 7-bit. Boundaries start with "=_", which
// cannot occur in base64 text, so they need not be random: they derive from
// the idempotency key, and composing the same spec twice gives the same bytes
// (`herald preview` prints exactly what a delivery sends).
#include "adapters/sinks/mail/message.hpp"

#include <algorithm>
#include <memory>
#include <optional>

// mimetic's inline codecs give a false -Wmaybe-uninitialized at -O2.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <mimetic/mimetic.h>
#pragma GCC diagnostic pop

#include "daemon/util.hpp"

namespace herald::mail {
namespace {

constexpr size_t k_max_line = 998;         // RFC 5322 2.1.1, without CRLF
constexpr size_t k_fold_at = 78;           // RFC 5322 2.1.1 recommendation
constexpr size_t k_max_encoded_word = 75;  // RFC 2047 section 2
constexpr size_t k_base64_line = 76;       // RFC 2045 section 6.8
constexpr size_t k_max_plain_run = 900;    // longer unbroken runs are encoded to be foldable
constexpr std::string_view k_crlf = "\r\n";

bool has_cr_lf_nul(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != s.npos;
}

bool is_ascii(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) {
      n = 1, cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2, cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;
    for (size_t k = 1; k <= n; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
      return false;
    i += n + 1;
  }
  return true;
}

// Length of the UTF-8 sequence starting with lead byte c (input already valid).
size_t utf8_length(unsigned char c) {
  if (c < 0x80) return 1;
  if (c < 0xe0) return 2;
  if (c < 0xf0) return 3;
  return 4;
}

bool is_atext(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

// Where an encoded-word stands decides what "Q" may carry literally: in
// unstructured text any printable ASCII but "=", "?" and "_" (RFC 2047 4.2),
// in a phrase only letters, digits and "!*+-/" (RFC 2047 5 (3)).
enum class WordContext { text, phrase };

bool is_q_literal(unsigned char c, WordContext context) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  if (context == WordContext::phrase)
    return c == '!' || c == '*' || c == '+' || c == '-' || c == '/';
  return c > 0x20 && c < 0x7f && c != '=' && c != '?' && c != '_';
}

// True when text cannot go into a header as it is: 8-bit, control characters
// other than TAB, something a reader would take for an encoded-word, or a run
// too long to fold.
bool needs_encoding(std::string_view s) {
  size_t run = 0;
  for (unsigned char c : s) {
    if (c >= 0x7f || (c < 0x20 && c != '\t')) return true;
    run = (c == ' ' || c == '\t') ? 0 : run + 1;
    if (run > k_max_plain_run) return true;
  }
  return s.find("=?") != s.npos;
}

std::string q_char(unsigned char c, WordContext context) {
  static constexpr char k_hex[] = "0123456789ABCDEF";
  if (c == ' ') return "_";
  if (is_q_literal(c, context)) return std::string(1, static_cast<char>(c));
  return {'=', k_hex[c >> 4], k_hex[c & 0x0f]};
}

// UTF-8 text as encoded-words of at most 75 characters, each holding whole
// characters; "Q" when that is no longer than "B".
std::vector<std::string> encoded_words(std::string_view utf8, WordContext context) {
  static constexpr std::string_view k_q_open = "=?utf-8?Q?", k_b_open = "=?utf-8?B?";
  const size_t payload_max = k_max_encoded_word - k_q_open.size() - 2;
  size_t q_cost = 0;
  for (unsigned char c : utf8) q_cost += q_char(c, context).size();
  const bool use_q = q_cost <= (utf8.size() + 2) / 3 * 4;
  // B: 4 output characters per 3 input bytes, so payload_max / 4 * 3 bytes per word.
  const size_t b_bytes_max = payload_max / 4 * 3;

  std::vector<std::string> words;
  std::string chunk;  // Q: encoded payload; B: raw bytes
  auto flush = [&] {
    if (chunk.empty()) return;
    if (use_q)
      words.push_back(std::string(k_q_open) + chunk + "?=");
    else
      words.push_back(std::string(k_b_open) + base64_encode(chunk) + "?=");
    chunk.clear();
  };
  for (size_t i = 0; i < utf8.size();) {
    size_t n = std::min(utf8_length(static_cast<unsigned char>(utf8[i])), utf8.size() - i);
    std::string_view ch = utf8.substr(i, n);
    std::string piece;
    if (use_q) {
      for (unsigned char c : ch) piece += q_char(c, context);
      if (chunk.size() + piece.size() > payload_max) flush();
    } else {
      piece = std::string(ch);
      if (chunk.size() + piece.size() > b_bytes_max) flush();
    }
    chunk += piece;
    i += n;
  }
  flush();
  return words;
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

// Unstructured header text, unfolded (encoded-words separated by one space).
std::string header_text(std::string_view utf8) {
  if (!needs_encoding(utf8)) return std::string(utf8);
  return join(encoded_words(utf8, WordContext::text), " ");
}

// A display name as an RFC 5322 phrase: atoms as they are, other ASCII as a
// quoted-string, anything else as encoded-words.
std::string phrase(std::string_view utf8) {
  if (needs_encoding(utf8)) return join(encoded_words(utf8, WordContext::phrase), " ");
  bool plain = !utf8.empty() && utf8.front() != ' ' && utf8.back() != ' ';
  for (char c : utf8)
    if (!is_atext(c) && c != ' ') plain = false;
  if (plain) return std::string(utf8);
  std::string out = "\"";
  for (char c : utf8) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// Validates a dot-atom addr-spec "local@domain" (no quoted local parts, no
// domain literals). Returns the problem, if any.
std::optional<std::string> addr_spec_problem(std::string_view email) {
  if (has_cr_lf_nul(email)) return "contains CR, LF or NUL";
  if (!is_ascii(email)) return "non-ASCII address";
  auto at = email.rfind('@');
  if (at == email.npos) return "missing '@' in address";
  auto local = email.substr(0, at), domain = email.substr(at + 1);
  if (local.empty() || domain.empty()) return "empty local part or domain in address";
  auto dot_atom = [](std::string_view s, bool domain_chars) {
    if (s.front() == '.' || s.back() == '.' || s.find("..") != s.npos) return false;
    for (char c : s) {
      bool ok = domain_chars ? ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                (c >= '0' && c <= '9') || c == '-' || c == '.')
                             : (is_atext(c) || c == '.');
      if (!ok) return false;
    }
    return true;
  };
  if (!dot_atom(local, false)) return "invalid character in the local part of the address";
  if (!dot_atom(domain, true)) return "invalid domain in address";
  return std::nullopt;
}

Expected<std::string> render_address(const Address& a, std::string_view header) {
  if (has_cr_lf_nul(a.display) || has_cr_lf_nul(a.email))
    return bad_input(std::string(header) + ": address contains CR, LF or NUL");
  if (auto problem = addr_spec_problem(a.email))
    return bad_input(std::string(header) + ": " + *problem + " \"" + one_line(a.email) + "\"");
  if (!valid_utf8(a.display)) return bad_input(std::string(header) + ": display name is not UTF-8");
  auto display = trim(a.display);
  if (display.empty()) return a.email;
  return phrase(display) + " <" + a.email + ">";
}

// The problem with a header name, if any: RFC 5322 ftext is printable ASCII but ':'.
std::optional<std::string> field_name_problem(std::string_view name) {
  if (name.empty()) return "empty header name";
  for (unsigned char c : name)
    if (c < 33 || c > 126 || c == ':') return "invalid header name \"" + one_line(name) + "\"";
  return std::nullopt;
}

// One field as wire lines ending in CRLF, folded before whitespace outside
// quoted strings: greedily at the last such point within 78 octets, else the
// first one after. bad_input when a line still exceeds 998 octets.
Expected<std::string> fold_field(const std::string& name, const std::string& value) {
  const std::string line = name + ": " + value;
  std::vector<size_t> points;  // indices of whitespace where a fold may go
  bool quoted = false;
  for (size_t i = name.size() + 2; i < line.size(); ++i) {
    char c = line[i];
    if (quoted && c == '\\') {
      ++i;
      continue;
    }
    if (c == '"') quoted = !quoted;
    if (!quoted && (c == ' ' || c == '\t') && line[i - 1] != ' ' && line[i - 1] != '\t' &&
        line.find_first_not_of(" \t", i) != line.npos)
      points.push_back(i);
  }
  std::string out;
  size_t start = 0;
  auto next = points.begin();
  while (line.size() - start > k_fold_at) {
    size_t cut = line.npos;
    for (; next != points.end() && *next - start <= k_fold_at; ++next) cut = *next;
    if (cut == line.npos || cut == start) {
      while (next != points.end() && *next <= start) ++next;
      if (next == points.end()) break;
      cut = *next++;
    }
    if (cut - start > k_max_line) break;
    out.append(line, start, cut - start).append(k_crlf);
    start = cut;
  }
  if (line.size() - start > k_max_line)
    return bad_input(name + ": header line longer than " + std::to_string(k_max_line) +
                     " octets cannot be folded");
  out.append(line, start).append(k_crlf);
  return out;
}

// Text in canonical form (CRLF line ends), base64 encoded in 76-column lines
// separated by CRLF, without a final CRLF.
std::string base64_body(std::string_view text) {
  std::string canonical;
  canonical.reserve(text.size() + text.size() / 32);
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\r') {
      canonical += k_crlf;
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else if (c == '\n') {
      canonical += k_crlf;
    } else {
      canonical += c;
    }
  }
  std::string encoded = base64_encode(canonical);
  std::string out;
  out.reserve(encoded.size() + encoded.size() / k_base64_line * 2);
  for (size_t i = 0; i < encoded.size(); i += k_base64_line) {
    if (i) out += k_crlf;
    out.append(encoded, i, k_base64_line);
  }
  return out;
}

std::unique_ptr<mimetic::MimeEntity> text_entity(std::string_view subtype, std::string_view text) {
  auto e = std::make_unique<mimetic::MimeEntity>();
  mimetic::ContentType ct("text", std::string(subtype));
  ct.param("charset", "utf-8");  // set here: mimetic's TextPlain drops it
  e->header().contentType(ct);
  e->header().contentTransferEncoding(mimetic::ContentTransferEncoding("base64"));
  e->body().set(base64_body(text));
  return e;
}

// Writes an entity of the tree without a final CRLF: its fields folded by
// fold_field, an empty line, then the body or the delimited parts.
Status write_entity(const mimetic::MimeEntity& e, std::string& out) {
  for (const auto& field : e.header()) {
    auto folded = fold_field(field.name(), field.value());
    if (!folded) return folded.error();
    out += *folded;
  }
  out += k_crlf;
  const auto& ct = e.header().contentType();
  if (!ct.isMultipart()) {
    out += e.body();
    return ok_status();
  }
  const std::string delimiter = "--" + ct.param("boundary");
  bool first = true;
  for (const mimetic::MimeEntity* part : e.body().parts()) {
    out.append(first ? "" : "\r\n").append(delimiter).append(k_crlf);
    first = false;
    if (auto st = write_entity(*part, out); !st) return st;
  }
  out.append(k_crlf).append(delimiter).append("--");
  return ok_status();
}

// Last line of defence: the finished bytes are 7-bit, CRLF only, short lines.
std::optional<std::string> wire_problem(std::string_view msg) {
  size_t line_start = 0;
  for (size_t i = 0; i < msg.size(); ++i) {
    auto c = static_cast<unsigned char>(msg[i]);
    if (c == 0 || c >= 0x80) return "8-bit or NUL octet at offset " + std::to_string(i);
    if (c == '\r' && (i + 1 >= msg.size() || msg[i + 1] != '\n'))
      return "bare CR at offset " + std::to_string(i);
    if (c == '\n') {
      if (i == 0 || msg[i - 1] != '\r') return "bare LF at offset " + std::to_string(i);
      if (i - 1 - line_start > k_max_line) return "line longer than 998 octets";
      line_start = i + 1;
    }
  }
  if (line_start != msg.size()) return "message does not end with CRLF";
  return std::nullopt;
}

// Extra headers may not repeat one the composer writes (those already in
// the tree, and the Content-* fields added last), nor disclose a Bcc.
bool reserved_header(const mimetic::Header& h, std::string_view name) {
  return h.hasField(std::string(name)) || starts_with_icase(name, "Content-") ||
         iequals(name, "Bcc");
}

// A header value that must be printable ASCII as it is (URIs, list ids).
Status check_ascii_value(std::string_view name, std::string_view value) {
  if (has_cr_lf_nul(value)) return bad_input(std::string(name) + ": contains CR, LF or NUL");
  for (unsigned char c : value)
    if (c >= 0x7f || (c < 0x20 && c != '\t'))
      return bad_input(std::string(name) + ": must be printable ASCII");
  return ok_status();
}

// List-Id is "[phrase] <list-id>": the phrase may be UTF-8, the id not.
Expected<std::string> render_list_id(std::string_view value) {
  if (has_cr_lf_nul(value)) return bad_input("List-Id: contains CR, LF or NUL");
  auto lt = value.rfind('<');
  auto v = trim(value);
  if (lt == value.npos || v.empty() || v.back() != '>')
    return bad_input("List-Id: expected \"[phrase] <list-id>\"");
  auto id = trim(value.substr(lt));
  if (auto st = check_ascii_value("List-Id", id); !st) return st.error();
  if (id.find_first_of(" \t", 0) != id.npos || id.size() < 3)
    return bad_input("List-Id: invalid list-id " + id);
  auto name = trim(value.substr(0, lt));
  if (!valid_utf8(name)) return bad_input("List-Id: phrase is not UTF-8");
  return name.empty() ? id : phrase(name) + " " + id;
}

// Every field of the top-level header but the Content-* ones, checked and
// encoded; the same for every body.
Status add_headers(const MessageSpec& spec, mimetic::Header& h) {
  if (has_cr_lf_nul(spec.subject)) return bad_input("Subject: contains CR, LF or NUL");
  if (!valid_utf8(spec.subject)) return bad_input("Subject: not valid UTF-8");
  if (spec.to.empty()) return bad_input("To: no recipient");
  if (spec.idempotency_key.empty()) return bad_input("Message-ID: empty idempotency key");

  auto from = render_address(spec.from, "From");
  if (!from) return from.error();
  std::vector<std::string> to;
  for (const auto& a : spec.to) {
    auto r = render_address(a, "To");
    if (!r) return r.error();
    to.push_back(std::move(*r));
  }
  std::string domain = spec.message_id_domain;
  if (domain.empty()) domain = spec.from.email.substr(spec.from.email.rfind('@') + 1);
  if (addr_spec_problem("x@" + domain))
    return bad_input("Message-ID: invalid domain \"" + one_line(domain) + "\"");

  auto add = [&h](const std::string& name, const std::string& value) {
    h.push_back(mimetic::Field(name, value));
  };
  add("Date", format_rfc5322(spec.date));
  add("From", *from);
  add("To", join(to, ", "));
  add("Subject", header_text(spec.subject));
  add("Message-ID", message_id_for(spec.idempotency_key, domain));
  add("MIME-Version", "1.0");

  if (!spec.list_id.empty()) {
    auto id = render_list_id(spec.list_id);
    if (!id) return id.error();
    add("List-Id", *id);
  }
  const std::pair<const char*, const std::string*> list_fields[] = {
      {"List-Post", &spec.list_post},
      {"List-Unsubscribe", &spec.list_unsubscribe},
      {"List-Archive", &spec.list_archive},
      {"List-Help", &spec.list_help},
  };
  for (const auto& [name, value] : list_fields) {
    if (value->empty()) continue;
    if (auto st = check_ascii_value(name, *value); !st) return st.error();
    add(name, trim(*value));
  }
  if (spec.list_unsubscribe_one_click) {
    if (spec.list_unsubscribe.empty())
      return bad_input("List-Unsubscribe-Post: one-click needs List-Unsubscribe");
    add("List-Unsubscribe-Post", "List-Unsubscribe=One-Click");
  }
  if (spec.precedence_list) add("Precedence", "list");

  for (const auto& [name, value] : spec.extra_headers) {
    if (auto problem = field_name_problem(name)) return bad_input("extra header: " + *problem);
    if (reserved_header(h, name))
      return bad_input(name + ": set by the composer, not allowed as an extra header");
    if (has_cr_lf_nul(value)) return bad_input(name + ": contains CR, LF or NUL");
    if (!valid_utf8(value)) return bad_input(name + ": not valid UTF-8");
    add(name, header_text(value));
  }

  return ok_status();
}

}  // namespace

Expected<Address> parse_address(std::string_view text) {
  if (has_cr_lf_nul(text)) return bad_input("address contains CR, LF or NUL");
  auto t = trim(text);
  Address a;
  auto lt = t.rfind('<');
  if (lt == std::string::npos) {
    a.email = t;
  } else {
    if (t.back() != '>') return bad_input("address: text after '>'");
    a.email = trim(std::string_view(t).substr(lt + 1, t.size() - lt - 2));
    auto display = trim(std::string_view(t).substr(0, lt));
    if (display.size() >= 2 && display.front() == '"' && display.back() == '"') {
      std::string unquoted;
      for (size_t i = 1; i + 1 < display.size(); ++i) {
        if (display[i] == '\\' && i + 2 < display.size()) ++i;
        unquoted += display[i];
      }
      display = unquoted;
    }
    if (!valid_utf8(display)) return bad_input("address: display name is not UTF-8");
    a.display = display;
  }
  if (auto problem = addr_spec_problem(a.email))
    return bad_input("address: " + *problem + " \"" + one_line(a.email) + "\"");
  return a;
}

std::string message_id_for(std::string_view idempotency_key, std::string_view domain) {
  return "<" + sha256_hex(idempotency_key).substr(0, 32) + "@" + std::string(domain) + ">";
}

std::string encode_header_text(std::string_view utf8) {
  if (!needs_encoding(utf8)) return std::string(utf8);
  return join(encoded_words(utf8, WordContext::text), "\r\n ");
}

Expected<std::string> compose(const MessageSpec& spec) {
  if (!valid_utf8(spec.text_body)) return bad_input("text body: not valid UTF-8");
  if (!valid_utf8(spec.html_body)) return bad_input("HTML body: not valid UTF-8");
  mimetic::MimeEntity root;
  auto& h = root.header();
  if (auto st = add_headers(spec, h); !st) return st.error();

  if (spec.html_body.empty()) {
    mimetic::ContentType ct("text", "plain");
    ct.param("charset", "utf-8");
    h.contentType(ct);
    h.contentTransferEncoding(mimetic::ContentTransferEncoding("base64"));
    root.body().set(base64_body(spec.text_body));
  } else {
    mimetic::ContentType ct("multipart", "alternative");
    // Never mimetic's rand(); a different hash input than the Message-ID's.
    ct.param("boundary",
             "=_herald_" + sha256_hex("boundary\n" + spec.idempotency_key).substr(0, 32));
    h.contentType(ct);
    // Preference is last: plain text first, HTML last (RFC 2046 5.1.4).
    root.body().parts().push_back(text_entity("plain", spec.text_body).release());
    root.body().parts().push_back(text_entity("html", spec.html_body).release());
  }

  std::string out;
  if (auto st = write_entity(root, out); !st) return st.error();
  out += k_crlf;
  if (auto problem = wire_problem(out)) return bad_input("composed message: " + *problem);
  return out;
}

Expected<std::string> compose(const MessageSpec& spec, const PrebuiltBody& body) {
  if (!spec.text_body.empty() || !spec.html_body.empty())
    return bad_input("prebuilt body: the spec's text and HTML bodies must be empty");
  if (has_cr_lf_nul(body.content_type) || has_cr_lf_nul(body.transfer_encoding))
    return bad_input("prebuilt body: Content-Type or Content-Transfer-Encoding has CR, LF or NUL");
  mimetic::MimeEntity root;
  auto& h = root.header();
  if (auto st = add_headers(spec, h); !st) return st.error();
  h.push_back(mimetic::Field("Content-Type", body.content_type));
  if (!body.transfer_encoding.empty())
    h.push_back(mimetic::Field("Content-Transfer-Encoding", body.transfer_encoding));

  // Written here rather than by write_entity: the body's bytes are final (a
  // signature covers them) and are not to be walked as a tree.
  std::string out;
  for (const auto& field : h) {
    auto folded = fold_field(field.name(), field.value());
    if (!folded) return folded.error();
    out += *folded;
  }
  out += k_crlf;
  out += body.bytes;
  if (!out.ends_with(k_crlf)) out += k_crlf;
  if (auto problem = wire_problem(out)) return bad_input("composed message: " + *problem);
  return out;
}

bool is_valid_utf8(std::string_view text) { return valid_utf8(text); }

std::string quoted_printable(std::string_view text) {
  static constexpr char k_hex[] = "0123456789ABCDEF";
  constexpr size_t k_qp_line = 76;  // RFC 2045 6.7 (5), including a soft break's "="
  std::string out;
  size_t col = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    const bool terminated = eol != text.npos;
    std::string_view line = text.substr(pos, (terminated ? eol : text.size()) - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos = terminated ? eol + 1 : text.size();
    col = 0;
    for (size_t i = 0; i < line.size(); ++i) {
      auto c = static_cast<unsigned char>(line[i]);
      const bool last = i + 1 == line.size();
      // At the start of an output line, "From " (mbox), "-" (boundaries, dash
      // escapes) and "." (SMTP) are encoded so no transport touches them.
      const bool line_start = col == 0;
      const bool risky_start =
          line_start && (c == '-' || c == '.' || line.substr(i).starts_with("From "));
      const bool literal =
          !risky_start && ((c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !last));
      std::string token = literal ? std::string(1, static_cast<char>(c))
                                  : std::string{'=', k_hex[c >> 4], k_hex[c & 0x0f]};
      // A soft break leaves room for its "=", and never leaves a space at a line's end.
      const size_t room = last ? k_qp_line : k_qp_line - 1;
      if (col + token.size() > room) {
        out += "=\r\n";
        col = 0;
        if (c == '-' || c == '.' || line.substr(i).starts_with("From ")) {
          token = std::string{'=', k_hex[c >> 4], k_hex[c & 0x0f]};
        }
      }
      out += token;
      col += token.size();
    }
    if (terminated) out += k_crlf;
  }
  return out;
}

}  // namespace herald::mail
