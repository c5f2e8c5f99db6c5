// Feed parsing: untrusted bytes in, plain one-line entries out.
//
// A document goes through four steps. (1) Its encoding comes from a BOM or
// the XML declaration: UTF-16, ISO-8859-1, windows-1252 and US-ASCII are
// transcoded to UTF-8 here (the Latin and ASCII labels decode as windows-1252,
// as browsers do, since real "ISO-8859-1" feeds carry its curly quotes), any
// other charset glibc's iconv knows (iso-8859-7, koi8-r, Shift_JIS, ...) is
// converted by iconv, and invalid input becomes U+FFFD, so pugixml always sees
// valid UTF-8. A parse
// error's offset is mapped back to a byte offset in the caller's document.
// (2) pugixml builds the tree; DTD entities are never expanded. (3) The root
// element picks the dialect: <feed> (Atom 1.0 and 0.3), <rss> (RSS 0.9x and
// 2.0) or <rdf:RDF> (RSS 1.0 and 0.90). pugixml knows nothing of namespaces,
// so prefixes are resolved by hand through a chain of per-element scopes
// (root, channel, entry), each indexing its own xmlns declarations once, which
// keeps the work linear in the document. xml:base is resolved top-down: the
// feed URL, then each element's xml:base against its parent's base. (4) Each
// entry's text is reduced to one plain line (tags stripped for HTML, entities
// decoded, whitespace and control characters folded to single spaces) and its
// date parsed; an unparseable date is a warning, not an error.
//
// Dates accept RFC 3339 / ISO 8601 and RFC 822 with the liberties real feeds
// take. Single-letter military zones follow RFC 822 as written (A = -0100 ...
// M = -1200, N = +0100 ... Y = +1200, Z = UT), as feedparser does.
#include "adapters/sources/feed/feed_parser.hpp"

#include <iconv.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <map>
#include <memory>
#include <pugixml.hpp>
#include <utility>

#include "daemon/util.hpp"

namespace herald::feed {
namespace {

constexpr char32_t k_replacement = 0xFFFD;
constexpr size_t k_max_summary_bytes = 2000;
constexpr size_t k_max_quoted = 80;
// Bounds on values every entry may copy from the feed (base URI, author), so
// that a hostile feed cannot make the work quadratic.
constexpr size_t k_max_url_bytes = 8192;
constexpr size_t k_max_author_bytes = 256;

constexpr std::string_view k_ns_rdf = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";
constexpr std::string_view k_ns_rss10 = "http://purl.org/rss/1.0/";
constexpr std::string_view k_ns_dc = "http://purl.org/dc/elements/1.1/";
constexpr std::string_view k_ns_content = "http://purl.org/rss/1.0/modules/content/";
constexpr std::string_view k_ns_xml = "http://www.w3.org/XML/1998/namespace";

// ---------------------------------------------------------------- characters

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view trim_view(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

std::string lower_trimmed(std::string_view s) { return to_lower(trim_view(s)); }

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

size_t utf8_length(char32_t cp) { return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4; }

// One code point read from a byte string: its value, how many bytes it took,
// and whether those bytes were a valid encoding of it.
struct Decoded {
  char32_t cp;
  size_t size;
  bool valid;
};

Decoded decode_utf8(std::string_view s, size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return {c, 1, true};
  size_t n;
  char32_t cp;
  char32_t min;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 1, cp = c & 0x1F, min = 0x80;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 2, cp = c & 0x0F, min = 0x800;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 3, cp = c & 0x07, min = 0x10000;
  } else {
    return {k_replacement, 1, false};
  }
  for (size_t k = 1; k <= n; ++k) {
    if (i + k >= s.size()) return {k_replacement, k, false};
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return {k_replacement, k, false};
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return {k_replacement, n + 1, false};
  return {cp, n + 1, true};
}

Decoded decode_utf16(std::string_view s, size_t i, bool little_endian) {
  if (i + 1 >= s.size()) return {k_replacement, s.size() - i, false};
  auto unit = [&](size_t j) -> char32_t {
    const auto a = static_cast<unsigned char>(s[j]);
    const auto b = static_cast<unsigned char>(s[j + 1]);
    return little_endian ? (char32_t{b} << 8 | a) : (char32_t{a} << 8 | b);
  };
  const char32_t u = unit(i);
  if (u >= 0xD800 && u <= 0xDBFF) {
    if (i + 3 < s.size()) {
      const char32_t v = unit(i + 2);
      if (v >= 0xDC00 && v <= 0xDFFF)
        return {0x10000 + ((u - 0xD800) << 10) + (v - 0xDC00), 4, true};
    }
    return {k_replacement, 2, false};
  }
  if (u >= 0xDC00 && u <= 0xDFFF) return {k_replacement, 2, false};
  return {u, 2, true};
}

// windows-1252 bytes 0x80..0x9F; the five holes map to the C1 controls (WHATWG).
constexpr std::array<char16_t, 32> k_cp1252_high = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};

char32_t from_cp1252(unsigned c) { return c >= 0x80 && c <= 0x9F ? k_cp1252_high[c - 0x80] : c; }

enum class Encoding { utf8, utf16le, utf16be, cp1252 };

Decoded decode_at(std::string_view s, size_t i, Encoding enc) {
  switch (enc) {
    case Encoding::utf8:
      return decode_utf8(s, i);
    case Encoding::utf16le:
      return decode_utf16(s, i, true);
    case Encoding::utf16be:
      return decode_utf16(s, i, false);
    case Encoding::cp1252:
      return {from_cp1252(static_cast<unsigned char>(s[i])), 1, true};
  }
  return {k_replacement, 1, false};
}

std::string transcode(std::string_view s, Encoding enc) {
  std::string out;
  out.reserve(s.size() + s.size() / 4);
  for (size_t i = 0; i < s.size();) {
    const Decoded d = decode_at(s, i, enc);
    append_utf8(out, d.cp);
    i += d.size;
  }
  return out;
}

// Offset in s of the code point that transcode(s) put at byte `target`.
size_t source_offset(std::string_view s, Encoding enc, size_t target) {
  size_t out = 0, i = 0;
  while (i < s.size()) {
    const Decoded d = decode_at(s, i, enc);
    out += utf8_length(d.cp);
    if (out > target) break;
    i += d.size;
  }
  return i;
}

bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const Decoded d = decode_utf8(s, i);
    if (!d.valid) return false;
    i += d.size;
  }
  return true;
}

