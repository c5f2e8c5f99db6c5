// The support matrix: per branch, the newest released ChangeLog block's primary
// server and client distributions, as lustre::parse_changelog reads them.
#include "adapters/sources/eol/support_matrix.hpp"

#include <algorithm>
#include <cctype>
#include <map>

#include "daemon/util.hpp"

namespace herald::eol {

// "5.14.0-503.40.1.el9 (RHEL9.5)" -> "rhel9.5": the last parenthesis, lower case, no spaces.
static std::string kernel_label(const std::string& kernel) {
  const size_t open = kernel.rfind('('), close = kernel.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return "";
  std::string out;
  for (char c : kernel.substr(open + 1, close - open - 1))
    if (c != ' ') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::vector<BranchSupport> support_matrix(const std::vector<lustre::ChangeLogRelease>& releases) {
  struct Newest {
    lustre::Version version;
    const lustre::ChangeLogRelease* block;
  };
  std::map<std::pair<int, int>, Newest> by_branch;
  for (const auto& rel : releases) {
    if (rel.date.empty() || starts_with_icase(rel.date, "TBD")) continue;
    auto v = lustre::parse_version(rel.version);
    if (!v || v->major != 2 || v->cls != lustre::ReleaseClass::ga || v->patch >= 50) continue;
    auto [it, added] = by_branch.try_emplace({v->major, v->minor}, Newest{*v, &rel});
    if (!added && lustre::release_precedes(it->second.version, *v)) it->second = {*v, &rel};
  }
  std::vector<BranchSupport> out;
  for (auto it = by_branch.rbegin(); it != by_branch.rend(); ++it) {
    const auto& rel = *it->second.block;
    BranchSupport b;
    b.branch = it->second.version.branch();
    b.release = it->second.version.text();
    b.date = rel.date;
    b.server_distros = rel.server_distros;
    b.client_distros = rel.client_distros;
    b.server_kernels = rel.server_kernels;
    b.client_kernels = rel.client_kernels;
    out.push_back(std::move(b));
  }
  return out;
}

std::string distro_family(std::string_view product) {
  static const std::map<std::string, std::string, std::less<>> k_families = {
      {"rhel", "RHEL"},     {"sles", "SLES"},           {"ubuntu", "Ubuntu"},
      {"fedora", "Fedora"}, {"openeuler", "openEuler"},
  };
  auto it = k_families.find(to_lower(product));
  return it == k_families.end() ? "" : it->second;
}

bool lists_cycle(const std::vector<std::string>& distros, const std::vector<std::string>& kernels,
                 std::string_view family, std::string_view cycle) {
  if (family.empty() || cycle.empty()) return false;
  auto has = [&](const std::string& d) {
    return std::find(distros.begin(), distros.end(), d) != distros.end();
  };
  if (family == "RHEL" && cycle.find('.') != std::string_view::npos) {
    // A minor cycle ("9.4"): the list says "RHEL 9", a kernel names "RHEL9.4".
    const std::string major(cycle.substr(0, cycle.find('.')));
    if (!has("RHEL " + major)) return false;
    for (const auto& row : distro_rows({"RHEL " + major}, kernels))
      if (row.cycle == cycle) return true;
    return false;
  }
  if (family != "SLES") return has(std::string(family) + " " + std::string(cycle));
  // SLES cycles are "15.7" (15 SP7); the distribution list says "SLES 15", the kernels the SP.
  const size_t dot = cycle.find('.');
  const std::string major(cycle.substr(0, dot));
  const std::string sp = dot == std::string_view::npos ? "0" : std::string(cycle.substr(dot + 1));
  if (!has("SLES " + major)) return false;
  if (sp == "0") return true;
  for (const auto& k : kernels) {
    const std::string compact = to_lower(k);
    for (const std::string& form :
         {"sles" + major + " sp" + sp + ")", "sles " + major + " sp" + sp + ")",
          "sles" + major + "sp" + sp + ")"})
      if (compact.find(form) != std::string::npos) return true;
  }
  return false;
}

nlohmann::json to_json(const std::vector<BranchSupport>& matrix) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& b : matrix)
    out.push_back({{"branch", b.branch},
                   {"release", b.release},
                   {"date", b.date},
                   {"server_distros", b.server_distros},
                   {"client_distros", b.client_distros},
                   {"server_kernels", b.server_kernels},
                   {"client_kernels", b.client_kernels}});
  return out;
}

