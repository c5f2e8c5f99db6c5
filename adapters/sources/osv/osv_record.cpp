// Reading OSV records. Every field is checked for its type as the schema
// gives it; a field of the wrong type fails the record with the field's path,
// so that the source can report the record and go on with the others. Text
// that ends up in an event (title, summary, tags) is cleaned of control
// characters and bounded.
//
// Severity: database_specific.severity (GitHub's CRITICAL/HIGH/MODERATE/LOW,
// also read from an affected entry's database_specific or ecosystem_specific)
// wins; otherwise the highest base score of severity[], computed from the
// vector: CVSS v3.x as FIRST's specification 3.1 section 7 gives it, CVSS v4.0
// as cvss4.cpp does (CVSS-B). A vector that cannot be scored (malformed, or of
// another version) is named in the event's severity_problems attribute; when
// no vector could be scored the record is "unrated", not given a level it does
// not claim; nor is a record with no rating at all.
#include "adapters/sources/osv/osv_record.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

#include "adapters/sources/osv/cvss4.hpp"
#include "adapters/sources/tracker/tracker_events.hpp"
#include "daemon/json.hpp"
#include "daemon/util.hpp"

namespace herald::osv {

namespace {

using json = nlohmann::json;

constexpr size_t k_max_title_bytes = 300;
constexpr size_t k_max_tag_bytes = 1000;

// Reads the fields of one object, collecting the first error with its path.
struct Reader {
  std::string first_error;

  void fail(const std::string& path, const std::string& what) {
    if (first_error.empty()) first_error = "'" + path + "' " + what;
  }
  // An optional string member into out.
  void string(const json& obj, const char* name, const std::string& path, std::string& out,
              bool required = false) {
    auto it = obj.find(name);
    if (it == obj.end() || it->is_null()) {
      if (required) fail(path, "is missing");
      return;
    }
    if (!it->is_string()) return fail(path, "must be a string");
    out = it->get<std::string>();
    if (required && out.empty()) fail(path, "is empty");
  }
  // An optional member that must be an array; nullptr when absent.
  const json* array(const json& obj, const char* name, const std::string& path) {
    auto it = obj.find(name);
    if (it == obj.end() || it->is_null()) return nullptr;
    if (!it->is_array()) {
      fail(path, "must be an array");
      return nullptr;
    }
    return &*it;
  }
  const json* object(const json& obj, const char* name, const std::string& path) {
    auto it = obj.find(name);
    if (it == obj.end() || it->is_null()) return nullptr;
    if (!it->is_object()) {
      fail(path, "must be an object");
      return nullptr;
    }
    return &*it;
  }
  void strings(const json& obj, const char* name, const std::string& path,
               std::vector<std::string>& out) {
    const json* a = array(obj, name, path);
    if (!a) return;
    for (size_t i = 0; i < a->size(); ++i) {
      if (!(*a)[i].is_string())
        return fail(path + "[" + std::to_string(i) + "]", "must be a string");
      out.push_back((*a)[i].get<std::string>());
    }
  }
};

std::string label_severity(std::string label) {
  label = to_lower(label);
  if (label == "critical") return "critical";
  if (label == "high" || label == "important") return "high";
  if (label == "moderate" || label == "medium") return "medium";
  if (label == "low") return "low";
  return "";
}

double roundup(double x) {  // CVSS 3.1 Appendix A: the smallest tenth not below x
  const auto i = static_cast<int64_t>(std::llround(x * 100000));
  if (i % 10000 == 0) return static_cast<double>(i) / 100000.0;
  return (std::floor(static_cast<double>(i) / 10000.0) + 1) / 10.0;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : " ") + s;
  return out;
}

}  // namespace

