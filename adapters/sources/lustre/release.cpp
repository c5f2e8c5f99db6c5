// Lustre versions from tags and titles, and release blocks from lustre/ChangeLog.
//
// parse_version strips title words ("refs/tags/", "Lustre", "lustre-", "Release"),
// takes the first word, an optional 'v', then three or four numbers joined by one
// separator ('.' or '_'), then suffix parts that each start with '-' or '_': an
// optional Whamcloud "WC[n]" and an optional "RC<n>". Anything else left over
// (site builds, respins, alphas) rejects the text, so every tag of the real
// lustre-release tag list is either a community version or deliberately refused.
//
// parse_changelog makes one block per indented "* version X" line. The block's date
// is the last non-blank column-0 line above it (unless that is a dashed separator).
// The header runs from the version line to the first column-0 line (a "Severity :"
// entry, a separator or the next date). In the header each "* item" either opens a
// kernel list (it ends in ':' and names kernels: "Other ..." lists are skipped,
// lists naming clients go to client_kernels, the rest to server_kernels), gives the
// recommended e2fsprogs / ZFS version, or is a note to which continuation lines are
// appended. In a kernel list, a line underlined with dashes is a distribution
// sub-heading ("RHEL 9" over "------"), and a line starting with a digit or
// "vanilla" is a kernel; its distribution comes from the parenthesised name,
// falling back to the sub-heading. "- ..." sub-items of old blocks are skipped.
#include "adapters/sources/lustre/release.hpp"

#include <cctype>
#include <tuple>

#include "daemon/util.hpp"

namespace herald::lustre {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }
bool is_alpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }

// Reads 1..6 digits at s[pos]; advances pos. nullopt if there is no digit or too many.
std::optional<int> read_number(std::string_view s, size_t& pos) {
  size_t start = pos;
  int value = 0;
  while (pos < s.size() && is_digit(s[pos])) {
    if (pos - start == 6) return std::nullopt;
    value = value * 10 + (s[pos] - '0');
    ++pos;
  }
  if (pos == start) return std::nullopt;
  return value;
}

// Removes leading title words such as "refs/tags/", "Lustre ", "lustre-", "Release ".
std::string_view strip_title_words(std::string_view s) {
  for (bool changed = true; changed;) {
    changed = false;
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    if (starts_with_icase(s, "refs/tags/")) {
      s.remove_prefix(10);
      changed = true;
      continue;
    }
    for (std::string_view word : {"lustre", "release"}) {
      if (!starts_with_icase(s, word) || s.size() == word.size()) continue;
      char next = s[word.size()];
      if (!is_space(next) && next != '-' && next != '_' && next != ':') continue;
      s.remove_prefix(word.size());
      while (!s.empty() &&
             (is_space(s.front()) || s.front() == '-' || s.front() == '_' || s.front() == ':'))
        s.remove_prefix(1);
      changed = true;
    }
  }
  return s;
}

// Parses the suffix after the numbers: ("-"|"_") "WC"[n], then ("-"|"_") "RC"n.
// Returns false for anything else.
bool parse_suffix(std::string_view s, Version& v, bool& is_rc) {
  size_t pos = 0;
  bool seen_wc = false;
  while (pos < s.size()) {
    if (s[pos] != '-' && s[pos] != '_') return false;
    ++pos;
    std::string_view rest = s.substr(pos);
    if (!is_rc && !seen_wc && starts_with_icase(rest, "wc")) {
      pos += 2;
      if (pos < s.size() && is_digit(s[pos]) && !read_number(s, pos)) return false;
      seen_wc = true;
    } else if (!is_rc && starts_with_icase(rest, "rc")) {
      pos += 2;
      auto n = read_number(s, pos);
      if (!n) return false;
      v.rc = *n;
      is_rc = true;
    } else {
      return false;
    }
  }
  return true;
}

bool all_dashes(std::string_view s) {
  return s.size() >= 2 && s.find_first_not_of('-') == std::string_view::npos;
}

std::string collapse_spaces(std::string_view s) {
  std::string out;
  bool pending_space = false;
  for (char c : s) {
    if (is_space(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += c;
  }
  return out;
}

std::string first_word(std::string_view s) {
  std::string t = trim(s);
  size_t end = 0;
  while (end < t.size() && !is_space(t[end])) ++end;
  return t.substr(0, end);
}

bool valid_date(int64_t y, int m, int d) {
  static constexpr int k_days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1 || d > k_days[m - 1]) return false;
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return !(m == 2 && d == 29 && !leap);
}

// Reads exactly n digits at s[pos].
std::optional<int> read_fixed(std::string_view s, size_t& pos, size_t n) {
  if (pos + n > s.size()) return std::nullopt;
  int value = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!is_digit(s[pos + i])) return std::nullopt;
    value = value * 10 + (s[pos + i] - '0');
  }
  pos += n;
  return value;
}