// Cuts s to at most max bytes without splitting a UTF-8 sequence.
void truncate_utf8(std::string& s, size_t max) {
  if (s.size() <= max) return;
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  s.resize(cut);
  while (!s.empty() && s.back() == ' ') s.pop_back();
}

// Printable, bounded rendering of untrusted text for an error message.
std::string quoted(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, k_max_quoted + 4))
    out += static_cast<unsigned char>(c) < 0x20 ? '?' : c;
  truncate_utf8(out, k_max_quoted);
  if (s.size() > out.size()) out += "...";
  return "'" + out + "'";
}

// --------------------------------------------------------------- encodings

// An iconv conversion from a charset to UTF-8; the descriptor is closed with it.
class Iconv {
 public:
  // Null when iconv does not know the charset.
  static std::unique_ptr<Iconv> open(const std::string& charset) {
    iconv_t cd = iconv_open("UTF-8", charset.c_str());
    if (cd == reinterpret_cast<iconv_t>(-1)) return nullptr;
    return std::unique_ptr<Iconv>(new Iconv(cd));
  }
  ~Iconv() { iconv_close(m_cd); }
  Iconv(const Iconv&) = delete;
  Iconv& operator=(const Iconv&) = delete;

  // s as UTF-8; what cannot be converted becomes U+FFFD, one per byte.
  std::string convert(std::string_view s) {
    std::string out;
    out.reserve(s.size() * 2);
    run(s, s.size(), [&](const char* p, size_t n) {
      out.append(p, n);
      return false;
    });
    return out;
  }

  // The offset in s of the character that convert(s) put at byte `target`.
  size_t source_offset(std::string_view s, size_t target) {
    size_t produced = 0;
    // One character at a time (the input window grows until a character is whole).
    return run(s, 1, [&](const char*, size_t n) { return (produced += n) > target; });
  }

 private:
  explicit Iconv(iconv_t cd) : m_cd(cd) {}

  // Converts s, handing each piece of output to sink until it returns true; returns the
  // input consumed before that piece. window: at most how many input bytes one call sees.
  template <class Sink>
  size_t run(std::string_view s, size_t window, Sink&& sink) {
    iconv(m_cd, nullptr, nullptr, nullptr, nullptr);  // the initial shift state
    static constexpr std::string_view k_fffd = "\xEF\xBF\xBD";
    char buf[4096];
    size_t done = 0;  // input consumed
    size_t want = window;
    while (done < s.size()) {
      const size_t avail = s.size() - done;
      const size_t offered = std::min(want, avail);
      char* in = const_cast<char*>(s.data() + done);
      size_t in_left = offered;
      char* out = buf;
      size_t out_left = sizeof buf;
      const bool failed = iconv(m_cd, &in, &in_left, &out, &out_left) == static_cast<size_t>(-1);
      const int err = failed ? errno : 0;
      const size_t before = done;
      done += offered - in_left;
      if (out != buf && sink(buf, static_cast<size_t>(out - buf))) return before;
      if (!failed || err == E2BIG) {
        want = window;
        continue;
      }
      if (err == EINVAL && offered < avail) {
        // A character cut by the window's end: offer more of it.
        want = done > before ? window : want * 2;
        continue;
      }
      // An invalid sequence, or a character cut by the end of the input.
      if (sink(k_fffd.data(), k_fffd.size())) return done;
      ++done;
      want = window;
    }
    char* out = buf;
    size_t out_left = sizeof buf;
    iconv(m_cd, nullptr, nullptr, &out, &out_left);  // back to the initial state
    if (out != buf) sink(buf, static_cast<size_t>(out - buf));
    return done;
  }

  iconv_t m_cd;
};

// The document as UTF-8, with what is needed to map offsets back.
struct Prepared {
  std::string text;
  std::string_view body;  // the caller's bytes after any BOM
  Encoding encoding = Encoding::utf8;
  std::unique_ptr<Iconv> converter;  // set when iconv converted the body
  size_t skipped = 0;
  bool transcoded = false;

  size_t original_offset(size_t offset) const {
    if (converter) return skipped + converter->source_offset(body, offset);
    return skipped + (transcoded ? source_offset(body, encoding, offset) : offset);
  }
};

// The encoding label of a leading <?xml ... encoding="..."?>, if any.
std::optional<std::string_view> declared_encoding(std::string_view doc) {
  doc = trim_view(doc.substr(0, 1024));
  if (!doc.starts_with("<?xml")) return std::nullopt;
  std::string_view decl = doc.substr(0, doc.find("?>"));
  size_t pos = decl.find("encoding");
  if (pos == std::string_view::npos) return std::nullopt;
  decl = trim_view(decl.substr(pos + 8));
  if (decl.empty() || decl.front() != '=') return std::nullopt;
  decl = trim_view(decl.substr(1));
  if (decl.empty() || (decl.front() != '"' && decl.front() != '\'')) return std::nullopt;
  const char quote = decl.front();
  decl.remove_prefix(1);
  return decl.substr(0, decl.find(quote));
}

std::optional<Encoding> encoding_from_label(std::string_view label) {
  static constexpr std::string_view k_utf8[] = {
      "utf-8", "utf8", "unicode-1-1-utf-8",
      // A UTF-16 label on bytes that read as ASCII was left by a transcoding server.
      "utf-16", "utf-16le", "utf-16be", "ucs-2"};
  static constexpr std::string_view k_latin[] = {
      "iso-8859-1",     "iso8859-1",  "iso_8859-1",  "iso_8859-1:1987",
      "latin1",         "latin-1",    "l1",          "cp819",
      "ibm819",         "iso-ir-100", "csisolatin1", "windows-1252",
      "cp1252",         "x-cp1252",   "us-ascii",    "ascii",
      "ansi_x3.4-1968", "iso646-us",  "cp367",       "ibm367",
      "csascii",        "us"};
  const std::string l = lower_trimmed(label);
  for (auto name : k_utf8)
    if (l == name) return Encoding::utf8;
  for (auto name : k_latin)
    if (l == name) return Encoding::cp1252;
  return std::nullopt;
}

