// Small string, time and crypto helpers shared by every stage.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace herald {

std::string trim(std::string_view s);
std::vector<std::string> split(std::string_view s, char sep);
bool starts_with_icase(std::string_view s, std::string_view prefix);
bool iequals(std::string_view a, std::string_view b);
std::string to_lower(std::string_view s);
// Replaces CR, LF, TAB and NUL runs by one space and trims: a one-line value.
std::string one_line(std::string_view s);

// "15m", "30s", "2h", "5d", "1h30m", "250ms" -> milliseconds. nullopt if malformed.
std::optional<int64_t> parse_duration_ms(std::string_view s);
// "1MiB", "512KiB", "10MB", "4096" -> bytes. nullopt if malformed.
std::optional<int64_t> parse_size(std::string_view s);

// "2026-01-31T12:00:00Z" (RFC 3339 in UTC) or Unix seconds -> Unix seconds.
std::optional<int64_t> parse_utc_time(const std::string& text);
// Unix seconds -> "2025-12-02T18:19:20Z".
std::string format_rfc3339(int64_t t);
// Unix seconds -> "Tue, 02 Dec 2025 18:19:20 +0000" (RFC 5322 Date).
std::string format_rfc5322(int64_t t);
// Days since 1970-01-01 for a proleptic Gregorian date.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);

// Cryptographically random bytes as lowercase hex (2*n characters).
std::string random_hex(size_t n);
std::string sha256_hex(std::string_view data);
std::string hmac_sha256_hex(std::string_view key, std::string_view data);
std::string base64_encode(std::string_view data);
// &, <, > and " as HTML entities: text safe in an element or a quoted attribute.
std::string html_escape(std::string_view s);
// RFC 3986 percent-encoding of everything but unreserved characters.
std::string percent_encode(std::string_view s);
// Constant-time comparison of two strings (length leaks, content does not).
bool constant_time_equals(std::string_view a, std::string_view b);

// Reads a whole file; nullopt if it cannot be read.
std::optional<std::string> read_file(const std::string& path);

}  // namespace herald