bool expect(std::string_view s, size_t& pos, char c) {
  if (pos >= s.size() || s[pos] != c) return false;
  ++pos;
  return true;
}

// "YYYY-MM-DD", "MM-DD-YYYY", "M-D-YYYY" -> midnight UTC; nullopt for "TBD", "2022-05-XX",
// a month above 12 and anything else.
std::optional<int64_t> parse_changelog_date(std::string_view s) {
  auto parts = split(s, '-');
  if (parts.size() != 3) return std::nullopt;
  std::vector<int> n;
  for (const auto& p : parts) {
    if (p.empty() || p.size() > 4) return std::nullopt;
    size_t pos = 0;
    auto v = read_number(p, pos);
    if (!v || pos != p.size()) return std::nullopt;
    n.push_back(*v);
  }
  int y = 0, m = 0, d = 0;
  if (parts[0].size() == 4 && parts[1].size() == 2 && parts[2].size() == 2) {
    y = n[0], m = n[1], d = n[2];
  } else if (parts[2].size() == 4 && parts[0].size() <= 2 && parts[1].size() <= 2) {
    m = n[0], d = n[1], y = n[2];
  } else {
    return std::nullopt;
  }
  if (!valid_date(y, m, d)) return std::nullopt;
  return days_from_civil(y, static_cast<unsigned>(m), static_cast<unsigned>(d)) * 86400;
}

// RFC 3339 / ISO 8601 with offset: "2025-06-10T16:44:11-06:00", "... 16:44:11 +0000",
// "...T16:44:11.5Z".
std::optional<int64_t> parse_iso_time(std::string_view s) {
  size_t pos = 0;
  auto y = read_fixed(s, pos, 4);
  if (!y || !expect(s, pos, '-')) return std::nullopt;
  auto mo = read_fixed(s, pos, 2);
  if (!mo || !expect(s, pos, '-')) return std::nullopt;
  auto d = read_fixed(s, pos, 2);
  if (!d || pos >= s.size() || (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' '))
    return std::nullopt;
  ++pos;
  auto hh = read_fixed(s, pos, 2);
  if (!hh || !expect(s, pos, ':')) return std::nullopt;
  auto mi = read_fixed(s, pos, 2);
  if (!mi || !expect(s, pos, ':')) return std::nullopt;
  auto ss = read_fixed(s, pos, 2);
  if (!ss || !valid_date(*y, *mo, *d) || *hh > 23 || *mi > 59 || *ss > 60) return std::nullopt;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t start = pos;
    while (pos < s.size() && is_digit(s[pos])) ++pos;
    if (pos == start) return std::nullopt;
  }
  while (pos < s.size() && s[pos] == ' ') ++pos;
  int64_t offset = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int sign = s[pos] == '-' ? -1 : 1;
    ++pos;
    auto oh = read_fixed(s, pos, 2);
    if (!oh) return std::nullopt;
    expect(s, pos, ':');
    auto om = read_fixed(s, pos, 2);
    if (!om || *oh > 23 || *om > 59) return std::nullopt;
    offset = sign * (*oh * 3600 + *om * 60);
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  int64_t days = days_from_civil(*y, static_cast<unsigned>(*mo), static_cast<unsigned>(*d));
  return days * 86400 + *hh * 3600 + *mi * 60 + *ss - offset;
}

// "RHEL9.5" -> "RHEL 9", "SLES15 SP6" -> "SLES 15", "Ubuntu 20.04.3 HWE" -> "Ubuntu 20.04",
// "FC18" -> "Fedora 18", "kernel.org" / "ZFS + ldiskfs" -> "vanilla". "" if nothing.
std::string distro_name(std::string_view name) {
  std::string text = collapse_spaces(name.substr(0, name.find(',')));
  std::string lower = to_lower(text);
  if (lower.empty()) return {};
  if (lower.starts_with("vanilla") || lower.find("kernel.org") != std::string::npos ||
      lower.find("zfs") != std::string::npos || lower.find("ldiskfs") != std::string::npos)
    return "vanilla";
  size_t pos = 0;
  while (pos < text.size() && is_alpha(text[pos])) ++pos;
  std::string family = text.substr(0, pos);
  std::string key = to_lower(family);
  while (pos < text.size() && text[pos] == ' ') ++pos;
  size_t start = pos;
  while (pos < text.size() && (is_digit(text[pos]) || text[pos] == '.')) ++pos;
  std::string release = text.substr(start, pos - start);
  bool two_parts = key == "ubuntu" || key == "openeuler";
  size_t dot = release.find('.');
  if (two_parts && dot != std::string::npos) dot = release.find('.', dot + 1);
  release = release.substr(0, dot);
  if (key == "rhel") family = "RHEL";
  else if (key == "sles") family = "SLES";
  else if (key == "ubuntu") family = "Ubuntu";
  else if (key == "fedora" || key == "fc") family = "Fedora";
  else if (key == "openeuler") family = "openEuler";
  else if (key == "oel") family = "OEL";
  if (family.empty()) return text;
  return release.empty() ? family : family + " " + release;
}