Expected<Prepared> prepare(std::string_view doc) {
  Prepared p;
  auto starts = [&](std::string_view prefix) { return doc.substr(0, prefix.size()) == prefix; };
  using namespace std::string_view_literals;
  if (starts("\xEF\xBB\xBF"sv)) {
    p.skipped = 3;
  } else if (starts("\xFF\xFE"sv)) {
    p.encoding = Encoding::utf16le, p.skipped = 2;
  } else if (starts("\xFE\xFF"sv)) {
    p.encoding = Encoding::utf16be, p.skipped = 2;
  } else if (starts("<\0?\0"sv)) {
    p.encoding = Encoding::utf16le;
  } else if (starts("\0<\0?"sv)) {
    p.encoding = Encoding::utf16be;
  } else if (auto label = declared_encoding(doc)) {
    if (auto enc = encoding_from_label(*label)) {
      p.encoding = *enc;
    } else {
      // Only a plain charset name reaches iconv: no "//" suffixes or other syntax of its own.
      const std::string name = trim(*label);
      const bool plain =
          !name.empty() && name.size() <= 40 && std::all_of(name.begin(), name.end(), [](char c) {
            return is_alpha(c) || is_digit(c) || c == '-' || c == '_' || c == '.' || c == ':';
          });
      if (plain) p.converter = Iconv::open(name);
      if (!p.converter) return bad_input("unsupported encoding " + quoted(*label));
    }
  }
  p.body = doc.substr(p.skipped);
  if (p.converter) {
    p.text = p.converter->convert(p.body);
    p.transcoded = true;
  } else if (p.encoding == Encoding::utf8 && valid_utf8(p.body)) {
    p.text = std::string(p.body);
  } else {
    p.text = transcode(p.body, p.encoding);
    p.transcoded = true;
  }
  return p;
}

// ------------------------------------------------------------- plain text

// Collapses whitespace and control characters (C0, C1, DEL, NBSP, U+2028/9)
// into single spaces, trims, drops U+FEFF, and repairs invalid UTF-8.
std::string fold(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool pending = false;
  for (size_t i = 0; i < s.size();) {
    const Decoded d = decode_utf8(s, i);
    i += d.size;
    const char32_t c = d.cp;
    if (c == 0xFEFF) continue;
    if (c <= 0x20 || c == 0x7F || (c >= 0x80 && c <= 0xA0) || c == 0x2028 || c == 0x2029) {
      pending = true;
      continue;
    }
    if (pending && !out.empty()) out += ' ';
    pending = false;
    append_utf8(out, c);
  }
  return out;
}

struct NamedEntity {
  std::string_view name;
  char32_t cp;
};

constexpr NamedEntity k_entities[] = {
    {"amp", '&'},       {"lt", '<'},        {"gt", '>'},       {"quot", '"'},
    {"apos", '\''},     {"OElig", 0x152},   {"oelig", 0x153},  {"Scaron", 0x160},
    {"scaron", 0x161},  {"Yuml", 0x178},    {"fnof", 0x192},   {"circ", 0x2C6},
    {"tilde", 0x2DC},   {"ensp", 0x2002},   {"emsp", 0x2003},  {"thinsp", 0x2009},
    {"zwnj", 0x200C},   {"zwj", 0x200D},    {"lrm", 0x200E},   {"rlm", 0x200F},
    {"ndash", 0x2013},  {"mdash", 0x2014},  {"lsquo", 0x2018}, {"rsquo", 0x2019},
    {"sbquo", 0x201A},  {"ldquo", 0x201C},  {"rdquo", 0x201D}, {"bdquo", 0x201E},
    {"dagger", 0x2020}, {"Dagger", 0x2021}, {"bull", 0x2022},  {"hellip", 0x2026},
    {"permil", 0x2030}, {"prime", 0x2032},  {"Prime", 0x2033}, {"lsaquo", 0x2039},
    {"rsaquo", 0x203A}, {"euro", 0x20AC},   {"trade", 0x2122}, {"larr", 0x2190},
    {"uarr", 0x2191},   {"rarr", 0x2192},   {"darr", 0x2193},  {"harr", 0x2194},
    {"minus", 0x2212},  {"infin", 0x221E},  {"ne", 0x2260},    {"le", 0x2264},
    {"ge", 0x2265}};

// HTML 4 names of U+00A0 .. U+00FF, in code point order.
constexpr std::array<std::string_view, 96> k_latin1_entities = {
    "nbsp",   "iexcl",  "cent",   "pound",  "curren", "yen",    "brvbar", "sect",   "uml",
    "copy",   "ordf",   "laquo",  "not",    "shy",    "reg",    "macr",   "deg",    "plusmn",
    "sup2",   "sup3",   "acute",  "micro",  "para",   "middot", "cedil",  "sup1",   "ordm",
    "raquo",  "frac14", "frac12", "frac34", "iquest", "Agrave", "Aacute", "Acirc",  "Atilde",
    "Auml",   "Aring",  "AElig",  "Ccedil", "Egrave", "Eacute", "Ecirc",  "Euml",   "Igrave",
    "Iacute", "Icirc",  "Iuml",   "ETH",    "Ntilde", "Ograve", "Oacute", "Ocirc",  "Otilde",
    "Ouml",   "times",  "Oslash", "Ugrave", "Uacute", "Ucirc",  "Uuml",   "Yacute", "THORN",
    "szlig",  "agrave", "aacute", "acirc",  "atilde", "auml",   "aring",  "aelig",  "ccedil",
    "egrave", "eacute", "ecirc",  "euml",   "igrave", "iacute", "icirc",  "iuml",   "eth",
    "ntilde", "ograve", "oacute", "ocirc",  "otilde", "ouml",   "divide", "oslash", "ugrave",
    "uacute", "ucirc",  "uuml",   "yacute", "thorn",  "yuml"};

std::optional<char32_t> named_entity(std::string_view name) {
  for (const auto& e : k_entities)
    if (e.name == name) return e.cp;
  for (size_t i = 0; i < k_latin1_entities.size(); ++i)
    if (k_latin1_entities[i] == name) return static_cast<char32_t>(0xA0 + i);
  return std::nullopt;
}

// An HTML numeric reference's character, with the HTML5 repairs.
char32_t numeric_entity(uint32_t v) {
  if (v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return k_replacement;
  return from_cp1252(v);
}

// Decodes the character reference at s[i] == '&' into out; returns the bytes
// consumed. Anything that is not a known reference is kept as a literal '&'.
size_t decode_entity(std::string_view s, size_t i, std::string& out) {
  size_t j = i + 1;
  if (j < s.size() && s[j] == '#') {
    ++j;
    const bool hex = j < s.size() && (s[j] == 'x' || s[j] == 'X');
    if (hex) ++j;
    const size_t start = j;
    uint32_t v = 0;
    while (j < s.size() && (hex ? is_hex(s[j]) : is_digit(s[j]))) {
      const char c = lower(s[j]);
      const uint32_t digit = is_digit(c) ? static_cast<uint32_t>(c - '0') : 10u + (c - 'a');
      v = v > 0x10FFFF ? v : v * (hex ? 16 : 10) + digit;
      ++j;
    }
    if (j == start) {
      out += '&';
      return 1;
    }
    if (j < s.size() && s[j] == ';') ++j;
    append_utf8(out, numeric_entity(v));
    return j - i;
  }
  const size_t start = j;
  while (j < s.size() && j - start < 32 && (is_alpha(s[j]) || is_digit(s[j]))) ++j;
  if (j > start && j < s.size() && s[j] == ';') {
    if (auto cp = named_entity(s.substr(start, j - start))) {
      append_utf8(out, *cp);
      return j + 1 - i;
    }
  }
  out += '&';
  return 1;
}

std::string decode_entities(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    if (s[i] == '&') {
      i += decode_entity(s, i, out);
    } else {
      out += s[i++];
    }
  }
  return out;
}

