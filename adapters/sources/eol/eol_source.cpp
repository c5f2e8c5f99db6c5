// The end-of-life source: on every poll it reads the product's schedule (a
// local file, or the API with a conditional GET; on a 304 the schedule kept
// in the cursor stands in for the body) and works out, from the clock, which
// notices are due.
//
// For a cycle whose EOL date D is known, a notice "T-N" is due at local
// midnight (in the source's time zone) of D - N days, for each configured
// point N, and "reached" at local midnight of D. Every due notice is emitted
// on every poll under a key holding the product, cycle, point and date
// (eol:lustre:2.12:T-30:2026-12-31): the event store keeps the first and drops
// the repeats, which makes each notice exactly-once across restarts, and a
// new date gives new keys, so the points re-arm. Only the nearest due notice
// of a cycle is announced; older ones are recorded as seen (a daemon that was
// stopped over two points sends one notice, not two). The cursor keeps the
// schedule seen last; against it:
//   - a cycle not in it (and every cycle at a source's first poll) announces
//     its nearest due notice only if it is still current: an upcoming one, or
//     the day itself within the smallest point's number of days;
//   - a cycle whose EOL changed is announced as eol.changed (old and new date);
//     the notices already due under the new date are recorded, not announced;
//     a change to `true` (over, day not given) is announced as eol.reached.
//     The cursor also counts each cycle's changes: from the second on, the key
//     ends in the count (eol:lustre:2.12:changed:2027-03-31:2027-09-30:3), so
//     that a date that goes back and forth is announced at every change, once.
#include "adapters/sources/eol/eol_source.hpp"

#include <date/date.h>
#include <date/tz.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "adapters/sources/eol/schedule.hpp"
#include "adapters/sources/eol/support_matrix.hpp"
#include "adapters/sources/lustre/release.hpp"
#include "adapters/sources/source.hpp"
#include "daemon/util.hpp"

namespace herald {

namespace {

using eol::Cycle;
using eol::DateField;
using eol::Product;
using State = DateField::State;

constexpr int64_t k_day = 86'400;

// A support date for people: the day, or what false and true mean.
std::string display(const DateField& f) {
  switch (f.state) {
    case State::day:
      return f.text();
    case State::over:
      return "reached (the day was not published)";
    case State::undecided:
    case State::absent:
      return "not decided yet";
  }
  return "";
}

class EolSource final : public Source {
 public:
  EolSource(SourceConfig sc, const Clock& clock, std::unique_ptr<HttpTransport> http)
      : m_sc(std::move(sc)), m_clock(clock), m_http(std::move(http)) {
    try {
      m_zone = date::locate_zone(m_sc.timezone);
      m_zone->get_info(date::sys_seconds{});  // loads the zone now
    } catch (const std::exception&) {
      m_zone = nullptr;
    }
    m_points = m_sc.points;
    m_family = eol::distro_family(m_sc.product);
    std::sort(m_points.begin(), m_points.end(), std::greater<>());
  }

  const SourceConfig& config() const override { return m_sc; }

  Expected<PollOutcome> poll(const SourceState& state) override {
    if (!m_zone) return permanent_error("unknown time zone '" + m_sc.timezone + "'");
    const bool from_api = m_sc.path.empty();
    const std::string& file = m_sc.file.empty() ? m_sc.path : m_sc.file;
    HttpRequest req = source_request(m_sc, from_api ? m_sc.url : "file://" + file);
    req.max_body = std::min<int64_t>(m_sc.max_size, eol::k_max_schedule_size);
    std::optional<Product> previous = eol::product_from_cursor(state.cursor);
    if (from_api && previous) {  // without the schedule kept, a 304 would leave nothing to read
      req.etag = state.etag;
      req.last_modified = state.last_modified;
    }
    if (from_api) req.headers.push_back("Accept: application/json");
    auto resp = fetch(*m_http, req);
    if (!resp) return resp.error();

    PollOutcome out;
    out.etag = resp->etag.empty() ? state.etag : resp->etag;
    out.last_modified = resp->last_modified.empty() ? state.last_modified : resp->last_modified;
    Product product;
    if (resp->not_modified()) {
      out.unchanged = true;
      out.content_hash = state.content_hash;
      product = *previous;
    } else {
      out.content_hash = sha256_hex(resp->body);
      out.unchanged = out.content_hash == state.content_hash;
      auto parsed = from_api ? eol::parse_api_v1(resp->body) : eol::parse_product_file(resp->body);
      if (!parsed) {
        const std::string where = from_api ? redact_url(m_sc.url) : m_sc.path;
        return bad_input(where + ": " + parsed.error().message);
      }
      product = std::move(*parsed);
    }
    nlohmann::json cursor = eol::to_json(product);
    if (!m_family.empty() && !m_sc.changelogs.empty()) {
      m_matrix = load_matrix(out.warnings);
      cursor["matrix"] = eol::to_json(m_matrix);  // for the support page
    }
    Changes changes = changes_from_cursor(state.cursor);
    notices(product, previous, m_clock.now(), changes, out);
    cursor["changes"] = changes;
    out.cursor = cursor.dump();
    return out;
  }