void add_unique(std::vector<std::string>& list, const std::string& value) {
  if (value.empty()) return;
  for (const auto& v : list)
    if (v == value) return;
  list.push_back(value);
}

// The text after "label:" up to the first space ("1.47.1-wc1 or newer" -> "1.47.1-wc1").
std::string value_after_colon(std::string_view item) {
  size_t colon = item.find(':');
  if (colon == std::string_view::npos) return {};
  return first_word(item.substr(colon + 1));
}

enum class Section { none, server, client, other_kernels, note };

struct HeaderState {
  Section section = Section::none;
  std::string heading;  // current distribution sub-heading of a kernel list
};

void parse_header_item(std::string_view item, ChangeLogRelease& r, HeaderState& st) {
  std::string lower = to_lower(item);
  st.heading.clear();
  if (lower.starts_with("recommended e2fsprogs")) {
    r.e2fsprogs = value_after_colon(item);
    st.section = Section::none;
  } else if (lower.starts_with("recommended zfs")) {
    r.zfs = value_after_colon(item);
    st.section = Section::none;
  } else if (lower.ends_with(":") && lower.find("kernel") != std::string::npos) {
    if (lower.starts_with("other")) st.section = Section::other_kernels;
    else if (lower.find("client") != std::string::npos) st.section = Section::client;
    else st.section = Section::server;
  } else {
    r.notes.push_back(collapse_spaces(item));
    st.section = Section::note;
  }
}

void parse_kernel_line(std::string_view line, bool server, ChangeLogRelease& r,
                       const HeaderState& st) {
  std::string kernel = collapse_spaces(line);
  while (!kernel.empty() && kernel.back() == ',') kernel.pop_back();
  std::string distro;
  size_t open = kernel.find('(');
  if (open != std::string::npos) {
    size_t close = kernel.find(')', open);
    distro = distro_name(std::string_view(kernel).substr(
        open + 1, close == std::string::npos ? std::string::npos : close - open - 1));
  }
  if (distro.empty() && to_lower(kernel).starts_with("vanilla")) distro = "vanilla";
  if (distro.empty()) distro = distro_name(st.heading);
  (server ? r.server_kernels : r.client_kernels).push_back(kernel);
  add_unique(server ? r.server_distros : r.client_distros, distro);
}

bool is_version_line(std::string_view line) {
  if (line.empty() || !is_space(line.front())) return false;
  std::string t = trim(line);
  if (!t.starts_with("*")) return false;
  std::string rest = trim(std::string_view(t).substr(1));
  return rest.starts_with("version") && rest.size() > 7 && is_space(rest[7]);
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (end == text.size()) break;
    start = end + 1;
  }
  return lines;
}

bool is_blank(std::string_view line) {
  for (char c : line)
    if (!is_space(c)) return false;
  return true;
}

ChangeLogRelease parse_block(const std::vector<std::string_view>& lines, size_t at) {
  ChangeLogRelease r;
  std::string version_item = trim(trim(lines[at]).substr(1));
  r.version = first_word(std::string_view(version_item).substr(7));
  while (!r.version.empty() &&
         (r.version.back() == ',' || r.version.back() == ';' || r.version.back() == ':'))
    r.version.pop_back();

  for (size_t j = at; j-- > 0;) {
    if (is_blank(lines[j])) continue;
    if (!is_space(lines[j].front()) && !all_dashes(trim(lines[j]))) {
      std::string word = first_word(lines[j]);
      std::string date;
      for (char c : word)
        if (c != '\'' && c != '"' && c != '`') date += c;
      r.date = date;
      r.date_unix = parse_changelog_date(date);
    }
    break;
  }

  HeaderState st;
  for (size_t j = at + 1; j < lines.size(); ++j) {
    std::string_view line = lines[j];
    if (is_blank(line)) {
      st.section = Section::none;
      continue;
    }
    if (!is_space(line.front()) || is_version_line(line)) break;
    std::string t = trim(line);
    if (t.starts_with("*")) {
      parse_header_item(trim(std::string_view(t).substr(1)), r, st);
      continue;
    }
    if (all_dashes(t)) continue;  // underline of a sub-heading
    if (t.starts_with("-")) {
      st.section = Section::none;
      continue;
    }
    switch (st.section) {
      case Section::server:
      case Section::client: {
        bool underlined = j + 1 < lines.size() && all_dashes(trim(lines[j + 1]));
        if (underlined) {
          st.heading = t;
        } else if (is_digit(t.front()) || to_lower(t).starts_with("vanilla")) {
          parse_kernel_line(t, st.section == Section::server, r, st);
        }
        break;
      }
      case Section::note: r.notes.back() += ' ' + collapse_spaces(t); break;
      case Section::other_kernels:
      case Section::none: break;
    }
  }
  return r;
}

}  // namespace