bool is_block_tag(std::string_view name) {
  static constexpr std::string_view k_block[] = {
      "p",          "br",     "div",    "li",         "ul",      "ol",      "tr",      "td",
      "th",         "table",  "h1",     "h2",         "h3",      "h4",      "h5",      "h6",
      "blockquote", "pre",    "hr",     "dd",         "dt",      "dl",      "section", "article",
      "header",     "footer", "figure", "figcaption", "caption", "address", "nav",     "aside"};
  for (auto b : k_block)
    if (iequals(name, b)) return true;
  return false;
}

size_t find_icase(std::string_view s, std::string_view needle, size_t from) {
  for (size_t i = from; i + needle.size() <= s.size(); ++i)
    if (iequals(s.substr(i, needle.size()), needle)) return i;
  return std::string_view::npos;
}

// End of the tag that starts at s[i] == '<' (index of its '>' or s.size()),
// skipping quoted attribute values.
size_t tag_end(std::string_view s, size_t i) {
  for (size_t j = i + 1; j < s.size(); ++j) {
    if (s[j] == '>') return j;
    if (s[j] != '=') continue;
    size_t k = j + 1;
    while (k < s.size() && is_space(s[k])) ++k;
    if (k < s.size() && (s[k] == '"' || s[k] == '\'')) {
      const size_t close = s.find(s[k], k + 1);
      if (close == std::string_view::npos) return s.size();
      j = close;
    }
  }
  return s.size();
}

// HTML markup to text: tags dropped (block tags leave a space), comments,
// scripts and styles removed, character references decoded. Not folded.
std::string html_to_text(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i];
    if (c == '&') {
      i += decode_entity(s, i, out);
      continue;
    }
    const char next = i + 1 < s.size() ? s[i + 1] : '\0';
    if (c != '<' || !(is_alpha(next) || next == '/' || next == '!' || next == '?')) {
      out += c;
      ++i;
      continue;
    }
    if (s.substr(i).starts_with("<!--")) {
      const size_t end = s.find("-->", i + 4);
      i = end == std::string_view::npos ? s.size() : end + 3;
      continue;
    }
    if (s.substr(i).starts_with("<![CDATA[")) {
      const size_t end = s.find("]]>", i + 9);
      out.append(s.substr(i + 9, end == std::string_view::npos ? s.npos : end - i - 9));
      i = end == std::string_view::npos ? s.size() : end + 3;
      continue;
    }
    const size_t end = tag_end(s, i);
    size_t n = i + 1 + (next == '/' ? 1 : 0);
    const size_t name_start = n;
    while (n < end && (is_alpha(s[n]) || is_digit(s[n]))) ++n;
    const std::string_view name = s.substr(name_start, n - name_start);
    i = end == s.size() ? end : end + 1;
    if (next != '/' && (iequals(name, "script") || iequals(name, "style"))) {
      const size_t close = find_icase(s, std::string("</") + std::string(name), i);
      i = close == std::string_view::npos ? s.size() : tag_end(s, close) + 1;
      if (i > s.size()) i = s.size();
    }
    if (is_block_tag(name)) out += ' ';
  }
  return out;
}

// ----------------------------------------------------------------- XML tree

std::string_view name_prefix(const char* name) {
  const std::string_view n(name);
  const size_t colon = n.find(':');
  return colon == std::string_view::npos ? std::string_view() : n.substr(0, colon);
}

std::string_view local_name(const char* name) {
  const std::string_view n(name);
  const size_t colon = n.find(':');
  return colon == std::string_view::npos ? n : n.substr(colon + 1);
}

// The namespace declarations of one element, chained to its parent's scope.
// Each element's attributes are indexed once, so resolving a name costs the
// depth of the chain (root, channel, entry), not the size of the document.
class NsScope {
 public:
  NsScope(const NsScope* parent, pugi::xml_node element) : m_parent(parent) {
    for (auto a : element.attributes()) {
      if (auto prefix = declared_prefix(a)) m_declared.emplace(*prefix, a.value());
    }
  }

  // Namespace URI bound to a prefix ("" for the default namespace).
  std::string_view lookup(std::string_view prefix) const {
    if (prefix == "xml") return k_ns_xml;
    for (const NsScope* s = this; s; s = s->m_parent) {
      auto it = s->m_declared.find(prefix);
      if (it != s->m_declared.end()) return it->second;
    }
    return {};
  }

  // Namespace URI of a child element, which may declare its own.
  std::string_view of_child(pugi::xml_node child) const {
    const std::string_view prefix = name_prefix(child.name());
    for (auto a : child.attributes()) {
      auto p = declared_prefix(a);
      if (p && *p == prefix) return a.value();
    }
    return lookup(prefix);
  }

 private:
  static std::optional<std::string_view> declared_prefix(pugi::xml_attribute a) {
    const std::string_view n = a.name();
    if (n == "xmlns") return std::string_view();
    if (n.starts_with("xmlns:")) return n.substr(6);
    return std::nullopt;
  }

  const NsScope* m_parent;
  std::map<std::string_view, std::string_view> m_declared;
};

// Character data of a node's subtree, in document order, without recursion.
// With block_spaces, XHTML block elements are separated by a space.
std::string inner_text(pugi::xml_node root, bool block_spaces = false) {
  std::string out;
  auto boundary = [&](pugi::xml_node n) {
    if (block_spaces && n.type() == pugi::node_element && is_block_tag(local_name(n.name())))
      out += ' ';
  };
  pugi::xml_node cur = root.first_child();
  while (cur) {
    if (cur.type() == pugi::node_pcdata || cur.type() == pugi::node_cdata) out += cur.value();
    boundary(cur);
    if (pugi::xml_node child = cur.first_child()) {
      cur = child;
      continue;
    }
    for (;;) {
      boundary(cur);
      if (pugi::xml_node next = cur.next_sibling()) {
        cur = next;
        break;
      }
      cur = cur.parent();
      if (!cur || cur == root) {
        cur = pugi::xml_node();
        break;
      }
    }
  }
  return out;
}

