#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "adapters/sources/lustre/release.hpp"
#include "daemon/util.hpp"
#include "tests/support/paths.hpp"

using namespace herald;
using namespace herald::lustre;

namespace {

std::string fixture(const std::string& name) {
  auto text = read_file(herald::test::fixtures_dir() + "/lustre/" + name);
  REQUIRE(text);
  return *text;
}

const ChangeLogRelease& block(const std::vector<ChangeLogRelease>& all, const std::string& v) {
  auto it = std::find_if(all.begin(), all.end(), [&](const auto& r) { return r.version == v; });
  REQUIRE(it != all.end());
  return *it;
}

bool contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

size_t count_version_lines(const std::string& text) {
  static const std::regex k_version_line(R"(^[ \t]+\*[ \t]*version[ \t])");
  size_t n = 0;
  for (const auto& line : split(text, '\n'))
    if (std::regex_search(line, k_version_line)) ++n;
  return n;
}

}  // namespace

TEST_CASE("lustre_release: versions from tags and feed titles", "[lustre_release]") {
  struct Case {
    const char* input;
    const char* text;
    const char* branch;
    ReleaseClass cls;
  };
  const Case cases[] = {
      {"2.15.7", "2.15.7", "2.15", ReleaseClass::ga},
      {"v2_15_0", "2.15.0", "2.15", ReleaseClass::ga},
      {"2.16.0-RC3", "2.16.0-RC3", "2.16", ReleaseClass::rc},
      {"v2_16_0-RC3", "2.16.0-RC3", "2.16", ReleaseClass::rc},
      {"2.17.57", "2.17.57", "2.17", ReleaseClass::dev},
      {"Lustre 2.15.7", "2.15.7", "2.15", ReleaseClass::ga},
      {"lustre-2.15.7", "2.15.7", "2.15", ReleaseClass::ga},
      {"refs/tags/2.15.7", "2.15.7", "2.15", ReleaseClass::ga},
      {"Release 2.15.7", "2.15.7", "2.15", ReleaseClass::ga},
      {"  Lustre 2.16.1 released", "2.16.1", "2.16", ReleaseClass::ga},
      {"refs/tags/v2_12_0-RC4", "2.12.0-RC4", "2.12", ReleaseClass::rc},
      {"v2.15.7", "2.15.7", "2.15", ReleaseClass::ga},
      {"2.10.0-rc1", "2.10.0-RC1", "2.10", ReleaseClass::rc},
      {"1.8.6_RC1", "1.8.6-RC1", "1.8", ReleaseClass::rc},
      {"v2_1_0_0_RC1", "2.1.0-RC1", "2.1", ReleaseClass::rc},
      {"2.1.0-RC0", "2.1.0-RC0", "2.1", ReleaseClass::rc},
      {"v2_3_50_0", "2.3.50", "2.3", ReleaseClass::dev},
      {"2.2.99", "2.2.99", "2.2", ReleaseClass::dev},
      {"2.2.49", "2.2.49", "2.2", ReleaseClass::ga},
      {"2_6_93", "2.6.93", "2.6", ReleaseClass::dev},
      {"1.6.0.1", "1.6.0.1", "1.6", ReleaseClass::ga},
      {"v2_5_3_90", "2.5.3.90", "2.5", ReleaseClass::dev},
      {"1.8.9-wc1", "1.8.9", "1.8", ReleaseClass::ga},
      {"v1_8_6_WC", "1.8.6", "1.8", ReleaseClass::ga},
      {"v1_8_7_WC1_RC2", "1.8.7-RC2", "1.8", ReleaseClass::rc},
  };
  for (const auto& c : cases) {
    INFO(c.input);
    auto v = parse_version(c.input);
    REQUIRE(v);
    CHECK(v->text() == c.text);
    CHECK(v->branch() == c.branch);
    CHECK(v->cls == c.cls);
  }
  auto rc3 = parse_version("v2_16_0-RC3");
  REQUIRE(rc3);
  CHECK(rc3->major == 2);
  CHECK(rc3->minor == 16);
  CHECK(rc3->patch == 0);
  CHECK(rc3->rc == 3);
  CHECK(parse_version("2.16.0-RC3") == rc3);
  CHECK(std::string(to_string(ReleaseClass::ga)) == "ga");
  CHECK(std::string(to_string(ReleaseClass::rc)) == "rc");
  CHECK(std::string(to_string(ReleaseClass::dev)) == "dev");
}

