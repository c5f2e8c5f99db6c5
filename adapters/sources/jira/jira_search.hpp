// Jira searches shared by the polling source and the release announcement's
// fix-version lookup: request building (v2 offsets or v3 page tokens, fields,
// auth) and the lookup of the issues fixed in a release.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/config.hpp"
#include "daemon/expected.hpp"
#include "daemon/http_transport.hpp"

namespace herald {

// A GET of one search page with the source's limits and auth: REST v2 /rest/api/2/search
// (startAt) or, with api = "v3", /rest/api/3/search/jql (token, when not empty). jql is sent
// as given; fields is the comma list to ask for; changelog adds expand=changelog.
HttpRequest jira_search_request(const SourceConfig& sc, const std::string& jql, int64_t start_at,
                                int64_t max_results, const std::string& token,
                                std::string_view fields, bool changelog);

// The JQL without an ORDER BY clause.
std::string jql_without_order(const std::string& jql);

struct FixedIssue {
  std::string key;       // "LU-18123"
  std::string summary;   // one line, at most 300 bytes
  std::string priority;  // as the tracker names it ("Critical"); "" when it has none
  std::string url;       // <base_url>/browse/<key>
};

struct FixedIssues {
  // Issues without a security level, by priority (Blocker/Highest first, unknown names last,
  // as severity_from_priority ranks them), then by priority name, then by key number.
  std::vector<FixedIssue> issues;
  int restricted = 0;                 // issues with a security level: counted, never described
  bool complete = true;               // false when the page cap stopped the reading
  std::vector<std::string> warnings;  // issues of bad shape, named by position only
  std::string search_url;             // the search in the tracker's issue navigator
};

// Every issue of jql (ordered by key for stable paging), page after page, within budget_ms
// of wall time in total: each request's timeouts are what is left of it. A failure or the
// end of the budget before the last page is an error (temporary for timeouts, the
// message saying the budget), so a partial list is never taken for the whole one.
// The pages go through transport (one connection for all of them).
Expected<FixedIssues> jira_fixed_issues(HttpTransport& transport, const SourceConfig& sc,
                                        const std::string& jql, int64_t budget_ms);
// The same through a transport of its own (make_curl_transport).
Expected<FixedIssues> jira_fixed_issues(const SourceConfig& sc, const std::string& jql,
                                        int64_t budget_ms);

}  // namespace herald