// An Atom text construct (title, summary, content) as one plain line.
std::string atom_text(pugi::xml_node el) {
  if (!el) return {};
  const std::string type = lower_trimmed(el.attribute("type").value());
  const std::string mode = lower_trimmed(el.attribute("mode").value());  // Atom 0.3
  if (mode == "base64" || el.attribute("src")) return {};
  if (type == "xhtml" || type == "application/xhtml+xml" || mode == "xml")
    return fold(inner_text(el, true));
  if (type == "html" || type == "text/html") return fold(html_to_text(inner_text(el)));
  if (type.empty() || type == "text" || type.starts_with("text/")) return fold(inner_text(el));
  return {};
}

// An href as written, minus control characters (tabs, newlines) and surrounding spaces.
std::string clean_ref(std::string_view ref) {
  std::string out;
  for (char c : ref)
    if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7F) out += c;
  return std::string(trim_view(out));
}

// The base URI in effect inside an element, given its parent's. An oversized
// xml:base is ignored.
std::string with_base(std::string_view parent_base, pugi::xml_node el) {
  pugi::xml_attribute a = el.attribute("xml:base");
  if (!a) return std::string(parent_base);
  std::string base = resolve_url(parent_base, clean_ref(a.value()));
  return base.size() > k_max_url_bytes ? std::string(parent_base) : base;
}

// ref resolved inside el; "" when empty or oversized.
std::string resolve_in(std::string_view parent_base, pugi::xml_node el, std::string_view ref) {
  const std::string r = clean_ref(ref);
  if (r.empty() || r.size() > k_max_url_bytes) return {};
  std::string url = resolve_url(with_base(parent_base, el), r);
  return url.size() > k_max_url_bytes ? std::string() : url;
}

// Element children of `parent` in one namespace, by local name: the first of each.
class Children {
 public:
  Children(const NsScope& scope, pugi::xml_node parent, std::string_view ns) {
    for (pugi::xml_node c = parent.first_child(); c; c = c.next_sibling()) {
      if (c.type() != pugi::node_element) continue;
      const std::string_view uri = scope.of_child(c);
      if (uri == ns) m_nodes.emplace(local_name(c.name()), c);
      if (uri == k_ns_dc) m_dc.emplace(local_name(c.name()), c);
      if (uri == k_ns_content) m_content.emplace(local_name(c.name()), c);
    }
  }
  pugi::xml_node get(std::string_view local) const { return find(m_nodes, local); }
  pugi::xml_node dc(std::string_view local) const { return find(m_dc, local); }
  pugi::xml_node content(std::string_view local) const { return find(m_content, local); }

 private:
  using Map = std::map<std::string_view, pugi::xml_node>;
  static pugi::xml_node find(const Map& m, std::string_view local) {
    auto it = m.find(local);
    return it == m.end() ? pugi::xml_node() : it->second;
  }
  Map m_nodes, m_dc, m_content;
};

// ------------------------------------------------------------------ entries

// Date, key and bookkeeping shared by every dialect.
void add_entry(Feed& feed, FeedEntry entry, std::string_view id, std::string_view raw_date) {
  const std::string date = trim(raw_date);
  if (!date.empty()) {
    if (auto t = parse_date(date)) {
      entry.updated = *t;
    } else {
      feed.warnings.push_back("entry " + std::to_string(feed.entries.size() + 1) + " " +
                              quoted(entry.title) + ": unparseable date " + quoted(fold(date)));
    }
  }
  const std::string key = fold(id);
  if (!key.empty()) {
    entry.key = key;
  } else if (!entry.link.empty()) {
    entry.key = entry.link;
  } else {
    entry.key = "sha256:" + sha256_hex(entry.title + "\n" + date);
  }
  entry.summary = fold(entry.summary);
  truncate_utf8(entry.summary, k_max_summary_bytes);
  feed.entries.push_back(std::move(entry));
}

// How well an Atom link serves as the entry's web page; 0 = not at all.
int atom_link_score(pugi::xml_node link) {
  if (clean_ref(link.attribute("href").value()).empty()) return 0;
  const std::string rel = lower_trimmed(link.attribute("rel").value());
  if (!rel.empty() && rel != "alternate" &&
      rel != "http://www.iana.org/assignments/relation/alternate")
    return 0;
  const std::string type = lower_trimmed(link.attribute("type").value());
  if (type == "text/html") return 3;
  if (type.empty() || type == "html" || type == "application/xhtml+xml") return 2;
  return 1;
}

// The best alternate link among parent's children, resolved; "" if none.
std::string atom_link(const NsScope& scope, pugi::xml_node parent, std::string_view ns,
                      std::string_view base) {
  pugi::xml_node best;
  int best_score = 0;
  for (pugi::xml_node c = parent.first_child(); c; c = c.next_sibling()) {
    if (c.type() != pugi::node_element || local_name(c.name()) != "link") continue;
    if (scope.of_child(c) != ns) continue;
    const int score = atom_link_score(c);
    if (score > best_score) best = c, best_score = score;
  }
  return best ? resolve_in(base, best, best.attribute("href").value()) : std::string();
}

std::string atom_author(const NsScope& scope, pugi::xml_node author, std::string_view ns) {
  if (!author) return {};
  NsScope author_scope(&scope, author);
  std::string name = fold(inner_text(Children(author_scope, author, ns).get("name")));
  truncate_utf8(name, k_max_author_bytes);
  return name;
}

