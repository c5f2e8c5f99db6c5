// CVSS v4.0 base scores (adapters/sources/osv/cvss4.cpp) against published
// vector/score pairs, the macrovector of each EQ level CVSS-B can reach, the
// qualitative rating, and the refusal of malformed vectors.
//
// Where the scores come from: 9.3, 10.0 and 0.0 are FIRST's calculator
// (https://www.first.org/cvss/calculator/4.0: its default vector, the same with
// every subsequent-system impact High, and every impact None); the others are
// from the published test data of RedHatProductSecurity/cvss
// (tests/vectors_simple4, made with that project's port of FIRST's calculator).
// The macrovector of each was worked out by hand from the EQ definitions.
#include <catch2/catch.hpp>

#include <string>

#include "adapters/sources/osv/cvss4.hpp"

using namespace herald;
using herald::osv::cvss4::base_score;
using herald::osv::cvss4::macrovector;
using herald::osv::cvss4::rating;

namespace {

const std::string P = "CVSS:4.0/";

double score(const std::string& v) {
  auto s = base_score(v);
  INFO(v << ": " << (s ? std::string() : s.error().message));
  REQUIRE(s);
  return *s;
}

std::string macro(const std::string& v) {
  auto m = macrovector(v);
  REQUIRE(m);
  return *m;
}

std::string refusal(const std::string& v) {
  auto s = base_score(v);
  REQUIRE_FALSE(s);
  CHECK(s.error().kind == ErrorKind::bad_input);
  return s.error().message;
}

}  // namespace