 private:
  // The support matrix of every configured ChangeLog. One that cannot be fetched is a
  // warning: the notices go out without what it would have said.
  std::vector<eol::BranchSupport> load_matrix(std::vector<std::string>& warnings) {
    return eol::support_matrix(load_changelogs(m_sc, *m_http, warnings));
  }

  // The instant local midnight begins `days` (since 1970-01-01) in the source's zone; a
  // midnight that daylight saving skips is the instant the day begins.
  int64_t local_midnight(int64_t days) const {
    date::local_seconds local{std::chrono::seconds{days * k_day}};
    auto info = m_zone->get_info(local);
    if (info.result == date::local_info::nonexistent)
      return info.second.begin.time_since_epoch().count();
    return days * k_day - info.first.offset.count();
  }

  // The local calendar day of an instant, as days since 1970-01-01.
  int64_t local_day(int64_t t) const {
    auto info = m_zone->get_info(date::sys_seconds{std::chrono::seconds{t}});
    const int64_t local = t + info.offset.count();
    return local >= 0 ? local / k_day : (local - k_day + 1) / k_day;
  }

  // How many changes of its EOL each cycle has had, as the cursor keeps them ({"2.12": 3}).
  // Kept for every cycle ever seen, so that one dropped and added back goes on counting.
  using Changes = std::map<std::string, int64_t>;
  static Changes changes_from_cursor(const std::string& cursor) {
    Changes out;
    auto j = nlohmann::json::parse(cursor, nullptr, false);
    if (!j.is_object() || !j.contains("changes") || !j["changes"].is_object()) return out;
    for (const auto& [cycle, n] : j["changes"].items())
      if (n.is_number_integer() && n.get<int64_t>() > 0) out[cycle] = n.get<int64_t>();
    return out;
  }

  // The key suffix of a cycle's n-th change: none for the first (the key of the old and the
  // new date is new then), ":n" after it, when the same dates may come back.
  static std::string nth(int64_t n) { return n > 1 ? ":" + std::to_string(n) : ""; }

  std::string display_name(const Product& p) const {
    return p.title.empty() ? m_sc.product : one_line(p.title);
  }

