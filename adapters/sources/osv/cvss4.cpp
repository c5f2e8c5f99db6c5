// CVSS v4.0 base scoring. The steps are those of the specification's
// section 8.2 ("CVSS v4.0 Scoring"):
//
//  1. the vector's macrovector: one level per equivalence set, EQ1 (AV, PR,
//     UI), EQ2 (AC, AT), EQ3 (VC, VI, VA), EQ4 (SC, SI, SA), EQ5 (E) and EQ6
//     (CR, IR, AR against VC, VI, VA), of which EQ3 and EQ6 are taken jointly;
//  2. the macrovector's score from the published lookup table;
//  3. for each set with a next lower macrovector, the score difference to
//     it, scaled by how far the vector is, in severity steps of 0.1, from the
//     highest-severity vectors of its own macrovector, over the depth of that
//     macrovector; the mean of these is taken off the macrovector's score;
//  4. the result, kept within 0.0-10.0, rounded half up to one decimal.
//
// With threat and environmental metrics Not Defined, E counts as Attacked and
// CR, IR and AR as High (the specification's defaults), and the modified
// metrics fall back to the base ones: EQ5 is then always 0 and EQ4 never 0
// (that needs MSI or MSA Safety), and EQ3/EQ6 is one of 00, 10 and 21, so 36
// of the 270 macrovectors can occur.
// The tables below are complete all the same, as published.
//
// Severity levels are kept as whole steps (1 = 0.1) so that distances add up
// exactly; only the final interpolation is in floating point.
#include "adapters/sources/osv/cvss4.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>
#include <vector>

