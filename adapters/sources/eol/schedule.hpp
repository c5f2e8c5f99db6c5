// End-of-life schedules: the release cycles of a product and their support
// dates, read from an endoflife.date product file (the YAML front matter of
// its .md page) or from the endoflife.date API v1 (/api/v1/products/P/).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/expected.hpp"

namespace herald::eol {

// A support date as the format writes it: a day, `false` (not decided yet),
// `true` (already over, the day not given), or not written at all.
struct DateField {
  enum class State { absent, undecided, over, day };
  State state = State::absent;
  int64_t days = 0;  // days since 1970-01-01, when state == day

  // "2026-12-31", "false", "true", or "" when absent.
  std::string text() const;
  bool operator==(const DateField&) const = default;
};

// Reads "YYYY-MM-DD" (a real calendar day); nullopt otherwise.
std::optional<int64_t> parse_day(std::string_view text);
// Days since 1970-01-01 -> "YYYY-MM-DD".
std::string format_day(int64_t days);

// One release cycle ("2.15", "9", "22.04").
struct Cycle {
  std::string name;          // releaseCycle, always text: 2.10 stays "2.10"
  std::string release_date;  // "YYYY-MM-DD", or "" when not given
  DateField eoas;            // end of active support (eoas, or the older `support`)
  DateField eol;             // end of life (security support)
  DateField eoes;            // end of extended support (eoes, or `extendedSupport`)
  bool lts = false;          // `lts: true`, or an LTS start date
  std::string latest;        // latest release of the cycle ("2.15.8"), "" when not given
  std::string latest_date;   // its date, "" when not given
  int line = 0;              // where the cycle starts in a product file (0 from the API)
};

struct Product {
  std::string title;          // the file's `title:` or the API's label; may be empty
  std::vector<Cycle> cycles;  // in the source's order (endoflife.date: newest first)
};

// The largest product file or API answer read; a larger one is bad input.
constexpr size_t k_max_schedule_size = 2 * 1024 * 1024;

// Parses a product file: an optional "---" front matter block (what follows its
// closing "---" is the page's text and is not read) holding a `releases:` list
// of mappings. Only this shape of YAML is read: `key: value` lines, block
// lists of mappings, comments, plain, single- and double-quoted scalars.
// Other top-level keys and their nested blocks are skipped, as are unknown
// keys of a release. Errors are bad_input "line N: what is wrong".
Expected<Product> parse_product_file(std::string_view text);

// Parses an endoflife.date API v1 product answer ({"result": {"releases": [...]}}).
// Errors are bad_input naming the release and the field.
Expected<Product> parse_api_v1(std::string_view json_text);

// The schedule as an eol source keeps it in its cursor ({"title", "cycles": [...]}), and
// back from a cursor; nullopt when the cursor is empty or not of that shape.
nlohmann::json to_json(const Product& p);
std::optional<Product> product_from_cursor(const std::string& cursor);

}  // namespace herald::eol
