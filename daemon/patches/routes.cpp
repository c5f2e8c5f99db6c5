// The patch list's HTTP side. Every rule (validation, approvals, the audit
// log) is applied here and in PatchStore, so the CLI is only a client.
#include "daemon/patches/routes.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>

#include "daemon/admin/approval.hpp"
#include "daemon/admin/auth.hpp"
#include "daemon/http_server.hpp"
#include "daemon/patches/patch_list.hpp"
#include "daemon/render.hpp"
#include "daemon/store.hpp"
#include "daemon/subscriptions/web.hpp"
#include "daemon/util.hpp"

namespace herald {

namespace {

using nlohmann::json;

InboundResponse error(int status, const std::string& why) {
  return InboundResponse::json(status, {{"error", why}});
}

InboundResponse unavailable(const std::string& why) {
  spdlog::error("patches: {}", why);
  return error(503, "the database cannot answer now; nothing was changed");
}

int refusal_status(PatchRefusal r) {
  switch (r) {
    case PatchRefusal::not_found:
      return 404;
    case PatchRefusal::forbidden:
      return 403;
    default:
      return 409;
  }
}

// The body as a JSON object, or the 400 that says why it is not one.
std::optional<InboundResponse> json_object(const InboundRequest& req, json& out) {
  if (req.body.empty()) return error(400, "the body is empty; it must be a JSON object");
  out = json::parse(req.body, nullptr, false);
  if (out.is_discarded()) return error(400, "the body is not JSON");
  if (!out.is_object()) return error(400, "the body must be a JSON object");
  if (!out.contains("action") || !out["action"].is_string())
    return error(400, "\"action\" is missing or not a string");
  return std::nullopt;
}

class PatchApi {
 public:
  PatchApi(const Config& cfg, Store& store, const Templates& templates, const Clock& clock,
           std::function<void()> wake)
      : m_cfg(cfg),
        m_auth(cfg.admins),
        m_store(store),
        m_templates(templates),
        m_clock(clock),
        m_wake(std::move(wake)) {}

  InboundResponse list(const InboundRequest& req);
  InboundResponse propose(const InboundRequest& req);
  InboundResponse decide(const InboundRequest& req);
  InboundResponse index();
  InboundResponse release_page(const InboundRequest& req);

 private:
  // The admin allowed `action`, or the 401/403 (a 403 is audited).
  const AdminConfig* admin(const InboundRequest& req, const char* action,
                           std::optional<InboundResponse>& refusal);
  InboundResponse page(int status, const std::string& set, const std::string& title, json ctx) {
    ctx["title"] = title;
    return web_page(m_templates, status, set, title, ctx);
  }

