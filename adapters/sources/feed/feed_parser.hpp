// Atom 1.0, RSS 2.0 and RSS 1.0 (RDF) parsing into plain entries.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/expected.hpp"

namespace herald::feed {

struct FeedEntry {
  std::string key;      // stable: id/guid, else resolved link, else "sha256:<hex of title+date>"
  std::string title;    // one line: entities decoded, whitespace folded, no CR/LF
  std::string link;     // absolute URL, resolved against xml:base and the feed URL; without
                        // one, an Atom id that is an http(s) URL or an RSS permalink guid
  int64_t updated = 0;  // Unix seconds UTC; 0 when the entry has no parseable date
  std::string summary;  // plain text (markup stripped), may be empty
  std::string author;
};

struct Feed {
  std::string format;  // "atom", "rss2", "rss1"
  std::string title;
  std::string link;
  std::vector<FeedEntry> entries;  // in document order
  std::vector<std::string> warnings;  // per-entry problems that did not stop parsing
};

// Parses a feed document. base_url is the URL it was fetched from (for
// relative links). Non-UTF-8 documents (UTF-16 by BOM, or the encoding
// declared in the XML declaration: ISO-8859-1 / windows-1252 / US-ASCII, or
// any other charset glibc's iconv knows) are converted to UTF-8; a charset
// iconv does not know is a bad_input error naming it.
// Malformed XML or an unknown root element is a bad_input error whose message
// says what and where (byte offset).
Expected<Feed> parse_feed(std::string_view document, std::string_view base_url);

// What to call an entry: its title; without one, the first words of its
// summary (ending in "…" when cut), else its link, else "(no title)".
std::string display_title(const FeedEntry& entry);

// RFC 3339 / ISO 8601 ("2025-12-02T13:19:20-05:00", "...Z", fractional
// seconds) and RFC 822/1123 dates ("Tue, 02 Dec 2025 18:19:20 GMT", "EST",
// "+0000", single-letter military zones, missing weekday, two-digit years).
// nullopt when unparseable.
std::optional<int64_t> parse_date(std::string_view text);

// Resolves a possibly relative reference against a base URL (RFC 3986).
std::string resolve_url(std::string_view base, std::string_view ref);

}  // namespace herald::feed