Feed parse_atom(pugi::xml_node root, const NsScope& root_scope, std::string_view ns,
                std::string_view base_url) {
  Feed feed;
  feed.format = "atom";
  const std::string feed_base = with_base(base_url, root);
  const Children top(root_scope, root, ns);
  feed.title = atom_text(top.get("title"));
  feed.link = atom_link(root_scope, root, ns, feed_base);
  const std::string feed_author = atom_author(root_scope, top.get("author"), ns);

  for (pugi::xml_node e = root.first_child(); e; e = e.next_sibling()) {
    if (e.type() != pugi::node_element || local_name(e.name()) != "entry") continue;
    if (root_scope.of_child(e) != ns) continue;
    const NsScope scope(&root_scope, e);
    const std::string base = with_base(feed_base, e);
    const Children c(scope, e, ns);
    FeedEntry entry;
    entry.title = atom_text(c.get("title"));
    entry.link = atom_link(scope, e, ns, base);
    const std::string id = inner_text(c.get("id"));
    if (entry.link.empty()) {
      // As feedparser does: an http(s) id is the entry's page when no link says otherwise.
      std::string ref = clean_ref(id);
      if ((starts_with_icase(ref, "http://") || starts_with_icase(ref, "https://")) &&
          ref.size() <= k_max_url_bytes && ref.find(' ') == std::string::npos)
        entry.link = std::move(ref);
    }
    entry.summary = atom_text(c.get("summary"));
    if (entry.summary.empty()) entry.summary = atom_text(c.get("content"));
    entry.author = atom_author(scope, c.get("author"), ns);
    if (entry.author.empty()) entry.author = feed_author;
    pugi::xml_node date;
    for (auto name : {"updated", "published", "modified", "issued", "created"}) {
      if ((date = c.get(name))) break;
    }
    add_entry(feed, std::move(entry), id, inner_text(date));
  }
  return feed;
}

// RSS titles are plain text, but feeds routinely escape entities twice.
std::string rss_title(pugi::xml_node title) { return fold(decode_entities(inner_text(title))); }

FeedEntry rss_item(const Children& c, std::string_view base) {
  FeedEntry entry;
  entry.title = rss_title(c.get("title"));
  if (pugi::xml_node link = c.get("link")) entry.link = resolve_in(base, link, inner_text(link));
  pugi::xml_node summary = c.get("description");
  if (!summary) summary = c.content("encoded");
  entry.summary = html_to_text(inner_text(summary));
  pugi::xml_node author = c.get("author");
  if (!author) author = c.dc("creator");
  entry.author = fold(inner_text(author));
  truncate_utf8(entry.author, k_max_author_bytes);
  return entry;
}

Feed parse_rss2(pugi::xml_node root, const NsScope& root_scope, std::string_view ns,
                std::string_view base_url) {
  Feed feed;
  feed.format = "rss2";
  const std::string root_base = with_base(base_url, root);
  pugi::xml_node channel = Children(root_scope, root, ns).get("channel");
  if (!channel) {
    feed.warnings.push_back("rss document has no channel");
    return feed;
  }
  const NsScope channel_scope(&root_scope, channel);
  const std::string channel_base = with_base(root_base, channel);
  const Children top(channel_scope, channel, ns);
  feed.title = rss_title(top.get("title"));
  if (pugi::xml_node link = top.get("link"))
    feed.link = resolve_in(channel_base, link, inner_text(link));

  for (pugi::xml_node item = channel.first_child(); item; item = item.next_sibling()) {
    if (item.type() != pugi::node_element || local_name(item.name()) != "item") continue;
    if (channel_scope.of_child(item) != ns) continue;
    const NsScope scope(&channel_scope, item);
    const std::string base = with_base(channel_base, item);
    const Children c(scope, item, ns);
    FeedEntry entry = rss_item(c, base);
    pugi::xml_node guid = c.get("guid");
    const std::string id = trim(inner_text(guid));
    const bool permalink = lower_trimmed(guid.attribute("isPermaLink").value()) != "false";
    if (entry.link.empty() && permalink && !id.empty()) entry.link = resolve_in(base, guid, id);
    pugi::xml_node date = c.get("pubDate");
    if (!date) date = c.dc("date");
    add_entry(feed, std::move(entry), id, inner_text(date));
  }
  return feed;
}

Feed parse_rss1(pugi::xml_node root, const NsScope& root_scope, std::string_view base_url) {
  Feed feed;
  feed.format = "rss1";
  const std::string root_base = with_base(base_url, root);
  pugi::xml_node channel;
  std::string_view ns = k_ns_rss10;
  for (pugi::xml_node c = root.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element && local_name(c.name()) == "channel" &&
        root_scope.of_child(c) != k_ns_rdf) {
      channel = c;
      ns = root_scope.of_child(c);  // RSS 1.0 or the older 0.90 namespace
      break;
    }
  }
  if (channel) {
    const NsScope channel_scope(&root_scope, channel);
    const std::string channel_base = with_base(root_base, channel);
    const Children top(channel_scope, channel, ns);
    feed.title = rss_title(top.get("title"));
    if (pugi::xml_node link = top.get("link"))
      feed.link = resolve_in(channel_base, link, inner_text(link));
  }
  for (pugi::xml_node item = root.first_child(); item; item = item.next_sibling()) {
    if (item.type() != pugi::node_element || local_name(item.name()) != "item") continue;
    if (root_scope.of_child(item) != ns) continue;
    const NsScope scope(&root_scope, item);
    const std::string base = with_base(root_base, item);
    const Children c(scope, item, ns);
    FeedEntry entry = rss_item(c, base);
    if (entry.link.empty())
      entry.link = resolve_in(base, item, item.attribute("rdf:about").value());
    add_entry(feed, std::move(entry), {}, inner_text(c.dc("date")));
  }
  return feed;
}

// ------------------------------------------------------------------- dates

// A read position in a short date string.
class Cursor {
 public:
  explicit Cursor(std::string_view s) : m_s(s) {}

  bool done() const { return m_i >= m_s.size(); }
  char peek() const { return done() ? '\0' : m_s[m_i]; }
  bool eat(char c) {
    if (done() || m_s[m_i] != c) return false;
    ++m_i;
    return true;
  }
  void skip_spaces() {
    while (!done() && is_space(m_s[m_i])) ++m_i;
  }
  // min..max decimal digits; nullopt (nothing consumed) when fewer than min.
  std::optional<int> number(size_t min, size_t max, size_t* count = nullptr) {
    size_t n = 0;
    int v = 0;
    while (n < max && m_i + n < m_s.size() && is_digit(m_s[m_i + n]))
      v = v * 10 + (m_s[m_i + n++] - '0');
    if (n < min) return std::nullopt;
    m_i += n;
    if (count) *count = n;
    return v;
  }
  std::string word() {
    std::string w;
    while (!done() && is_alpha(m_s[m_i])) w += lower(m_s[m_i++]);
    return w;
  }

 private:
  std::string_view m_s;
  size_t m_i = 0;
};

bool is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int64_t y, int m) {
  static constexpr int k_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : k_days[m - 1];
}

std::optional<int64_t> make_time(int64_t y, int mo, int d, int h, int mi, int s, int offset_min) {
  if (y < 1 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
      mi > 59 || s > 60)
    return std::nullopt;
  return days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 +
         h * 3600 + mi * 60 + s - int64_t{offset_min} * 60;
}

