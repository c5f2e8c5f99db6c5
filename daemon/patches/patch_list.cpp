#include "daemon/patches/patch_list.hpp"

#include <algorithm>

#include "daemon/util.hpp"

namespace herald {

namespace {

// Dotted numbers of min..max parts, each 1 to 4 digits.
bool dotted_numbers(std::string_view s, size_t min_parts, size_t max_parts) {
  size_t parts = 0, digits = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '.') {
      if (digits == 0) return false;
      ++parts;
      digits = 0;
    } else if (s[i] >= '0' && s[i] <= '9') {
      if (++digits > 4) return false;
    } else {
      return false;
    }
  }
  return parts >= min_parts && parts <= max_parts;
}

std::vector<long> numbers(const std::string& release) {
  std::vector<long> out;
  for (const auto& part : split(release, '.'))
    out.push_back(std::strtol(part.c_str(), nullptr, 10));
  return out;
}

// The authority of tag: URIs (RFC 4151): the host of [web] base_url.
std::string tag_authority(const Config& cfg) {
  std::string host = cfg.web.base_url;
  if (auto p = host.find("://"); p != std::string::npos) host = host.substr(p + 3);
  host = host.substr(0, host.find_first_of("/:?#"));
  return host.empty() ? "localhost" : to_lower(host);
}

// The year in tag: URIs. Fixed, so that an id never changes.
constexpr const char* k_tag_date = "2026";

std::string release_branch(const std::string& release) {
  return release.substr(0, release.find('.', release.find('.') + 1));
}

Expected<std::string> string_field(const nlohmann::json& body, const char* name, size_t max) {
  if (!body.contains(name)) return bad_input(std::string("\"") + name + "\" is missing");
  const auto& v = body[name];
  if (!v.is_string()) return bad_input(std::string("\"") + name + "\" must be a string");
  auto s = v.get<std::string>();
  if (s.empty()) return bad_input(std::string("\"") + name + "\" is empty");
  if (s.size() > max)
    return bad_input(std::string("\"") + name + "\" is longer than " + std::to_string(max) +
                     " characters");
  return s;
}

}  // namespace

bool valid_release(std::string_view s) { return dotted_numbers(s, 3, 4); }