TEST_CASE("lustre_release: text without a community version gives nullopt", "[lustre_release]") {
  const char* rejected[] = {
      // not versions
      "", "foo", "2.x", "2.15", "Lustre", "Lustre support matrix", "v2_0_alpha", "GIT_EPOCH_MASTER",
      "GIT_EPOCH_B_RELEASE_1_8_0", "b2_12_1", "2.15_7", "1.2.3.4.5", "2.15.7-RC", "2.15.7-beta",
      "foo 2.15.7", "2.15.7x",
      // site and vendor builds, respins, alphas, the mistyped tag
      "2.0.59-llnl-base", "2.5.1-crt1", "v1_8_0_139_ORNL", "v1_8_1_1_BOM2", "v1_8_1_1_BOM_20100108",
      "1.10.0.33a", "v2_0_0-rc1a", "2.0.0_alpha7", "v2_6_10_6-RC3"};
  for (const char* text : rejected) {
    INFO(text);
    CHECK_FALSE(parse_version(text));
  }
}

TEST_CASE("lustre_release: release order puts candidates before the release", "[lustre_release]") {
  auto v = [](const char* s) {
    auto p = parse_version(s);
    REQUIRE(p);
    return *p;
  };
  CHECK(release_precedes(v("2.16.0-RC3"), v("2.16.0")));
  CHECK_FALSE(release_precedes(v("2.16.0"), v("2.16.0-RC3")));
  CHECK(release_precedes(v("2.16.0-RC0"), v("2.16.0-RC1")));
  CHECK(release_precedes(v("2.16.0-RC5"), v("2.16.1-RC1")));
  CHECK(release_precedes(v("2.15.9"), v("2.15.10")));
  CHECK(release_precedes(v("1.6.0"), v("1.6.0.1")));
  CHECK(release_precedes(v("2.16.0"), v("2.16.50")));
  CHECK(release_precedes(v("2.9.0"), v("2.10.0-RC1")));
  CHECK_FALSE(release_precedes(v("2.15.7"), v("v2_15_7")));
}

TEST_CASE("lustre_release: every line of the real tag list parses or is deliberately rejected",
          "[lustre_release]") {
  std::string text = fixture("tags.txt");
  size_t lines = 0;
  for (const auto& line : split(text, '\n'))
    if (!trim(line).empty()) ++lines;
  REQUIRE(lines == 1230);
  auto tags = parse_tag_list(text);
  REQUIRE(tags.size() == lines);

  // An independent reading of the accepted forms: numbers with one separator, an optional
  // fourth number, an optional Whamcloud "WC" part and an optional RC.
  static const std::regex k_accepted(
      R"(v?(\d+)([._])(\d+)\2(\d+)(?:\2(\d+))?(?:[-_](?:wc|WC)\d*)?(?:[-_](?:RC|rc)(\d+))?)");
  static const std::regex k_deliberate(
      R"(GIT_EPOCH_.*|b\d+_\d+_\d+|v2_0_alpha|.*(ORNL|BOM|llnl|crt|alpha).*|.*\d+a|v2_6_10_6-RC3)");
  std::map<std::string, int> classes;
  for (const auto& tag : tags) {
    INFO(tag.name);
    auto v = parse_version(tag.name);
    std::smatch m;
    bool shaped = std::regex_match(tag.name, m, k_accepted) &&
                  !(m[6].matched && m[5].matched && std::stoi(m[5]) != 0);
    if (!v) {
      CHECK_FALSE(shaped);
      CHECK(std::regex_match(tag.name, k_deliberate));
      ++classes["rejected"];
      continue;
    }
    REQUIRE(shaped);
    CHECK(v->major == std::stoi(m[1]));
    CHECK(v->minor == std::stoi(m[3]));
    CHECK(v->patch == std::stoi(m[4]));
    CHECK(v->build == (m[5].matched ? std::stoi(m[5]) : 0));
    if (m[6].matched) {
      CHECK(v->cls == ReleaseClass::rc);
      CHECK(v->rc == std::stoi(m[6]));
    }
    ++classes[to_string(v->cls)];
  }
  CHECK(classes["ga"] == 267);
  CHECK(classes["rc"] == 321);
  CHECK(classes["dev"] == 613);
  CHECK(classes["rejected"] == 29);

  CHECK(tags.front().name == "0.4.2");
  CHECK(tags.front().time == 1025721544);  // 2002-07-03T18:39:04+00:00
  auto ga = std::find_if(tags.begin(), tags.end(), [](const Tag& t) { return t.name == "2.15.7"; });
  REQUIRE(ga != tags.end());
  CHECK(ga->time == 1749585316);  // 2025-06-10T15:55:16-04:00
  CHECK(tags.back().name == "v2_17_57");
}

