// The two readers of an end-of-life schedule.
//
// Product files are read by a strict line parser for the one YAML shape
// endoflife.date writes, not by a YAML library: top-level `key: value` lines,
// whose nested blocks are skipped unless the key is `releases`, and under
// `releases:` a block list of flat mappings. Each line is one of: blank, a
// comment, `- key: value` (a new release), `key: value` at the column of the
// first key of the release, or (under a key of no value that the parser does
// not read) a more indented line, skipped. Scalars are plain (ended by " #"),
// '...' or "..." (with \" \\ \n \t \r \/ \uXXXX); flow collections, anchors,
// tags and block scalars are refused. A value keeps its text as written, so a
// cycle `2.10` or `9` is the string "2.10" or "9", never a number. Every error
// names its line.
#include "adapters/sources/eol/schedule.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <variant>

#include "daemon/util.hpp"

namespace herald::eol {

namespace {

// Civil date of a day count (Howard Hinnant's algorithm, as days_from_civil's inverse).
void civil_from_days(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
}

struct Scalar {
  std::string text;
  bool quoted = false;
  bool empty() const { return !quoted && text.empty(); }
};

struct ParseError {
  int line;
  std::string message;
};

void append_utf8(std::string& out, unsigned cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool only_comment_after(std::string_view rest) {
  size_t i = rest.find_first_not_of(' ');
  return i == std::string_view::npos || rest[i] == '#';
}

// The value after "key:" (leading spaces included), or a message saying what is wrong.
std::variant<Scalar, std::string> parse_scalar(std::string_view v) {
  size_t start = v.find_first_not_of(' ');
  if (start == std::string_view::npos || v[start] == '#') return Scalar{};
  v.remove_prefix(start);
  Scalar s;
  if (v[0] == '"') {
    s.quoted = true;
    size_t i = 1;
    for (;; ++i) {
      if (i >= v.size()) return std::string("a \"quoted\" value is not closed on its line");
      char c = v[i];
      if (c == '"') break;
      if (c != '\\') {
        s.text += c;
        continue;
      }
      if (++i >= v.size()) return std::string("a \"quoted\" value ends in a backslash");
      switch (v[i]) {
        case '"':
          s.text += '"';
          break;
        case '\\':
          s.text += '\\';
          break;
        case '/':
          s.text += '/';
          break;
        case 'n':
          s.text += '\n';
          break;
        case 't':
          s.text += '\t';
          break;
        case 'r':
          s.text += '\r';
          break;
        case 'u': {
          if (i + 4 >= v.size()) return std::string("a \\u escape needs four hex digits");
          unsigned cp = 0;
          for (size_t k = 1; k <= 4; ++k) {
            char h = v[i + k];
            unsigned digit = h >= '0' && h <= '9'   ? h - '0'
                             : h >= 'a' && h <= 'f' ? h - 'a' + 10
                             : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                                    : 16;
            if (digit == 16) return std::string("a \\u escape needs four hex digits");
            cp = cp * 16 + digit;
          }
          if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF))
            return std::string("a \\u escape names no character");
          append_utf8(s.text, cp);
          i += 4;
          break;
        }
        default:
          return "the escape \\" + std::string(1, v[i]) + " is not one this reader knows";
      }
    }
    if (!only_comment_after(v.substr(i + 1))) return std::string("text after the closing quote");
    return s;
  }
  if (v[0] == '\'') {
    s.quoted = true;
    size_t i = 1;
    for (;; ++i) {
      if (i >= v.size()) return std::string("a 'quoted' value is not closed on its line");
      if (v[i] == '\'') {
        if (i + 1 < v.size() && v[i + 1] == '\'') {
          s.text += '\'';
          ++i;
          continue;
        }
        break;
      }
      s.text += v[i];
    }
    if (!only_comment_after(v.substr(i + 1))) return std::string("text after the closing quote");
    return s;
  }
  if (std::string_view("[{&*!|>%@`").find(v[0]) != std::string_view::npos)
    return "a value starting with '" + std::string(1, v[0]) +
           "' (flow collection, anchor, alias, tag or block scalar) is not read here; quote it";
  size_t comment = v.find(" #");
  std::string_view text = v.substr(0, comment);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  if (text.find(": ") != std::string_view::npos || text.back() == ':')
    return std::string("an unquoted value holds ': ' (a mapping is not expected here); quote it");
  s.text = std::string(text);
  return s;
}

// Splits "key: value" / "key:" into the key and what follows the colon; nullopt
// when the line is not a mapping entry with a plain key.
std::optional<std::pair<std::string_view, std::string_view>> split_key(std::string_view line) {
  size_t i = 0;
  while (i < line.size() && (std::isalnum(static_cast<unsigned char>(line[i])) || line[i] == '_' ||
                             line[i] == '-' || line[i] == '.'))
    ++i;
  if (i == 0 || i >= line.size() || line[i] != ':') return std::nullopt;
  if (i + 1 < line.size() && line[i + 1] != ' ') return std::nullopt;
  return std::pair{line.substr(0, i), line.substr(i + 1)};
}

DateField date_value(const Scalar& s, std::string_view key, int line) {
  DateField f;
  if (!s.quoted && s.text == "false") {
    f.state = DateField::State::undecided;
    return f;
  }
  if (!s.quoted && s.text == "true") {
    f.state = DateField::State::over;
    return f;
  }
  if (auto d = parse_day(s.text)) {
    f.state = DateField::State::day;
    f.days = *d;
    return f;
  }
  throw ParseError{line, "'" + std::string(key) +
                             "' must be a date YYYY-MM-DD, true or false, not '" +
                             one_line(s.text) + "'"};
}

std::string day_value(const Scalar& s, std::string_view key, int line) {
  if (parse_day(s.text)) return s.text;
  throw ParseError{
      line, "'" + std::string(key) + "' must be a date YYYY-MM-DD, not '" + one_line(s.text) + "'"};
}

// Whether s is well-formed UTF-8 (no overlong forms, surrogates or values past U+10FFFF).
bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n = 0;
    unsigned cp = 0;
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1, cp = c & 0x1Fu;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2, cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3, cp = c & 0x07u;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;
    for (size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    if ((n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
      return false;
    i += n + 1;
  }
  return true;
}

struct RawLine {
  int number = 0;
  size_t indent = 0;
  std::string_view text;  // after the indentation, without a trailing CR
};

class ProductFileParser {
 public:
  explicit ProductFileParser(std::string_view text) { split_lines(text); }

  Product parse() {
    Product p;
    bool have_releases = false;
    size_t i = m_begin;
    while (i < m_end) {
      const RawLine& l = m_lines[i];
      if (skippable(l)) {
        ++i;
        continue;
      }
      if (l.indent != 0) throw ParseError{l.number, "indented line outside any key"};
      if (is_item(l.text)) throw ParseError{l.number, "a list item outside any key"};
      auto kv = split_key(l.text);
      if (!kv) throw ParseError{l.number, "expected 'key: value'"};
      auto [key, rest] = *kv;
      if (key == "releases") {
        if (have_releases) throw ParseError{l.number, "a second 'releases:' list"};
        have_releases = true;
        auto value = scalar(rest, l.number);
        if (!value.empty()) throw ParseError{l.number, "'releases' must be a list of releases"};
        i = parse_releases(i + 1, p.cycles);
        continue;
      }
      if (key == "title") p.title = scalar(rest, l.number).text;
      i = skip_block(i + 1, 0, true);
    }
    if (!have_releases) {
      int last = 1;
      for (size_t k = m_begin; k < m_end; ++k)
        if (!skippable(m_lines[k])) last = m_lines[k].number;
      throw ParseError{last, "no 'releases:' list"};
    }
    std::set<std::string> names;
    for (const auto& c : p.cycles)
      if (!names.insert(c.name).second)
        throw ParseError{c.line, "releaseCycle '" + one_line(c.name) + "' is listed twice"};
    return p;
  }

 private:
  void split_lines(std::string_view text) {
    int number = 0;
    size_t pos = 0;
    while (pos <= text.size()) {
      size_t nl = text.find('\n', pos);
      std::string_view line = text.substr(pos, nl == std::string_view::npos ? nl : nl - pos);
      ++number;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (!valid_utf8(line)) throw ParseError{number, "not UTF-8 text"};
      for (char ch : line)
        if ((static_cast<unsigned char>(ch) < 0x20 && ch != '\t') || ch == 0x7F)
          throw ParseError{number, "a control character (YAML allows none but tab)"};
      RawLine l;
      l.number = number;
      size_t indent = line.find_first_not_of(' ');
      l.indent = indent == std::string_view::npos ? line.size() : indent;
      l.text = line.substr(l.indent);
      if (!l.text.empty() && l.text[0] == '\t')
        throw ParseError{number, "a tab in the indentation (YAML indents with spaces)"};
      m_lines.push_back(l);
      if (nl == std::string_view::npos) break;
      pos = nl + 1;
    }
    m_begin = 0;
    m_end = m_lines.size();
    if (!m_lines.empty() && m_lines[0].indent == 0 && rtrim(m_lines[0].text) == "---") {
      m_begin = 1;
      size_t close = 1;
      while (close < m_lines.size() &&
             !(m_lines[close].indent == 0 &&
               (rtrim(m_lines[close].text) == "---" || rtrim(m_lines[close].text) == "...")))
        ++close;
      if (close == m_lines.size())
        throw ParseError{1, "the front matter opened here is not closed by a '---' line"};
      m_end = close;
    }
  }

  static std::string_view rtrim(std::string_view s) {
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  }
  static bool skippable(const RawLine& l) {
    std::string_view t = rtrim(l.text);
    return t.empty() || t[0] == '#';
  }
  static bool is_item(std::string_view t) { return t == "-" || t.rfind("- ", 0) == 0; }

  static Scalar scalar(std::string_view rest, int line) {
    auto v = parse_scalar(rest);
    if (auto* msg = std::get_if<std::string>(&v)) throw ParseError{line, *msg};
    return std::get<Scalar>(std::move(v));
  }

  // Skips the nested block of a key at `indent` (lines indented deeper; at the top level
  // also "- " items at column 0, YAML's compact lists). Returns the next line's index.
  size_t skip_block(size_t i, size_t indent, bool top) const {
    while (i < m_end) {
      const RawLine& l = m_lines[i];
      if (!skippable(l) && l.indent <= indent && !(top && l.indent == 0 && is_item(l.text))) break;
      ++i;
    }
    return i;
  }

  size_t parse_releases(size_t i, std::vector<Cycle>& out) {
    std::optional<size_t> item_indent;
    while (i < m_end) {
      const RawLine& l = m_lines[i];
      if (skippable(l)) {
        ++i;
        continue;
      }
      if (l.indent == 0 && !is_item(l.text)) break;  // the next top-level key
      if (!is_item(l.text))
        throw ParseError{l.number, "expected '- releaseCycle: ...', a release of the list"};
      if (!item_indent) item_indent = l.indent;
      if (l.indent != *item_indent)
        throw ParseError{l.number, "this release is indented " + std::to_string(l.indent) +
                                       " spaces, the first one " + std::to_string(*item_indent)};
      i = parse_release(i, out.emplace_back());
    }
    return i;
  }

  // One "- key: value" item and its following keys; returns the next line's index.
  size_t parse_release(size_t i, Cycle& c) {
    const RawLine& first = m_lines[i];
    c.line = first.number;
    std::string_view after_dash = first.text.substr(1);
    size_t gap = after_dash.find_first_not_of(' ');
    if (gap == std::string_view::npos || after_dash[gap] == '#')
      throw ParseError{first.number, "a release starts with its first key on the '- ' line"};
    const size_t key_indent = first.indent + 1 + gap;
    std::set<std::string> seen;
    bool have_cycle = false;
    std::string_view text = after_dash.substr(gap);
    int number = first.number;
    for (;;) {
      auto kv = split_key(text);
      if (!kv) throw ParseError{number, "expected 'key: value' in a release"};
      auto [key, rest] = *kv;
      if (!seen.insert(std::string(key)).second)
        throw ParseError{number, "'" + std::string(key) + "' is given twice in this release"};
      Scalar v = scalar(rest, number);
      const bool known = apply(c, key, v, number, have_cycle);
      ++i;
      if (v.empty()) {
        if (known) throw ParseError{number, "'" + std::string(key) + "' has no value"};
        i = skip_block(i, key_indent, false);
      }
      // The next key of this release, if any.
      while (i < m_end && skippable(m_lines[i])) ++i;
      if (i >= m_end) break;
      const RawLine& l = m_lines[i];
      if (l.indent < key_indent) {
        if (l.indent > 0 && !is_item(l.text))
          throw ParseError{l.number, "this line is indented less than the keys of its release"};
        break;
      }
      if (l.indent > key_indent)
        throw ParseError{l.number, "this line is indented more than the keys of its release"};
      text = l.text;
      number = l.number;
    }
    if (!have_cycle) throw ParseError{c.line, "a release without 'releaseCycle'"};
    return i;
  }

  // Stores a known key's value; false for keys this reader does not use.
  static bool apply(Cycle& c, std::string_view key, const Scalar& v, int line, bool& have_cycle) {
    if (v.empty()) {
      return key == "releaseCycle" || key == "releaseDate" || key == "eoas" || key == "eol" ||
             key == "eoes" || key == "support" || key == "extendedSupport" || key == "lts" ||
             key == "latest" || key == "latestReleaseDate";
    }
    if (key == "releaseCycle") {
      const bool control = std::any_of(v.text.begin(), v.text.end(), [](char ch) {
        return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7F;
      });
      if (control || trim(v.text).empty())
        throw ParseError{line, "'releaseCycle' must be one line of text"};
      c.name = v.text;
      have_cycle = true;
    } else if (key == "releaseDate") {
      c.release_date = day_value(v, key, line);
    } else if (key == "eoas" || key == "support") {
      c.eoas = date_value(v, key, line);
    } else if (key == "eol") {
      c.eol = date_value(v, key, line);
    } else if (key == "eoes" || key == "extendedSupport") {
      c.eoes = date_value(v, key, line);
    } else if (key == "lts") {
      DateField f = date_value(v, key, line);
      c.lts = f.state != DateField::State::undecided;
    } else if (key == "latest") {
      c.latest = one_line(v.text);
    } else if (key == "latestReleaseDate") {
      c.latest_date = day_value(v, key, line);
    } else {
      return false;
    }
    return true;
  }

  std::vector<RawLine> m_lines;
  size_t m_begin = 0, m_end = 0;
};

// An API date field pair: isX (bool, may be absent) and xFrom (date or null, may be absent).
DateField api_date(const nlohmann::json& r, const char* is_key, const char* from_key,
                   const std::string& where) {
  DateField f;
  const bool has_is = r.contains(is_key), has_from = r.contains(from_key);
  if (!has_is && !has_from) return f;
  if (has_from && r[from_key].is_string()) {
    auto d = parse_day(r[from_key].get<std::string>());
    if (!d) throw std::invalid_argument(where + ": '" + from_key + "' is not a date YYYY-MM-DD");
    f.state = DateField::State::day;
    f.days = *d;
    return f;
  }
  if (has_from && !r[from_key].is_null())
    throw std::invalid_argument(where + ": '" + from_key + "' must be a date or null");
  if (has_is && !r[is_key].is_boolean())
    throw std::invalid_argument(where + ": '" + is_key + "' must be true or false");
  f.state = has_is && r[is_key].get<bool>() ? DateField::State::over : DateField::State::undecided;
  return f;
}

}  // namespace

std::optional<int64_t> parse_day(std::string_view t) {
  if (t.size() != 10 || t[4] != '-' || t[7] != '-') return std::nullopt;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (t[i] < '0' || t[i] > '9') return std::nullopt;
  auto num = [&](size_t from, size_t n) {
    int v = 0;
    for (size_t i = from; i < from + n; ++i) v = v * 10 + (t[i] - '0');
    return v;
  };
  const int y = num(0, 4), m = num(5, 2), d = num(8, 2);
  if (y < 1900 || m < 1 || m > 12 || d < 1) return std::nullopt;
  static constexpr int k_month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d > k_month_days[m - 1] + (m == 2 && leap)) return std::nullopt;
  return days_from_civil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
}

