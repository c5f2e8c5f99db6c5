// libFuzzer target: cron expressions and time zones. The input is
// "<expression>\n<time zone>\n<start>" (start in Unix seconds; all optional);
// seeds: tests/fuzz/seeds/cron. Besides crashes, it stops when a parsed
// schedule's next fire time is not strictly after the start, or the fire
// times do not increase.
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "daemon/schedule.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

std::string_view take_line(std::string_view& in) {
  const size_t nl = in.find('\n');
  std::string_view line = in.substr(0, nl);
  in = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  return line;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::string_view expr = take_line(in);
  std::string_view tz = take_line(in);
  if (tz.empty()) tz = "UTC";
  const std::string_view start_text = take_line(in);
  int64_t start = 1'767'225'600;  // 2026-01-01T00:00:00Z
  std::from_chars(start_text.data(), start_text.data() + start_text.size(), start);
  // Years 1970 to 9999: the range the schedule promises.
  start = std::clamp<int64_t>(start, 0, 253'402'300'799 - 86'400 * 366);

  auto s = herald::CronSchedule::parse(expr, tz);
  if (!s) {
    FUZZ_CHECK(!s.error().message.empty());
    return 0;
  }
  int64_t t = start;
  for (int i = 0; i < 4; ++i) {
    const int64_t next = s->next_after(t);
    if (next == herald::CronSchedule::k_never) break;
    FUZZ_CHECK(next > t);
    t = next;
  }
  return 0;
}