std::vector<BranchSupport> matrix_from_json(const nlohmann::json& j) {
  std::vector<BranchSupport> out;
  if (!j.is_array()) return out;
  for (const auto& e : j) {
    try {
      BranchSupport b;
      b.branch = e.at("branch").get<std::string>();
      b.release = e.at("release").get<std::string>();
      b.date = e.value("date", "");
      b.server_distros = e.at("server_distros").get<std::vector<std::string>>();
      b.client_distros = e.at("client_distros").get<std::vector<std::string>>();
      b.server_kernels = e.at("server_kernels").get<std::vector<std::string>>();
      b.client_kernels = e.at("client_kernels").get<std::vector<std::string>>();
      out.push_back(std::move(b));
    } catch (const nlohmann::json::exception&) {
    }
  }
  return out;
}

std::vector<DistroRow> distro_rows(const std::vector<std::string>& distros,
                                   const std::vector<std::string>& kernels) {
  std::vector<DistroRow> rows;
  for (const auto& d : distros) {
    const size_t space = d.find(' ');
    if (space == std::string::npos) continue;  // "vanilla": no distribution
    const std::string family = d.substr(0, space), version = d.substr(space + 1);
    std::string key;
    for (char c : d)
      if (c != ' ') key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (family == "SLES") {
      // One row per service pack the kernels name ("sles15sp6").
      std::map<int, std::vector<std::string>> sps;
      for (const auto& k : kernels) {
        const std::string l = kernel_label(k);
        if (l.rfind(key + "sp", 0) != 0) continue;
        const std::string sp = l.substr(key.size() + 2);
        if (!sp.empty() && std::all_of(sp.begin(), sp.end(), ::isdigit))
          sps[std::stoi(sp)].push_back(k);
      }
      for (auto it = sps.rbegin(); it != sps.rend(); ++it)
        rows.push_back({d + " SP" + std::to_string(it->first), family,
                        version + "." + std::to_string(it->first), version, it->second});
      continue;
    }
    if (family == "RHEL") {
      // One row per minor release the kernels name ("rhel9.4"); the kernels naming none
      // ("RHEL9", or a sub-heading only) in a row of the major release.
      std::map<int, std::vector<std::string>, std::greater<>> minors;
      std::vector<std::string> major_only;
      bool listed = false;
      for (const auto& k : kernels) {
        const std::string l = kernel_label(k);
        if (l.rfind(key, 0) != 0) continue;
        const std::string rest = l.substr(key.size());
        if (rest.empty()) {
          major_only.push_back(k);
          listed = true;
        } else if (rest.size() > 1 && rest[0] == '.' &&
                   std::all_of(rest.begin() + 1, rest.end(), ::isdigit)) {
          minors[std::stoi(rest.substr(1))].push_back(k);
          listed = true;
        }
      }
      for (const auto& [minor, ks] : minors)
        rows.push_back({d + "." + std::to_string(minor), family,
                        version + "." + std::to_string(minor), version, ks});
      if (!major_only.empty() || !listed) rows.push_back({d, family, version, "", major_only});
      continue;
    }
    DistroRow row{d, family, version, "", {}};
    for (const auto& k : kernels) {
      const std::string l = kernel_label(k);
      if (l == key || (l.rfind(key, 0) == 0 && l.size() > key.size() && l[key.size()] == '.'))
        row.kernels.push_back(k);
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

const Cycle* find_distro_cycle(const Product& schedule, const DistroRow& row) {
  for (const std::string* name : {&row.cycle, &row.major_cycle}) {
    if (name->empty()) continue;
    for (const auto& c : schedule.cycles)
      if (c.name == *name) return &c;
  }
  return nullptr;
}

}  // namespace herald::eol
