// libFuzzer target: the feed parser (Atom, RSS 2.0, RSS 1.0, encodings) on
// any document, with date parsing and URL resolution on slices of it. Built
// with -DHERALD_FUZZ=ON (tests/fuzz/CMakeLists.txt); seeds: tests/fixtures/feeds.
// Besides crashes, it stops when a title breaks the one-line promise, a
// summary exceeds its bound, or a text is not UTF-8 (the store would refuse it).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "adapters/sources/feed/feed_parser.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view doc(reinterpret_cast<const char*>(data), size);
  auto feed = herald::feed::parse_feed(doc, "https://example.org/feeds/a/feed.xml");
  if (feed) {
    for (const auto& e : feed->entries) {
      FUZZ_CHECK(!herald::fuzz::has_line_break(e.title));
      FUZZ_CHECK(e.summary.size() <= 2000);
      FUZZ_CHECK(!e.key.empty());
      herald::fuzz::check_utf8(e.title);
      herald::fuzz::check_utf8(e.summary);
      herald::fuzz::check_utf8(e.link);
    }
  } else {
    FUZZ_CHECK(!feed.error().message.empty());
  }
  herald::feed::parse_date(doc.substr(0, 64));
  herald::feed::resolve_url("http://a/b/c/d;p?q", doc.substr(0, 256));
  return 0;
}
