// The GitHub issues source: GET /repos/O/R/issues?state=all&sort=updated&
// direction=asc&since=<cursor>, pages followed by the Link header's rel="next"
// (only on the configured API origin, so a token never leaves it), the first
// page sent with If-None-Match (a 304 costs nothing and changes nothing).
// Pull requests come back as issues with a "pull_request" key; the derivation
// tags them type=pull_request.
//
// Cursor: the newest updated_at read, as GitHub wrote it, then a space and the
// numbers of the issues read with exactly that second ("2024-05-02T08:00:00Z
// 12,13"). `since` is inclusive, so the boundary second is read again and the
// issues listed are dropped before any event is made. Without a cursor the
// window starts at now - max_age (or one interval when max_age is not set).
//
// Pages are offsets: an issue read on an early page and updated while the
// poll pages on moves to the end and shifts the rest back, so one issue at a
// page boundary can slip past. Such an issue is read twice in the poll; then
// the cursor stops at the first reading, and the next poll reads again from
// there (issues already stored dedupe by key). At most k_max_pages requests
// per poll; on the cap, or a failure after the first page, the poll keeps what
// it read with a warning. A failure of the first page is the poll's failure.
#include "adapters/sources/github/github_source.hpp"

#include <algorithm>
#include <map>

#include "adapters/sources/source.hpp"
#include "adapters/sources/tracker/cursor.hpp"
#include "adapters/sources/tracker/tracker_events.hpp"
#include "daemon/json.hpp"
#include "daemon/util.hpp"

namespace herald {

namespace {

using tracker::Cursor;

constexpr int k_max_pages = 100;
constexpr int k_max_per_page = 100;  // GitHub's limit

// "scheme://host[:port]" of a URL, lower-case; empty when it has none.
std::string origin_of(std::string_view url) {
  auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  auto end = url.find_first_of("/?#", scheme + 3);
  return to_lower(url.substr(0, end));
}

// The rel="next" target of an RFC 8288 Link header; empty when there is none.
std::string next_link(std::string_view header) {
  size_t pos = 0;
  while ((pos = header.find('<', pos)) != std::string_view::npos) {
    auto close = header.find('>', pos);
    if (close == std::string_view::npos) return {};
    std::string_view target = header.substr(pos + 1, close - pos - 1);
    auto next = header.find('<', close);
    std::string params = to_lower(header.substr(close + 1, next == std::string_view::npos
                                                               ? std::string_view::npos
                                                               : next - close - 1));
    params = params.substr(0, params.find(','));
    for (const auto& p : split(params, ';')) {
      std::string t = trim(p);
      if (t == "rel=\"next\"" || t == "rel=next") return std::string(target);
      if (t.rfind("rel=\"", 0) == 0) {
        for (const auto& r : split(t.substr(5, t.size() - 6), ' '))
          if (r == "next") return std::string(target);
      }
    }
    pos = close;
  }
  return {};
}

class GithubSource final : public Source {
 public:
  GithubSource(SourceConfig sc, const Clock& clock, std::unique_ptr<HttpTransport> http)
      : m_sc(std::move(sc)), m_clock(clock), m_http(std::move(http)) {
    if (m_sc.base_url.empty()) m_sc.base_url = "https://api.github.com";
    while (m_sc.base_url.back() == '/') m_sc.base_url.pop_back();
  }

  const SourceConfig& config() const override { return m_sc; }

