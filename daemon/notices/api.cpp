#include "daemon/notices/api.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>
#include <limits>
#include <map>
#include <memory>

#include "daemon/admin/approval.hpp"
#include "daemon/admin/auth.hpp"
#include "daemon/http_server.hpp"
#include "daemon/notices/notice.hpp"
#include "daemon/patches/patch_list.hpp"
#include "daemon/store.hpp"
#include "daemon/util.hpp"

namespace herald {

namespace {

InboundResponse error(int status, const std::string& why) {
  return InboundResponse::json(status, {{"error", why}});
}

// The status an error of the store answers: bad_input is a state conflict.
InboundResponse store_error(const Error& e) {
  return error(e.kind == ErrorKind::bad_input ? 409 : 503, e.message);
}

class NoticeApi {
 public:
  NoticeApi(const Config& cfg, Store& store, const Clock& clock, std::function<void()> wake)
      : m_cfg(cfg), m_rule(cfg.security), m_auth(cfg.admins), m_store(store), m_clock(clock),
        m_wake(std::move(wake)) {}

  void list(const InboundRequest& req, const Respond& respond) {
    const AdminConfig* admin = authorize(req, "read", "notices", respond);
    if (!admin) return;
    auto all = m_store.notices().list();
    if (!all) return respond(store_error(all.error()));
    nlohmann::json out = nlohmann::json::array();
    for (const auto& n : *all) out.push_back(notice_json(n, m_rule));
    respond(InboundResponse::json(200, {{"notices", out}}));
  }

  void create(const InboundRequest& req, const Respond& respond) {
    const AdminConfig* admin = authorize(req, "draft", "notices", respond);
    if (!admin) return;
    auto body = parse_body(req, respond);
    if (!body) return;
    if (!body->contains("notice")) return respond(error(400, "the body needs 'notice'"));
    auto fields = notice_fields((*body)["notice"]);
    if (!fields) return respond(error(400, fields.error().message));
    if (!cite_patch_list(*fields, respond)) return;
    auto embargo = embargo_of(*body, respond);
    if (!embargo) return;
    const int64_t now = m_clock.now();
    const int year = static_cast<int>(std::stoi(format_rfc3339(now).substr(0, 4)));
    auto n = m_store.notices().create(m_rule.prefix, year, *fields, *embargo, admin->name, now);
    if (!n) return respond(store_error(n.error()));
    spdlog::info("notice {}: drafted by {}", n->name(), admin->name);
    respond(InboundResponse::json(201, notice_json(*n, m_rule)));
  }

  void show(const InboundRequest& req, const Respond& respond) {
    const AdminConfig* admin = authorize(req, "read", req.rest, respond);
    if (!admin) return;
    auto n = find(req.rest, respond);
    if (!n) return;
    respond(InboundResponse::json(200, notice_json(*n, m_rule)));
  }

  void act(const InboundRequest& req, const Respond& respond) {
    auto body = parse_body(req, respond);
    if (!body) return;
    const std::string action = body->value("action", "");
    static const std::map<std::string, std::string> needs = {
        {"approve", "approve"}, {"publish", "publish"}, {"revise", "draft"}, {"withdraw", "draft"}};
    auto it = needs.find(action);
    if (it == needs.end())
      return respond(error(400, "'action' must be approve, publish, revise or withdraw"));
    const AdminConfig* admin = authorize(req, it->second, req.rest, respond);
    if (!admin) return;
    auto n = find(req.rest, respond);
    if (!n) return;
    if (action == "approve") return approve(*n, *admin, respond);
    if (action == "publish") return publish(*n, *body, *admin, respond);
    if (action == "revise") return revise(*n, *body, *admin, respond);
    withdraw(*n, *body, *admin, respond);
  }

