// Which distributions each Lustre branch is built for, read from
// lustre/ChangeLog, and which branches a distribution release concerns.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/sources/eol/schedule.hpp"
#include "adapters/sources/lustre/release.hpp"

namespace herald::eol {

// One Lustre branch's support, from the newest released block of it in the ChangeLogs.
struct BranchSupport {
  std::string branch;                                       // "2.15"
  std::string release;                                      // "2.15.8", the block it comes from
  std::string date;                                         // the block's date as written
  std::vector<std::string> server_distros, client_distros;  // "RHEL 9", "SLES 15", "Ubuntu 22.04"
  std::vector<std::string> server_kernels, client_kernels;  // "5.14.0-503.40.1.el9 (RHEL9.5)"
};

// The newest GA block of each 2.x branch (a block dated "TBD" is not released yet),
// newest branch first. Blocks of every ChangeLog given are considered together.
std::vector<BranchSupport> support_matrix(const std::vector<lustre::ChangeLogRelease>& releases);

// How the ChangeLog names a product's distributions: rhel -> "RHEL", sles -> "SLES",
// ubuntu -> "Ubuntu", fedora -> "Fedora", openeuler -> "openEuler"; "" for other products.
std::string distro_family(std::string_view product);

// Whether a distribution list (with its kernels) names the cycle of a family: "RHEL 9" for
// RHEL 9, "Ubuntu 22.04"; SLES 15.7 needs "SLES 15" and a kernel built for "SLES15 SP7"
// (SLES 15.0: no service pack named); a RHEL minor cycle (9.4) needs "RHEL 9" and a kernel
// built for "RHEL9.4".
bool lists_cycle(const std::vector<std::string>& distros, const std::vector<std::string>& kernels,
                 std::string_view family, std::string_view cycle);

// One distribution release of a branch's list, as the ChangeLog names it.
struct DistroRow {
  std::string label;                 // "RHEL 9.4", "SLES 15 SP6", "Ubuntu 22.04"
  std::string family;                // "RHEL"
  std::string cycle;                 // the schedule's cycle of that release: "9.4", "15.6"
  std::string major_cycle;           // the cycle it belongs to when there is one: "9", "15"
  std::vector<std::string> kernels;  // of that list, built for it
};

// A list's distributions with their kernels: "RHEL 9" once per minor release its kernels
// name ("RHEL9.4" -> "RHEL 9.4"), "SLES 15" once per service pack ("SLES15 SP6" -> "SLES 15
// SP6"), newest first; others as listed ("Ubuntu 22.04"). A RHEL kernel that names no minor
// release stays in a "RHEL 9" row. "vanilla" and other one-word names are not
// distributions and are left out.
std::vector<DistroRow> distro_rows(const std::vector<std::string>& distros,
                                   const std::vector<std::string>& kernels);

// The most specific cycle of a schedule for a row: its own (RHEL "9.4", when the product
// file has minor cycles), else the one it belongs to (RHEL "9"); nullptr when neither is in
// the schedule.
const Cycle* find_distro_cycle(const Product& schedule, const DistroRow& row);

// The matrix as JSON (a list of {branch, release, date, server_distros, client_distros,
// server_kernels, client_kernels}), as an eol source keeps it in its cursor, and back
// (entries that are not of that shape are skipped).
nlohmann::json to_json(const std::vector<BranchSupport>& matrix);
std::vector<BranchSupport> matrix_from_json(const nlohmann::json& j);

}  // namespace herald::eol