  void notices(const Product& product, const std::optional<Product>& previous, int64_t now,
               Changes& changes, PollOutcome& out) const {
    std::map<std::string, DateField> seen;
    if (previous)
      for (const auto& c : previous->cycles) seen[c.name] = c.eol;
    // The upgrade target: the newest LTS cycle with a latest release.
    const Cycle* newest_lts = nullptr;
    for (const auto& c : product.cycles)
      if (c.lts && !c.latest.empty() && (!newest_lts || c.release_date > newest_lts->release_date))
        newest_lts = &c;
    const int64_t grace_days = m_points.empty() ? 7 : m_points.back();

    for (const auto& c : product.cycles) {
      auto it = seen.find(c.name);
      const bool first_seen = it == seen.end();
      const auto undecided_if_absent = [](DateField f) {
        if (f.state == State::absent) f.state = State::undecided;
        return f;
      };
      const bool changed =
          !first_seen && undecided_if_absent(it->second) != undecided_if_absent(c.eol);
      const int64_t change = changed ? ++changes[c.name] : 0;
      if (changed && c.eol.state != State::over)
        emit_changed(product, c, it->second, now, change, newest_lts, out);

      if (c.eol.state == State::over) {
        Event e = base_event(product, c, "eol.reached", newest_lts, false);
        e.key = key(c, "reached:true" + nth(change));
        e.time = now;
        e.severity = "medium";
        e.title = display_name(product) + " " + one_line(c.name) + " has reached end of life";
        if (changed) {
          e.attributes["previous_eol"] = it->second.text();
          e.attributes["previous_eol_display"] = display(it->second);
        }
        e.summary = summary(e);
        out.events.push_back(std::move(e));
        out.announce.push_back(changed);
        continue;
      }
      if (c.eol.state != State::day) continue;

      // The due notices, oldest first: T-N for each point, then the day itself.
      struct Due {
        int64_t point;  // days before the date; 0 = the day
        int64_t at;
      };
      std::vector<Due> due;
      for (int64_t n : m_points)
        if (int64_t at = local_midnight(c.eol.days - n); at <= now) due.push_back({n, at});
      const int64_t reached_at = local_midnight(c.eol.days);
      if (reached_at <= now) due.push_back({0, reached_at});
      for (size_t i = 0; i < due.size(); ++i) {
        const bool nearest = i + 1 == due.size();
        bool announce = nearest && !changed;
        if (announce && first_seen && due[i].point == 0)
          announce = now < reached_at + grace_days * k_day;
        const bool reached = due[i].point == 0;
        Event e =
            base_event(product, c, reached ? "eol.reached" : "eol.upcoming", newest_lts, !reached);
        e.time = due[i].at;
        const std::string date = c.eol.text();
        e.key = key(c, (reached ? std::string("reached") : "T-" + std::to_string(due[i].point)) +
                           ":" + date);
        e.attributes["point_days"] = due[i].point;
        const int64_t days_left = c.eol.days - local_day(now);
        e.attributes["days_left"] = std::max<int64_t>(days_left, 0);
        if (reached) {
          e.severity = "medium";
          e.title = display_name(product) + " " + one_line(c.name) + " has reached end of life (" +
                    date + ")";
        } else {
          e.severity = due[i].point <= 7 ? "medium" : "low";
          e.title = display_name(product) + " " + one_line(c.name) + " reaches end of life on " +
                    date + ", in " + std::to_string(days_left) +
                    (days_left == 1 ? " day" : " days");
        }
        e.summary = summary(e);
        out.events.push_back(std::move(e));
        out.announce.push_back(announce);
      }
    }
  }

  void emit_changed(const Product& product, const Cycle& c, const DateField& old, int64_t now,
                    int64_t change, const Cycle* newest_lts, PollOutcome& out) const {
    const std::string from = old.state == State::absent ? "false" : old.text();
    const std::string to = c.eol.state == State::absent ? "false" : c.eol.text();
    const bool supported = c.eol.state != State::day || local_midnight(c.eol.days) > now;
    Event e = base_event(product, c, "eol.changed", newest_lts, supported);
    e.key = key(c, "changed:" + from + ":" + to + nth(change));
    e.time = now;
    e.severity = "low";
    e.attributes["previous_eol"] = from;
    e.attributes["previous_eol_display"] = display(old);
    const std::string name = display_name(product) + " " + one_line(c.name);
    if (from == "false")
      e.title = name + ": end of life set to " + to;
    else if (to == "false")
      e.title = name + ": end of life " + from + " withdrawn, not decided";
    else
      e.title = name + ": end of life moved from " + from + " to " + to;
    if (c.eol.state == State::day)
      e.attributes["days_left"] = std::max<int64_t>(c.eol.days - local_day(now), 0);
    e.summary = summary(e);
    out.events.push_back(std::move(e));
    out.announce.push_back(true);
  }

  std::string key(const Cycle& c, const std::string& rest) const {
    return "eol:" + m_sc.product + ":" + one_line(c.name) + ":" + rest;
  }