const char* to_string(ReleaseClass c) {
  switch (c) {
    case ReleaseClass::ga: return "ga";
    case ReleaseClass::rc: return "rc";
    case ReleaseClass::dev: return "dev";
  }
  return "ga";
}

std::string Version::text() const {
  std::string out =
      std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
  if (build != 0) out += "." + std::to_string(build);
  if (cls == ReleaseClass::rc) out += "-RC" + std::to_string(rc);
  return out;
}

std::string Version::branch() const { return std::to_string(major) + "." + std::to_string(minor); }

bool release_precedes(const Version& a, const Version& b) {
  auto key = [](const Version& v) {
    bool final_release = v.cls != ReleaseClass::rc;
    return std::make_tuple(v.major, v.minor, v.patch, v.build, final_release, v.rc);
  };
  return key(a) < key(b);
}

std::optional<Version> parse_version(std::string_view text) {
  std::string word = first_word(strip_title_words(text));
  std::string_view s = word;
  if (s.size() >= 2 && (s[0] == 'v' || s[0] == 'V') && is_digit(s[1])) s.remove_prefix(1);

  Version v;
  int numbers[4] = {};
  size_t count = 0, pos = 0;
  char sep = 0;
  for (;;) {
    auto n = read_number(s, pos);
    if (!n) return std::nullopt;
    numbers[count++] = *n;
    if (pos + 1 >= s.size() || !is_digit(s[pos + 1])) break;
    if (s[pos] != '.' && s[pos] != '_') break;
    if (sep != 0 && s[pos] != sep) return std::nullopt;
    if (count == 4) return std::nullopt;
    sep = s[pos++];
  }
  if (count < 3) return std::nullopt;
  v.major = numbers[0];
  v.minor = numbers[1];
  v.patch = numbers[2];
  v.build = numbers[3];

  bool is_rc = false;
  if (!parse_suffix(s.substr(pos), v, is_rc)) return std::nullopt;
  if (is_rc && v.build != 0) return std::nullopt;  // no such numbering; "v2_6_10_6-RC3" is a typo
  if (is_rc) v.cls = ReleaseClass::rc;
  else if ((v.patch >= 50 && v.patch <= 99) || v.build >= 50) v.cls = ReleaseClass::dev;
  else v.cls = ReleaseClass::ga;
  return v;
}

std::vector<ChangeLogRelease> parse_changelog(std::string_view text) {
  auto lines = split_lines(text);
  std::vector<ChangeLogRelease> out;
  for (size_t i = 0; i < lines.size(); ++i)
    if (is_version_line(lines[i])) out.push_back(parse_block(lines, i));
  return out;
}

std::optional<ChangeLogRelease> find_release(const std::vector<ChangeLogRelease>& all,
                                             std::string_view version) {
  for (const auto& r : all)
    if (r.version == version) return r;
  auto wanted = parse_version(version);
  if (!wanted) return std::nullopt;
  for (const auto& r : all)
    if (parse_version(r.version) == wanted) return r;
  return std::nullopt;
}

std::vector<Tag> parse_tag_list(std::string_view text) {
  std::vector<Tag> out;
  for (auto line : split_lines(text)) {
    std::string t = trim(line);
    if (t.empty() || t.front() == '#') continue;
    size_t space = 0;
    while (space < t.size() && !is_space(t[space])) ++space;
    if (space == t.size()) continue;
    auto time = parse_iso_time(trim(std::string_view(t).substr(space)));
    if (!time) continue;
    out.push_back(Tag{t.substr(0, space), *time});
  }
  return out;
}

}  // namespace herald::lustre