namespace herald::osv::cvss4 {

namespace {

constexpr std::string_view k_prefix = "CVSS:4.0/";

// Every metric a v4.0 vector may carry, in the specification's order,
// with its allowed values. The first eleven are the mandatory base metrics.
struct MetricDef {
  std::string_view name;
  std::vector<std::string_view> values;
};

const std::vector<MetricDef>& metric_defs() {
  static const std::vector<MetricDef> defs = {
      // Base
      {"AV", {"N", "A", "L", "P"}},
      {"AC", {"L", "H"}},
      {"AT", {"N", "P"}},
      {"PR", {"N", "L", "H"}},
      {"UI", {"N", "P", "A"}},
      {"VC", {"H", "L", "N"}},
      {"VI", {"H", "L", "N"}},
      {"VA", {"H", "L", "N"}},
      {"SC", {"H", "L", "N"}},
      {"SI", {"H", "L", "N"}},
      {"SA", {"H", "L", "N"}},
      // Threat
      {"E", {"X", "A", "P", "U"}},
      // Environmental
      {"CR", {"X", "H", "M", "L"}},
      {"IR", {"X", "H", "M", "L"}},
      {"AR", {"X", "H", "M", "L"}},
      {"MAV", {"X", "N", "A", "L", "P"}},
      {"MAC", {"X", "L", "H"}},
      {"MAT", {"X", "N", "P"}},
      {"MPR", {"X", "N", "L", "H"}},
      {"MUI", {"X", "N", "P", "A"}},
      {"MVC", {"X", "H", "L", "N"}},
      {"MVI", {"X", "H", "L", "N"}},
      {"MVA", {"X", "H", "L", "N"}},
      {"MSC", {"X", "H", "L", "N"}},
      {"MSI", {"X", "S", "H", "L", "N"}},
      {"MSA", {"X", "S", "H", "L", "N"}},
      // Supplemental
      {"S", {"X", "N", "P"}},
      {"AU", {"X", "N", "Y"}},
      {"R", {"X", "A", "U", "I"}},
      {"V", {"X", "D", "C"}},
      {"RE", {"X", "L", "M", "H"}},
      {"U", {"X", "Clear", "Green", "Amber", "Red"}},
  };
  return defs;
}
constexpr size_t k_mandatory = 11;

// The metrics that enter the severity distance, and their levels in steps of 0.1,
// most severe first: AV N=0 A=1 L=2 P=3, ..., SC H=1 L=2 N=3, SI and SA S=0 H=1 ...
enum Dim { AV, PR, UI, AC, AT, VC, VI, VA, SC, SI, SA, CR, IR, AR, k_dims };

struct DimLevels {
  std::string_view name;
  std::string_view order;  // the values, one letter each, from the most severe
  int first;               // the level of order[0]
};
constexpr std::array<DimLevels, k_dims> k_levels = {{
    {"AV", "NALP", 0},
    {"PR", "NLH", 0},
    {"UI", "NPA", 0},
    {"AC", "LH", 0},
    {"AT", "NP", 0},
    {"VC", "HLN", 0},
    {"VI", "HLN", 0},
    {"VA", "HLN", 0},
    {"SC", "HLN", 1},
    {"SI", "SHLN", 0},
    {"SA", "SHLN", 0},
    {"CR", "HML", 0},
    {"IR", "HML", 0},
    {"AR", "HML", 0},
}};

int level(Dim d, char value) {
  const auto& l = k_levels[d];
  return l.first + static_cast<int>(l.order.find(value));
}

// The values scored: one letter per Dim, plus E.
struct Values {
  std::array<char, k_dims> v{};
  char e = 'A';
  char operator[](Dim d) const { return v[d]; }
};

struct Macro {
  int eq1, eq2, eq3, eq4, eq5, eq6;
};

Macro macro_of(const Values& x) {
  Macro m{};
  if (x[AV] == 'N' && x[PR] == 'N' && x[UI] == 'N')
    m.eq1 = 0;
  else if ((x[AV] == 'N' || x[PR] == 'N' || x[UI] == 'N') && x[AV] != 'P')
    m.eq1 = 1;
  else
    m.eq1 = 2;
  m.eq2 = x[AC] == 'L' && x[AT] == 'N' ? 0 : 1;
  if (x[VC] == 'H' && x[VI] == 'H')
    m.eq3 = 0;
  else if (x[VC] == 'H' || x[VI] == 'H' || x[VA] == 'H')
    m.eq3 = 1;
  else
    m.eq3 = 2;
  if (x[SI] == 'S' || x[SA] == 'S')
    m.eq4 = 0;
  else if (x[SC] == 'H' || x[SI] == 'H' || x[SA] == 'H')
    m.eq4 = 1;
  else
    m.eq4 = 2;
  m.eq5 = x.e == 'A' ? 0 : x.e == 'P' ? 1 : 2;
  m.eq6 = (x[CR] == 'H' && x[VC] == 'H') || (x[IR] == 'H' && x[VI] == 'H') ||
                  (x[AR] == 'H' && x[VA] == 'H')
              ? 0
              : 1;
  return m;
}

// The specification's macrovector scores, as FIRST publishes them with its
// CVSS v4.0 calculator (https://github.com/FIRSTdotorg/cvss-v4-calculator,
// cvss_lookup.js), laid out here as a table. One row per EQ1 EQ2 EQ3 (000, 001, 002,
// 010, ..., 212); in a row, EQ4 EQ5 EQ6 = 000, 001, 010, 011, 020, 021, 100, ..., 221.
// EQ3 = 2 with EQ6 = 0 cannot happen (-1: no such macrovector).
constexpr double k_no = -1;
// clang-format off
constexpr std::array<std::array<double, 18>, 18> k_scores = {{
  /*000*/ {10, 9.9, 9.8, 9.5, 9.5, 9.2, 10, 9.6, 9.3, 8.7, 9.1, 8.1, 9.3, 9, 8.9, 8, 8.1, 6.8},
  /*001*/ {9.8, 9.5, 9.5, 9.2, 9, 8.4, 9.3, 9.2, 8.9, 8.1, 8.1, 6.5, 8.8, 8, 7.8, 7, 6.9, 4.8},
  /*002*/ {k_no, 9.2, k_no, 8.2, k_no, 7.2, k_no, 7.9, k_no, 6.9, k_no, 5, k_no, 6.9, k_no, 5.5, k_no, 2.7},
  /*010*/ {9.9, 9.7, 9.5, 9.2, 9.2, 8.5, 9.5, 9.1, 9, 8.3, 8.4, 7.1, 9.2, 8.1, 8.2, 7.1, 7.2, 5.3},
  /*011*/ {9.5, 9.3, 9.2, 8.5, 8.5, 7.3, 9.2, 8.2, 8, 7.2, 7, 5.9, 8.4, 7, 7.1, 5.2, 5, 3},
  /*012*/ {k_no, 8.6, k_no, 7.5, k_no, 5.2, k_no, 7.1, k_no, 5.2, k_no, 2.9, k_no, 6.3, k_no, 2.9, k_no, 1.7},
  /*100*/ {9.8, 9.5, 9.4, 8.7, 9.1, 8.1, 9.4, 8.9, 8.6, 7.4, 7.7, 6.4, 8.7, 7.5, 7.4, 6.3, 6.3, 4.9},
  /*101*/ {9.4, 8.9, 8.8, 7.7, 7.6, 6.7, 8.6, 7.6, 7.4, 5.8, 5.9, 5, 7.2, 5.7, 5.7, 5.2, 5.2, 2.5},
  /*102*/ {k_no, 8.3, k_no, 7, k_no, 5.4, k_no, 6.5, k_no, 5.8, k_no, 2.6, k_no, 5.3, k_no, 2.1, k_no, 1.3},
  /*110*/ {9.5, 9, 8.8, 7.6, 7.6, 7, 9, 7.7, 7.5, 6.2, 6.1, 5.3, 7.7, 6.6, 6.8, 5.9, 5.2, 3},
  /*111*/ {8.9, 7.8, 7.6, 6.7, 6.2, 5.8, 7.4, 5.9, 5.7, 5.7, 4.7, 2.3, 6.1, 5.2, 5.7, 2.9, 2.4, 1.6},
  /*112*/ {k_no, 7.1, k_no, 5.9, k_no, 3, k_no, 5.8, k_no, 2.6, k_no, 1.5, k_no, 2.3, k_no, 1.3, k_no, 0.6},
  /*200*/ {9.3, 8.7, 8.6, 7.2, 7.5, 5.8, 8.6, 7.4, 7.4, 6.1, 5.6, 3.4, 7, 5.4, 5.2, 4, 4, 2.2},
  /*201*/ {8.5, 7.5, 7.4, 5.5, 6.2, 5.1, 7.2, 5.7, 5.5, 4.1, 4.6, 1.9, 5.3, 3.6, 3.4, 1.9, 1.9, 0.8},
  /*202*/ {k_no, 6.4, k_no, 5.1, k_no, 2, k_no, 4.7, k_no, 2.1, k_no, 1.1, k_no, 2.4, k_no, 0.9, k_no, 0.4},
  /*210*/ {8.8, 7.5, 7.3, 5.3, 6, 5, 7.3, 5.5, 5.9, 4, 4.1, 2, 5.4, 4.3, 4.5, 2.2, 2, 1.1},
  /*211*/ {7.5, 5.5, 5.8, 4.5, 4, 2.1, 6.1, 5.1, 4.8, 1.8, 2, 0.9, 4.6, 1.8, 1.7, 0.7, 0.8, 0.2},
  /*212*/ {k_no, 5.3, k_no, 2.4, k_no, 1.4, k_no, 2.4, k_no, 1.2, k_no, 0.5, k_no, 1, k_no, 0.3, k_no, 0.1},
}};
// clang-format on

std::optional<double> lookup(int eq1, int eq2, int eq3, int eq4, int eq5, int eq6) {
  if (eq1 > 2 || eq2 > 1 || eq3 > 2 || eq4 > 2 || eq5 > 2 || eq6 > 1) return std::nullopt;
  const double s = k_scores[static_cast<size_t>((eq1 * 2 + eq2) * 3 + eq3)]
                           [static_cast<size_t>((eq4 * 3 + eq5) * 2 + eq6)];
  if (s < 0) return std::nullopt;
  return s;
}

// The highest-severity vectors of each EQ level, as the specification lists
// them, as the metrics they fix.
using Partial = std::vector<std::pair<Dim, char>>;

Partial partial(std::initializer_list<std::pair<Dim, char>> items) { return Partial(items); }

const std::vector<Partial>& eq1_max(int level) {
  static const std::array<std::vector<Partial>, 3> t = {{
      {partial({{AV, 'N'}, {PR, 'N'}, {UI, 'N'}})},
      {partial({{AV, 'A'}, {PR, 'N'}, {UI, 'N'}}), partial({{AV, 'N'}, {PR, 'L'}, {UI, 'N'}}),
       partial({{AV, 'N'}, {PR, 'N'}, {UI, 'P'}})},
      {partial({{AV, 'P'}, {PR, 'N'}, {UI, 'N'}}), partial({{AV, 'A'}, {PR, 'L'}, {UI, 'P'}})},
  }};
  return t[static_cast<size_t>(level)];
}

const std::vector<Partial>& eq2_max(int level) {
  static const std::array<std::vector<Partial>, 2> t = {{
      {partial({{AC, 'L'}, {AT, 'N'}})},
      {partial({{AC, 'H'}, {AT, 'N'}}), partial({{AC, 'L'}, {AT, 'P'}})},
  }};
  return t[static_cast<size_t>(level)];
}

Partial p36(char vc, char vi, char va, char cr, char ir, char ar) {
  return partial({{VC, vc}, {VI, vi}, {VA, va}, {CR, cr}, {IR, ir}, {AR, ar}});
}

const std::vector<Partial>& eq3eq6_max(int eq3, int eq6) {
  static const std::vector<Partial> t00 = {p36('H', 'H', 'H', 'H', 'H', 'H')};
  static const std::vector<Partial> t01 = {p36('H', 'H', 'L', 'M', 'M', 'H'),
                                           p36('H', 'H', 'H', 'M', 'M', 'M')};
  static const std::vector<Partial> t10 = {p36('L', 'H', 'H', 'H', 'H', 'H'),
                                           p36('H', 'L', 'H', 'H', 'H', 'H')};
  static const std::vector<Partial> t11 = {
      p36('L', 'H', 'L', 'H', 'M', 'H'), p36('L', 'H', 'H', 'H', 'M', 'M'),
      p36('H', 'L', 'H', 'M', 'H', 'M'), p36('H', 'L', 'L', 'M', 'H', 'H'),
      p36('L', 'L', 'H', 'H', 'H', 'M')};
  static const std::vector<Partial> t21 = {p36('L', 'L', 'L', 'H', 'H', 'H')};
  if (eq3 == 0) return eq6 == 0 ? t00 : t01;
  if (eq3 == 1) return eq6 == 0 ? t10 : t11;
  return t21;
}

const std::vector<Partial>& eq4_max(int level) {
  static const std::array<std::vector<Partial>, 3> t = {{
      {partial({{SC, 'H'}, {SI, 'S'}, {SA, 'S'}})},
      {partial({{SC, 'H'}, {SI, 'H'}, {SA, 'H'}})},
      {partial({{SC, 'L'}, {SI, 'L'}, {SA, 'L'}})},
  }};
  return t[static_cast<size_t>(level)];
}

// The depth of each EQ level: the largest severity distance within it, plus one step.
int eq1_depth(int l) { return std::array{1, 4, 5}[static_cast<size_t>(l)]; }
int eq2_depth(int l) { return std::array{1, 2}[static_cast<size_t>(l)]; }
int eq3eq6_depth(int eq3, int eq6) {
  if (eq3 == 0) return eq6 == 0 ? 7 : 6;
  if (eq3 == 1) return 8;
  return 10;
}
int eq4_depth(int l) { return std::array{6, 5, 4}[static_cast<size_t>(l)]; }

// Text from the input for a message: printable ASCII, at most 40 characters.
std::string shown(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 40)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (s.size() > 40) out += "...";
  return out;
}

std::string one_of(const std::vector<std::string_view>& values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += i + 1 == values.size() ? " or " : ", ";
    out += values[i];
  }
  return out;
}

