#include "daemon/notices/notice.hpp"

#include <regex>
#include <set>

#include "daemon/admin/approval.hpp"
#include "daemon/patches/patch_list.hpp"
#include "daemon/util.hpp"

namespace herald {

namespace {

constexpr size_t k_max_title = 200;
constexpr size_t k_max_summary = 4 * 1024;
constexpr size_t k_max_details = 64 * 1024;
constexpr size_t k_max_items = 100;
constexpr size_t k_max_item = 500;

Status string_field(const nlohmann::json& in, const char* name, size_t max, bool required,
                    bool one_line, nlohmann::json& out) {
  if (!in.contains(name)) {
    if (required) return bad_input(std::string("'") + name + "' is required");
    out[name] = "";
    return ok_status();
  }
  const auto& v = in[name];
  if (!v.is_string()) return bad_input(std::string("'") + name + "' must be a string");
  const auto& s = v.get_ref<const std::string&>();
  if (required && trim(s).empty()) return bad_input(std::string("'") + name + "' is empty");
  if (s.size() > max)
    return bad_input(std::string("'") + name + "' is " + std::to_string(s.size()) +
                     " bytes; at most " + std::to_string(max));
  if (one_line && s.find_first_of("\r\n") != std::string::npos)
    return bad_input(std::string("'") + name + "' must be one line");
  out[name] = one_line ? trim(s) : s;
  return ok_status();
}

// An array of strings each matching `pattern` (when given).
Status string_list(const nlohmann::json& in, const char* name, const std::regex* pattern,
                   const char* what, nlohmann::json& out) {
  out[name] = nlohmann::json::array();
  if (!in.contains(name)) return ok_status();
  const auto& v = in[name];
  if (!v.is_array()) return bad_input(std::string("'") + name + "' must be a list of strings");
  if (v.size() > k_max_items)
    return bad_input(std::string("'") + name + "' has more than " +
                     std::to_string(k_max_items) + " entries");
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string at = std::string("'") + name + "'[" + std::to_string(i) + "]";
    if (!v[i].is_string()) return bad_input(at + " must be a string");
    const std::string s = trim(v[i].get<std::string>());
    if (s.empty() || s.size() > k_max_item || s.find_first_of("\r\n") != std::string::npos)
      return bad_input(at + " must be one line of 1 to " + std::to_string(k_max_item) +
                       " characters");
    if (pattern && !std::regex_match(s, *pattern))
      return bad_input(at + ": '" + s + "' is not " + what);
    out[name].push_back(s);
  }
  return ok_status();
}

}  // namespace

