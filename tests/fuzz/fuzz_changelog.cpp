// libFuzzer target: the Lustre ChangeLog parser, the tag list and version
// numbers on any text. Seeds: tests/fixtures/lustre. Besides crashes, it
// stops when a block's fields break their one-line promise, a release found
// by version is not one of the blocks, or a parsed version does not compare
// equal to itself.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "adapters/sources/lustre/release.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace l = herald::lustre;
  // One line means no CR or LF; a NUL in the text is kept as it is (the
  // composer encodes bodies, and refuses it in headers).
  const auto has_line_break = [](std::string_view s) {
    return s.find_first_of("\r\n") != std::string_view::npos;
  };
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto all = l::parse_changelog(text);
  for (const auto& r : all) {
    FUZZ_CHECK(!r.version.empty());
    FUZZ_CHECK(!has_line_break(r.version) && !has_line_break(r.date));
    for (const auto* list : {&r.server_kernels, &r.client_kernels, &r.server_distros,
                             &r.client_distros, &r.notes})
      for (const auto& s : *list) FUZZ_CHECK(!has_line_break(s));
    FUZZ_CHECK(!has_line_break(r.e2fsprogs) && !has_line_break(r.zfs));
  }
  if (!all.empty()) {
    auto found = l::find_release(all, all.front().version);
    FUZZ_CHECK(found.has_value());
  }
  for (const auto& tag : l::parse_tag_list(text)) FUZZ_CHECK(!has_line_break(tag.name));
  const std::string_view first = text.substr(0, text.find('\n'));
  if (auto v = l::parse_version(first.substr(0, 128))) {
    FUZZ_CHECK(!l::release_precedes(*v, *v));
  }
  return 0;
}
