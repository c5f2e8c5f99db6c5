// Release announcement additions. Links are plain expansions of the [lustre]
// templates: a GA release gets its download location and release notes, a GA
// release or a release candidate the place to report problems (testers are
// the ones who should); development builds are not announced. Only a GA
// release carries the upgrade note.
#include "adapters/sources/lustre/announce.hpp"

#include "adapters/sources/lustre/release.hpp"

namespace herald::lustre {

std::string expand_template(std::string_view tmpl, const std::string& version,
                            const std::string& branch) {
  std::string out;
  for (size_t i = 0; i < tmpl.size();) {
    std::string_view rest = tmpl.substr(i);
    if (rest.starts_with("{version}")) {
      out += version;
      i += 9;
    } else if (rest.starts_with("{branch}")) {
      out += branch;
      i += 8;
    } else {
      out += tmpl[i++];
    }
  }
  return out;
}

nlohmann::json announcement_context(const Event& e, const Config& cfg) {
  nlohmann::json out = nlohmann::json::object();
  const auto& a = e.attributes;
  if (e.kind != "release.published" || !a.is_object() || !a.contains("version") ||
      !a["version"].is_string())
    return out;
  const std::string version = a["version"].get<std::string>();
  const std::string branch = a.value("branch", "");
  const bool ga = a.value("is_ga", false), rc = a.value("is_rc", false);
  const LustreConfig& l = cfg.lustre;
  auto link = [&](const char* key, const std::string& tmpl) {
    if (!tmpl.empty()) out[key] = expand_template(tmpl, version, branch);
  };
  if (ga) {
    link("download_url", l.download_url);
    link("release_notes_url", l.release_notes_url);
  }
  if (ga || rc) link("report_url", l.report_url);
  if (ga) {
    // The upgrade note: an LTS maintenance release names its predecessor (the feed source
    // found it); the first release of a branch names the LTS release it works with.
    if (auto prev = a.find("previous_release"); prev != a.end() && prev->is_string()) {
      out["upgrade_previous"] = *prev;
      out["upgrade_branch"] = branch;
    }
    auto v = parse_version(version);
    auto interop = l.lts_interop.find(branch);
    if (v && v->patch == 0 && v->build == 0 && interop != l.lts_interop.end()) {
      out["interop_release"] = interop->second;
      out["interop_branch"] = interop->second.substr(0, interop->second.rfind('.'));
    }
  }
  return out;
}

}  // namespace herald::lustre
