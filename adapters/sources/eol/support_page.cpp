// The support matrix page, from the eol sources' stored cursors.
//
// The Lustre schedule is the eol source whose product is the project
// ("lustre"); the matrix comes from the distribution sources that read the
// ChangeLogs (the largest one kept). A branch is maintained when its own end
// of life is not reached and it is either a long-term support branch or the
// newest branch of the matrix; without a Lustre schedule every branch of the
// matrix is listed. Each distribution of a branch's primary server and client
// lists (RHEL by minor release and SLES by service pack, from the kernels:
// "RHEL 9.4", "SLES 15 SP6") is looked up in the schedule of its family (rhel,
// sles, ubuntu, ...), in its most specific cycle there (RHEL 9.4's own when the
// product file has one, else RHEL 9's), named as eol_cycle: its end of life,
// and a status at the day of the request (UTC): supported, near_eol (90 days or
// fewer), past_eol, or unknown when no source has its schedule.
#include "adapters/sources/eol/support_page.hpp"

#include <algorithm>
#include <map>
#include <optional>

#include "adapters/sources/eol/schedule.hpp"
#include "adapters/sources/eol/support_matrix.hpp"
#include "daemon/http_server.hpp"
#include "daemon/store.hpp"
#include "daemon/util.hpp"

namespace herald::eol {

namespace {

constexpr int64_t k_near_days = 90;

struct Stored {
  std::string product;
  Product schedule;
  std::vector<BranchSupport> matrix;
};

std::vector<Stored> stored_schedules(const Config& cfg, Store& store) {
  std::vector<Stored> out;
  for (const auto& sc : cfg.sources) {
    if (sc.kind != "eol") continue;
    auto state = store.sources().source_state(sc.name);
    if (!state) continue;
    auto product = product_from_cursor(state->cursor);
    if (!product) continue;
    Stored s;
    s.product = sc.product;
    s.schedule = std::move(*product);
    auto j = nlohmann::json::parse(state->cursor, nullptr, false);
    if (j.is_object() && j.contains("matrix")) s.matrix = matrix_from_json(j["matrix"]);
    out.push_back(std::move(s));
  }
  return out;
}

const Cycle* find_cycle(const Product& p, const std::string& name) {
  for (const auto& c : p.cycles)
    if (c.name == name) return &c;
  return nullptr;
}

std::string status_of(const DateField& eol, int64_t today) {
  switch (eol.state) {
    case DateField::State::over:
      return "past_eol";
    case DateField::State::day:
      if (today >= eol.days) return "past_eol";
      return eol.days - today <= k_near_days ? "near_eol" : "supported";
    default:
      return "supported";
  }
}

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string status_text(const std::string& status) {
  if (status == "supported") return "supported";
  if (status == "near_eol") return "end of life within 90 days";
  if (status == "past_eol") return "past end of life";
  return "unknown";
}

std::string eol_text(const std::string& eol) {
  if (eol == "false") return "not decided";
  if (eol == "true") return "reached";
  return eol.empty() ? "unknown" : eol;
}

}  // namespace

nlohmann::json support_json(const Config& cfg, Store& store, int64_t now) {
  const int64_t today = now >= 0 ? now / 86'400 : (now - 86'399) / 86'400;
  const auto stored = stored_schedules(cfg, store);
  const Stored* lustre = nullptr;
  const std::vector<BranchSupport>* matrix = nullptr;
  std::map<std::string, const Stored*> by_family;
  for (const auto& s : stored) {
    bool is_project = false;
    for (const auto& sc : cfg.sources)
      if (sc.kind == "eol" && sc.product == s.product && sc.product == sc.project)
        is_project = true;
    if (is_project && !lustre) lustre = &s;
    if (auto family = distro_family(s.product); !family.empty()) by_family.try_emplace(family, &s);
    if (!s.matrix.empty() && (!matrix || s.matrix.size() > matrix->size())) matrix = &s.matrix;
  }

  nlohmann::json branches = nlohmann::json::array();
  if (matrix) {
    for (size_t i = 0; i < matrix->size(); ++i) {
      const BranchSupport& b = (*matrix)[i];
      const Cycle* own = lustre ? find_cycle(lustre->schedule, b.branch) : nullptr;
      if (lustre) {
        if (!own || status_of(own->eol, today) == "past_eol") continue;
        if (!own->lts && i != 0) continue;
      }
      nlohmann::json branch = {{"branch", b.branch},
                               {"release", b.release},
                               {"release_date", b.date},
                               {"lts", own && own->lts},
                               {"eol", own ? own->eol.text() : ""},
                               {"status", own ? status_of(own->eol, today) : "unknown"}};
      for (const auto& [role, distros, kernels] :
           {std::tuple{"servers", &b.server_distros, &b.server_kernels},
            std::tuple{"clients", &b.client_distros, &b.client_kernels}}) {
        nlohmann::json rows = nlohmann::json::array();
        for (const auto& row : distro_rows(*distros, *kernels)) {
          nlohmann::json r = {{"distro", row.label}, {"kernels", row.kernels}};
          auto it = by_family.find(row.family);
          const Cycle* c =
              it == by_family.end() ? nullptr : find_distro_cycle(it->second->schedule, row);
          r["eol"] = c ? c->eol.text() : "";
          r["eol_cycle"] = c ? row.family + " " + c->name : "";
          r["status"] = c ? status_of(c->eol, today) : "unknown";
          rows.push_back(std::move(r));
        }
        branch[role] = std::move(rows);
      }
      branches.push_back(std::move(branch));
    }
  }
  return {{"generated_at", format_rfc3339(now)},
          {"near_eol_days", k_near_days},
          {"branches", std::move(branches)}};
}