  // What every notice of a cycle carries: its dates, and the upgrade path (the newest LTS
  // cycle's latest release, and the cycle's own latest while it is still supported).
  Event base_event(const Product& product, const Cycle& c, const char* kind,
                   const Cycle* newest_lts, bool still_supported) const {
    Event e;
    e.kind = kind;
    e.source = m_sc.name;
    const std::string cycle = one_line(c.name);
    e.tags = {{"project", m_sc.project},
              {"product", m_sc.product},
              {"cycle", cycle},
              {"lts", c.lts ? "yes" : "no"},
              {"audience", "eol"}};
    // In the project's own schedule (Lustre's) a cycle is a branch, as subscribers filter by.
    if (m_sc.product == m_sc.project) e.tags["branch"] = cycle;
    auto& a = e.attributes;
    a["product"] = m_sc.product;
    a["product_name"] = display_name(product);
    a["cycle"] = cycle;
    a["lts"] = c.lts;
    a["eol"] = c.eol.text();
    a["eol_display"] = display(c.eol);
    a["timezone"] = m_sc.timezone;
    if (!c.release_date.empty()) a["release_date"] = c.release_date;
    if (c.eoas.state != State::absent) a["eoas"] = c.eoas.text();
    if (c.eoes.state != State::absent) a["eoes"] = c.eoes.text();
    if (!c.latest.empty()) a["latest"] = c.latest;
    if (newest_lts && newest_lts != &c) {
      a["upgrade_lts_branch"] = one_line(newest_lts->name);
      a["upgrade_lts_release"] = newest_lts->latest;
    }
    if (still_supported && !c.latest.empty()) a["upgrade_branch_release"] = c.latest;
    if (!m_family.empty() && !m_sc.changelogs.empty()) {
      // The Lustre branches built for this distribution release, for servers and clients.
      nlohmann::json servers = nlohmann::json::array(), clients = nlohmann::json::array();
      std::string branches;
      for (const auto& b : m_matrix) {
        const bool server = eol::lists_cycle(b.server_distros, b.server_kernels, m_family, cycle);
        const bool client = eol::lists_cycle(b.client_distros, b.client_kernels, m_family, cycle);
        if (server) servers.push_back(b.branch);
        if (client) clients.push_back(b.branch);
        if (server || client) branches += (branches.empty() ? "" : " ") + b.branch;
      }
      a["distro"] = m_family + " " + cycle;
      if (std::string named = named_releases(cycle); !named.empty()) a["distro_releases"] = named;
      a["lustre_server_branches"] = servers;
      a["lustre_client_branches"] = clients;
      a["lustre_server_list"] = join(servers);
      a["lustre_client_list"] = join(clients);
      if (!branches.empty()) e.tags["lustre_branches"] = branches;
    }
    return e;
  }

  // The releases of a cycle as the ChangeLogs name them, with the branches built for each,
  // when that is more exact than the cycle ("RHEL 9.7", "SLES 15 SP6"): "servers RHEL 8.10
  // (2.17, 2.16); clients RHEL 9.7 (2.17), RHEL 9.6 (2.15)"; "" otherwise.
  std::string named_releases(const std::string& cycle) const {
    const std::string distro = m_family + " " + cycle;
    std::string out;
    for (const bool server : {true, false}) {
      std::vector<std::pair<std::string, std::string>> named;  // label, branches
      for (const auto& b : m_matrix) {
        for (const auto& row : eol::distro_rows(server ? b.server_distros : b.client_distros,
                                                server ? b.server_kernels : b.client_kernels)) {
          if (row.family != m_family || row.label == distro) continue;
          if (row.cycle != cycle && row.major_cycle != cycle) continue;
          auto it = std::find_if(named.begin(), named.end(),
                                 [&](const auto& n) { return n.first == row.label; });
          if (it == named.end())
            named.emplace_back(row.label, b.branch);
          else
            it->second += ", " + b.branch;
        }
      }
      if (named.empty()) continue;
      out += std::string(out.empty() ? "" : "; ") + (server ? "servers " : "clients ");
      for (size_t i = 0; i < named.size(); ++i)
        out += (i ? ", " : "") + named[i].first + " (" + named[i].second + ")";
    }
    return out;
  }