  const Config m_cfg;
  const AdminAuth m_auth;
  Store& m_store;
  const Templates& m_templates;
  const Clock& m_clock;
  std::function<void()> m_wake;
};

const AdminConfig* PatchApi::admin(const InboundRequest& req, const char* action,
                                   std::optional<InboundResponse>& refusal) {
  auto outcome = m_auth.authorize(req, action);
  if (outcome.admin) return outcome.admin;
  if (!outcome.refused.empty())
    if (auto s = m_store.audit().append({0, m_clock.now(), outcome.refused, "refused", "patches",
                                         req.method + " " + req.path + ": may not " + action});
        !s)
      spdlog::error("patches: cannot write the audit log: {}", s.error().message);
  refusal = std::move(outcome.refusal);
  return nullptr;
}

InboundResponse PatchApi::list(const InboundRequest& req) {
  std::optional<InboundResponse> refusal;
  if (!admin(req, "read", refusal)) return std::move(*refusal);
  std::string release;
  if (const auto* r = req.query_arg("release")) {
    if (!valid_release(*r)) return error(400, "release must be such as 2.15.7");
    release = *r;
  }
  auto entries = m_store.patches().entries(release);
  if (!entries) return unavailable(entries.error().message);
  auto changes = m_store.patches().pending(release);
  if (!changes) return unavailable(changes.error().message);
  json e = json::array(), c = json::array();
  for (const auto& x : *entries) e.push_back(to_json(x));
  for (const auto& x : *changes) c.push_back(to_json(x));
  return InboundResponse::json(200, {{"entries", std::move(e)},
                                     {"changes", std::move(c)},
                                     {"approvals_required", m_cfg.security.approvals}});
}

InboundResponse PatchApi::propose(const InboundRequest& req) {
  std::optional<InboundResponse> refusal;
  const AdminConfig* who = admin(req, "patches", refusal);
  if (!who) return std::move(*refusal);
  json body;
  if (auto bad = json_object(req, body)) return std::move(*bad);
  const std::string action = body["action"].get<std::string>();
  PatchEntry entry;
  if (action == "add") {
    auto e = patch_entry_from_json(body);
    if (!e) return error(400, e.error().message);
    entry = std::move(*e);
  } else if (action == "remove") {
    for (const char* name : {"release", "ticket"})
      if (!body.contains(name) || !body[name].is_string())
        return error(400, std::string("\"") + name + "\" is missing or not a string");
    entry.release = body["release"].get<std::string>();
    entry.ticket = body["ticket"].get<std::string>();
    if (!valid_release(entry.release)) return error(400, "\"release\" must be such as 2.15.7");
    if (!valid_ticket(entry.ticket)) return error(400, "\"ticket\" must be such as LU-17000");
  } else {
    return error(400, "\"action\" must be add or remove, not '" + one_line(action) + "'");
  }
  auto out = m_store.patches().propose(action, entry, who->name, m_clock.now());
  if (!out) return unavailable(out.error().message);
  if (out->refusal != PatchRefusal::none) return error(refusal_status(out->refusal), out->why);
  spdlog::info("patches: {} proposed change {} ({} {} for {})", who->name, out->change.id, action,
               entry.ticket, entry.release);
  return InboundResponse::json(202, {{"id", out->change.id},
                                     {"change", to_json(out->change)},
                                     {"approvals_required", m_cfg.security.approvals}});
}

InboundResponse PatchApi::decide(const InboundRequest& req) {
  std::optional<InboundResponse> refusal;
  const AdminConfig* who = admin(req, "patches", refusal);
  if (!who) return std::move(*refusal);
  const std::string& rest = req.rest;
  if (rest.empty() || rest.size() > 18 || rest[0] == '0' ||
      rest.find_first_not_of("0123456789") != std::string::npos)
    return error(404, "no change '" + one_line(rest) + "': change ids are positive numbers");
  const int64_t id = std::stoll(rest);
  json body;
  if (auto bad = json_object(req, body)) return std::move(*bad);
  const std::string action = body["action"].get<std::string>();
  const int required = m_cfg.security.approvals;
  if (action != "approve" && action != "cancel")
    return error(400, "\"action\" must be approve or cancel, not '" + one_line(action) + "'");
  const Config& cfg = m_cfg;
  const int64_t now = m_clock.now();
  auto out =
      action == "approve"
          ? m_store.patches().approve(
                id, who->name, required,
                [&cfg, now](const PatchEntry& e) { return supported_patch_event(cfg, e, now); },
                now)
          : m_store.patches().cancel(id, who->name, now);
  if (!out) return unavailable(out.error().message);
  if (out->refusal != PatchRefusal::none) return error(refusal_status(out->refusal), out->why);
  if (out->applied) {
    spdlog::info("patches: change {} applied ({} {} for {})", id, out->change.action,
                 out->change.entry.ticket, out->change.entry.release);
    if (m_wake) m_wake();
  }
  return InboundResponse::json(
      200, {{"change", to_json(out->change)},
            {"applied", out->applied},
            {"approvals_counted",
             counted_approvals(required, out->change.author, out->change.approvals)},
            {"approvals_required", required}});
}

InboundResponse PatchApi::index() {
  auto releases = m_store.patches().releases();
  if (!releases) {
    spdlog::error("patches: {}", releases.error().message);
    return page(503, "patches_unavailable", "Try again later", json::object());
  }
  std::sort(releases->begin(), releases->end(),
            [](const auto& a, const auto& b) { return release_newer(a.first, b.first); });
  json rows = json::array();
  for (const auto& [release, count] : *releases)
    rows.push_back({{"release", release},
                    {"count", count},
                    {"one", count == 1},
                    {"path", "/patches/" + release}});
  return page(200, "patches_index", "Supported critical patches",
              {{"releases", rows}, {"has_releases", !rows.empty()}});
}

InboundResponse PatchApi::release_page(const InboundRequest& req) {
  std::string release = req.rest, format = "html";
  for (const char* ext : {".json", ".atom"}) {
    const std::string e = ext;
    if (release.size() > e.size() && release.compare(release.size() - e.size(), e.size(), e) == 0) {
      release.resize(release.size() - e.size());
      format = e.substr(1);
    }
  }
  auto not_found = [&] {
    if (format == "json") return error(404, "no patch list for Lustre " + release);
    if (format == "atom") return InboundResponse::text(404, "No patch list for that release.\n");
    return page(404, "patches_unknown", "No such patch list",
                {{"release", valid_release(release) ? release : ""}});
  };
  if (!valid_release(release)) return not_found();
  auto supported = m_store.patches().supported(release);
  if (!supported) {
    spdlog::error("patches: {}", supported.error().message);
    if (format == "html") return page(503, "patches_unavailable", "Try again later", json::object());
    return InboundResponse::text(503, "The patch list cannot be read now; try again later.\n");
  }
  if (!*supported) return not_found();
  const auto& entries = **supported;
  const int64_t now = m_clock.now();
  if (format == "json")
    return InboundResponse::json(200, release_json(m_cfg, release, entries, now));
  if (format == "atom") {
    InboundResponse r;
    r.content_type = "application/atom+xml; charset=utf-8";
    r.body = release_atom(m_cfg, release, entries, now);
    r.headers = {{"X-Content-Type-Options", "nosniff"}};
    return r;
  }
  json patches = json::array();
  for (const auto& e : entries) {
    std::string branches;
    for (const auto& b : e.branches) branches += (branches.empty() ? "" : ", ") + b;
    patches.push_back({{"ticket", e.ticket},
                       {"summary", e.summary},
                       {"severity", e.severity},
                       {"change_url", e.change_url},
                       {"branches", branches},
                       {"since", format_rfc3339(e.applied_at).substr(0, 10)}});
  }
  return page(200, "patches", "Supported critical patches for Lustre " + release,
              {{"release", release},
               {"patches", patches},
               {"has_patches", !patches.empty()},
               {"json_path", "/patches/" + release + ".json"},
               {"atom_path", "/patches/" + release + ".atom"}});
}

}  // namespace

void add_patch_routes(HttpServer& server, const Config& cfg, Store& store,
                      const Templates& templates, const Clock& clock, std::function<void()> wake) {
  auto api = std::make_shared<PatchApi>(cfg, store, templates, clock, std::move(wake));
  server.route("GET", "/api/v1/admin/patches",
               [api](const InboundRequest& req, Respond r) { r(api->list(req)); });
  server.route("POST", "/api/v1/admin/patches",
               [api](const InboundRequest& req, Respond r) { r(api->propose(req)); });
  server.route("POST", "/api/v1/admin/patch-changes/*",
               [api](const InboundRequest& req, Respond r) { r(api->decide(req)); });
  server.route("GET", "/patches", [api](const InboundRequest&, Respond r) { r(api->index()); });
  server.route("GET", "/patches/*",
               [api](const InboundRequest& req, Respond r) { r(api->release_page(req)); });
}

}  // namespace herald
