// CVSS v4.0 base scores (CVSS-B), as FIRST's CVSS v4.0 specification
// (https://www.first.org/cvss/v4-0/specification-document, section 8) gives
// them: a vector falls into a macrovector (equivalence sets EQ1-EQ6), whose
// score comes from the published lookup table, refined by the vector's
// severity distance from the highest-severity vectors of its macrovector.
//
// Only the base metrics are scored. Threat, environmental and supplemental
// metrics are accepted in a vector (their values are checked) but scored as
// Not Defined, so the result is the CVSS-B score whatever else the vector says.
#pragma once

#include <string>
#include <string_view>

#include "daemon/expected.hpp"

namespace herald::osv::cvss4 {

// The six EQ levels of a vector's macrovector, e.g. "000200"; bad_input as for base_score.
Expected<std::string> macrovector(std::string_view vector);

// The CVSS-B score, 0.0 to 10.0 in tenths, of a "CVSS:4.0/AV:N/..." vector. A vector
// that is not one (wrong prefix, unknown metric, bad value, a metric twice, a mandatory
// metric missing) is bad_input naming what is wrong: "unknown metric 'XX'".
Expected<double> base_score(std::string_view vector);

// The specification's qualitative rating of a score: none (0.0), low (0.1-3.9),
// medium (4.0-6.9), high (7.0-8.9), critical (9.0-10.0).
std::string rating(double score);

}  // namespace herald::osv::cvss4