TEST_CASE("lustre_release: tag list skips blank, comment and malformed lines", "[lustre_release]") {
  auto tags = parse_tag_list(
      "# name date\n"
      "\n"
      "2.15.7 2025-06-10T15:55:16-04:00\r\n"
      "2.15.6\n"
      "2.15.5 yesterday\n"
      "2.15.4 2025-13-10T15:55:16Z\n"
      "2.15.3 2025-06-10T15:55:16\n"
      "  2.16.0 2024-11-08 12:00:00 +0000  \n"
      "2.17.0 2025-12-30T00:15:44.250Z\n"
      "2.16.1 2024-11-08T12:00:00+0530\n"
      "v2_17_57 2026-08-12T02:11:23-04:00");
  REQUIRE(tags.size() == 5);
  CHECK(tags[0].name == "2.15.7");
  CHECK(tags[0].time == 1749585316);
  CHECK(tags[1].name == "2.16.0");
  CHECK(format_rfc3339(tags[1].time) == "2024-11-08T12:00:00Z");
  CHECK(format_rfc3339(tags[2].time) == "2025-12-30T00:15:44Z");
  CHECK(format_rfc3339(tags[3].time) == "2024-11-08T06:30:00Z");
  CHECK(tags[4].name == "v2_17_57");
  CHECK(format_rfc3339(tags[4].time) == "2026-08-12T06:11:23Z");
  CHECK(parse_tag_list("").empty());
}

TEST_CASE("lustre_release: one ChangeLog block per version line", "[lustre_release]") {
  struct File {
    const char* name;
    size_t blocks;
  };
  for (File f : {File{"ChangeLog.master", 72}, File{"ChangeLog.b2_15", 77},
                 File{"lnet_ChangeLog.master", 20}}) {
    INFO(f.name);
    std::string text = fixture(f.name);
    auto all = parse_changelog(text);
    CHECK(count_version_lines(text) == f.blocks);
    CHECK(all.size() == f.blocks);
    for (const auto& r : all) CHECK_FALSE(r.version.empty());
  }
  auto master = parse_changelog(fixture("ChangeLog.master"));
  CHECK(master.front().version == "2.18.0");
  CHECK(master.back().version == "v0_4_5");
  auto lnet = parse_changelog(fixture("lnet_ChangeLog.master"));
  CHECK(lnet.front().version == "2.14.0");
  for (const auto& r : lnet) {
    CHECK(r.server_kernels.empty());
    CHECK(r.client_kernels.empty());
  }
  CHECK(parse_changelog("").empty());
  CHECK(parse_changelog("no versions here\n\n---\n").empty());
}

