// The Jira source: polls a Jira search (REST v2 /rest/api/2/search with
// startAt/maxResults/total, or Jira Cloud's /rest/api/3/search/jql with
// nextPageToken) for issues updated since a cursor, ordered by updated, and
// derives bug events from each issue with its changelog.
//
// Cursor. The state's cursor is the text of the newest `updated` read, exactly
// as Jira wrote it ("2024-05-02T12:36:15.507+0300"), then a space and the keys
// of the issues read with exactly that instant ("LU-18123,LU-18140"). JQL dates
// have minute precision and are read in the searching user's time zone, which
// is also the zone Jira writes its dates in for that user; so the next query
// asks for `updated >= "2024/05/02 12:36"`, the cursor's own wall-clock minute,
// and needs no time zone configuration. That minute is read again; issues
// older than the cursor, or at the cursor and listed in it, were seen and are
// dropped before any event is made. (Caveat: in the hour repeated when daylight
// saving time ends, Jira may read the wall clock as the later instant.)
//
// First poll. Without a cursor the window starts at now - max_age (or one
// interval when max_age is not set), not at the tracker's beginning. Before
// any issue is seen the cursor is that instant in UTC ("...Z", a form Jira
// never writes); its zone is unknown to the JQL, so the query starts 12 hours
// earlier (the most negative UTC offset) and the instant filters precisely.
//
// Paging. v2 pages by offset, which shifts when an issue is updated while a
// poll pages through: each page after the first starts one issue early and
// must begin with the last issue of the previous page; when it does not, the
// search restarts from the newest cursor read so far (seen issues are dropped).
// At most k_max_pages requests per poll: on the cap, or on a failure after the
// first page, the poll returns what it read with a warning and the cursor
// advanced to it; the rest comes next poll. A failure of the first page is the
// poll's failure (with the server's Retry-After, Error::retry_after_s).
//
// Order. Dedup compares each issue with the cursor the poll started from, so
// a server that ignores ORDER BY (or orders ties its own way) loses nothing.
// The newest instant read still becomes the next cursor, but only once every
// page was read: if a poll that stopped early saw issues out of order, the
// cursor stays where it was (events are keyed, so the re-read stores nothing
// twice).
//
// A withheld issue (security level) moves the cursor but is listed in it by a
// hash, never by its key.
//
// Auth: username + password/token -> basic auth; a token alone -> Bearer. The
// secret is never put in a message.
#include "adapters/sources/jira/jira_source.hpp"

#include <algorithm>
#include <set>

#include "adapters/sources/jira/jira_search.hpp"
#include "adapters/sources/source.hpp"
#include "adapters/sources/tracker/cursor.hpp"
#include "adapters/sources/tracker/tracker_events.hpp"
#include "daemon/util.hpp"

namespace herald {

namespace {

using tracker::Cursor;

constexpr int k_max_pages = 100;
constexpr int64_t k_unknown_zone_margin_s = 12 * 3600;
constexpr const char* k_fields =
    "summary,description,status,priority,issuetype,project,components,labels,fixVersions,"
    "versions,resolution,resolutiondate,created,updated,reporter,assignee,comment,security";

// The JQL literal "yyyy/MM/dd HH:mm" at or before the cursor in the user's time zone.
std::string jql_minute(const Cursor& c) {
  const std::string& t = c.time;
  bool jira_written = t.size() >= 16 && t.back() != 'Z' && t[4] == '-' && t[7] == '-' &&
                      t[10] == 'T' && t[13] == ':';
  if (jira_written)
    return t.substr(0, 4) + "/" + t.substr(5, 2) + "/" + t.substr(8, 2) + " " + t.substr(11, 5);
  int64_t s = c.ms / 1000 - (c.ms % 1000 < 0 ? 1 : 0) - k_unknown_zone_margin_s;
  std::string utc = format_rfc3339(s);  // "2025-12-02T18:19:20Z"
  return utc.substr(0, 4) + "/" + utc.substr(5, 2) + "/" + utc.substr(8, 2) + " " +
         utc.substr(11, 5);
}

const std::string* string_at(const nlohmann::json& j, const char* name) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get_ptr<const std::string*>() : nullptr;
}

class JiraSource final : public Source {
 public:
  JiraSource(SourceConfig sc, const Clock& clock, std::unique_ptr<HttpTransport> http)
      : m_sc(std::move(sc)), m_clock(clock), m_http(std::move(http)) {
    while (!m_sc.base_url.empty() && m_sc.base_url.back() == '/') m_sc.base_url.pop_back();
  }

