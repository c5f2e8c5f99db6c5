// libFuzzer target: OSV records. The input is split as an OSV body (one
// record, an array, or {"vulns": [...]}) and each element read as a record; a
// record that parses becomes a security.advisory proposal, with and without
// a package filter. Seeds: tests/fixtures/osv. Besides crashes, it stops when
// a refusal has no message, a proposal breaks what the store and later
// stages rely on (fuzz_check.hpp), its key is not osv:<id>:<modified>, a
// record the filter takes has no affected package of that name, or a CVSS
// vector of a record scores outside 0.0-10.0 (or is refused without a
// message); the input itself is also tried as a vector.
#include <cstddef>
#include <cmath>
#include <cstdint>
#include <string>

#include "adapters/sources/osv/cvss4.hpp"
#include "adapters/sources/osv/osv_record.hpp"
#include "daemon/util.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace herald;

namespace {

void check_score(const std::string& vector) {
  auto s = osv::cvss_base_score(vector);
  if (!s) {
    FUZZ_CHECK(!s.error().message.empty());
    return;
  }
  FUZZ_CHECK(*s >= 0.0 && *s <= 10.0);
  FUZZ_CHECK(std::fabs(std::round(*s * 10) - *s * 10) < 1e-6);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  check_score(body);
  if (auto v4 = osv::cvss4::base_score(body)) FUZZ_CHECK(osv::cvss4::macrovector(body).ok());
  auto records = osv::split_document(body);
  if (!records) {
    FUZZ_CHECK(!records.error().message.empty());
    return 0;
  }
  for (const auto& j : *records) {
    auto r = osv::parse_record(j);
    if (!r) {
      FUZZ_CHECK(!r.error().message.empty());
      continue;
    }
    for (const auto& v : r->cvss) check_score(v);
    for (const std::vector<std::string>& packages :
         {std::vector<std::string>{}, std::vector<std::string>{"openssl"}}) {
      if (!osv::matches(*r, packages)) continue;
      Event e = osv::advisory_event(*r, "osv", packages);
      fuzz::check_event(e);
      FUZZ_CHECK(e.key == "osv:" + r->id + ":" + r->modified);
      FUZZ_CHECK(e.kind == "security.advisory");
      if (!packages.empty()) {
        bool named = false;
        for (const auto& a : r->affected) named = named || iequals(a.name, "openssl");
        FUZZ_CHECK(named);
      }
    }
  }
  return 0;
}
