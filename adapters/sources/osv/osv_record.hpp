// OSV records (https://ossf.github.io/osv-schema/): what herald reads of one
// advisory, and the security.advisory proposal made of it.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/event.hpp"
#include "daemon/expected.hpp"

namespace herald::osv {

// The event's summary: the record's details up to this many bytes.
constexpr size_t k_max_details_bytes = 4000;

struct RangeEvent {
  std::string type;   // introduced | fixed | last_affected | limit
  std::string value;  // a version or a commit
};

struct Range {
  std::string type;  // SEMVER | ECOSYSTEM | GIT
  std::string repo;  // GIT ranges
  std::vector<RangeEvent> events;
};

struct Affected {
  std::string name;       // package.name; may be empty (a GIT-only entry)
  std::string ecosystem;  // package.ecosystem
  std::string purl;
  std::vector<Range> ranges;
  std::vector<std::string> versions;
};

struct Reference {
  std::string type;  // ADVISORY | WEB | REPORT | FIX | PACKAGE | ARTICLE | ...
  std::string url;
};

struct Record {
  std::string id, modified, published, withdrawn;  // RFC 3339 text as written
  std::vector<std::string> aliases, related;
  std::string summary, details;
  std::vector<std::string> cvss;  // severity[].score vectors ("CVSS:3.1/AV:N/...")
  std::string severity_label;     // database_specific.severity (or an affected entry's)
  std::vector<Affected> affected;
  std::vector<Reference> references;
};

// One record from its JSON. Errors (bad_input) name the field: "'modified' is missing",
// "'affected[2].ranges[0].events' must be an array".
Expected<Record> parse_record(const nlohmann::json& j);

// The records of a body: one record, an array of records, or {"vulns": [...]} as the OSV
// API answers (an empty object is no record). The JSON is parsed with herald's limits;
// the elements are not checked (parse_record does that, one at a time).
Expected<std::vector<nlohmann::json>> split_document(std::string_view body);

// Whether an affected package's name is listed (case-insensitive); an empty list takes all.
bool matches(const Record& r, const std::vector<std::string>& packages);

// The base score of a CVSS v3.0/v3.1 vector (specification 3.1, section 7) or of a
// CVSS v4.0 vector (CVSS-B, cvss4.hpp). Anything else, or a vector with a metric
// unknown, repeated, missing or of a wrong value, is bad_input saying which.
Expected<double> cvss_base_score(std::string_view vector);

// herald severity of a base score: info (0.0), low, medium, high, critical.
std::string severity_from_score(double score);

// herald severity of a CVSS v3.x base vector; "" when it is not one.
std::string severity_from_cvss3(std::string_view vector);

// How a record's severity is chosen: database_specific.severity when it names a
// level; else the highest base score of severity[]; else "unrated" (no vector
// could be scored, or the record has no rating at all).
struct Rating {
  std::string severity;               // info | low | medium | high | critical | unrated
  std::string basis;                  // what it came from, for the event and the log
  std::vector<std::string> problems;  // "'<vector>': why it was not scored"
};
Rating rate(const Record& r);

// The security.advisory proposal of a record, keyed osv:<id>:<modified>; its
// severity is rate()'s, and the attributes say why (severity_basis, and
// severity_problems when a vector was not scored).
Event advisory_event(const Record& r, const std::string& source,
                     const std::vector<std::string>& packages);

// The record's fields as JSON (the event's attributes).
nlohmann::json to_json(const Record& r);

}  // namespace herald::osv