// The vector's metrics, checked; scored values with every non-base metric Not Defined.
Expected<Values> parse(std::string_view vector) {
  if (vector.substr(0, k_prefix.size()) != k_prefix) {
    const size_t slash = vector.find('/');
    return bad_input("a CVSS v4.0 vector starts with 'CVSS:4.0/', not '" +
                     shown(vector.substr(0, slash == std::string_view::npos ? slash : slash + 1)) +
                     "'");
  }
  const auto& defs = metric_defs();
  std::map<std::string_view, std::string_view> given;
  std::string_view rest = vector.substr(k_prefix.size());
  for (size_t n = 1;; ++n) {
    const size_t slash = rest.find('/');
    const std::string_view part = rest.substr(0, slash);
    if (part.empty())
      return bad_input("metric " + std::to_string(n) + " is empty ('//' or a '/' at the end)");
    const size_t colon = part.find(':');
    if (colon == std::string_view::npos)
      return bad_input("'" + shown(part) + "' is not a metric:value pair");
    const std::string_view name = part.substr(0, colon), value = part.substr(colon + 1);
    auto def =
        std::find_if(defs.begin(), defs.end(), [&](const MetricDef& d) { return d.name == name; });
    if (def == defs.end()) return bad_input("unknown metric '" + shown(name) + "'");
    if (std::find(def->values.begin(), def->values.end(), value) == def->values.end())
      return bad_input("'" + shown(part) + "': " + std::string(name) + " takes " +
                       one_of(def->values));
    if (!given.emplace(def->name, value).second)
      return bad_input("metric '" + std::string(name) + "' is given twice");
    if (slash == std::string_view::npos) break;
    rest = rest.substr(slash + 1);
  }
  std::string missing;
  for (size_t i = 0; i < k_mandatory; ++i)
    if (!given.count(defs[i].name))
      missing += (missing.empty() ? "" : ", ") + std::string(defs[i].name);
  if (!missing.empty())
    return bad_input((missing.find(',') == std::string::npos
                          ? "mandatory metric " + missing + " is missing"
                          : "mandatory metrics " + missing + " are missing"));
  Values x;
  for (size_t d = AV; d <= SA; ++d) x.v[d] = given[k_levels[d].name][0];
  x.v[CR] = x.v[IR] = x.v[AR] = 'H';  // Not Defined: High
  x.e = 'A';                          // Not Defined: Attacked
  return x;
}