  const SourceConfig& config() const override { return m_sc; }

  Expected<PollOutcome> poll(const SourceState& state) override {
    const int64_t now = m_clock.now();
    PollOutcome out;
    out.etag = state.etag;
    out.last_modified = state.last_modified;
    out.content_hash = state.content_hash;

    std::optional<Cursor> start = tracker::start_cursor(state.cursor, m_sc.max_age_ms,
                                                        m_sc.interval_ms, now, out.warnings);
    const int64_t since = start->ms / 1000 - (start->ms % 1000 < 0 ? 1 : 0);
    Cursor newest = *start;
    std::set<std::string> read_now;  // "key@ms" of issues taken in this poll
    int restricted = 0;
    size_t fresh = 0;
    bool ordered = true;    // every issue read so far came in ascending `updated`
    bool complete = false;  // the last page was read

    std::string minute = jql_minute(newest);
    int64_t start_at = 0, read_v3 = 0;
    std::string token;
    std::string previous_last;  // "key@ms" ending the previous v2 page
    for (int pages = 0;; ++pages) {
      if (pages == k_max_pages) {
        out.warnings.push_back("stopped after " + std::to_string(k_max_pages) +
                               " pages; the rest comes next poll");
        break;
      }
      const bool overlap = m_sc.api == "v2" && start_at > 0;
      auto resp =
          fetch(*m_http, request(minute, start_at - overlap, m_sc.page_size + overlap, token));
      Expected<tracker::JiraPage> page = resp ? tracker::parse_jira_search_page(resp->body)
                                              : Expected<tracker::JiraPage>(resp.error());
      if (!page) {
        const std::string what = "jira search (page " + std::to_string(pages + 1) + "): " +
                                 page.error().message;
        if (pages == 0) {
          Error e = page.error();
          e.message = what;
          return e;  // with the server's Retry-After
        }
        out.warnings.push_back(what + "; the rest comes next poll");
        break;
      }
      auto& issues = page->issues;
      const int64_t read_before = m_sc.api == "v2" ? page->start_at : read_v3;
      size_t first = 0;
      if (overlap) {
        if (issues.empty() || identity(issues.front()) != previous_last) {
          // The result shifted under the offset: search again from what was read.
          minute = jql_minute(newest);
          start_at = 0;
          previous_last.clear();
          continue;
        }
        first = 1;
      }
      for (size_t i = first; i < issues.size(); ++i) {
        const nlohmann::json& issue = issues[i];
        std::string id = identity(issue);
        const std::string* key = string_at(issue, "key");
        const std::string* updated =
            issue.is_object() && issue.contains("fields") ? string_at(issue["fields"], "updated")
                                                          : nullptr;
        int64_t at = 0;  // not an optional: g++ 12 -O2 warns falsely on one here
        bool dated = false;
        if (updated)
          if (auto ms = tracker::parse_jira_time_ms(*updated)) at = *ms, dated = true;
        const int64_t position = read_before + static_cast<int64_t>(i);
        // Seen means taken by an earlier poll: compared with the cursor this poll started
        // from, never with what it has read so far, so the server's order does not matter.
        if (dated && key && start->seen(at, *key)) continue;
        if (!id.empty() && !read_now.insert(id).second) continue;
        ordered = ordered && (!dated || at >= newest.ms);
        ++fresh;
        // An issue listed in the cursor was seen as it was then, so its changes of that
        // second are known; a change in a later second starts a later window.
        const bool later_second = dated && at / 1000 > since;
        const int64_t issue_since = key && later_second && start->listed(*key) ? since + 1 : since;
        auto derived =
            tracker::events_from_jira_issue(issue, m_sc.name, m_sc.base_url, issue_since);
        const bool withheld = derived && derived->restricted > 0;
        if (dated) newest.advance(at, *updated, !key ? "" : withheld ? Cursor::hidden(*key) : *key);
        if (!derived) {
          out.warnings.push_back("issue " + std::to_string(position) +
                                 " of the search skipped: " + derived.error().message);
          continue;
        }
        restricted += derived->restricted;
        for (auto& w : derived->warnings) out.warnings.push_back(std::move(w));
        for (auto& e : derived->events) {
          bool announce = !(m_sc.max_age_ms > 0 && e.time < now - m_sc.max_age_ms / 1000);
          out.events.push_back(std::move(e));
          out.announce.push_back(announce);
        }
      }
      if (!issues.empty()) previous_last = identity(issues.back());
      if (page->is_last) {
        complete = true;
        break;
      }
      if (issues.size() <= first) {
        out.warnings.push_back("the server sent a page without new issues before the last; "
                               "the rest comes next poll");
        break;
      }
      start_at = page->start_at + static_cast<int64_t>(issues.size());
      read_v3 += static_cast<int64_t>(issues.size());
      token = page->next_page_token;
    }
    if (restricted > 0)
      out.warnings.push_back(std::to_string(restricted) +
                             " issue(s) with a security level withheld");
    // A first poll sets the cursor (the window start) even when it finds nothing.
    out.unchanged = fresh == 0 && !state.cursor.empty();
    out.cursor = newest.text();
    if (!complete && !ordered) {
      // Unread pages of an unordered result may hold issues older than the newest read.
      out.cursor = start->text();
      out.warnings.push_back(
          "the search answered out of updated order and was not read to "
          "the end; the next poll reads this window again");
    }
    return out;
  }