  // What the watches proposed (OSV advisories, Gerrit candidates), held for an
  // admin: the newest first, at most `limit` (default 100).
  void proposals(const InboundRequest& req, const Respond& respond) {
    const AdminConfig* admin = authorize(req, "read", "proposals", respond);
    if (!admin) return;
    int limit = 100;
    if (const std::string* l = req.query_arg("limit")) {
      limit = std::atoi(l->c_str());
      if (limit < 1 || limit > 10'000) return respond(error(400, "'limit' must be 1 to 10000"));
    }
    auto events = m_store.events().events_received_between(
        0, std::numeric_limits<int64_t>::max(),
        std::vector<std::string>(std::begin(k_proposal_kinds), std::end(k_proposal_kinds)));
    if (!events) return respond(store_error(events.error()));
    nlohmann::json out = nlohmann::json::array();
    for (auto it = events->rbegin(); it != events->rend() && out.size() < static_cast<size_t>(limit);
         ++it)
      out.push_back(to_json(it->event));
    respond(InboundResponse::json(200, {{"proposals", out}}));
  }

  void audit(const InboundRequest& req, const Respond& respond) {
    const AdminConfig* admin = authorize(req, "read", "audit", respond);
    if (!admin) return;
    const std::string* subject = req.query_arg("subject");
    int limit = 1000;
    if (const std::string* l = req.query_arg("limit")) {
      limit = std::atoi(l->c_str());
      if (limit < 1 || limit > 100'000) return respond(error(400, "'limit' must be 1 to 100000"));
    }
    auto entries = m_store.audit().list(subject ? *subject : "", limit);
    if (!entries) return respond(store_error(entries.error()));
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : *entries)
      out.push_back({{"at", format_rfc3339(e.at)},
                     {"admin", e.admin},
                     {"action", e.action},
                     {"subject", e.subject},
                     {"detail", e.detail}});
    respond(InboundResponse::json(200, {{"entries", out}}));
  }

 private:
  // The admin, or nullptr once the refusal was answered (a 403 is audited).
  const AdminConfig* authorize(const InboundRequest& req, const std::string& action,
                               const std::string& subject, const Respond& respond) {
    auto out = m_auth.authorize(req, action);
    if (out.admin) return out.admin;
    if (!out.refused.empty()) {
      (void)m_store.audit().append(
          {0, m_clock.now(), out.refused, "refused", subject, "may not " + action});
      spdlog::warn("admin API: {} may not {} ({} {})", out.refused, action, req.method, req.path);
    } else {
      spdlog::warn("admin API: {} {} from {} without a valid admin token", req.method, req.path,
                   req.peer);
    }
    respond(std::move(*out.refusal));
    return nullptr;
  }

  std::optional<nlohmann::json> parse_body(const InboundRequest& req, const Respond& respond) {
    auto j = nlohmann::json::parse(req.body, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      respond(error(400, "the body must be a JSON object"));
      return std::nullopt;
    }
    return j;
  }

  // The body's "embargo" (RFC 3339 in UTC, or Unix seconds) as Unix
  // seconds, 0 when absent; nullopt once a bad one was answered.
  std::optional<int64_t> embargo_of(const nlohmann::json& body, const Respond& respond) {
    if (!body.contains("embargo") || body["embargo"].is_null()) return int64_t{0};
    std::optional<int64_t> t;
    if (body["embargo"].is_number_integer())
      t = body["embargo"].get<int64_t>();
    else if (body["embargo"].is_string())
      t = parse_utc_time(body["embargo"].get<std::string>());
    if (!t) {
      respond(error(400, "'embargo' must be a time such as 2026-12-01T15:00:00Z"));
      return std::nullopt;
    }
    const int64_t now = m_clock.now();
    if (*t > now + m_rule.max_embargo_s) {
      respond(error(400, "the embargo ends more than " +
                             std::to_string(m_rule.max_embargo_s / 86'400) +
                             " days from now ([security] max_embargo)"));
      return std::nullopt;
    }
    return *t <= now ? int64_t{0} : *t;
  }

  // Checks each of the fields' patch_list citations against the supported
  // list as it is now and copies the entry into the notice: what is approved
  // and sent is the entry as it was cited, even if it leaves the list later.
  // False once the refusal (400 naming the citation, or 503) was answered.
  bool cite_patch_list(nlohmann::json& fields, const Respond& respond) {
    auto& cited = fields["patch_list"];
    for (size_t i = 0; i < cited.size(); ++i) {
      auto& c = cited[i];
      const std::string release = c["release"], ticket = c["ticket"];
      auto listed = m_store.patches().supported(release);
      if (!listed) {
        respond(store_error(listed.error()));
        return false;
      }
      const PatchEntry* entry = nullptr;
      if (*listed)
        for (const auto& e : **listed)
          if (e.ticket == ticket) entry = &e;
      if (!entry) {
        respond(error(400, "'patch_list'[" + std::to_string(i) + "]: " + ticket +
                               " is not on the approved list of Lustre " + release));
        return false;
      }
      c["change_url"] = entry->change_url;
      c["severity"] = entry->severity;
      c["summary"] = entry->summary;
      // A path alone is no use in a mail: without [web] base_url, no link.
      c["page_url"] = m_cfg.web.base_url.empty() ? "" : patch_page_url(m_cfg, release);
    }
    return true;
  }

  std::optional<Notice> find(const std::string& name, const Respond& respond) {
    auto n = m_store.notices().find(name);
    if (!n) {
      respond(store_error(n.error()));
      return std::nullopt;
    }
    if (!*n) {
      respond(error(404, "no notice " + name));
      return std::nullopt;
    }
    return **n;
  }

  void approve(const Notice& n, const AdminConfig& admin, const Respond& respond) {
    if (n.state != "draft")
      return respond(error(409, n.name() + " is " + n.state + ", not a draft awaiting approval"));
    if (std::find(n.approvals.begin(), n.approvals.end(), admin.name) != n.approvals.end())
      return respond(error(409, "admin '" + admin.name + "' has already approved " + n.name()));
    if (auto why = approval_refused(m_rule.approvals, n.author, admin.name, n.approvals)) {
      (void)m_store.audit().append({0, m_clock.now(), admin.name, "refused", n.name(), *why});
      return respond(error(403, *why));
    }
    auto approvals = n.approvals;
    approvals.push_back(admin.name);
    const int counted = counted_approvals(m_rule.approvals, n.author, approvals);
    const bool approved = counted >= m_rule.approvals;
    const std::string detail =
        std::to_string(counted) + " of " + std::to_string(m_rule.approvals) + " approvals";
    if (auto s = m_store.notices().approve(n.id, admin.name, approved, detail, m_clock.now()); !s)
      return respond(store_error(s.error()));
    spdlog::info("notice {}: approved by {} ({})", n.name(), admin.name, detail);
    respond_with(n.name(), 200, respond);
  }

  void publish(const Notice& n, const nlohmann::json& body, const AdminConfig& admin,
               const Respond& respond) {
    if (n.state != "approved")
      return respond(error(409, n.name() + " is " + n.state + "; only an approved notice (" +
                                    std::to_string(m_rule.approvals) +
                                    " approvals) is published"));
    // The rule may have grown since (a reload): approvals count as it is now.
    if (counted_approvals(m_rule.approvals, n.author, n.approvals) < m_rule.approvals)
      return respond(error(409, n.name() + " has fewer approvals than the " +
                                    std::to_string(m_rule.approvals) + " now required"));
    auto embargo = embargo_of(body, respond);
    if (!embargo) return;
    const int64_t now = m_clock.now();
    const int64_t at = std::max({now, n.embargo_until, *embargo});
    const std::string detail =
        at > now ? "held until the embargo ends at " + format_rfc3339(at) : "to be sent now";
    if (auto s = m_store.notices().schedule(n.id, at, admin.name, detail, now); !s)
      return respond(store_error(s.error()));
    spdlog::info("notice {}: publication by {}, {}", n.name(), admin.name, detail);
    m_wake();
    respond_with(n.name(), 202, respond);
  }

  void revise(const Notice& n, const nlohmann::json& body, const AdminConfig& admin,
              const Respond& respond) {
    if (!body.contains("notice")) return respond(error(400, "revise needs 'notice'"));
    auto fields = notice_fields(body["notice"]);
    if (!fields) return respond(error(400, fields.error().message));
    if (!cite_patch_list(*fields, respond)) return;
    auto embargo = embargo_of(body, respond);
    if (!embargo) return;
    const int64_t now = m_clock.now();
    if (n.state == "draft" || n.state == "approved") {
      if (auto s = m_store.notices().update_draft(n.id, *fields, *embargo, admin.name, now); !s)
        return respond(store_error(s.error()));
      spdlog::info("notice {}: draft changed by {}", n.name(), admin.name);
      return respond_with(n.name(), 200, respond);
    }
    if (n.state != "published")
      return respond(error(409, n.name() + " is " + n.state + "; revise its successor"));
    const std::string reason = body.value("reason", "");
    if (trim(reason).empty())
      return respond(error(400, "a revision of a published notice needs a 'reason'"));
    (*fields)["revision_reason"] = reason;
    auto r = m_store.notices().add_revision(n, *fields, false, *embargo, admin.name, "revise",
                                            "revision of " + n.name(), now);
    if (!r) return respond(store_error(r.error()));
    spdlog::info("notice {}: revision {} drafted by {}", n.name(), r->name(), admin.name);
    respond(InboundResponse::json(201, notice_json(*r, m_rule)));
  }

  void withdraw(const Notice& n, const nlohmann::json& body, const AdminConfig& admin,
                const Respond& respond) {
    const std::string reason = body.value("reason", "");
    if (trim(reason).empty()) return respond(error(400, "withdraw needs a 'reason'"));
    const int64_t now = m_clock.now();
    if (n.state == "discarded") return respond(error(409, n.name() + " is discarded already"));
    if (n.state != "published") {
      if (auto s = m_store.notices().discard(n.id, admin.name, "withdrawn before publication", now);
          !s)
        return respond(store_error(s.error()));
      spdlog::info("notice {}: discarded by {} before publication", n.name(), admin.name);
      return respond_with(n.name(), 200, respond);
    }
    nlohmann::json fields = n.body;
    fields["revision_reason"] = reason;
    auto r = m_store.notices().add_revision(n, fields, true, 0, admin.name, "withdraw",
                                            "withdrawal of " + n.name(), now);
    if (!r) return respond(store_error(r.error()));
    spdlog::info("notice {}: withdrawal {} drafted by {}", n.name(), r->name(), admin.name);
    respond(InboundResponse::json(201, notice_json(*r, m_rule)));
  }

  // The notice as it is now.
  void respond_with(const std::string& name, int status, const Respond& respond) {
    auto n = m_store.notices().find(name);
    if (!n || !*n) return respond(error(503, "the notice could not be read back"));
    respond(InboundResponse::json(status, notice_json(**n, m_rule)));
  }

  const Config m_cfg;
  SecurityConfig m_rule;
  AdminAuth m_auth;
  Store& m_store;
  const Clock& m_clock;
  std::function<void()> m_wake;
};

}  // namespace

void add_notice_routes(HttpServer& server, const Config& cfg, Store& store, const Clock& clock,
                       std::function<void()> wake) {
  auto api = std::make_shared<NoticeApi>(cfg, store, clock, std::move(wake));
  using Method = void (NoticeApi::*)(const InboundRequest&, const Respond&);
  auto add = [&](const char* method, const char* path, Method m) {
    server.route(method, path,
                 [api, m](const InboundRequest& req, Respond respond) { ((*api).*m)(req, respond); });
  };
  add("GET", "/api/v1/admin/notices", &NoticeApi::list);
  add("POST", "/api/v1/admin/notices", &NoticeApi::create);
  add("GET", "/api/v1/admin/notices/*", &NoticeApi::show);
  add("POST", "/api/v1/admin/notices/*", &NoticeApi::act);
  add("GET", "/api/v1/admin/audit", &NoticeApi::audit);
  add("GET", "/api/v1/admin/proposals", &NoticeApi::proposals);
}

}  // namespace herald
