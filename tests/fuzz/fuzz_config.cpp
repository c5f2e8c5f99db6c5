// libFuzzer target: the configuration loader on any TOML text. Seeds:
// tests/fuzz/seeds/config (the shipped configurations, copied, and inputs it found). Besides
// crashes, it stops when a result has both a configuration and errors (or
// neither), or an error lacks its message or names a line outside the text.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "daemon/config.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto r = herald::parse_config(text, "fuzz.toml");
  FUZZ_CHECK(r.config.has_value() == r.errors.empty());
  const auto lines = std::count(text.begin(), text.end(), '\n') + 1;
  for (const auto& e : r.errors) {
    FUZZ_CHECK(!e.message.empty());
    FUZZ_CHECK(e.file == "fuzz.toml");
    FUZZ_CHECK(e.line >= 0 && e.line <= lines);
    FUZZ_CHECK(!herald::fuzz::has_line_break(e.to_string()));
  }
  return 0;
}