std::string format_day(int64_t days) {
  int64_t y;
  unsigned m, d;
  civil_from_days(days, y, m, d);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", static_cast<long long>(y), m, d);
  return buf;
}

std::string DateField::text() const {
  switch (state) {
    case State::absent:
      return "";
    case State::undecided:
      return "false";
    case State::over:
      return "true";
    case State::day:
      return format_day(days);
  }
  return "";
}

Expected<Product> parse_product_file(std::string_view text) {
  if (text.size() > k_max_schedule_size)
    return bad_input("the product file is larger than " +
                     std::to_string(k_max_schedule_size / 1024 / 1024) + " MiB");
  try {
    return ProductFileParser(text).parse();
  } catch (const ParseError& e) {
    return bad_input("line " + std::to_string(e.line) + ": " + e.message);
  }
}

Expected<Product> parse_api_v1(std::string_view json_text) {
  if (json_text.size() > k_max_schedule_size)
    return bad_input("the API answer is larger than " +
                     std::to_string(k_max_schedule_size / 1024 / 1024) + " MiB");
  nlohmann::json j = nlohmann::json::parse(json_text, nullptr, false);
  if (j.is_discarded()) return bad_input("the API answer is not JSON");
  try {
    if (!j.is_object() || !j.contains("result") || !j["result"].is_object())
      return bad_input("the API answer has no 'result' object");
    const auto& result = j["result"];
    if (!result.contains("releases") || !result["releases"].is_array())
      return bad_input("the API answer's result has no 'releases' list");
    Product p;
    if (result.contains("label") && result["label"].is_string())
      p.title = one_line(result["label"].get<std::string>());
    std::set<std::string> names;
    size_t index = 0;
    for (const auto& r : result["releases"]) {
      std::string where = "releases[" + std::to_string(index++) + "]";
      if (!r.is_object()) return bad_input(where + " is not an object");
      if (!r.contains("name") || !r["name"].is_string() ||
          trim(r["name"].get<std::string>()).empty())
        return bad_input(where + " has no 'name'");
      Cycle c;
      c.name = one_line(r["name"].get<std::string>());
      where += " ('" + c.name + "')";
      if (!names.insert(c.name).second) return bad_input(where + " is listed twice");
      if (r.contains("releaseDate") && r["releaseDate"].is_string()) {
        c.release_date = r["releaseDate"].get<std::string>();
        if (!parse_day(c.release_date))
          return bad_input(where + ": 'releaseDate' is not a date YYYY-MM-DD");
      }
      c.eoas = api_date(r, "isEoas", "eoasFrom", where);
      c.eol = api_date(r, "isEol", "eolFrom", where);
      c.eoes = api_date(r, "isEoes", "eoesFrom", where);
      if (r.contains("isLts")) {
        if (!r["isLts"].is_boolean()) return bad_input(where + ": 'isLts' must be true or false");
        c.lts = r["isLts"].get<bool>();
      }
      if (r.contains("latest") && r["latest"].is_object()) {
        const auto& latest = r["latest"];
        if (latest.contains("name") && latest["name"].is_string())
          c.latest = one_line(latest["name"].get<std::string>());
        if (latest.contains("date") && latest["date"].is_string() &&
            parse_day(latest["date"].get<std::string>()))
          c.latest_date = latest["date"].get<std::string>();
      }
      p.cycles.push_back(std::move(c));
    }
    return p;
  } catch (const std::invalid_argument& e) {
    return bad_input(e.what());
  }
}