  Expected<PollOutcome> poll(const SourceState& state) override {
    const int64_t now = m_clock.now();
    PollOutcome out;
    out.last_modified = state.last_modified;
    out.content_hash = state.content_hash;

    std::optional<Cursor> start = tracker::start_cursor(state.cursor, m_sc.max_age_ms,
                                                        m_sc.interval_ms, now, out.warnings);
    const int64_t since = start->ms / 1000 - (start->ms % 1000 < 0 ? 1 : 0);
    Cursor newest = *start;
    std::map<std::string, std::pair<int64_t, std::string>> read_now;  // number -> first reading
    std::optional<Cursor> shifted;  // where the cursor stops when a page shift was seen
    size_t fresh = 0;
    bool ordered = true;  // every issue read so far came in ascending updated_at

    std::string url = m_sc.base_url + "/repos/" + m_sc.repo +
                      "/issues?state=all&sort=updated&direction=asc&per_page=" +
                      std::to_string(std::clamp(m_sc.page_size, 1, k_max_per_page)) +
                      "&since=" + percent_encode(start->time);
    const std::string origin = origin_of(m_sc.base_url);
    for (int pages = 0; !url.empty(); ++pages) {
      if (pages == k_max_pages) {
        out.warnings.push_back("stopped after " + std::to_string(k_max_pages) +
                               " pages; the rest comes next poll");
        break;
      }
      HttpRequest req = request(url);
      if (pages == 0) req.etag = state.etag;
      auto resp = fetch(*m_http, req);
      std::string failure;
      nlohmann::json list;
      if (!resp) {
        failure = resp.error().message;
      } else if (pages == 0 && resp->not_modified()) {
        out.unchanged = true;
        out.etag = state.etag;
        out.cursor = state.cursor;
        return out;
      } else {
        auto parsed = parse_json(resp->body);
        if (!parsed)
          failure = parsed.error().message;
        else if (!parsed->is_array())
          failure = "the body is not a JSON array";
        else
          list = std::move(*parsed);
      }
      if (!failure.empty()) {
        const std::string what =
            "github issues (page " + std::to_string(pages + 1) + "): " + failure;
        if (pages == 0) {
          if (resp) return bad_input(what);
          Error e = resp.error();
          e.message = what;
          return e;  // with the server's Retry-After
        }
        out.warnings.push_back(what + "; the rest comes next poll");
        break;
      }
      if (pages == 0) out.etag = resp->etag;
      for (size_t i = 0; i < list.size(); ++i) {
        const nlohmann::json& item = list[i];
        std::string number, updated;
        if (item.is_object()) {
          if (auto it = item.find("number"); it != item.end() && it->is_number_integer())
            number = std::to_string(it->get<int64_t>());
          if (auto it = item.find("updated_at"); it != item.end() && it->is_string())
            updated = it->get<std::string>();
        }
        auto at = tracker::parse_jira_time_ms(updated);
        if (at && !number.empty()) {
          // Seen by an earlier poll: the starting cursor decides, whatever the order.
          if (start->seen(*at, number)) continue;
          auto [first, inserted] = read_now.try_emplace(number, *at, updated);
          if (!inserted) {
            if (first->second.first == *at) continue;
            if (!shifted || first->second.first < shifted->ms)
              shifted = Cursor{first->second.second, first->second.first, {number}};
          }
        }
        ordered = ordered && (!at || *at >= newest.ms);
        ++fresh;
        // An issue listed in the cursor was seen as it was in that second (GitHub's
        // precision): what it shows of that second was reported then.
        const int64_t item_since = start->listed(number) ? since + 1 : since;
        auto derived = tracker::events_from_github_issue(item, m_sc.name, m_sc.repo, item_since);
        if (at) newest.advance(*at, updated, number);
        if (!derived) {
          out.warnings.push_back("item " + std::to_string(i) + " of page " +
                                 std::to_string(pages + 1) +
                                 " skipped: " + derived.error().message);
          continue;
        }
        for (auto& w : derived->warnings) out.warnings.push_back(std::move(w));
        for (auto& e : derived->events) {
          bool announce = !(m_sc.max_age_ms > 0 && e.time < now - m_sc.max_age_ms / 1000);
          out.events.push_back(std::move(e));
          out.announce.push_back(announce);
        }
      }
      auto link = resp->headers.find("link");
      url = link == resp->headers.end() ? "" : next_link(link->second);
      if (!url.empty() && origin_of(url) != origin) {
        out.warnings.push_back("a next page outside " + origin + " was not followed");
        url.clear();
      }
    }
    // A first poll sets the cursor (the window start) even when it finds nothing.
    out.unchanged = fresh == 0 && !state.cursor.empty();
    out.cursor = (shifted ? *shifted : newest).text();
    if (!url.empty() && !ordered) {
      // Unread pages of an unordered answer may hold issues older than the newest read.
      out.cursor = start->text();
      out.warnings.push_back(
          "the issues came out of updated order and were not read to the "
          "end; the next poll reads this window again");
    }
    return out;
  }

 private:
  HttpRequest request(const std::string& url) const {
    HttpRequest req = source_request(m_sc, url);
    req.headers = {"Accept: application/vnd.github+json", "X-GitHub-Api-Version: 2022-11-28"};
    if (!m_sc.auth_secret.empty())
      req.headers.push_back("Authorization: Bearer " + m_sc.auth_secret);
    return req;
  }

  SourceConfig m_sc;
  const Clock& m_clock;
  std::unique_ptr<HttpTransport> m_http;
};

}  // namespace

std::unique_ptr<Source> make_github_source(const SourceConfig& sc, const Config&,
                                           const Clock& clock,
                                           std::unique_ptr<HttpTransport> http) {
  return std::make_unique<GithubSource>(sc, clock, std::move(http));
}

SourceKind github_source_kind() {
  SourceKind k;
  k.kind = "github";
  k.summary = "A GitHub repository's issues and pull requests, polled";
  k.keys = {"base_url", "repo", "page_size", "token", "token_file"};
  k.check = [](const SourceConfig& sc, const Config&) {
    std::vector<std::pair<std::string, std::string>> out;
    if (sc.repo.find('/') == std::string::npos)
      out.emplace_back("repo", "(github) needs 'repo' as owner/name");
    return out;
  };
  k.complete = [](SourceConfig& sc) {
    if (sc.base_url.empty()) sc.base_url = "https://api.github.com";
  };
  k.make_source = make_github_source;
  return k;
}

}  // namespace herald
