// The Gerrit source: for each configured branch, one query
//   GET <url>/changes/?q=status:merged+branch:<b>[+project:<p>]+after:"<cursor>"&n=&S=
// (one request per branch, so that each answer says which branch it is about
// and one slow branch is easy to see in the log), pages followed by offset
// while the last change of a page carries "_more_changes". Every term is
// percent-encoded; '+' separates them, as Gerrit's own UI writes queries.
//
// A merged change (status MERGED: the query asks for those, and anything else
// an answer holds is ignored) is a candidate when it carries one of the
// configured hashtags or its topic is one of the configured topics (both
// compared case-insensitively). Each candidate is proposed as a
// patch.candidate event keyed gerrit:<project>:<_number>, so a change read
// again (a comment after the merge moves its `updated`) is stored once.
//
// Cursor: the newest `updated` read, "YYYY-MM-DD HH:MM:SS" in UTC as Gerrit
// writes it (the nanoseconds dropped). `after:` is inclusive, so the boundary
// second is read again and dedup keys drop the repeats. Without a cursor the
// window starts one max_age (or one interval) before now, not at the
// project's beginning. The cursor moves only when every branch was read to
// the end: a failed request fails the poll (with the server's Retry-After),
// and the page cap keeps the cursor where it was, with a warning.
#include "adapters/sources/gerrit/gerrit_source.hpp"

#include <algorithm>
#include <cctype>

#include "adapters/sources/source.hpp"
#include "adapters/sources/tracker/tracker_events.hpp"
#include "daemon/json.hpp"
#include "daemon/util.hpp"