TEST_CASE("lustre_release: the 2.15.7 block of b2_15", "[lustre_release]") {
  auto all = parse_changelog(fixture("ChangeLog.b2_15"));
  const auto& r = block(all, "2.15.7");
  CHECK(r.date == "2025-06-10");
  REQUIRE(r.date_unix);
  CHECK(*r.date_unix == 1749513600);
  CHECK(r.server_kernels == std::vector<std::string>{"4.18.0-553.53.1.el8 (RHEL8.10)",
                                                     "4.18.0-513.24.1.el8 (RHEL8.9)"});
  CHECK(r.client_kernels ==
        std::vector<std::string>{"5.14.0-570.17.1.el9 (RHEL9.6)", "5.14.0-503.40.1.el9 (RHEL9.5)",
                                 "5.14.0-427.42.1.el9 (RHEL9.4)", "5.14.0-362.24.1.el9 (RHEL9.3)",
                                 "4.18.0-553.53.1.el8 (RHEL8.10)", "4.18.0-513.24.1.el8 (RHEL8.9)",
                                 "4.18.0-477.27.1.el8 (RHEL8.8)", "5.15.0-88 (Ubuntu 22.04)",
                                 "5.4.0-110 (Ubuntu 20.04)", "6.4.0-150600.23.50 (SLES15 SP6)",
                                 "5.14.21-150500.55.65 (SLES15 SP5)"});
  CHECK(r.server_distros == std::vector<std::string>{"RHEL 8"});
  CHECK(r.client_distros ==
        std::vector<std::string>{"RHEL 9", "RHEL 8", "Ubuntu 22.04", "Ubuntu 20.04", "SLES 15"});
  CHECK(r.e2fsprogs == "1.47.2-wc1");
  CHECK(r.zfs == "2.3.2");
  CHECK(r.notes == std::vector<std::string>{
                       "See https://wiki.whamcloud.com/display/PUB/Lustre+Support+Matrix for "
                       "currently supported client and server kernel versions.",
                       "ldiskfs needs an ldiskfs patch series for that kernel, ZFS does not",
                       "NFS export disabled when stack size < 8192 (32-bit Lustre clients), since "
                       "the NFSv4 export of Lustre filesystem with 4K stack may cause a stack "
                       "overflow. For more information, please refer to bugzilla 17630.",
                       "NFSv4 reexport to 32-bit NFS client nodes requires Lustre client on the "
                       "re-exporting nodes to be mounted with \"32bitapi\" mount option"});
}

TEST_CASE("lustre_release: the 2.15.0 block of b2_15", "[lustre_release]") {
  auto all = parse_changelog(fixture("ChangeLog.b2_15"));
  const auto& r = block(all, "2.15.0");
  CHECK(r.date == "06-16-2022");
  REQUIRE(r.date_unix);
  CHECK(*r.date_unix == 1655337600);
  CHECK(r.server_kernels == std::vector<std::string>{"4.18.0-372.9.1.el8 (RHEL8.6)"});
  CHECK(r.client_kernels == std::vector<std::string>{"4.18.0-372.9.1.el8 (RHEL8.6)",
                                                     "5.4.0-37 (Ubuntu 20.04)",
                                                     "5.3.18-59.27 (SLES15 SP3)"});
  CHECK(r.server_distros == std::vector<std::string>{"RHEL 8"});
  CHECK(r.client_distros == std::vector<std::string>{"RHEL 8", "Ubuntu 20.04", "SLES 15"});
  CHECK(r.e2fsprogs == "1.46.2.wc5");
  CHECK(r.zfs == "2.1.2");
  // The "Other ..." lists are neither kernels of the release nor notes.
  CHECK_FALSE(contains(r.server_kernels, "3.10.0-1160.49.1.el7 (RHEL7.9)"));
  for (const auto& note : r.notes) CHECK(note.find("known to build") == std::string::npos);
}