namespace {

// The metrics of a v3.x vector (specification 3.1, section 6): base, temporal, environmental.
constexpr std::string_view k_cvss3_metrics[] = {"AV",  "AC",  "PR", "UI", "S",  "C",  "I",   "A",
                                                "E",   "RL",  "RC", "CR", "IR", "AR", "MAV", "MAC",
                                                "MPR", "MUI", "MS", "MC", "MI", "MA"};

Expected<double> cvss3_base_score(std::string_view vector) {
  if (vector.rfind("CVSS:3.0/", 0) != 0 && vector.rfind("CVSS:3.1/", 0) != 0)
    return bad_input("a CVSS v3 vector starts with 'CVSS:3.0/' or 'CVSS:3.1/'");
  std::map<std::string, std::string> m;
  const auto parts = split(vector.substr(9), '/');
  for (size_t n = 0; n < parts.size(); ++n) {
    const std::string& part = parts[n];
    auto colon = part.find(':');
    if (part.empty())
      return bad_input("metric " + std::to_string(n + 1) + " is empty ('//' or a '/' at the end)");
    if (colon == std::string::npos)
      return bad_input("'" + tracker::truncate_utf8(tracker::clean_line(part), 40) +
                       "' is not a metric:value pair");
    const std::string name = part.substr(0, colon);
    if (std::find(std::begin(k_cvss3_metrics), std::end(k_cvss3_metrics), name) ==
        std::end(k_cvss3_metrics))
      return bad_input("unknown metric '" + tracker::truncate_utf8(tracker::clean_line(name), 40) +
                       "'");
    if (!m.emplace(name, part.substr(colon + 1)).second)
      return bad_input("metric '" + name + "' is given twice");
  }
  std::string bad;
  const auto pick = [&m, &bad](const char* metric,
                               std::initializer_list<std::pair<const char*, double>> values) {
    auto it = m.find(metric);
    if (it != m.end())
      for (const auto& [name, v] : values)
        if (it->second == name) return v;
    if (bad.empty())
      bad = it == m.end() ? "mandatory metric " + std::string(metric) + " is missing"
                          : "'" + std::string(metric) + ":" +
                                tracker::truncate_utf8(tracker::clean_line(it->second), 20) +
                                "' is not a value of " + metric;
    return -1.0;
  };
  const double s = pick("S", {{"U", 0}, {"C", 1}});
  const bool changed = s == 1;
  const double av = pick("AV", {{"N", 0.85}, {"A", 0.62}, {"L", 0.55}, {"P", 0.2}});
  const double ac = pick("AC", {{"L", 0.77}, {"H", 0.44}});
  const double pr =
      pick("PR", {{"N", 0.85}, {"L", changed ? 0.68 : 0.62}, {"H", changed ? 0.5 : 0.27}});
  const double ui = pick("UI", {{"N", 0.85}, {"R", 0.62}});
  const double c = pick("C", {{"H", 0.56}, {"L", 0.22}, {"N", 0.0}});
  const double i = pick("I", {{"H", 0.56}, {"L", 0.22}, {"N", 0.0}});
  const double a = pick("A", {{"H", 0.56}, {"L", 0.22}, {"N", 0.0}});
  if (!bad.empty()) return bad_input(bad);
  const double iss = 1 - (1 - c) * (1 - i) * (1 - a);
  const double impact =
      changed ? 7.52 * (iss - 0.029) - 3.25 * std::pow(iss - 0.02, 15) : 6.42 * iss;
  const double exploitability = 8.22 * av * ac * pr * ui;
  if (impact <= 0) return 0.0;
  return roundup(std::min((changed ? 1.08 : 1.0) * (impact + exploitability), 10.0));
}

std::string shown_vector(const std::string& v) {
  return tracker::truncate_utf8(tracker::clean_line(v), 200);
}

}  // namespace

Expected<double> cvss_base_score(std::string_view vector) {
  if (vector.rfind("CVSS:3", 0) == 0) return cvss3_base_score(vector);
  if (vector.rfind("CVSS:4", 0) == 0) return cvss4::base_score(vector);
  return bad_input("not a CVSS v3.x or v4.0 vector (only those are scored)");
}

std::string severity_from_score(double score) {
  const std::string r = cvss4::rating(score);  // v3.1 and v4.0 share the scale
  return r == "none" ? "info" : r;
}

std::string severity_from_cvss3(std::string_view vector) {
  auto score = cvss3_base_score(vector);
  return score ? severity_from_score(*score) : "";
}

Rating rate(const Record& r) {
  Rating out;
  double best = -1;
  std::string best_vector;
  for (const auto& v : r.cvss) {
    auto score = cvss_base_score(v);
    if (!score) {
      out.problems.push_back("'" + shown_vector(v) + "': " + score.error().message);
      continue;
    }
    if (*score > best) {
      best = *score;
      best_vector = v;
    }
  }
  if (std::string label = label_severity(r.severity_label); !label.empty()) {
    out.severity = label;
    out.basis = "database_specific.severity " + tracker::clean_line(r.severity_label);
  } else if (best >= 0) {
    char score[8];
    std::snprintf(score, sizeof score, "%.1f", best);
    out.severity = severity_from_score(best);
    out.basis = best_vector.substr(0, 8) + " base score " + score;
  } else if (!out.problems.empty()) {
    out.severity = "unrated";
    out.basis = "no severity[] vector could be scored and there is no database_specific.severity";
  } else {
    out.severity = "unrated";
    out.basis = "the record has no rating: neither severity[] nor database_specific.severity";
  }
  return out;
}