nlohmann::json to_json(const Product& p) {
  nlohmann::json cycles = nlohmann::json::array();
  for (const auto& c : p.cycles)
    cycles.push_back({{"name", c.name},
                      {"releaseDate", c.release_date},
                      {"eoas", c.eoas.text()},
                      {"eol", c.eol.text()},
                      {"eoes", c.eoes.text()},
                      {"lts", c.lts},
                      {"latest", c.latest},
                      {"latestReleaseDate", c.latest_date}});
  return {{"title", p.title}, {"cycles", std::move(cycles)}};
}

static DateField date_from_text(const std::string& t) {
  DateField f;
  if (t == "false") {
    f.state = DateField::State::undecided;
  } else if (t == "true") {
    f.state = DateField::State::over;
  } else if (auto d = eol::parse_day(t)) {
    f.state = DateField::State::day;
    f.days = *d;
  }
  return f;
}

std::optional<Product> product_from_cursor(const std::string& cursor) {
  if (cursor.empty()) return std::nullopt;
  auto j = nlohmann::json::parse(cursor, nullptr, false);
  if (!j.is_object() || !j.contains("cycles") || !j["cycles"].is_array()) return std::nullopt;
  try {
    Product p;
    p.title = j.value("title", "");
    for (const auto& c : j["cycles"]) {
      Cycle cy;
      cy.name = c.at("name").get<std::string>();
      cy.release_date = c.value("releaseDate", "");
      cy.eoas = date_from_text(c.value("eoas", ""));
      cy.eol = date_from_text(c.value("eol", ""));
      cy.eoes = date_from_text(c.value("eoes", ""));
      cy.lts = c.value("lts", false);
      cy.latest = c.value("latest", "");
      cy.latest_date = c.value("latestReleaseDate", "");
      p.cycles.push_back(std::move(cy));
    }
    return p;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

}  // namespace herald::eol
