// What the fuzz targets of tests/fuzz assert besides "no crash, no sanitizer
// report": a failed check names itself on stderr and aborts, which libFuzzer
// reports as a crash and saves the input.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "daemon/event.hpp"

#define FUZZ_CHECK(cond)                                                                 \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);      \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)

namespace herald::fuzz {

inline bool has_line_break(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos;
}

// The store keeps text as JSON, whose dump throws on invalid UTF-8 (e.g. a
// multi-byte character cut in half by a length bound).
inline void check_utf8(const std::string& s) {
  try {
    (void)nlohmann::json(s).dump();
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "not UTF-8: %s\n", ex.what());
    std::abort();
  }
}

// What every stage after a source relies on: a key and a kind, a one-line
// title, a known severity, and an event the store can serialise. An OSV
// advisory whose vectors could not be scored is "unrated": a proposal, held
// for an admin and never routed, so no later stage ranks it.
inline void check_event(const Event& e) {
  FUZZ_CHECK(!e.key.empty());
  FUZZ_CHECK(!e.kind.empty());
  FUZZ_CHECK(!has_line_break(e.title));
  FUZZ_CHECK(e.severity == "info" || e.severity == "low" || e.severity == "medium" ||
             e.severity == "high" || e.severity == "critical" ||
             (e.kind == "security.advisory" && e.severity == "unrated"));
  try {
    (void)to_json(e).dump();
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "event %s does not serialise: %s\n", e.key.c_str(), ex.what());
    std::abort();
  }
}

}  // namespace herald::fuzz