 private:
  // "KEY@<updated ms>" of an issue; empty when it has neither.
  static std::string identity(const nlohmann::json& issue) {
    const std::string* key = string_at(issue, "key");
    const std::string* updated =
        issue.is_object() && issue.contains("fields") ? string_at(issue["fields"], "updated")
                                                      : nullptr;
    if (!key || !updated) return {};
    auto at = tracker::parse_jira_time_ms(*updated);
    return *key + "@" + (at ? std::to_string(*at) : *updated);
  }

  // The source orders by updated; the configured JQL's own order is dropped.
  HttpRequest request(const std::string& minute, int64_t start_at, int64_t max_results,
                      const std::string& token) const {
    std::string jql = jql_without_order(m_sc.jql);
    jql = (jql.empty() ? "" : "(" + jql + ") AND ") + "updated >= \"" + minute +
          "\" ORDER BY updated ASC, key ASC";
    return jira_search_request(m_sc, jql, start_at, max_results, token, k_fields, true);
  }

  SourceConfig m_sc;
  const Clock& m_clock;
  std::unique_ptr<HttpTransport> m_http;
};

}  // namespace

std::unique_ptr<Source> make_jira_source(const SourceConfig& sc, const Config&,
                                         const Clock& clock,
                                         std::unique_ptr<HttpTransport> http) {
  return std::make_unique<JiraSource>(sc, clock, std::move(http));
}

SourceKind jira_source_kind() {
  SourceKind k;
  k.kind = "jira";
  k.summary = "A Jira search, polled for updated issues";
  k.keys = {"base_url", "jql", "api", "page_size", "username", "token", "token_file",
            "password_file"};
  k.check = [](const SourceConfig& sc, const Config&) {
    std::vector<std::pair<std::string, std::string>> out;
    if (sc.base_url.empty()) out.emplace_back("base_url", "(jira) needs a 'base_url'");
    return out;
  };
  k.make_source = make_jira_source;
  return k;
}

}  // namespace herald