namespace herald {

namespace {

using json = nlohmann::json;

constexpr int k_max_pages = 20;  // per branch and poll
constexpr size_t k_max_title_bytes = 300;
constexpr size_t k_max_tag_bytes = 1000;

std::string string_of(const json& j, const char* name) {
  auto it = j.find(name);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// "LU-12345" when the subject starts with a Lustre ticket id; else "".
std::string ticket_of(const std::string& subject) {
  if (subject.rfind("LU-", 0) != 0) return {};
  size_t end = 3;
  while (end < subject.size() && end < 12 && std::isdigit(static_cast<unsigned char>(subject[end])))
    ++end;
  if (end == 3 || (end < subject.size() && std::isalnum(static_cast<unsigned char>(subject[end]))))
    return {};
  return subject.substr(0, end);
}

// Gerrit's "2019-12-23 21:56:54.000000000" (UTC) as "2019-12-23 21:56:54"; "" when it is not.
std::string gerrit_second(const std::string& t) {
  if (t.size() < 19) return {};
  std::string s = t.substr(0, 19);
  return tracker::parse_jira_time(s + " UTC") ? s : std::string();
}

bool listed(const std::vector<std::string>& list, const std::string& value) {
  return std::any_of(list.begin(), list.end(),
                     [&value](const std::string& v) { return iequals(v, value); });
}

class GerritSource final : public Source {
 public:
  GerritSource(SourceConfig sc, const Clock& clock, std::unique_ptr<HttpTransport> http)
      : m_sc(std::move(sc)), m_clock(clock), m_http(std::move(http)) {
    while (!m_sc.url.empty() && m_sc.url.back() == '/') m_sc.url.pop_back();
  }

  const SourceConfig& config() const override { return m_sc; }

  Expected<PollOutcome> poll(const SourceState& state) override {
    const int64_t now = m_clock.now();
    PollOutcome out;
    out.etag = state.etag;
    out.last_modified = state.last_modified;
    out.content_hash = state.content_hash;
    std::string start = gerrit_second(state.cursor);
    if (start.empty()) {
      const int64_t window = (m_sc.max_age_ms > 0 ? m_sc.max_age_ms : m_sc.interval_ms) / 1000;
      std::string t = format_rfc3339(now - window);  // "2025-12-02T18:19:20Z"
      start = t.substr(0, 10) + " " + t.substr(11, 8);
    }
    std::string newest = start;
    bool complete = true;
    std::vector<int64_t> taken;  // change numbers proposed in this poll (a change on two pages)
    for (const auto& branch : m_sc.branches) {
      for (int page = 0, offset = 0;; ++page) {
        if (page == k_max_pages) {
          out.warnings.push_back("branch " + branch + ": stopped after " +
                                 std::to_string(k_max_pages) + " pages; read again next poll");
          complete = false;
          break;
        }
        auto resp = fetch(*m_http, request(branch, start, offset));
        Expected<std::vector<json>> changes =
            resp ? parse_gerrit_changes(resp->body) : Expected<std::vector<json>>(resp.error());
        if (!changes) {
          Error e = changes.error();
          e.message = "gerrit query (branch " + branch + ", page " + std::to_string(page + 1) +
                      "): " + e.message;
          return e;
        }
        bool more = false;
        for (size_t i = 0; i < changes->size(); ++i) {
          const json& c = (*changes)[i];
          more = false;  // said by the last change of a page only
          if (!c.is_object()) {
            out.warnings.push_back("branch " + branch + ": change " + std::to_string(offset + i) +
                                   " of the answer is not an object; skipped");
            continue;
          }
          auto flag = c.find("_more_changes");  // not c.value(): a string there would throw
          more = flag != c.end() && flag->is_boolean() && flag->get<bool>();
          const std::string updated = gerrit_second(string_of(c, "updated"));
          if (!updated.empty() && updated > newest) newest = updated;
          take(c, branch, offset + i, now, taken, out);
        }
        if (!more || changes->empty()) break;
        offset += static_cast<int>(changes->size());
      }
    }
    out.cursor = complete ? newest : start;
    out.unchanged = out.events.empty() && out.cursor == state.cursor;
    return out;
  }

 private:
  HttpRequest request(const std::string& branch, const std::string& after, int offset) const {
    std::string q = percent_encode("status:merged") + "+" + percent_encode("branch:" + branch);
    if (m_sc.project_set && !m_sc.project.empty())
      q += "+" + percent_encode("project:" + m_sc.project);
    q += "+" + percent_encode("after:\"" + after + "\"");
    std::string url = m_sc.url + "/changes/?q=" + q + "&n=" + std::to_string(m_sc.page_size);
    if (offset > 0) url += "&S=" + std::to_string(offset);
    HttpRequest req = source_request(m_sc, url);
    req.headers.push_back("Accept: application/json");
    return req;
  }

  void take(const json& c, const std::string& branch, size_t position, int64_t now,
            std::vector<int64_t>& taken, PollOutcome& out) const {
    auto number = c.find("_number");
    const std::string project = string_of(c, "project");
    if (number == c.end() || !number->is_number_integer() || project.empty()) {
      out.warnings.push_back("branch " + branch + ": change " + std::to_string(position) +
                             " has no '_number' or 'project'; skipped");
      return;
    }
    if (string_of(c, "status") != "MERGED") return;
    std::vector<std::string> hashtags;
    if (auto h = c.find("hashtags"); h != c.end() && h->is_array())
      for (const auto& tag : *h)
        if (tag.is_string()) hashtags.push_back(tracker::clean_line(tag.get<std::string>()));
    const std::string topic = tracker::clean_line(string_of(c, "topic"));
    const bool candidate =
        std::any_of(hashtags.begin(), hashtags.end(),
                    [this](const std::string& t) { return listed(m_sc.hashtags, t); }) ||
        (!topic.empty() && listed(m_sc.topics, topic));
    if (!candidate) return;
    const int64_t n = number->get<int64_t>();
    if (std::find(taken.begin(), taken.end(), n) != taken.end()) return;
    taken.push_back(n);

    const std::string subject = tracker::clean_line(string_of(c, "subject"));
    const std::string change_branch = tracker::clean_line(string_of(c, "branch"));
    const std::string change_id = tracker::clean_line(string_of(c, "change_id"));
    Event e;
    e.kind = "patch.candidate";
    e.source = m_sc.name;
    e.key = "gerrit:" + project + ":" + std::to_string(n);
    e.title = tracker::truncate_utf8(subject.empty() ? "change " + std::to_string(n) : subject,
                                     k_max_title_bytes);
    e.url = m_sc.url + "/c/" + project + "/+/" + std::to_string(n);
    std::string when = gerrit_second(string_of(c, "submitted"));
    if (when.empty()) when = gerrit_second(string_of(c, "updated"));
    e.time = when.empty() ? now : tracker::parse_jira_time(when + " UTC").value_or(now);
    e.summary = "Merged on " + change_branch + " of " + tracker::clean_line(project) + ": " +
                tracker::truncate_utf8(subject, k_max_title_bytes);
    std::string tags;
    for (const auto& t : hashtags) tags += (tags.empty() ? "" : " ") + t;
    e.tags = {{"branch", change_branch},
              {"project", tracker::clean_line(project)},
              {"change_id", change_id}};
    if (!tags.empty()) e.tags["hashtags"] = tracker::truncate_utf8(tags, k_max_tag_bytes);
    if (!topic.empty()) e.tags["topic"] = tracker::truncate_utf8(topic, k_max_tag_bytes);
    if (auto ticket = ticket_of(subject); !ticket.empty()) e.tags["ticket"] = ticket;
    auto& a = e.attributes;
    a["number"] = n;
    a["project"] = project;
    a["branch"] = change_branch;
    a["change_id"] = change_id;
    a["subject"] = subject;
    a["hashtags"] = hashtags;
    a["topic"] = topic;
    for (const char* field : {"created", "updated", "submitted"})
      if (auto t = string_of(c, field); !t.empty()) a[field] = t;
    for (const char* field : {"insertions", "deletions"})
      if (auto it = c.find(field); it != c.end() && it->is_number_integer()) a[field] = *it;
    if (auto owner = c.find("owner"); owner != c.end() && owner->is_object()) {
      if (auto name = string_of(*owner, "name"); !name.empty()) a["owner"] = name;
    }
    const bool old = m_sc.max_age_ms > 0 && e.time < now - m_sc.max_age_ms / 1000;
    out.events.push_back(std::move(e));
    out.announce.push_back(!old);
  }

  SourceConfig m_sc;
  const Clock& m_clock;
  std::unique_ptr<HttpTransport> m_http;
};

}  // namespace

Expected<std::vector<json>> parse_gerrit_changes(std::string_view body) {
  if (body.rfind(")]}'", 0) == 0) {
    auto eol = body.find('\n');
    body = eol == std::string_view::npos ? std::string_view() : body.substr(eol + 1);
  }
  auto doc = parse_json(body);
  if (!doc) return doc.error();
  if (!doc->is_array()) return bad_input("a Gerrit change query answers a JSON array");
  std::vector<json> out;
  out.reserve(doc->size());
  for (auto& c : *doc) out.push_back(std::move(c));
  return out;
}

std::unique_ptr<Source> make_gerrit_source(const SourceConfig& sc, const Config&,
                                           const Clock& clock,
                                           std::unique_ptr<HttpTransport> http) {
  return std::make_unique<GerritSource>(sc, clock, std::move(http));
}

SourceKind gerrit_source_kind() {
  SourceKind k;
  k.kind = "gerrit";
  k.summary = "Gerrit changes merged on maintenance branches, proposed to an admin";
  k.keys = {"url", "project", "branches", "hashtags", "topics", "page_size"};
  k.check = [](const SourceConfig& sc, const Config&) {
    std::vector<std::pair<std::string, std::string>> out;
    if (sc.url.rfind("https://", 0) != 0 && sc.url.rfind("http://", 0) != 0)
      out.emplace_back(sc.url.empty() ? "" : "url",
                       "(gerrit) needs a 'url', the server's http(s):// base, e.g. "
                       "https://review.whamcloud.com");
    if (sc.branches.empty())
      out.emplace_back("branches",
                       "(gerrit) needs 'branches' (the maintenance branches queried, e.g. "
                       "[\"b2_15\"])");
    if (sc.hashtags.empty() && sc.topics.empty())
      out.emplace_back("hashtags",
                       "(gerrit) needs 'hashtags' or 'topics' (what makes a merged change "
                       "a candidate); both are empty");
    for (const auto& b : sc.branches)
      if (trim(b).empty()) out.emplace_back("branches", "(gerrit) 'branches' lists an empty name");
    return out;
  };
  k.make_source = make_gerrit_source;
  return k;
}

}  // namespace herald
