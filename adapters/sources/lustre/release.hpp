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
  int rc = 0;  // 0 when not a release candidate; N for -RCN
  ReleaseClass cls = ReleaseClass::ga;
  std::string text() const;    // "2.15.7", "2.16.0-RC3"
  std::string branch() const;  // "2.15"
  auto operator<=>(const Version&) const = default;
};

// Parses a tag or entry title: "2.15.7", "v2_15_0", "2.16.0-RC3", "v2_16_0-RC3",
// "2.17.57", "Lustre 2.15.7", "lustre-2.15.7", "refs/tags/2.15.7". Patch
// levels 50..99 are development builds (class dev) unless an RC suffix says
// otherwise. nullopt if the text carries no Lustre version.
std::optional<Version> parse_version(std::string_view text);

// One release's block from lustre/ChangeLog.
struct ChangeLogRelease {
  std::string version;       // "2.15.7"
  std::string date;          // as written ("2025-06-10", "02-20-2021", "TBD")
  std::optional<int64_t> date_unix;  // when the date parsed
  std::vector<std::string> server_kernels;  // "5.14.0-503.40.1.el9 (RHEL9.5)"
  std::vector<std::string> client_kernels;
  std::vector<std::string> server_distros;  // distribution names derived from the kernel sections
  std::vector<std::string> client_distros;
  std::string e2fsprogs;     // recommended e2fsprogs version, e.g. "1.47.1-wc1"
  std::string zfs;           // recommended ZFS version, e.g. "2.1.16"
  std::vector<std::string> notes;  // other "* ..." lines of the header, one line each
};

// Parses a whole ChangeLog. Irregular blocks (dates like "TBD", "2022-05-XX",
// "02-20-2021", a stray quote) are tolerated; blocks without a version are
// skipped. Entries in file order (newest first in the real file).
std::vector<ChangeLogRelease> parse_changelog(std::string_view text);

// The block for a version ("2.15.7"), if the ChangeLog has it.
std::optional<ChangeLogRelease> find_release(const std::vector<ChangeLogRelease>& all,
                                             std::string_view version);

// A line of tags.txt / `git for-each-ref` style "<tag> <ISO date>".
struct Tag {
  std::string name;
  int64_t time = 0;
};
std::vector<Tag> parse_tag_list(std::string_view text);

}  // namespace herald::lustre
