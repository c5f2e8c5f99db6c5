// The Lustre release model: versions from tags and titles, and what the
// lustre/ChangeLog says about a release.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace herald::lustre {

enum class ReleaseClass { ga, rc, dev };
const char* to_string(ReleaseClass c);  // "ga", "rc", "dev"

struct Version {
  int major = 0, minor = 0, patch = 0;
  int rc = 0;  // 0 when not a release candidate; N for -RCN ("-RC0" exists: rc 0, class rc)
  ReleaseClass cls = ReleaseClass::ga;
  int build = 0;  // fourth number of old tags ("1.6.0.1", "v2_5_3_90"); 0 when absent
  std::string text() const;    // "2.15.7", "2.16.0-RC3", "1.6.0.1"
  std::string branch() const;  // "2.15"
  // Member-wise order (rc before build); it is NOT release order: use release_precedes.
  auto operator<=>(const Version&) const = default;
};

// True when a was released before b in Lustre's numbering: 2.16.0-RC3 < 2.16.0 < 2.16.0.1
// < 2.16.50. RC0 precedes RC1.
bool release_precedes(const Version& a, const Version& b);

// Parses a tag or entry title: "2.15.7", "v2_15_0", "2.16.0-RC3", "v2_16_0-RC3",
// "2.17.57", "Lustre 2.15.7", "lustre-2.15.7", "refs/tags/2.15.7", "Release 2.15.7",
// "v2.15.7", "Lustre 2.15.7 released". Patch levels 50..99 and fourth numbers of 50
// and more ("v2_5_3_90") are development builds (class dev) unless an RC suffix
// ("-RC2", "_RC2", "-rc2") says otherwise. A trailing fourth "_0"/".0" is dropped
// ("v2_3_50_0" is 2.3.50). Whamcloud's 1.8 maintenance tags ("1.8.9-wc1", "v1_8_6_WC1",
// "v1_8_7_WC1_RC2") are read as the community 1.8.x release they were. nullopt for
// text without a version ("foo", "2.x", "2.15", "v2_0_alpha", "GIT_EPOCH_MASTER", branch tags
// "b2_12_1") and, deliberately, for site and vendor builds and respins that are not
// community releases: "-llnl-base", "-crt1", "_ORNL", "_BOM2", "2.0.0_alpha7", "1.10.0.33a",
// "v2_0_0-rc1a", and an RC of a four-number build (the mistyped "v2_6_10_6-RC3"). Version
// numbers must use one separator ('.' or '_').
std::optional<Version> parse_version(std::string_view text);

// One release's block from lustre/ChangeLog.
struct ChangeLogRelease {
  std::string version;  // "2.15.7"; as written in old blocks ("v0_5_5")
  std::string date;     // as written ("2025-06-10", "02-20-2021", "TBD"), stray quotes cut
  // Midnight UTC of the date, when it is a full date. "MM-DD-YYYY" is month first
  // (Lustre's habit); a month above 12 ("18-01-2021" in lnet/ChangeLog) gives nullopt.
  std::optional<int64_t> date_unix;
  // Kernels of the primary server / client lists ("Server primary kernels built and
  // tested", older "Server known to build on ...", "Support for kernels:"), not of the
  // "Other ... known to build" lists; whitespace collapsed: "5.14.0-503.40.1.el9 (RHEL9.5)".
  std::vector<std::string> server_kernels;
  std::vector<std::string> client_kernels;
  // Distributions of those kernels from the parenthesised names (else the "RHEL 9" /
  // "------" sub-heading): family and major release, two numbers for Ubuntu and openEuler,
  // first-seen order, no duplicates: "RHEL 9", "SLES 15", "Ubuntu 22.04", "Fedora 18"
  // (from "FC18"), "openEuler 22.03", "vanilla" (kernel.org, ZFS or ldiskfs builds).
  std::vector<std::string> server_distros;
  std::vector<std::string> client_distros;
  std::string e2fsprogs;  // recommended e2fsprogs version, e.g. "1.47.1-wc1" ("or newer" cut)
  std::string zfs;        // recommended ZFS (or "ZFS / SPL") version, e.g. "2.1.16"
  // Other "* ..." items of the header, continuation lines joined into one line; the
  // kernel list headings, the e2fsprogs and ZFS lines and "- ..." sub-items are not notes.
  std::vector<std::string> notes;
};

// Parses a whole ChangeLog. Irregular blocks (dates like "TBD", "2022-05-XX",
// "02-20-2021", a stray quote) are tolerated; blocks without a version are
// skipped. One entry per "* version" line, in file order (newest first in the real file).
std::vector<ChangeLogRelease> parse_changelog(std::string_view text);

// The block for a version ("2.15.7"), if the ChangeLog has it: the exact text, else the
// first block whose version parses to the same Version ("0.5.5" finds the "v0_5_5" block).
std::optional<ChangeLogRelease> find_release(const std::vector<ChangeLogRelease>& all,
                                             std::string_view version);

// A line of tags.txt / `git for-each-ref` style "<tag> <ISO date>".
struct Tag {
  std::string name;  // as written, whether or not it is a version
  int64_t time = 0;  // Unix seconds
};
// Lines "<tag> <RFC 3339 date>" ("2.15.7 2025-06-10T16:44:11-06:00"; a space instead of
// the 'T', fractions and "+0000" offsets are accepted too). Blank lines, "#" comments and
// malformed lines are skipped. File order.
std::vector<Tag> parse_tag_list(std::string_view text);

}  // namespace herald::lustre
