// Logging setup: readable lines or JSON lines, on stderr.
#pragma once

#include <string>

namespace herald {

// format: "text" or "json"; level: trace, debug, info, warn, error.
void setup_logging(const std::string& format, const std::string& level);

// Escapes a string for inclusion in a JSON string literal.
std::string json_escape(const std::string& s);

}  // namespace herald
