// libFuzzer entry point for the feed parser (not built by default):
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -I. \
//     tests/fuzz/fuzz_feed_parser.cpp adapters/sources/feed/feed_parser.cpp daemon/util.cpp \
//     -lpugixml -lcrypto -o fuzz_feed_parser
//   ./fuzz_feed_parser -max_len=65536 corpus/ tests/fixtures/feeds
// Besides crashes, it traps when a title breaks the one-line promise or a
// summary exceeds its bound.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "adapters/sources/feed/feed_parser.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view doc(reinterpret_cast<const char*>(data), size);
  auto feed = herald::feed::parse_feed(doc, "https://example.org/feeds/a/feed.xml");
  if (feed) {
    for (const auto& e : feed->entries) {
      if (e.title.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos)
        __builtin_trap();
      if (e.summary.size() > 2000) __builtin_trap();
    }
  }
  herald::feed::parse_date(doc.substr(0, 64));
  herald::feed::resolve_url("http://a/b/c/d;p?q", doc.substr(0, 256));
  return 0;
}
