// Distribution end of life in a release announcement. The schedules are what
// the eol sources stored in their cursors at their last poll, the same for a
// product file and the API, so nothing is fetched at render time and a
// restarted daemon has them at once. A source with a product file that has
// not stored a schedule yet (or a preview without a database) has its file
// read instead.
#include "adapters/sources/eol/announce.hpp"

#include <map>

#include "adapters/sources/eol/schedule.hpp"
#include "adapters/sources/eol/support_matrix.hpp"
#include "daemon/store.hpp"
#include "daemon/util.hpp"

namespace herald::eol {

namespace {

std::vector<std::string> strings(const nlohmann::json& a, const char* key) {
  std::vector<std::string> out;
  if (!a.contains(key) || !a[key].is_array()) return out;
  for (const auto& v : a[key])
    if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

}  // namespace

nlohmann::json announcement_context(const Event& e, const Config& cfg, Store* store) {
  nlohmann::json out = nlohmann::json::object();
  if (e.kind != "release.published" || e.time <= 0 || !e.attributes.is_object()) return out;
  const auto& a = e.attributes;
  if (!a.contains("server_distros") && !a.contains("client_distros")) return out;
  std::map<std::string, Product> by_family;
  for (const auto& sc : cfg.sources) {
    if (sc.kind != "eol") continue;
    const std::string family = distro_family(sc.product);
    if (family.empty() || by_family.count(family)) continue;
    if (store) {
      auto state = store->sources().source_state(sc.name);
      if (state) {
        if (auto p = product_from_cursor(state->cursor)) {
          by_family.emplace(family, std::move(*p));
          continue;
        }
      }
    }
    if (sc.path.empty()) continue;  // the API is not fetched here
    auto text = read_file(sc.file.empty() ? sc.path : sc.file);
    if (!text) continue;
    auto p = parse_product_file(*text);
    if (p) by_family.emplace(family, std::move(*p));
  }
  if (by_family.empty()) return out;
  const int64_t today = e.time / 86'400;
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [role, distros, kernels] :
       {std::tuple{"servers", "server_distros", "server_kernels"},
        std::tuple{"clients", "client_distros", "client_kernels"}}) {
    for (const auto& row : distro_rows(strings(a, distros), strings(a, kernels))) {
      auto it = by_family.find(row.family);
      if (it == by_family.end()) continue;
      if (const Cycle* found = find_distro_cycle(it->second, row)) {
        const Cycle& c = *found;
        std::string status;
        if (c.eol.state == DateField::State::over ||
            (c.eol.state == DateField::State::day && today >= c.eol.days))
          status = "past";
        else if (c.eol.state == DateField::State::day && c.eol.days - today <= 90)
          status = "near";
        if (!status.empty())
          list.push_back({{"distro", row.label},
                          {"role", role},
                          {"eol", c.eol.state == DateField::State::day ? c.eol.text() : "reached"},
                          {"eol_cycle", row.family + " " + c.name},
                          {"status", status},
                          {"is_past", status == "past"}});
      }
    }
  }
  if (list.empty()) return out;
  out["distro_eol"] = std::move(list);
  out["has_distro_eol"] = true;
  return out;
}

}  // namespace herald::eol
