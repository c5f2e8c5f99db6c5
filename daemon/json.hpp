// The one way herald parses JSON from outside (event API and webhook bodies,
// tracker responses): nesting is limited while parsing, so that no deeply
// nested value is ever built (copying or destroying one recurses once per
// level), and errors never quote the input.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "daemon/expected.hpp"

namespace herald {

// Objects and arrays nested deeper than this are refused.
constexpr int k_max_json_depth = 64;

// Parses text. filter, when set, is an nlohmann parser callback that may drop
// members while parsing. Errors are bad_input: "JSON nests deeper than 64
// levels" or "malformed JSON: <what and where>", without any of the input.
Expected<nlohmann::json> parse_json(std::string_view text,
                                    const nlohmann::json::parser_callback_t& filter = nullptr,
                                    int max_depth = k_max_json_depth);

// nlohmann's message without its "[json.exception...]" tag and without the
// "last read: '...'" excerpt, which would copy input text into the message.
std::string json_error_text(const nlohmann::json::exception& e);

}  // namespace herald