Expected<Record> parse_record(const json& j) {
  if (!j.is_object()) return bad_input("an OSV record must be a JSON object");
  Reader rd;
  Record r;
  rd.string(j, "id", "id", r.id, true);
  rd.string(j, "modified", "modified", r.modified, true);
  rd.string(j, "published", "published", r.published);
  rd.string(j, "withdrawn", "withdrawn", r.withdrawn);
  rd.strings(j, "aliases", "aliases", r.aliases);
  rd.strings(j, "related", "related", r.related);
  rd.string(j, "summary", "summary", r.summary);
  rd.string(j, "details", "details", r.details);
  if (const json* sev = rd.array(j, "severity", "severity")) {
    for (size_t i = 0; i < sev->size(); ++i) {
      const std::string at = "severity[" + std::to_string(i) + "]";
      if (!(*sev)[i].is_object()) {
        rd.fail(at, "must be an object");
        break;
      }
      std::string score;
      rd.string((*sev)[i], "score", at + ".score", score);
      if (!score.empty()) r.cvss.push_back(score);
    }
  }
  if (const json* db = rd.object(j, "database_specific", "database_specific")) {
    auto it = db->find("severity");
    if (it != db->end() && it->is_string()) r.severity_label = it->get<std::string>();
  }
  if (const json* affected = rd.array(j, "affected", "affected")) {
    for (size_t n = 0; n < affected->size() && rd.first_error.empty(); ++n) {
      const json& item = (*affected)[n];
      const std::string at = "affected[" + std::to_string(n) + "]";
      if (!item.is_object()) {
        rd.fail(at, "must be an object");
        break;
      }
      Affected a;
      if (const json* pkg = rd.object(item, "package", at + ".package")) {
        rd.string(*pkg, "name", at + ".package.name", a.name);
        rd.string(*pkg, "ecosystem", at + ".package.ecosystem", a.ecosystem);
        rd.string(*pkg, "purl", at + ".package.purl", a.purl);
      }
      rd.strings(item, "versions", at + ".versions", a.versions);
      for (const char* extra : {"database_specific", "ecosystem_specific"}) {
        auto it = item.find(extra);
        if (r.severity_label.empty() && it != item.end() && it->is_object()) {
          auto s = it->find("severity");
          if (s != it->end() && s->is_string()) r.severity_label = s->get<std::string>();
        }
      }
      if (const json* ranges = rd.array(item, "ranges", at + ".ranges")) {
        for (size_t k = 0; k < ranges->size(); ++k) {
          const json& rj = (*ranges)[k];
          const std::string rat = at + ".ranges[" + std::to_string(k) + "]";
          if (!rj.is_object()) {
            rd.fail(rat, "must be an object");
            break;
          }
          Range range;
          rd.string(rj, "type", rat + ".type", range.type);
          rd.string(rj, "repo", rat + ".repo", range.repo);
          const json* events = rd.array(rj, "events", rat + ".events");
          if (!events && rd.first_error.empty()) rd.fail(rat + ".events", "is missing");
          for (size_t e = 0; events && e < events->size(); ++e) {
            const json& ev = (*events)[e];
            const std::string eat = rat + ".events[" + std::to_string(e) + "]";
            if (!ev.is_object() || ev.empty()) {
              rd.fail(eat, "must be an object such as {\"fixed\": \"1.2.3\"}");
              break;
            }
            for (const auto& [type, value] : ev.items()) {
              if (!value.is_string()) {
                rd.fail(eat + "." + type, "must be a string");
                break;
              }
              range.events.push_back({type, value.get<std::string>()});
            }
          }
          a.ranges.push_back(std::move(range));
        }
      }
      r.affected.push_back(std::move(a));
    }
  }
  if (const json* refs = rd.array(j, "references", "references")) {
    for (size_t n = 0; n < refs->size(); ++n) {
      const std::string at = "references[" + std::to_string(n) + "]";
      if (!(*refs)[n].is_object()) {
        rd.fail(at, "must be an object");
        break;
      }
      Reference ref;
      rd.string((*refs)[n], "type", at + ".type", ref.type);
      rd.string((*refs)[n], "url", at + ".url", ref.url);
      r.references.push_back(std::move(ref));
    }
  }
  if (!rd.first_error.empty())
    return bad_input(
        (r.id.empty() ? std::string("record") : "record " + tracker::clean_line(r.id)) + ": " +
        rd.first_error);
  if (r.id.find_first_of(" \t\r\n") != std::string::npos)
    return bad_input("record: 'id' must not hold white space");
  return r;
}