Expected<nlohmann::json> notice_fields(const nlohmann::json& in) {
  if (!in.is_object()) return bad_input("'notice' must be an object of the notice's fields");
  static const std::set<std::string> known = {
      "severity", "title",   "summary", "details", "cves",           "affected_versions",
      "affected_branches",   "fixed",   "patches", "patch_list",     "credits",
      "url",                 "revision_reason"};
  for (const auto& [k, v] : in.items())
    if (!known.count(k)) return bad_input("unknown field '" + k + "'");
  nlohmann::json out = nlohmann::json::object();
  if (!in.contains("severity") || !in["severity"].is_string())
    return bad_input("'severity' is required: low, medium, high or critical");
  const std::string sev = in["severity"].get<std::string>();
  if (sev != "low" && sev != "medium" && sev != "high" && sev != "critical")
    return bad_input("'severity' must be low, medium, high or critical, not '" + sev + "'");
  out["severity"] = sev;
  for (auto s : {string_field(in, "title", k_max_title, true, true, out),
                 string_field(in, "summary", k_max_summary, true, false, out),
                 string_field(in, "details", k_max_details, false, false, out),
                 string_field(in, "url", k_max_item, false, true, out),
                 string_field(in, "revision_reason", k_max_summary, false, false, out)})
    if (!s) return s.error();
  if (!out["url"].get<std::string>().empty() &&
      out["url"].get<std::string>().rfind("https://", 0) != 0 &&
      out["url"].get<std::string>().rfind("http://", 0) != 0)
    return bad_input("'url' must start with https:// or http://");
  static const std::regex cve(R"(CVE-\d{4}-\d{4,})");
  static const std::regex branch(R"(\d+\.\d+)");
  for (auto s : {string_list(in, "cves", &cve, "a CVE id (CVE-2026-1234)", out),
                 string_list(in, "affected_versions", nullptr, "", out),
                 string_list(in, "affected_branches", &branch, "a branch (2.15)", out),
                 string_list(in, "credits", nullptr, "", out)})
    if (!s) return s.error();
  static const std::regex version(R"(\d+\.\d+\.\d+(\.\d+)?)");
  out["fixed"] = nlohmann::json::array();
  if (in.contains("fixed")) {
    const auto& f = in["fixed"];
    if (!f.is_array() || f.size() > k_max_items)
      return bad_input("'fixed' must be a list of {\"branch\": \"2.15\", \"version\": \"2.15.7\"}");
    for (size_t i = 0; i < f.size(); ++i) {
      const std::string at = "'fixed'[" + std::to_string(i) + "]";
      if (!f[i].is_object() || !f[i].contains("branch") || !f[i].contains("version") ||
          !f[i]["branch"].is_string() || !f[i]["version"].is_string() || f[i].size() != 2)
        return bad_input(at + " must be {\"branch\": \"2.15\", \"version\": \"2.15.7\"}");
      const std::string b = f[i]["branch"], v = f[i]["version"];
      if (!std::regex_match(b, branch)) return bad_input(at + ": '" + b + "' is not a branch");
      if (!std::regex_match(v, version) || v.rfind(b + ".", 0) != 0)
        return bad_input(at + ": '" + v + "' is not a release of branch " + b);
      out["fixed"].push_back({{"branch", b}, {"version", v}});
    }
  }
  static const std::regex ticket(R"(LU-\d{1,6})");
  out["patches"] = nlohmann::json::array();
  if (in.contains("patches")) {
    const auto& p = in["patches"];
    if (!p.is_array() || p.size() > k_max_items)
      return bad_input("'patches' must be a list of {\"ticket\": \"LU-17000\", \"url\": ...}");
    for (size_t i = 0; i < p.size(); ++i) {
      const std::string at = "'patches'[" + std::to_string(i) + "]";
      if (!p[i].is_object() || !p[i].contains("ticket") || !p[i]["ticket"].is_string())
        return bad_input(at + " needs a 'ticket' (LU-17000)");
      nlohmann::json entry = {{"ticket", p[i]["ticket"]}, {"url", ""}, {"summary", ""}};
      if (!std::regex_match(entry["ticket"].get<std::string>(), ticket))
        return bad_input(at + ": '" + entry["ticket"].get<std::string>() + "' is not an LU ticket");
      for (const auto& [k, v] : p[i].items()) {
        if (k == "ticket") continue;
        if ((k != "url" && k != "summary") || !v.is_string() ||
            v.get_ref<const std::string&>().size() > k_max_item ||
            v.get_ref<const std::string&>().find_first_of("\r\n") != std::string::npos)
          return bad_input(at + ": '" + k + "' must be url or summary, one line");
        entry[k] = v;
      }
      const std::string url = entry["url"];
      if (!url.empty() && url.rfind("https://", 0) != 0 && url.rfind("http://", 0) != 0)
        return bad_input(at + ": 'url' must start with https:// or http://");
      out["patches"].push_back(entry);
    }
  }
  // Citations of the supported critical-patch list, by release and ticket.
  // The rest of an entry (what a notice shown by the API carries, copied from
  // the list) may come back in a revision; it is copied again from the list
  // by the API (cite_patch_list), never taken from the body.
  out["patch_list"] = nlohmann::json::array();
  if (in.contains("patch_list")) {
    const auto& p = in["patch_list"];
    if (!p.is_array() || p.size() > k_max_items)
      return bad_input(
          "'patch_list' must be a list of {\"release\": \"2.15.7\", \"ticket\": \"LU-17000\"}");
    std::set<std::pair<std::string, std::string>> seen;
    for (size_t i = 0; i < p.size(); ++i) {
      const std::string at = "'patch_list'[" + std::to_string(i) + "]";
      const auto& c = p[i];
      if (!c.is_object() || !c.contains("release") || !c["release"].is_string() ||
          !c.contains("ticket") || !c["ticket"].is_string())
        return bad_input(at + " must be {\"release\": \"2.15.7\", \"ticket\": \"LU-17000\"}");
      for (const auto& [k, v] : c.items())
        if (k != "release" && k != "ticket" && k != "change_url" && k != "severity" &&
            k != "summary" && k != "page_url")
          return bad_input(at + ": unknown field '" + k + "' (release and ticket cite an entry)");
      const std::string release = c["release"], t = c["ticket"];
      if (!valid_release(release))
        return bad_input(at + ": '" + one_line(release) + "' is not a release (2.15.7)");
      if (!valid_ticket(t)) return bad_input(at + ": '" + one_line(t) + "' is not an LU ticket");
      if (!seen.insert({release, t}).second)
        return bad_input(at + ": " + t + " of Lustre " + release + " is cited twice");
      out["patch_list"].push_back({{"release", release}, {"ticket", t}});
    }
  }
  return out;
}

Event notice_event(const Notice& n) {
  Event e;
  e.key = "notice:" + n.name();
  e.kind = "security.notice";
  e.source = "notices";
  e.time = n.published_at ? n.published_at : n.publish_at;
  const auto& b = n.body;
  e.severity = b.value("severity", "high");
  e.title = b.value("title", "");
  e.url = b.value("url", "");
  e.summary = b.value("summary", "");
  std::string branches;
  for (const auto& br : b.value("affected_branches", nlohmann::json::array()))
    branches += (branches.empty() ? "" : " ") + br.get<std::string>();
  e.tags["advisory"] = n.name();
  if (!branches.empty()) e.tags["branch"] = branches;
  e.attributes = b;
  e.attributes["id"] = n.advisory;
  e.attributes["revision"] = n.revision;
  e.attributes["withdrawn"] = n.withdrawn;
  e.attributes["published_at"] = e.time;
  if (!e.attributes.contains("revision_reason")) e.attributes["revision_reason"] = "";
  return e;
}

nlohmann::json notice_json(const Notice& n, const SecurityConfig& rule) {
  nlohmann::json j = {{"id", n.name()},
                      {"advisory", n.advisory},
                      {"revision", n.revision},
                      {"state", n.state},
                      {"withdrawn", n.withdrawn},
                      {"author", n.author},
                      {"created_at", format_rfc3339(n.created_at)},
                      {"approvals", n.approvals},
                      {"approvals_counted", counted_approvals(rule.approvals, n.author, n.approvals)},
                      {"approvals_required", rule.approvals},
                      {"notice", n.body}};
  if (n.embargo_until) j["embargo_until"] = format_rfc3339(n.embargo_until);
  if (n.publish_at) j["publish_at"] = format_rfc3339(n.publish_at);
  if (n.published_at) j["published_at"] = format_rfc3339(n.published_at);
  if (!n.published_by.empty()) j["published_by"] = n.published_by;
  return j;
}

}  // namespace herald