  static std::string join(const nlohmann::json& list) {
    std::string out;
    for (const auto& v : list) out += (out.empty() ? "" : ", ") + v.get<std::string>();
    return out;
  }

  // The plain-text body shared by every channel's default rendering.
  static std::string summary(const Event& e) {
    const auto& a = e.attributes;
    std::vector<std::string> lines;
    if (a.contains("distro")) {
      const std::string distro = a["distro"].get<std::string>();
      const std::string servers = a["lustre_server_list"].get<std::string>();
      const std::string clients = a["lustre_client_list"].get<std::string>();
      if (servers.empty() && clients.empty())
        lines.push_back("No Lustre branch of the ChangeLogs is built for " + distro + ".");
      else
        lines.push_back("Lustre branches built for " + distro + ": servers " +
                        (servers.empty() ? "none" : servers) + "; clients " +
                        (clients.empty() ? "none" : clients) + ".");
      if (a.contains("distro_releases"))
        lines.push_back("As the ChangeLogs name them: " + a["distro_releases"].get<std::string>() +
                        ".");
    }
    if (a.contains("upgrade_lts_release"))
      lines.push_back("Upgrade path: " + a["upgrade_lts_release"].get<std::string>() +
                      ", the latest release of " + a["upgrade_lts_branch"].get<std::string>() +
                      ", the newest long-term support branch.");
    if (a.contains("upgrade_branch_release"))
      lines.push_back("Until then, " + a["upgrade_branch_release"].get<std::string>() +
                      " is the latest release of " + a["cycle"].get<std::string>() + ".");
    std::string s;
    for (const auto& l : lines) s += (s.empty() ? "" : "\n") + l;
    return s;
  }

  SourceConfig m_sc;
  const Clock& m_clock;
  std::unique_ptr<HttpTransport> m_http;
  const date::time_zone* m_zone = nullptr;
  std::vector<int64_t> m_points;             // largest first
  std::string m_family;                      // the ChangeLog's name of the product ("RHEL"), or ""
  std::vector<eol::BranchSupport> m_matrix;  // from the ChangeLogs, read on each poll
};

}  // namespace

std::unique_ptr<Source> make_eol_source(const SourceConfig& sc, const Config&, const Clock& clock,
                                        std::unique_ptr<HttpTransport> http) {
  return std::make_unique<EolSource>(sc, clock, std::move(http));
}

SourceKind eol_source_kind() {
  SourceKind k;
  k.kind = "eol";
  k.summary = "An end-of-life schedule (endoflife.date product file or API), polled";
  k.keys = {"path", "url", "product", "points", "timezone", "changelog"};
  k.check = [](const SourceConfig& sc, const Config&) {
    std::vector<std::pair<std::string, std::string>> out;
    if (sc.path.empty() == sc.url.empty())
      out.emplace_back(sc.path.empty() ? "" : "url",
                       "(eol) needs one of 'path' (a product file) or 'url' (the API)");
    if (sc.url.rfind("file://", 0) == 0)
      out.emplace_back("url", "(eol) reads a local product file from 'path', not a file:// url");
    if (sc.product.empty())
      out.emplace_back("", "(eol) needs a 'product' (its name in event keys, e.g. \"lustre\")");
    else if (sc.product.find_first_of(": \t\r\n") != std::string::npos)
      out.emplace_back("product", "(eol) 'product' must not hold ':' or white space");
    if (!sc.changelogs.empty() && eol::distro_family(sc.product).empty())
      out.emplace_back("changelog",
                       "(eol) 'changelog' cross-references a distribution (product rhel, sles, "
                       "ubuntu, fedora or openeuler), not '" +
                           sc.product + "'");
    try {
      date::locate_zone(sc.timezone);
    } catch (const std::exception&) {
      out.emplace_back("timezone", "(eol) unknown time zone '" + sc.timezone + "'");
    }
    return out;
  };
  k.make_source = make_eol_source;
  return k;
}

}  // namespace herald