// "+hhmm", "-hh:mm", "+hh", "+hmm" -> minutes east of UTC.
std::optional<int> numeric_offset(Cursor& c) {
  int sign = 1;
  if (c.eat('-')) {
    sign = -1;
  } else {
    c.eat('+');
  }
  size_t n = 0;
  auto v = c.number(1, 4, &n);
  if (!v) return std::nullopt;
  int hh = *v, mm = 0;
  if (n > 2) {
    hh = *v / 100, mm = *v % 100;
  } else if (c.eat(':')) {
    auto m = c.number(2, 2);
    if (!m) return std::nullopt;
    mm = *m;
  }
  if (hh > 23 || mm > 59) return std::nullopt;
  return sign * (hh * 60 + mm);
}

// A zone name, in minutes east of UTC.
std::optional<int> named_zone(std::string_view name) {
  static constexpr std::pair<std::string_view, int> k_zones[] = {
      {"gmt", 0},    {"ut", 0},     {"utc", 0},     {"z", 0},       {"est", -300}, {"edt", -240},
      {"cst", -360}, {"cdt", -300}, {"mst", -420},  {"mdt", -360},  {"pst", -480}, {"pdt", -420},
      {"ast", -240}, {"adt", -180}, {"akst", -540}, {"akdt", -480}, {"hst", -600}, {"wet", 0},
      {"west", 60},  {"bst", 60},   {"cet", 60},    {"cest", 120},  {"met", 60},   {"mest", 120},
      {"eet", 120},  {"eest", 180}, {"jst", 540},   {"kst", 540},   {"aest", 600}, {"aedt", 660},
      {"nzst", 720}, {"nzdt", 780}};
  for (const auto& [zone, minutes] : k_zones)
    if (zone == name) return minutes;
  if (name.size() == 1 && name[0] >= 'a' && name[0] <= 'y' && name[0] != 'j') {
    const char c = name[0];
    if (c <= 'i') return -60 * (c - 'a' + 1);
    if (c <= 'm') return -60 * (c - 'k' + 10);
    return 60 * (c - 'n' + 1);
  }
  return std::nullopt;
}

// RFC 822 zone: numeric, a name, or a name with an offset ("GMT+0100").
std::optional<int> rfc822_zone(Cursor& c) {
  if (c.peek() == '+' || c.peek() == '-') return numeric_offset(c);
  auto zone = named_zone(c.word());
  if (!zone) return std::nullopt;
  if (c.peek() == '+' || c.peek() == '-') {
    auto extra = numeric_offset(c);
    if (!extra) return std::nullopt;
    *zone += *extra;
  }
  return zone;
}

std::optional<int> month_number(std::string_view w) {
  static constexpr std::string_view k_months[] = {"january",   "february", "march",    "april",
                                                  "may",       "june",     "july",     "august",
                                                  "september", "october",  "november", "december"};
  for (int i = 0; i < 12; ++i) {
    const std::string_view full = k_months[i];
    if (w == full || w == full.substr(0, 3) || (i == 8 && w == "sept")) return i + 1;
  }
  return std::nullopt;
}

// YYYY-MM-DD[(T| )hh:mm[:ss[.fff]]][Z|±hh:mm|±hhmm]
std::optional<int64_t> parse_iso8601(std::string_view s) {
  Cursor c(s);
  auto y = c.number(4, 4);
  if (!y || !c.eat('-')) return std::nullopt;
  auto mo = c.number(1, 2);
  if (!mo || !c.eat('-')) return std::nullopt;
  auto d = c.number(1, 2);
  if (!d) return std::nullopt;
  int h = 0, mi = 0, sec = 0, offset = 0;
  if (c.eat('T') || c.eat('t') || c.eat(' ')) {
    c.skip_spaces();
    auto hh = c.number(1, 2);
    if (!hh || !c.eat(':')) return std::nullopt;
    auto mm = c.number(2, 2);
    if (!mm) return std::nullopt;
    h = *hh, mi = *mm;
    if (c.eat(':')) {
      auto ss = c.number(2, 2);
      if (!ss) return std::nullopt;
      sec = *ss;
      if (c.eat('.') || c.eat(',')) {
        if (!is_digit(c.peek())) return std::nullopt;
        while (is_digit(c.peek())) c.eat(c.peek());
      }
    }
    c.skip_spaces();
    if (c.eat('Z') || c.eat('z')) {
      offset = 0;
    } else if (c.peek() == '+' || c.peek() == '-') {
      auto o = numeric_offset(c);
      if (!o) return std::nullopt;
      offset = *o;
    } else if (!c.done()) {
      const std::string w = c.word();
      if (w != "utc" && w != "gmt") return std::nullopt;
    }
  }
  c.skip_spaces();
  if (!c.done()) return std::nullopt;
  return make_time(*y, *mo, *d, h, mi, sec, offset);
}

// [Wkd[,]] D Mon YY[YY] [hh:mm[:ss] [zone]] [(comment)]
std::optional<int64_t> parse_rfc822(std::string_view s) {
  Cursor c(s);
  if (is_alpha(c.peek())) {
    if (c.word().size() < 2) return std::nullopt;
    c.eat(',');
    c.skip_spaces();
  }
  auto separator = [&] {
    c.skip_spaces();
    c.eat('-');
    c.skip_spaces();
  };
  auto d = c.number(1, 2);
  if (!d) return std::nullopt;
  separator();
  auto mo = month_number(c.word());
  if (!mo) return std::nullopt;
  separator();
  size_t digits = 0;
  auto yy = c.number(2, 4, &digits);
  if (!yy) return std::nullopt;
  int64_t y = *yy;
  if (digits == 2) y += y < 50 ? 2000 : 1900;
  if (digits == 3) y += 1900;
  c.skip_spaces();
  int h = 0, mi = 0, sec = 0, offset = 0;
  if (is_digit(c.peek())) {
    auto hh = c.number(1, 2);
    if (!hh || !c.eat(':')) return std::nullopt;
    auto mm = c.number(2, 2);
    if (!mm) return std::nullopt;
    h = *hh, mi = *mm;
    if (c.eat(':')) {
      auto ss = c.number(2, 2);
      if (!ss) return std::nullopt;
      sec = *ss;
    }
    c.skip_spaces();
    if (!c.done() && c.peek() != '(') {
      auto zone = rfc822_zone(c);
      if (!zone) return std::nullopt;
      offset = *zone;
    }
  }
  c.skip_spaces();
  if (c.eat('(')) {
    while (!c.done() && c.peek() != ')') c.eat(c.peek());
    if (!c.eat(')')) return std::nullopt;
    c.skip_spaces();
  }
  if (!c.done()) return std::nullopt;
  return make_time(y, *mo, *d, h, mi, sec, offset);
}