bool valid_ticket(std::string_view s) {
  if (s.size() < 4 || s.size() > 10 || s.substr(0, 3) != "LU-" || s[3] == '0') return false;
  return std::all_of(s.begin() + 3, s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool valid_branch(std::string_view s) { return dotted_numbers(s, 2, 2); }

Expected<PatchEntry> patch_entry_from_json(const nlohmann::json& body) {
  PatchEntry e;
  auto release = string_field(body, "release", 20);
  if (!release) return release.error();
  if (!valid_release(*release))
    return bad_input("\"release\" must be a Lustre release such as 2.15.7, not '" +
                     one_line(*release) + "'");
  e.release = *release;
  auto ticket = string_field(body, "ticket", 20);
  if (!ticket) return ticket.error();
  if (!valid_ticket(*ticket))
    return bad_input("\"ticket\" must be an LU ticket such as LU-17000, not '" + one_line(*ticket) +
                     "'");
  e.ticket = *ticket;
  auto url = string_field(body, "change_url", 2000);
  if (!url) return url.error();
  if ((url->rfind("https://", 0) != 0 && url->rfind("http://", 0) != 0) ||
      std::any_of(url->begin(), url->end(), [](unsigned char c) {
        return c <= ' ' || c == 0x7f || c == '"' || c == '<' || c == '>';
      }))
    return bad_input("\"change_url\" must be an http or https URL without spaces");
  e.change_url = *url;
  auto severity = string_field(body, "severity", 20);
  if (!severity) return severity.error();
  if (*severity != "low" && *severity != "medium" && *severity != "high" && *severity != "critical")
    return bad_input("\"severity\" must be low, medium, high or critical, not '" +
                     one_line(*severity) + "'");
  e.severity = *severity;
  auto summary = string_field(body, "summary", 200);
  if (!summary) return summary.error();
  e.summary = one_line(*summary);
  if (e.summary.empty()) return bad_input("\"summary\" is empty");
  if (body.contains("branches")) {
    const auto& b = body["branches"];
    if (!b.is_array())
      return bad_input("\"branches\" must be an array of branches such as \"2.15\"");
    if (b.size() > 20) return bad_input("\"branches\" names more than 20 branches");
    for (const auto& v : b) {
      if (!v.is_string() || !valid_branch(v.get<std::string>()))
        return bad_input("\"branches\" must hold branches such as \"2.15\", not " + v.dump());
      if (std::find(e.branches.begin(), e.branches.end(), v.get<std::string>()) == e.branches.end())
        e.branches.push_back(v.get<std::string>());
    }
  }
  if (e.branches.empty()) e.branches.push_back(release_branch(e.release));
  return e;
}

std::string patch_page_url(const Config& cfg, const std::string& release) {
  std::string base = cfg.web.base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/patches/" + release;
}

Event supported_patch_event(const Config& cfg, const PatchEntry& entry, int64_t now) {
  Event e;
  // One event per applied addition: a re-addition is news again.
  e.key = patch_subject(entry.release, entry.ticket);
  if (entry.change_id) e.key += ":" + std::to_string(entry.change_id);
  e.kind = "patch.supported";
  e.source = "patches";
  e.time = now;
  e.severity = entry.severity;
  e.title = one_line("Supported critical patch for Lustre " + entry.release + ": " + entry.ticket +
                     " " + entry.summary);
  // A path alone is no use in a mail or a chat message.
  if (!cfg.web.base_url.empty()) e.url = patch_page_url(cfg, entry.release);
  e.summary = entry.summary;
  std::string branches;
  for (const auto& b : entry.branches) branches += (branches.empty() ? "" : " ") + b;
  e.tags = {{"branch", branches}, {"release", entry.release}, {"ticket", entry.ticket}};
  e.attributes = to_json(entry);
  // Templates cannot join a list; they show this line.
  std::string list;
  for (const auto& b : entry.branches) list += (list.empty() ? "" : ", ") + b;
  e.attributes["branch_list"] = list;
  return e;
}

bool release_newer(const std::string& a, const std::string& b) {
  const auto x = numbers(a), y = numbers(b);
  if (x != y) return x > y;
  return a > b;
}

nlohmann::json release_json(const Config& cfg, const std::string& release,
                            const std::vector<PatchEntry>& supported, int64_t now) {
  nlohmann::json patches = nlohmann::json::array();
  for (const auto& e : supported)
    patches.push_back({{"ticket", e.ticket},
                       {"summary", e.summary},
                       {"severity", e.severity},
                       {"change_url", e.change_url},
                       {"branches", e.branches},
                       {"supported_since", format_rfc3339(e.applied_at)}});
  return {{"release", release},
          {"url", patch_page_url(cfg, release)},
          {"generated_at", format_rfc3339(now)},
          {"patches", std::move(patches)}};
}

std::string release_atom(const Config& cfg, const std::string& release,
                         const std::vector<PatchEntry>& supported, int64_t now) {
  const std::string page = patch_page_url(cfg, release);
  const std::string tag = "tag:" + tag_authority(cfg) + "," + k_tag_date + ":patches/" + release;
  int64_t updated = 0;
  for (const auto& e : supported) updated = std::max(updated, e.applied_at);
  // An empty list has no entry to date it by: it is as new as the answer.
  if (updated == 0) updated = now;
  std::string x =
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
      "<feed xmlns=\"http://www.w3.org/2005/Atom\">\n";
  x += "  <id>" + html_escape(tag) + "</id>\n";
  x += "  <title>Supported critical patches for Lustre " + html_escape(release) + "</title>\n";
  x += "  <updated>" + format_rfc3339(updated) + "</updated>\n";
  x += "  <author><name>herald</name></author>\n";
  x += "  <link rel=\"alternate\" type=\"text/html\" href=\"" + html_escape(page) + "\"/>\n";
  x += "  <link rel=\"self\" type=\"application/atom+xml\" href=\"" + html_escape(page) +
       ".atom\"/>\n";
  for (const auto& e : supported) {
    std::string branches;
    for (const auto& b : e.branches) branches += (branches.empty() ? "" : ", ") + b;
    x += "  <entry>\n";
    x += "    <id>" + html_escape(tag + "/" + e.ticket) + "</id>\n";
    x += "    <title>" + html_escape(e.ticket + ": " + e.summary) + "</title>\n";
    x += "    <updated>" + format_rfc3339(e.applied_at) + "</updated>\n";
    x += "    <link rel=\"alternate\" href=\"" + html_escape(e.change_url) + "\"/>\n";
    x += "    <category term=\"" + html_escape(e.severity) + "\" label=\"severity\"/>\n";
    x += "    <summary type=\"text\">" +
         html_escape("Severity " + e.severity + ". Applies to branches " + branches + ". " +
                     e.summary) +
         "</summary>\n";
    x += "  </entry>\n";
  }
  x += "</feed>\n";
  return x;
}

}  // namespace herald