TEST_CASE("lustre_release: the TBD 2.18.0 block of master with distribution sub-headings",
          "[lustre_release]") {
  auto all = parse_changelog(fixture("ChangeLog.master"));
  const auto& r = block(all, "2.18.0");
  CHECK(r.date == "TBD");
  CHECK_FALSE(r.date_unix);
  CHECK(r.server_kernels == std::vector<std::string>{
                                "6.12.0-211.47.1.el10 (RHEL10.2)",
                                "6.12.0-124.56.1.el10 (RHEL10.1)", "6.12.0-55.43.1.el10 (RHEL10.0)",
                                "5.14.0-687.39.1.el9 (RHEL9.8)", "5.14.0-611.55.1.el9 (RHEL9.7)",
                                "4.18.0-553.155.1.el8 (RHEL8.10)"});
  CHECK(r.server_distros == std::vector<std::string>{"RHEL 10", "RHEL 9", "RHEL 8"});
  CHECK(r.client_kernels.size() == 8);
  CHECK(contains(r.client_kernels, "6.4.0-150700.53.66 (SLES15 SP7)"));
  CHECK(contains(r.client_kernels, "6.8.0-35 (Ubuntu 24.04)"));
  CHECK(r.client_distros ==
        std::vector<std::string>{"RHEL 10", "RHEL 9", "RHEL 8", "SLES 15", "Ubuntu 24.04"});
  CHECK(r.e2fsprogs == "1.47.3-wc3");
  CHECK(r.zfs == "2.4.0");
  CHECK(r.notes.size() == 4);
  for (const auto& note : r.notes) {
    CHECK(note.find("RHEL 10") == std::string::npos);
    CHECK(note.find("-----") == std::string::npos);
  }
}

TEST_CASE("lustre_release: older ChangeLog blocks without sub-headings", "[lustre_release]") {
  auto all = parse_changelog(fixture("ChangeLog.b2_15"));
  const auto& r230 = block(all, "2.3.0");
  CHECK(r230.server_kernels == std::vector<std::string>{"2.6.32-279.5.1.el6 (RHEL6)"});
  CHECK(r230.client_kernels ==
        std::vector<std::string>{"2.6.32-279.5.1.el6 (RHEL6)", "2.6.27.19-5 (SLES11)",
                                 "2.6.18-238.19.1.el5 (RHEL5)", "2.6.16.60-0.69.1 (SLES10)"});
  CHECK(r230.client_distros == std::vector<std::string>{"RHEL 6", "SLES 11", "RHEL 5", "SLES 10"});
  CHECK(r230.e2fsprogs == "1.41.90.wc4");
  CHECK(r230.zfs.empty());

  const auto& r200 = block(all, "2.0.0");
  CHECK(r200.client_kernels.front() == "2.6.18-164.11.1.el5 (RHEL 5)");  // trailing comma cut
  CHECK(r200.client_distros ==
        std::vector<std::string>{"RHEL 5", "OEL 5", "SLES 10", "SLES 11", "Fedora 11"});
  CHECK(r200.notes.empty());

  const auto& r2120 = block(all, "2.12.0");
  CHECK(r2120.server_kernels.size() == 8);
  CHECK(r2120.server_kernels.back() == "vanilla linux 4.6.7 (ZFS only)");
  CHECK(contains(r2120.client_kernels, "3.10.0-957.el7 (RHEL7.6)"));  // tab in the file
  CHECK(r2120.server_distros.back() == "vanilla");
  CHECK(r2120.zfs == "0.7.9");
  CHECK(contains(r2120.notes, "Tested with ZFS / SPL version: 0.7.9"));

  const auto& r161 = block(all, "1.6.1");  // "* Support for kernels:" is the server list
  CHECK(r161.server_kernels.size() == 4);
  CHECK(r161.server_distros == std::vector<std::string>{"SLES 9", "RHEL 4", "SLES 10", "vanilla"});
  CHECK(r161.client_kernels == std::vector<std::string>{"2.6.16 - 2.6.22 vanilla (kernel.org)"});
  CHECK(r161.e2fsprogs == "1.39.cfs8");

  const auto& r129 = block(all, "1.2.9");  // "- ..." sub-items are not notes
  CHECK(r129.notes == std::vector<std::string>{"bug fixes", "miscellania"});
}

