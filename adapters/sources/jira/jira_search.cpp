// Jira search requests, and the issues fixed in a release.
//
// The fix-version lookup reads every page of the search, ordered by key so
// that an issue updated while the pages are read does not shift the offsets,
// then sorts by priority itself: Jira orders priorities by its own scheme,
// which a search cannot name portably. The whole lookup has one budget of wall
// time (steady clock); every request's total and connect timeouts are what is
// left of it, so a tracker that accepts the connection and never answers costs
// the budget and no more. An issue with a security level is counted and
// dropped before anything of it is read: its key is not kept, not logged and
// not returned.
#include "adapters/sources/jira/jira_search.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <nlohmann/json.hpp>
#include <set>

#include "adapters/sources/source.hpp"
#include "adapters/sources/tracker/tracker_events.hpp"
#include "daemon/router.hpp"
#include "daemon/util.hpp"

namespace herald {

namespace {

constexpr int k_max_fixed_pages = 40;
constexpr size_t k_max_summary = 300;
constexpr const char* k_fixed_fields = "summary,priority,security";

std::string trimmed_base(std::string base) {
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
}

// "LU-18123": a project key of letters, digits and '_' starting with a letter, '-', a number.
bool valid_key(std::string_view key) {
  size_t dash = key.rfind('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == key.size() || key.size() > 64)
    return false;
  if (!std::isalpha(static_cast<unsigned char>(key[0]))) return false;
  for (size_t i = 0; i < dash; ++i)
    if (!std::isalnum(static_cast<unsigned char>(key[i])) && key[i] != '_') return false;
  for (size_t i = dash + 1; i < key.size(); ++i)
    if (!std::isdigit(static_cast<unsigned char>(key[i]))) return false;
  return true;
}

// The first at most max bytes of s, not cutting a UTF-8 sequence.
std::string utf8_prefix(std::string s, size_t max) {
  if (s.size() <= max) return s;
  size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  s.resize(end);
  return s + "…";
}

const std::string* string_at(const nlohmann::json& j, const char* name) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
}

// Key order: project, then issue number as a number (LU-999 before LU-1000).
bool key_less(const std::string& a, const std::string& b) {
  size_t da = a.rfind('-'), db = b.rfind('-');
  int c = a.compare(0, da, b, 0, db);
  if (c != 0) return c < 0;
  if (a.size() - da != b.size() - db) return a.size() - da < b.size() - db;
  return a.compare(da, std::string::npos, b, db, std::string::npos) < 0;
}

}  // namespace

std::string jql_without_order(const std::string& jql) {
  std::string lower = to_lower(jql);
  auto order = lower.find("order by");
  return trim(order == std::string::npos ? jql : jql.substr(0, order));
}

HttpRequest jira_search_request(const SourceConfig& sc, const std::string& jql, int64_t start_at,
                                int64_t max_results, const std::string& token,
                                std::string_view fields, bool changelog) {
  const std::string base = trimmed_base(sc.base_url);
  std::string url;
  if (sc.api == "v3") {
    url = base + "/rest/api/3/search/jql?jql=" + percent_encode(jql);
    if (!token.empty()) url += "&nextPageToken=" + percent_encode(token);
  } else {
    url = base + "/rest/api/2/search?jql=" + percent_encode(jql) +
          "&startAt=" + std::to_string(start_at);
  }
  url += "&maxResults=" + std::to_string(max_results) + "&fields=" + percent_encode(fields);
  if (changelog) url += "&expand=changelog";
  HttpRequest req = source_request(sc, std::move(url));
  req.headers.push_back("Accept: application/json");
  if (!sc.auth_user.empty())
    req.userpwd = sc.auth_user + ":" + sc.auth_secret;
  else if (!sc.auth_secret.empty())
    req.headers.push_back("Authorization: Bearer " + sc.auth_secret);
  return req;
}

Expected<FixedIssues> jira_fixed_issues(const SourceConfig& sc, const std::string& jql,
                                        int64_t budget_ms) {
  auto transport = make_curl_transport();
  return jira_fixed_issues(*transport, sc, jql, budget_ms);
}

Expected<FixedIssues> jira_fixed_issues(HttpTransport& transport, const SourceConfig& sc,
                                        const std::string& jql, int64_t budget_ms) {
  using steady = std::chrono::steady_clock;
  const auto deadline = steady::now() + std::chrono::milliseconds(budget_ms);
  const std::string base = trimmed_base(sc.base_url);
  const std::string search = jql_without_order(jql);
  const std::string ordered = search + " ORDER BY key ASC";
  FixedIssues out;
  out.search_url = base + "/issues/?jql=" + percent_encode(search);

  std::set<std::string> seen;  // keys of public issues; restricted ones by hash only
  int64_t start_at = 0, position = 0;
  std::string token;
  for (int pages = 0;; ++pages) {
    if (pages == k_max_fixed_pages) {
      out.complete = false;
      out.warnings.push_back("stopped after " + std::to_string(k_max_fixed_pages) + " pages");
      break;
    }
    const int64_t left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now()).count();
    if (left <= 0)
      return temporary_error("no complete answer within " + std::to_string(budget_ms) + " ms");
    HttpRequest req =
        jira_search_request(sc, ordered, start_at, sc.page_size, token, k_fixed_fields, false);
    req.timeout_ms = left;
    req.connect_timeout_ms = std::min(req.connect_timeout_ms, left);
    auto resp = fetch(transport, req);
    auto page = resp ? tracker::parse_jira_search_page(resp->body)
                     : Expected<tracker::JiraPage>(resp.error());
    if (!page) {
      std::string what = "page " + std::to_string(pages + 1) + ": " + page.error().message;
      // libcurl's timer may end the transfer a few ms before ours does.
      if (steady::now() + std::chrono::milliseconds(50) >= deadline)
        what = "no complete answer within " + std::to_string(budget_ms) + " ms (" + what + ")";
      Error e = page.error();
      e.message = std::move(what);
      return e;
    }
    for (const auto& issue : page->issues) {
      const int64_t at = position++;
      const nlohmann::json* fields =
          issue.is_object() && issue.contains("fields") && issue["fields"].is_object()
              ? &issue["fields"]
              : nullptr;
      if (!fields) {
        out.warnings.push_back("issue " + std::to_string(at) + " of the search has no fields");
        continue;
      }
      // Fails closed as the source does: any security value withholds the issue.
      if (auto s = fields->find("security"); s != fields->end() && !s->is_null()) {
        const std::string* key = string_at(issue, "key");
        if (seen.insert("#" + sha256_hex(key ? *key : std::to_string(at))).second) ++out.restricted;
        continue;
      }
      const std::string* key = string_at(issue, "key");
      if (!key || !valid_key(*key)) {
        out.warnings.push_back("issue " + std::to_string(at) + " of the search has no valid key");
        continue;
      }
      if (!seen.insert(*key).second) continue;
      FixedIssue f;
      f.key = *key;
      if (const std::string* summary = string_at(*fields, "summary"))
        f.summary = utf8_prefix(one_line(*summary), k_max_summary);
      if (auto p = fields->find("priority"); p != fields->end())
        if (const std::string* name = string_at(*p, "name"))
          f.priority = utf8_prefix(one_line(*name), 40);
      f.url = base + "/browse/" + f.key;
      out.issues.push_back(std::move(f));
    }
    if (page->is_last || page->issues.empty()) break;
    start_at = page->start_at + static_cast<int64_t>(page->issues.size());
    token = page->next_page_token;
  }
  auto rank = [](const FixedIssue& f) {
    return severity_rank(tracker::severity_from_priority(f.priority));
  };
  std::stable_sort(out.issues.begin(), out.issues.end(),
                   [&](const FixedIssue& a, const FixedIssue& b) {
                     if (rank(a) != rank(b)) return rank(a) > rank(b);
                     if (a.priority != b.priority) return a.priority < b.priority;
                     return key_less(a.key, b.key);
                   });
  return out;
}

}  // namespace herald
