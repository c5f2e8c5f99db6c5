// Release announcement additions. Links are plain expansions of the [lustre]
// templates: a GA release gets its download location and release notes, a GA
// release or a release candidate the place to report problems (testers are
// the ones who should); development builds are not announced. Only a GA
// release carries the upgrade note.
#include "adapters/sources/lustre/announce.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <optional>

#include "adapters/sources/jira/jira_search.hpp"
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

namespace {

// The Jira source the lookup goes through: [lustre] tracker, else the first kind = "jira".
const SourceConfig* tracker_source(const Config& cfg) {
  for (const auto& sc : cfg.sources)
    if (sc.kind == "jira" && (cfg.lustre.tracker.empty() || sc.name == cfg.lustre.tracker))
      return &sc;
  return nullptr;
}

// {"total", "listed", "has_more", "more", "search_url", "groups": [{"priority", "issues":
// [{"key", "summary", "url"}]}]} of the first fixed_max issues; nullopt when the tracker
// did not answer in time (logged) or lists nothing.
std::optional<nlohmann::json> fixed_tickets(const Event& e, const Config& cfg,
                                            const std::string& version, const std::string& branch) {
  const LustreConfig& l = cfg.lustre;
  const SourceConfig* sc = tracker_source(cfg);
  if (!sc || l.fixed_jql.empty()) return std::nullopt;
  const std::string jql = expand_template(l.fixed_jql, version, branch);
  const auto started = std::chrono::steady_clock::now();
  auto found = jira_fixed_issues(*sc, jql, l.fixed_timeout_ms);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - started)
                      .count();
  if (!found) {
    spdlog::warn(
        "release {}: the tickets fixed are left out of the announcement: tracker {} "
        "({}, after {} ms): {}",
        e.key, sc->name, to_string(found.error().kind), ms, found.error().message);
    return std::nullopt;
  }
  for (const auto& w : found->warnings)
    spdlog::warn("release {}: tracker {}: {}", e.key, sc->name, w);
  if (found->restricted > 0)
    spdlog::info("release {}: {} issue(s) with a security level withheld from the list", e.key,
                 found->restricted);
  const size_t total = found->issues.size();
  const size_t listed = std::min(total, static_cast<size_t>(l.fixed_max));
  spdlog::info("release {}: {} ticket(s) fixed, {} listed, from tracker {} in {} ms", e.key, total,
               listed, sc->name, ms);
  if (total == 0) return std::nullopt;
  nlohmann::json groups = nlohmann::json::array();
  for (size_t i = 0; i < listed; ++i) {
    const FixedIssue& f = found->issues[i];
    const std::string priority = f.priority.empty() ? "No priority" : f.priority;
    if (groups.empty() || groups.back()["priority"] != priority)
      groups.push_back({{"priority", priority}, {"issues", nlohmann::json::array()}});
    groups.back()["issues"].push_back({{"key", f.key}, {"summary", f.summary}, {"url", f.url}});
  }
  nlohmann::json out = {{"total", std::to_string(total)},  {"listed", std::to_string(listed)},
                        {"has_more", listed < total},      {"more", std::to_string(total - listed)},
                        {"search_url", found->search_url}, {"groups", std::move(groups)}};
  if (!found->complete) out["total"] = "at least " + std::to_string(total);
  return out;
}

}  // namespace

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
    if (auto fixed = fixed_tickets(e, cfg, version, branch)) out["fixed"] = std::move(*fixed);
  }
  return out;
}

}  // namespace herald::lustre
