// The feed source: fetch (conditional GET), skip unchanged bodies, parse, and
// turn entries into release events. With release_model = "lustre" an entry
// is a release only when its title (or link) carries a Lustre version; its
// class decides the audience tag, and the ChangeLog enriches it.
#include <algorithm>

#include "adapters/sources/feed/feed_source.hpp"

#include "adapters/sources/feed/feed_parser.hpp"
#include "adapters/sources/lustre/release.hpp"
#include "adapters/sources/source.hpp"
#include "daemon/util.hpp"

namespace herald {

namespace {

class FeedSource final : public Source {
 public:
  FeedSource(SourceConfig sc, const Config& cfg, const Clock& clock,
             std::unique_ptr<HttpTransport> http)
      : m_sc(std::move(sc)), m_lustre(cfg.lustre), m_clock(clock), m_http(std::move(http)) {}

  const SourceConfig& config() const override { return m_sc; }

  Expected<PollOutcome> poll(const SourceState& state) override {
    HttpRequest req = request(m_sc.url);
    req.etag = state.etag;
    req.last_modified = state.last_modified;
    auto resp = fetch(*m_http, req);
    if (!resp) return resp.error();
    PollOutcome out;
    out.cursor = state.cursor;
    out.etag = resp->etag.empty() ? state.etag : resp->etag;
    out.last_modified = resp->last_modified.empty() ? state.last_modified : resp->last_modified;
    if (resp->not_modified()) {
      out.unchanged = true;
      out.content_hash = state.content_hash;
      return out;
    }
    out.content_hash = sha256_hex(resp->body);
    if (out.content_hash == state.content_hash) {
      out.unchanged = true;
      return out;
    }
    std::string base = resp->effective_url.empty() ? m_sc.url : resp->effective_url;
    auto feed = feed::parse_feed(resp->body, base);
    if (!feed) return bad_input(redact_url(m_sc.url) + ": " + feed.error().message);
    out.warnings = feed->warnings;

    const int64_t now = m_clock.now();
    int64_t newest = 0;
    std::optional<std::vector<lustre::ChangeLogRelease>> changelog;
    for (const auto& entry : feed->entries) {
      newest = std::max(newest, entry.updated);
      Event e;
      e.kind = "release.published";
      e.source = m_sc.name;
      e.time = entry.updated;  // 0: the feed gave no date, and none is invented
      e.title = feed::display_title(entry);
      e.url = entry.link;
      e.summary = entry.summary;
      e.attributes["entry_id"] = entry.key;
      if (!entry.author.empty()) e.attributes["author"] = entry.author;
      bool announce = true;
      if (m_sc.release_model == "lustre") {
        auto v = lustre::parse_version(entry.title);
        if (!v) v = lustre::parse_version(entry.link.substr(entry.link.rfind('/') + 1));
        if (!v) {
          out.warnings.push_back("entry '" + e.title + "' carries no Lustre version; skipped");
          continue;
        }
        std::string cls = lustre::to_string(v->cls);
        const std::string& audience =
            v->cls == lustre::ReleaseClass::ga ? m_lustre.ga
            : v->cls == lustre::ReleaseClass::rc ? m_lustre.rc : m_lustre.dev;
        bool lts = std::find(m_lustre.lts_branches.begin(), m_lustre.lts_branches.end(),
                             v->branch()) != m_lustre.lts_branches.end();
        e.key = "release:" + m_sc.project + ":" + v->text();
        e.tags = {{"project", m_sc.project}, {"version", v->text()}, {"branch", v->branch()},
                  {"class", cls}, {"lts", lts ? "yes" : "no"}, {"audience", audience}};
        e.attributes["version"] = v->text();
        e.attributes["branch"] = v->branch();
        e.attributes["class"] = cls;
        e.attributes["lts"] = lts;
        e.attributes["is_ga"] = v->cls == lustre::ReleaseClass::ga;
        e.attributes["is_rc"] = v->cls == lustre::ReleaseClass::rc;
        e.attributes["is_dev"] = v->cls == lustre::ReleaseClass::dev;
        announce = audience != "none";
        if (announce && !m_sc.changelogs.empty()) {
          if (!changelog) changelog = load_changelogs(m_sc, *m_http, out.warnings);
          if (auto rel = lustre::find_release(*changelog, v->text())) enrich(e, *rel);
        }
        const bool new_branch = v->patch == 0 && v->build == 0;
        if (announce && lts && v->cls == lustre::ReleaseClass::ga && !new_branch) {
          if (auto prev = previous_release(*v, feed->entries, changelog))
            e.attributes["previous_release"] = prev->text();
        }
      } else {
        e.key = "feed:" + m_sc.name + ":" + entry.key;
        e.tags = {{"project", m_sc.project}, {"audience", "release"}};
      }
      if (m_sc.max_age_ms > 0 && entry.updated > 0 &&
          entry.updated < now - m_sc.max_age_ms / 1000)
        announce = false;
      out.events.push_back(std::move(e));
      out.announce.push_back(announce);
    }
    if (newest > 0) out.cursor = format_rfc3339(newest);
    return out;
  }