double round_tenth(double x) {
  // Half up, lifted by a millionth first: the interpolation may land one
  // floating-point unit below a .x5 tie.
  return std::floor((x + 1e-6) * 10 + 0.5) / 10;
}

double score_of(const Values& x) {
  bool no_impact = true;
  for (Dim d : {VC, VI, VA, SC, SI, SA}) no_impact = no_impact && x[d] == 'N';
  if (no_impact) return 0.0;

  const Macro m = macro_of(x);
  const double value = *lookup(m.eq1, m.eq2, m.eq3, m.eq4, m.eq5, m.eq6);

  // The next lower macrovector of each set, when there is one. EQ3 and EQ6 go
  // down together: 00 to 01 or 10 (the higher of the two), 01 and 11 to EQ3 + 1,
  // 10 to EQ6 + 1; 21 is the lowest.
  const auto lower1 = lookup(m.eq1 + 1, m.eq2, m.eq3, m.eq4, m.eq5, m.eq6);
  const auto lower2 = lookup(m.eq1, m.eq2 + 1, m.eq3, m.eq4, m.eq5, m.eq6);
  std::optional<double> lower36;
  if (m.eq3 == 0 && m.eq6 == 0) {
    const auto a = lookup(m.eq1, m.eq2, m.eq3, m.eq4, m.eq5, m.eq6 + 1);
    const auto b = lookup(m.eq1, m.eq2, m.eq3 + 1, m.eq4, m.eq5, m.eq6);
    if (a && b)
      lower36 = std::max(*a, *b);
    else
      lower36 = a ? a : b;
  } else if (m.eq3 == 1 && m.eq6 == 0) {
    lower36 = lookup(m.eq1, m.eq2, m.eq3, m.eq4, m.eq5, m.eq6 + 1);
  } else if (m.eq6 == 1 && m.eq3 < 2) {
    lower36 = lookup(m.eq1, m.eq2, m.eq3 + 1, m.eq4, m.eq5, m.eq6);
  }
  const auto lower4 = lookup(m.eq1, m.eq2, m.eq3, m.eq4 + 1, m.eq5, m.eq6);
  const auto lower5 = lookup(m.eq1, m.eq2, m.eq3, m.eq4, m.eq5 + 1, m.eq6);

  // The severity distances from the first highest-severity vector of the
  // macrovector that is nowhere less severe than this one (in the order
  // EQ1 x EQ2 x EQ3/EQ6 x EQ4; EQ5 has a single one and no distance).
  std::array<int, k_dims> dist{};
  bool found = false;
  for (const auto& p1 : eq1_max(m.eq1)) {
    for (const auto& p2 : eq2_max(m.eq2)) {
      for (const auto& p36 : eq3eq6_max(m.eq3, m.eq6)) {
        for (const auto& p4 : eq4_max(m.eq4)) {
          bool fits = true;
          for (const Partial* p : {&p1, &p2, &p36, &p4})
            for (const auto& [d, v] : *p) {
              dist[d] = level(d, x[d]) - level(d, v);
              fits = fits && dist[d] >= 0;
            }
          if (fits) {
            found = true;
            break;
          }
        }
        if (found) break;
      }
      if (found) break;
    }
    if (found) break;
  }
  const int d1 = dist[AV] + dist[PR] + dist[UI];
  const int d2 = dist[AC] + dist[AT];
  const int d36 = dist[VC] + dist[VI] + dist[VA] + dist[CR] + dist[IR] + dist[AR];
  const int d4 = dist[SC] + dist[SI] + dist[SA];

  int n = 0;
  double total = 0;
  const auto add = [&](const std::optional<double>& lower, int distance, int depth) {
    if (!lower) return;
    ++n;
    total += (value - *lower) * distance / depth;
  };
  add(lower1, d1, eq1_depth(m.eq1));
  add(lower2, d2, eq2_depth(m.eq2));
  add(lower36, d36, eq3eq6_depth(m.eq3, m.eq6));
  add(lower4, d4, eq4_depth(m.eq4));
  add(lower5, 0, 1);  // EQ5: no distance within a level
  const double score = std::clamp(value - (n == 0 ? 0.0 : total / n), 0.0, 10.0);
  return round_tenth(score);
}

}  // namespace

Expected<std::string> macrovector(std::string_view vector) {
  auto x = parse(vector);
  if (!x) return x.error();
  const Macro m = macro_of(*x);
  std::string out;
  for (int l : {m.eq1, m.eq2, m.eq3, m.eq4, m.eq5, m.eq6}) out += static_cast<char>('0' + l);
  return out;
}

Expected<double> base_score(std::string_view vector) {
  auto x = parse(vector);
  if (!x) return x.error();
  return score_of(*x);
}

std::string rating(double score) {
  if (score >= 9.0) return "critical";
  if (score >= 7.0) return "high";
  if (score >= 4.0) return "medium";
  if (score >= 0.1) return "low";
  return "none";
}

}  // namespace herald::osv::cvss4
