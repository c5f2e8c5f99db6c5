// Bug tracker JSON (Jira, GitHub, GitLab; webhooks and REST objects) into
// herald events. Pure functions: no network, no clock, no store.
//
// Kinds: bug.created, bug.updated, bug.resolved for issues (and GitHub pull
// requests, tagged type=pull_request), release.published for GitHub releases,
// security.advisory for GitHub security advisories.
//
// Keys (the instant is the UTC form of the tracker's own time, see
// canonical_time(), so the same change read in another time zone gives the
// same key):
//   jira:<ISSUE-KEY>:<updated>              e.g. jira:LU-18123:2024-05-02T09:36:15.507Z
//   github:<owner/repo>#<number>:<updated_at>
//   gitlab:<project path>#<iid>:<updated_at>
//   github-release:<owner/repo>:<tag_name>
//   github-advisory:<GHSA id>:<updated_at>
// A bug.created event uses the creation time, which is the updated time at
// creation, so a webhook and a later poll of the same creation share a key.
//
// Tags: project, component, priority, type, labels, fix_versions, status and,
// on bug.updated / bug.resolved, changes (the significant fields that
// changed, comma-joined). Multi-valued tags are comma-joined; empty ones are
// left out.
//
// Severity from the Jira priority: Blocker -> critical, Critical -> high,
// Major -> medium, Minor -> low, Trivial -> info; the Jira Cloud names
// Highest -> critical, High -> high, Medium -> medium, Low -> low,
// Lowest -> info; anything else -> info.
//
// Significant changes (all others, e.g. Rank, timeestimate, description,
// Workflow, Sprint, watchers, are noise and make no event): status, priority,
// assignee, fix_versions, resolution, components, labels, comment, summary,
// type, project, key (an issue moved in), affects_versions, security (a level
// taken off an issue).
//
// Confidentiality: a Jira issue with a security level (fields.security not
// null) and a GitLab confidential issue make no event and are only counted in
// Derived::restricted; nothing of them (key, summary, anything) goes into
// events, warnings or error messages.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/event.hpp"
#include "daemon/expected.hpp"

namespace herald::tracker {

// What one payload or page gave.
struct Derived {
  std::vector<Event> events;
  int restricted = 0;  // items withheld because they are confidential; never described
  int noise = 0;       // items whose changes were all insignificant: no event
  std::vector<std::string> warnings;  // ignored events, skipped items (never restricted ones)
};

// One page of a Jira search: REST v2 /search ({startAt, maxResults, total, issues}) or
// Jira Cloud v3 /search/jql ({issues, nextPageToken, isLast}).
struct JiraPage {
  std::vector<nlohmann::json> issues;  // raw issue objects, for events_from_jira_issue()
  int64_t start_at = 0;
  int64_t max_results = 0;
  int64_t total = -1;           // -1 when the page does not say (v3)
  std::string next_page_token;  // v3; empty when there is none
  bool is_last = true;          // no further page to fetch
};

// Jira times ("2018-12-19T12:36:15.507+0300", no colon in the offset) and ISO 8601 /
// RFC 3339 ("...+03:00", "...Z", "2020-06-05 08:09:16 UTC", a bare date = midnight UTC)
// -> Unix seconds (fraction dropped). nullopt when malformed or without a zone.
std::optional<int64_t> parse_jira_time(std::string_view text);
// Same, in Unix milliseconds.
std::optional<int64_t> parse_jira_time_ms(std::string_view text);
// Unix milliseconds -> "2018-12-19T09:36:15.507Z" ("...:15Z" when the milliseconds are 0).
std::string canonical_time(int64_t ms);
// Text from outside made safe for an event, shared by the sources that take it:
// one line (control characters become spaces, runs fold) for a title or tag;
std::string clean_line(std::string_view s);
// at most max bytes, cut on a UTF-8 character boundary, "\u2026" marking a cut;
std::string truncate_utf8(std::string s, size_t max);
// plain multi-line text (CRLF to LF, other control characters but TAB dropped, trimmed)
// of at most max bytes.
std::string clean_text(std::string_view s, size_t max);
// Jira priority name -> herald severity (see the table above); case-insensitive.
std::string severity_from_priority(std::string_view priority);

// A Jira webhook body: jira:issue_created -> bug.created, jira:issue_updated -> bug.updated
// or bug.resolved (from changelog.items and an added comment), comment_created/updated ->
// bug.updated when the payload shows the issue's security field; others (issue_deleted,
// worklog ...) are ignored with a warning. base_url (e.g. "https://jira.whamcloud.com")
// makes the browse URL; empty = derived from the issue's "self".
Expected<Derived> events_from_jira_webhook(std::string_view body, const std::string& source,
                                           const std::string& base_url);

// One issue of a Jira search response (best with expand=changelog). Only changelog
// histories and comments at or after since (Unix seconds) count; nullopt = all of them.
// Gives bug.created when the issue was created in that window, and bug.updated /
// bug.resolved when significant changes followed (both when both happened).
Expected<Derived> events_from_jira_issue(const nlohmann::json& issue, const std::string& source,
                                         const std::string& base_url,
                                         std::optional<int64_t> since = std::nullopt);

// Parses a v2 or v3 search page. bad_input on malformed JSON, a missing or non-array
// "issues", or a Jira error body (its errorMessages are in the message).
Expected<JiraPage> parse_jira_search_page(std::string_view body);

// events_from_jira_issue() over a page; an issue of bad shape is skipped with a warning
// naming its index only.
Derived events_from_jira_page(const JiraPage& page, const std::string& source,
                              const std::string& base_url,
                              std::optional<int64_t> since = std::nullopt);

// A GitHub webhook. event_header is X-GitHub-Event: "issues" (opened, closed, reopened,
// edited, labeled, unlabeled, assigned, unassigned, milestoned, demilestoned),
// "issue_comment" (created), "release" (published, prereleased) and "security_advisory"
// (published, updated, withdrawn) make events; "ping" and anything else are ignored.
Expected<Derived> events_from_github_webhook(std::string_view event_header, std::string_view body,
                                             const std::string& source);

// One object of GET /repos/O/R/issues (issue or pull request). repo is "owner/name";
// empty = taken from repository_url. since as for events_from_jira_issue(): created in
// the window -> bug.created, closed in it -> bug.resolved, otherwise bug.updated.
Expected<Derived> events_from_github_issue(const nlohmann::json& issue, const std::string& source,
                                           const std::string& repo,
                                           std::optional<int64_t> since = std::nullopt);

// A whole GET /repos/O/R/issues response (a JSON array); a bad item is skipped with a
// warning.
Expected<Derived> events_from_github_issues_page(std::string_view body, const std::string& source,
                                                 const std::string& repo,
                                                 std::optional<int64_t> since = std::nullopt);

// A GitLab issue webhook (object_kind "issue", object_attributes.action open / update /
// close / reopen). Confidential issues are restricted; other object kinds are ignored.
Expected<Derived> events_from_gitlab_webhook(std::string_view body, const std::string& source);

// One object of GitLab's REST /projects/:id/issues. project_path empty = taken from
// references.full or web_url. since as for events_from_github_issue().
Expected<Derived> events_from_gitlab_issue(const nlohmann::json& issue, const std::string& source,
                                           const std::string& project_path,
                                           std::optional<int64_t> since = std::nullopt);

}  // namespace herald::tracker