 private:
  HttpRequest request(const std::string& url) const { return source_request(m_sc, url); }


  // The latest GA release of v's branch before v, among the feed's entries and the
  // ChangeLogs' blocks (the feed holds only the newest tags; a branch's ChangeLog lists
  // every release of it).
  static std::optional<lustre::Version> previous_release(
      const lustre::Version& v, const std::vector<feed::FeedEntry>& entries,
      const std::optional<std::vector<lustre::ChangeLogRelease>>& changelog) {
    std::optional<lustre::Version> best;
    auto consider = [&](std::string_view text) {
      auto c = lustre::parse_version(text);
      if (!c || c->cls != lustre::ReleaseClass::ga || c->major != v.major || c->minor != v.minor)
        return;
      if (lustre::release_precedes(*c, v) && (!best || lustre::release_precedes(*best, *c)))
        best = c;
    };
    for (const auto& entry : entries) consider(entry.title);
    if (changelog)
      for (const auto& rel : *changelog) consider(rel.version);
    return best;
  }

  static void enrich(Event& e, const lustre::ChangeLogRelease& rel) {
    auto& a = e.attributes;
    a["changelog_date"] = rel.date;
    // The tag's UTC date can be a day after the release (2.17.0: tagged 2025-12-30 UTC,
    // released 2025-12-29): the ChangeLog's date, when it is a full one, is the release's.
    if (rel.date_unix) a["release_date"] = format_rfc3339(*rel.date_unix).substr(0, 10);
    a["server_kernels"] = rel.server_kernels;
    a["client_kernels"] = rel.client_kernels;
    a["server_distros"] = rel.server_distros;
    a["client_distros"] = rel.client_distros;
    if (!rel.e2fsprogs.empty()) a["e2fsprogs"] = rel.e2fsprogs;
    if (!rel.zfs.empty()) a["zfs"] = rel.zfs;
    a["changelog_notes"] = rel.notes;
  }

  SourceConfig m_sc;
  LustreConfig m_lustre;
  const Clock& m_clock;
  std::unique_ptr<HttpTransport> m_http;  // the feed's and its ChangeLogs' requests
};

}  // namespace

std::unique_ptr<Source> make_feed_source(const SourceConfig& sc, const Config& cfg,
                                         const Clock& clock,
                                         std::unique_ptr<HttpTransport> http) {
  return std::make_unique<FeedSource>(sc, cfg, clock, std::move(http));
}

SourceKind feed_source_kind() {
  SourceKind k;
  k.kind = "feed";
  k.summary = "An Atom or RSS feed of releases, polled";
  k.keys = {"url", "release_model", "changelog"};
  k.check = [](const SourceConfig& sc, const Config&) {
    std::vector<std::pair<std::string, std::string>> out;
    if (sc.url.empty()) out.emplace_back("url", "needs a 'url'");
    return out;
  };
  k.make_source = make_feed_source;
  return k;
}

}  // namespace herald