TEST_CASE("lustre_release: irregular ChangeLog dates", "[lustre_release]") {
  auto master = parse_changelog(fixture("ChangeLog.master"));
  CHECK(block(master, "2.15.0").date == "2022-05-XX");
  CHECK_FALSE(block(master, "2.15.0").date_unix);
  CHECK(block(master, "2.14.0").date == "02-20-2021");
  CHECK(block(master, "2.14.0").date_unix == 1613779200);
  CHECK(block(master, "2.3.0").date == "9-30-2012");
  CHECK(block(master, "2.3.0").date_unix == 1348963200);
  CHECK(block(master, "1.2.9").date == "tbd");
  CHECK_FALSE(block(master, "1.2.9").date_unix);
  CHECK(block(master, "v0_5_5").date == "2002-08-30");  // blank line under the date

  auto b215 = parse_changelog(fixture("ChangeLog.b2_15"));
  CHECK(block(b215, "2.15.3").date == "06-19-2023");  // "'06-19-2023" in the file
  CHECK(block(b215, "2.15.3").date_unix == 1687132800);
  for (const auto& r : b215) {
    INFO(r.version);
    CHECK_FALSE(r.date.empty());
  }

  auto lnet = parse_changelog(fixture("lnet_ChangeLog.master"));
  CHECK(block(lnet, "2.14.0").date == "18-01-2021");  // month 18: not guessed
  CHECK_FALSE(block(lnet, "2.14.0").date_unix);
  CHECK(block(lnet, "2.2.0").date == "TBD");
}

TEST_CASE("lustre_release: find_release by text or by version", "[lustre_release]") {
  auto b215 = parse_changelog(fixture("ChangeLog.b2_15"));
  auto r = find_release(b215, "2.15.7");
  REQUIRE(r);
  CHECK(r->e2fsprogs == "1.47.2-wc1");
  auto tagged = find_release(b215, "v2_15_0");
  REQUIRE(tagged);
  CHECK(tagged->version == "2.15.0");
  CHECK(tagged->zfs == "2.1.2");
  CHECK_FALSE(find_release(b215, "2.18.0"));
  CHECK_FALSE(find_release(b215, "foo"));
  CHECK_FALSE(find_release({}, "2.15.7"));

  auto master = parse_changelog(fixture("ChangeLog.master"));
  auto old = find_release(master, "0.5.5");
  REQUIRE(old);
  CHECK(old->version == "v0_5_5");
  CHECK(find_release(master, "2.18.0")->date == "TBD");
}

TEST_CASE("lustre_release: kernels take the sub-heading when they name no distribution",
          "[lustre_release]") {
  auto all = parse_changelog(
      "2030-01-02 Example\n"
      "       * version 3.0.0\n"
      "       * Server primary kernels built and tested during release cycle:\n"
      "         Debian 13\n"
      "         ---------\n"
      "         6.12.1-1\n"
      "         7.0.1-2 (Fedora 45)\n"
      "       * Recommended ZFS version: 2.4.1\n"
      "\n"
      "Severity   : enhancement\n"
      "Description: 6.1.0 (RHEL 99) is not a header line\n");
  REQUIRE(all.size() == 1);
  CHECK(all[0].date_unix == 1893542400);
  CHECK(all[0].server_kernels == std::vector<std::string>{"6.12.1-1", "7.0.1-2 (Fedora 45)"});
  CHECK(all[0].server_distros == std::vector<std::string>{"Debian 13", "Fedora 45"});
  CHECK(all[0].zfs == "2.4.1");
  CHECK(all[0].notes.empty());
}
