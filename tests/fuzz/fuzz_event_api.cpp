// libFuzzer target: the body of POST /api/v1/events. Seeds: tests/fuzz/seeds/event_api
// and the JSON of tests/fixtures/tracker. Besides crashes, it stops when a batch has
// both events and an error (or neither), an error index is outside the batch, or an
// accepted event breaks the documented rules (kind alphabet, one-line title and tags,
// known severity, URL without a space) or would not serialise.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "adapters/sources/webhook/webhook.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

bool kind_ok(std::string_view k) {
  for (char c : k)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
      return false;
  return k.size() <= 64;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  auto batch = herald::webhook::parse_event_batch(body);
  if (batch.error) {
    FUZZ_CHECK(batch.events.empty());
    FUZZ_CHECK(!batch.error->reason.empty());
    FUZZ_CHECK(batch.error->index >= -1 && batch.error->index < 10'000);
    return 0;
  }
  FUZZ_CHECK(!batch.events.empty());
  for (const auto& e : batch.events) {
    herald::fuzz::check_event(e);
    FUZZ_CHECK(e.key.size() <= 512);
    FUZZ_CHECK(kind_ok(e.kind));
    FUZZ_CHECK(!e.source.empty());
    FUZZ_CHECK(e.url.find(' ') == std::string::npos);
    FUZZ_CHECK(e.time >= 0);
    for (const auto& [k, v] : e.tags) {
      FUZZ_CHECK(!k.empty() && !herald::fuzz::has_line_break(k));
      FUZZ_CHECK(!herald::fuzz::has_line_break(v));
    }
  }
  return 0;
}