TEST_CASE("cvss4: published vectors score as FIRST's calculator does", "[osv][cvss4]") {
  struct Case {
    const char* vector;  // after CVSS:4.0/
    double score;
    const char* macro;  // EQ1..EQ6
  };
  const Case cases[] = {
      // FIRST's calculator
      {"AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 9.3, "000200"},
      {"AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:H/SA:H", 10.0, "000100"},
      // EQ1 = 1 (UI:A), EQ1 = 2 (AV:P; and AV:L with nothing None)
      {"AV:N/AC:L/AT:N/PR:N/UI:A/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 8.6, "100200"},
      {"AV:P/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:L/SC:N/SI:N/SA:N", 6.9, "200200"},
      {"AV:L/AC:H/AT:P/PR:L/UI:A/VC:L/VI:L/VA:L/SC:N/SI:N/SA:N", 1.0, "212201"},
      // EQ2 = 1 (AC:H; AT:P)
      {"AV:N/AC:H/AT:N/PR:N/UI:N/VC:H/VI:H/VA:N/SC:L/SI:H/SA:L", 9.4, "010100"},
      {"AV:N/AC:L/AT:P/PR:N/UI:N/VC:H/VI:H/VA:H/SC:H/SI:N/SA:H", 9.5, "010100"},
      // EQ3 = 1 with EQ6 = 0; EQ3 = 2 with EQ6 = 1
      {"AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:H/VA:L/SC:N/SI:H/SA:L", 9.2, "001100"},
      {"AV:N/AC:L/AT:N/PR:N/UI:N/VC:L/VI:L/VA:N/SC:N/SI:L/SA:N", 6.9, "002201"},
      {"AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:H/SI:L/SA:H", 7.9, "002101"},
      // EQ4 = 2 with impacts below High on the subsequent system
      {"AV:N/AC:L/AT:N/PR:L/UI:P/VC:H/VI:L/VA:L/SC:L/SI:L/SA:L", 7.0, "101200"},
      {"AV:N/AC:L/AT:P/PR:N/UI:A/VC:N/VI:N/VA:N/SC:L/SI:N/SA:N", 2.1, "112201"},
      {"AV:P/AC:L/AT:P/PR:L/UI:P/VC:N/VI:N/VA:N/SC:L/SI:N/SA:L", 1.0, "212201"},
      {"AV:P/AC:H/AT:N/PR:N/UI:A/VC:H/VI:H/VA:H/SC:L/SI:L/SA:L", 5.4, "210200"},
      // the Medium boundary, reached from two macrovectors
      {"AV:N/AC:H/AT:N/PR:H/UI:A/VC:N/VI:N/VA:N/SC:N/SI:H/SA:N", 4.0, "112101"},
      {"AV:L/AC:H/AT:P/PR:H/UI:N/VC:L/VI:N/VA:N/SC:H/SI:N/SA:N", 4.0, "112101"},
  };
  for (const auto& c : cases) {
    INFO(c.vector);
    CHECK(score(P + c.vector) == Approx(c.score).margin(1e-9));
    CHECK(macro(P + c.vector) == c.macro);
  }
  // No impact at all is 0.0, whatever the rest.
  CHECK(score(P + "AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N") == 0.0);
}

TEST_CASE("cvss4: threat, environmental and supplemental metrics are accepted as Not Defined",
          "[osv][cvss4]") {
  const std::string base = P + "AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N";
  CHECK(score(base + "/E:U") == 9.3);
  CHECK(score(base + "/E:P/CR:L/IR:L/AR:L/MAV:P/MAC:H/MAT:P/MPR:H/MUI:A/MVC:N/MVI:N/MVA:N/"
                     "MSC:N/MSI:S/MSA:S") == 9.3);
  CHECK(score(base + "/S:P/AU:Y/R:I/V:C/RE:H/U:Amber") == 9.3);
  CHECK(score(base + "/E:X/CR:X/MAV:X/U:X") == 9.3);
  CHECK(macro(base + "/E:U/MSI:S") == "000200");  // EQ5 and EQ4 as Not Defined
  // The metrics in another order are the same vector.
  CHECK(score(P + "SA:N/SI:N/SC:N/VA:H/VI:H/VC:H/UI:N/PR:N/AT:N/AC:L/AV:N") == 9.3);
}

TEST_CASE("cvss4: the qualitative rating", "[osv][cvss4]") {
  CHECK(rating(0.0) == "none");
  CHECK(rating(0.1) == "low");
  CHECK(rating(3.9) == "low");
  CHECK(rating(4.0) == "medium");
  CHECK(rating(6.9) == "medium");
  CHECK(rating(7.0) == "high");
  CHECK(rating(8.9) == "high");
  CHECK(rating(9.0) == "critical");
  CHECK(rating(10.0) == "critical");
}

TEST_CASE("cvss4: a malformed vector is refused saying what is wrong", "[osv][cvss4]") {
  const std::string base = "AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N";
  CHECK(refusal("CVSS:3.1/" + base) ==
        "a CVSS v4.0 vector starts with 'CVSS:4.0/', not 'CVSS:3.1/'");
  CHECK(refusal(base) == "a CVSS v4.0 vector starts with 'CVSS:4.0/', not 'AV:N/'");
  CHECK(refusal("cvss:4.0/" + base) ==
        "a CVSS v4.0 vector starts with 'CVSS:4.0/', not 'cvss:4.0/'");
  CHECK(refusal(P + base + "/XX:Y") == "unknown metric 'XX'");
  CHECK(refusal(P + base + "/S:U/C:H") == "'S:U': S takes X, N or P");
  CHECK(refusal(P + base + "/AV:N") == "metric 'AV' is given twice");
  CHECK(refusal(P + "AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N") ==
        "mandatory metric SA is missing");
  CHECK(refusal(P + "AV:N/AC:L/PR:N/UI:N/VC:H/VI:H/VA:H") ==
        "mandatory metrics AT, SC, SI, SA are missing");
  CHECK(refusal(P + "AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:S/SA:N") ==
        "'SI:S': SI takes H, L or N");  // Safety is MSI's, not SI's
  CHECK(refusal(P + base + "/") == "metric 12 is empty ('//' or a '/' at the end)");
  CHECK(refusal(P + "AV:N//AC:L") == "metric 2 is empty ('//' or a '/' at the end)");
  CHECK(refusal(P + "AVN/AC:L") == "'AVN' is not a metric:value pair");
  CHECK(refusal(P + "AV:n/AC:L") == "'AV:n': AV takes N, A, L or P");
  CHECK(refusal(P + "AV:N/AC:L/X\x01\xff:Y") == "unknown metric 'X\?\?'");
  CHECK(refusal("") == "a CVSS v4.0 vector starts with 'CVSS:4.0/', not ''");
}