std::string support_html(const nlohmann::json& data) {
  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>Lustre support matrix</title>\n<style>\n"
      "body{font-family:sans-serif;max-width:60em;margin:0 auto;padding:0 1em;line-height:1.4}\n"
      ".scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;margin-bottom:1em}\n"
      "th,td{border:1px solid #888;padding:.3em .5em;text-align:left;vertical-align:top}\n"
      "caption{text-align:left;font-weight:bold;padding:.3em 0}\n"
      ".near_eol{background:#fff3cd}.past_eol{background:#f8d7da}\n"
      "ul{margin:0;padding-left:1.2em}\n</style></head>\n<body>\n<h1>Lustre support matrix</h1>\n";
  h += "<p>The distributions each maintained Lustre branch is built for, and how long each is "
       "supported. As of " +
       escape(data.value("generated_at", "")) + ".</p>\n";
  if (data["branches"].empty()) h += "<p>No support data has been read yet.</p>\n";
  for (const auto& b : data["branches"]) {
    const std::string branch = b["branch"].get<std::string>();
    h += "<section>\n<h2 id=\"lustre-" + escape(branch) + "\">Lustre " + escape(branch) +
         (b["lts"].get<bool>() ? " (long-term support)" : "") + "</h2>\n";
    h += "<p>Newest release: " + escape(b["release"].get<std::string>()) + " (" +
         escape(b["release_date"].get<std::string>()) +
         "). End of life: " + escape(eol_text(b["eol"].get<std::string>())) + ".</p>\n";
    for (const auto& [role, title] :
         {std::pair{"servers", "Servers"}, std::pair{"clients", "Clients"}}) {
      h += "<div class=\"scroll\"><table>\n<caption>" + std::string(title) + "</caption>\n";
      h += "<thead><tr><th scope=\"col\">Distribution</th><th scope=\"col\">Kernels</th>"
           "<th scope=\"col\">Distribution end of life</th><th scope=\"col\">Status</th>"
           "</tr></thead>\n<tbody>\n";
      if (b[role].empty()) h += "<tr><td colspan=\"4\">None listed.</td></tr>\n";
      for (const auto& r : b[role]) {
        const std::string status = r["status"].get<std::string>();
        h += "<tr class=\"" + escape(status) + "\"><th scope=\"row\">" +
             escape(r["distro"].get<std::string>()) + "</th><td><ul>";
        for (const auto& k : r["kernels"]) h += "<li>" + escape(k.get<std::string>()) + "</li>";
        // The date of a less specific cycle ("RHEL 9" for RHEL 9.4) says whose it is.
        std::string eol = eol_text(r["eol"].get<std::string>());
        const std::string from = r.value("eol_cycle", "");
        if (!from.empty() && from != r["distro"].get<std::string>()) eol += " (" + from + ")";
        h += "</ul></td><td>" + escape(eol) + "</td><td>" + escape(status_text(status)) +
             "</td></tr>\n";
      }
      h += "</tbody></table></div>\n";
    }
    h += "</section>\n";
  }
  h += "<p><a href=\"/support.json\">This page as JSON</a></p>\n</body></html>\n";
  return h;
}

void add_support_routes(HttpServer& server, const Config& cfg, const InboundEnv& env) {
  if (!env.store) return;
  const bool any = std::any_of(cfg.sources.begin(), cfg.sources.end(), [](const SourceConfig& s) {
    return s.kind == "eol" && !s.changelogs.empty();
  });
  if (!any) return;
  Store* store = env.store;
  const Clock* clock = &env.clock;
  auto config = std::make_shared<Config>(cfg);
  server.route("GET", "/support.json", [store, clock, config](const InboundRequest&, Respond r) {
    r(InboundResponse::json(200, support_json(*config, *store, clock->now())));
  });
  server.route("GET", "/support", [store, clock, config](const InboundRequest&, Respond r) {
    InboundResponse resp;
    resp.content_type = "text/html; charset=utf-8";
    resp.body = support_html(support_json(*config, *store, clock->now()));
    r(std::move(resp));
  });
}

}  // namespace herald::eol