Expected<std::vector<json>> split_document(std::string_view body) {
  auto doc = parse_json(body);
  if (!doc) return doc.error();
  std::vector<json> out;
  if (doc->is_array()) {
    for (auto& el : *doc) out.push_back(std::move(el));
    return out;
  }
  if (!doc->is_object()) return bad_input("an OSV answer must be an object or an array");
  if (auto it = doc->find("vulns"); it != doc->end() && !doc->contains("id")) {
    if (!it->is_array()) return bad_input("'vulns' must be an array");
    for (auto& el : *it) out.push_back(std::move(el));
    return out;
  }
  if (doc->empty()) return out;  // the API's answer when nothing matched
  out.push_back(std::move(*doc));
  return out;
}

bool matches(const Record& r, const std::vector<std::string>& packages) {
  if (packages.empty()) return true;
  for (const auto& a : r.affected)
    for (const auto& p : packages)
      if (!a.name.empty() && iequals(a.name, p)) return true;
  return false;
}

json to_json(const Record& r) {
  json a = json::object();
  a["id"] = r.id;
  a["modified"] = r.modified;
  if (!r.published.empty()) a["published"] = r.published;
  if (!r.withdrawn.empty()) a["withdrawn"] = r.withdrawn;
  a["aliases"] = r.aliases;
  a["related"] = r.related;
  a["cvss"] = r.cvss;
  if (!r.severity_label.empty()) a["severity_label"] = r.severity_label;
  json affected = json::array();
  for (const auto& af : r.affected) {
    json item{{"name", af.name}, {"ecosystem", af.ecosystem}};
    if (!af.purl.empty()) item["purl"] = af.purl;
    json ranges = json::array();
    for (const auto& range : af.ranges) {
      json rj{{"type", range.type}};
      if (!range.repo.empty()) rj["repo"] = range.repo;
      json events = json::array();
      for (const auto& e : range.events) events.push_back({{e.type, e.value}});
      rj["events"] = std::move(events);
      ranges.push_back(std::move(rj));
    }
    item["ranges"] = std::move(ranges);
    if (!af.versions.empty()) item["versions"] = af.versions;
    affected.push_back(std::move(item));
  }
  a["affected"] = std::move(affected);
  json refs = json::array();
  for (const auto& ref : r.references) refs.push_back({{"type", ref.type}, {"url", ref.url}});
  a["references"] = std::move(refs);
  return a;
}

Event advisory_event(const Record& r, const std::string& source,
                     const std::vector<std::string>& packages) {
  Event e;
  e.kind = "security.advisory";
  e.source = source;
  e.key = "osv:" + r.id + ":" + r.modified;
  e.time = tracker::parse_jira_time(r.modified).value_or(0);
  const std::string id = tracker::clean_line(r.id);
  std::string title = r.summary.empty() ? id : id + ": " + r.summary;
  if (!r.withdrawn.empty()) title = "Withdrawn: " + title;
  e.title = tracker::truncate_utf8(tracker::clean_line(title), k_max_title_bytes);
  e.summary = tracker::clean_text(r.details, k_max_details_bytes);
  for (const char* wanted : {"ADVISORY", "WEB"}) {
    for (const auto& ref : r.references)
      if (ref.type == wanted &&
          (ref.url.rfind("https://", 0) == 0 || ref.url.rfind("http://", 0) == 0)) {
        e.url = tracker::clean_line(ref.url);
        break;
      }
    if (!e.url.empty()) break;
  }
  Rating rating = rate(r);
  e.severity = rating.severity;

  e.tags["advisory"] = id;
  std::vector<std::string> cves;
  for (const auto& alias : r.aliases) cves.push_back(tracker::clean_line(alias));
  if (!cves.empty()) e.tags["aliases"] = tracker::truncate_utf8(join(cves), k_max_tag_bytes);
  // The package the watch was asked about, else every one named, once each.
  std::vector<std::string> names;
  for (const auto& a : r.affected) {
    if (a.name.empty()) continue;
    const bool wanted =
        packages.empty() || std::any_of(packages.begin(), packages.end(),
                                        [&a](const auto& p) { return iequals(p, a.name); });
    const std::string name = tracker::clean_line(a.name);
    if (wanted && std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  if (!names.empty()) e.tags["package"] = tracker::truncate_utf8(join(names), k_max_tag_bytes);
  if (!r.withdrawn.empty()) e.tags["withdrawn"] = "true";
  e.attributes = to_json(r);
  e.attributes["severity_basis"] = rating.basis;
  if (!rating.problems.empty()) e.attributes["severity_problems"] = rating.problems;
  return e;
}

}  // namespace herald::osv