// ------------------------------------------------------------------- URIs

// A URI reference split per RFC 3986 appendix B; absent and empty differ.
struct UriParts {
  std::optional<std::string_view> scheme, authority, query, fragment;
  std::string_view path;
};

bool valid_scheme(std::string_view s) {
  if (s.empty() || !is_alpha(s[0])) return false;
  for (char c : s)
    if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.') return false;
  return true;
}

UriParts split_uri(std::string_view s) {
  UriParts p;
  const size_t colon = s.find_first_of(":/?#");
  if (colon != std::string_view::npos && s[colon] == ':' && valid_scheme(s.substr(0, colon))) {
    p.scheme = s.substr(0, colon);
    s.remove_prefix(colon + 1);
  }
  auto take_until = [&](std::string_view stops) {
    const size_t end = std::min(s.find_first_of(stops), s.size());
    const std::string_view part = s.substr(0, end);
    s.remove_prefix(end);
    return part;
  };
  if (s.starts_with("//")) {
    s.remove_prefix(2);
    p.authority = take_until("/?#");
  }
  p.path = take_until("?#");
  if (s.starts_with("?")) {
    s.remove_prefix(1);
    p.query = take_until("#");
  }
  if (s.starts_with("#")) p.fragment = s.substr(1);
  return p;
}

// RFC 3986 section 5.2.4.
std::string remove_dot_segments(std::string_view in) {
  std::string out;
  auto pop_segment = [&] {
    const size_t slash = out.rfind('/');
    out.resize(slash == std::string::npos ? 0 : slash);
  };
  while (!in.empty()) {
    if (in.starts_with("../")) {
      in.remove_prefix(3);
    } else if (in.starts_with("./")) {
      in.remove_prefix(2);
    } else if (in.starts_with("/./")) {
      in.remove_prefix(2);
    } else if (in == "/.") {
      in = "/";
    } else if (in.starts_with("/../")) {
      in.remove_prefix(3);
      pop_segment();
    } else if (in == "/..") {
      in = "/";
      pop_segment();
    } else if (in == "." || in == "..") {
      in = {};
    } else {
      const size_t end = std::min(in.find('/', in[0] == '/' ? 1 : 0), in.size());
      out.append(in.substr(0, end));
      in.remove_prefix(end);
    }
  }
  return out;
}

}  // namespace

std::string resolve_url(std::string_view base, std::string_view ref) {
  if (base.empty()) return std::string(ref);
  const UriParts r = split_uri(ref);
  const UriParts b = split_uri(base);
  std::optional<std::string_view> scheme, authority, query;
  std::string path;
  if (r.scheme) {
    scheme = r.scheme, authority = r.authority, query = r.query;
    path = remove_dot_segments(r.path);
  } else {
    if (r.authority) {
      authority = r.authority, query = r.query;
      path = remove_dot_segments(r.path);
    } else {
      if (r.path.empty()) {
        path = std::string(b.path);
        query = r.query ? r.query : b.query;
      } else {
        if (r.path.front() == '/') {
          path = remove_dot_segments(r.path);
        } else if (b.authority && b.path.empty()) {  // 5.2.3 merge
          path = remove_dot_segments("/" + std::string(r.path));
        } else {
          const size_t slash = b.path.rfind('/');
          const std::string_view dir =
              slash == std::string_view::npos ? std::string_view() : b.path.substr(0, slash + 1);
          path = remove_dot_segments(std::string(dir) + std::string(r.path));
        }
        query = r.query;
      }
      authority = b.authority;
    }
    scheme = b.scheme;
  }
  std::string out;
  if (scheme) out.append(*scheme).append(":");
  if (authority) out.append("//").append(*authority);
  out += path;
  if (query) out.append("?").append(*query);
  if (r.fragment) out.append("#").append(*r.fragment);
  return out;
}

std::string display_title(const FeedEntry& entry) {
  if (!entry.title.empty()) return entry.title;
  // The summary's first words, cut at a word boundary.
  constexpr size_t k_max_words = 12, k_max_bytes = 80;
  std::string out;
  size_t words = 0;
  bool cut = false;
  for (auto& word : split(entry.summary, ' ')) {
    if (word.empty()) continue;
    if (words == k_max_words || out.size() + 1 + word.size() > k_max_bytes) {
      cut = true;
      break;
    }
    out += (out.empty() ? "" : " ") + word;
    ++words;
  }
  if (out.empty() && !entry.summary.empty()) {  // one long word
    out = entry.summary;
    truncate_utf8(out, k_max_bytes);
    cut = out.size() < entry.summary.size();
  }
  if (!out.empty()) return cut ? out + "\u2026" : out;
  if (!entry.link.empty()) return entry.link;
  return "(no title)";
}

std::optional<int64_t> parse_date(std::string_view text) {
  text = trim_view(text);
  if (text.empty() || text.size() > 128) return std::nullopt;
  if (auto t = parse_iso8601(text)) return t;
  return parse_rfc822(text);
}

Expected<Feed> parse_feed(std::string_view document, std::string_view base_url) {
  auto prepared = prepare(document);
  if (!prepared) return prepared.error();
  const Prepared& p = *prepared;

  pugi::xml_document doc;
  const unsigned options = pugi::parse_default | pugi::parse_ws_pcdata;
  const pugi::xml_parse_result parsed =
      doc.load_buffer(p.text.data(), p.text.size(), options, pugi::encoding_utf8);
  if (!parsed) {
    const size_t offset =
        p.original_offset(static_cast<size_t>(std::max<ptrdiff_t>(parsed.offset, 0)));
    return bad_input(std::string("malformed XML: ") + parsed.description() + " at byte " +
                     std::to_string(offset));
  }
  pugi::xml_node root = doc.document_element();
  if (!root) return bad_input("malformed XML: no root element");

  const NsScope scope(nullptr, root);
  const std::string_view ns = scope.lookup(name_prefix(root.name()));
  const std::string_view local = local_name(root.name());
  if (local == "feed") return parse_atom(root, scope, ns, base_url);
  if (local == "rss") return parse_rss2(root, scope, ns, base_url);
  if (local == "RDF" && ns == k_ns_rdf) return parse_rss1(root, scope, base_url);
  return bad_input("not a feed: unknown root element " + quoted(root.name()));
}

}  // namespace herald::feed
