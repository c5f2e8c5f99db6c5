// `herald notice ...`: security notices through the running daemon's admin API.
#include <cstdio>
#include <iostream>
#include <iterator>
#include <sstream>

#include "daemon/admin/client.hpp"
#include "daemon/patches/cli.hpp"
#include "daemon/util.hpp"

namespace herald {

namespace {

constexpr const char* k_notice_usage = R"(Usage: herald notice COMMAND [--token-file FILE] [--url URL] [--config FILE]

  list [--json]                       every notice and revision
  show ID [--json]                    one (ID: OSFS-SA-2026-001, or -2 for a revision)
  create FILE.json [--embargo TIME]   a new advisory, a draft
  approve ID                          approve a draft ([security] approvals admins)
  publish ID [--embargo TIME]         send an approved notice now, or when the embargo ends
  revise ID FILE.json [--reason TEXT] change a draft; a published notice gets a revision
  withdraw ID --reason TEXT           withdraw a published notice (a revision saying so);
                                      an unpublished one is discarded
  log [ID] [--limit N]                the audit log: who did what, when
  proposals [--limit N] [--json]      what the osv and gerrit watches proposed, held for
                                      an admin (a notice or a patch-list entry may follow)

FILE.json ("-" for stdin) holds the notice's fields:
  {"severity": "high", "title": "...", "summary": "...", "details": "...",
   "cves": ["CVE-2026-1234"], "affected_versions": ["2.15.0 - 2.15.6"],
   "affected_branches": ["2.15"], "fixed": [{"branch": "2.15", "version": "2.15.7"}],
   "patches": [{"ticket": "LU-17000", "url": "https://review.whamcloud.com/...",
                "summary": "..."}],
   "patch_list": [{"release": "2.15.7", "ticket": "LU-17000"}],
   "credits": ["..."], "url": "https://..."}
patch_list cites entries of the supported critical-patch list (herald patches
list): each must be on its release's list, and is copied into the notice.
TIME is RFC 3339 in UTC (2026-12-01T15:00:00Z) or Unix seconds.
The token comes from --token-file or $HERALD_ADMIN_TOKEN_FILE; the daemon's
address from --url, $HERALD_URL, or the [http] listen of --config.
)";

int usage(const std::string& why) {
  std::fprintf(stderr, "herald notice: %s\nTry 'herald notice --help'.\n", why.c_str());
  return 2;
}

// The fields in a file ("-": stdin), either bare or under "notice".
std::optional<nlohmann::json> read_fields(const std::string& path) {
  std::string text;
  if (path == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), {});
  } else if (auto t = read_file(path)) {
    text = *t;
  } else {
    std::fprintf(stderr, "herald notice: cannot read %s\n", path.c_str());
    return std::nullopt;
  }
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    std::fprintf(stderr, "herald notice: %s is not a JSON object\n", path.c_str());
    return std::nullopt;
  }
  if (j.contains("notice")) return j["notice"];
  return j;
}

std::string str(const nlohmann::json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

// One line: ID, state, approvals, when, title.
void print_line(const nlohmann::json& n) {
  std::string when = str(n, "published_at");
  if (when.empty()) when = str(n, "publish_at");
  if (when.empty() && n.contains("embargo_until")) when = "embargo " + str(n, "embargo_until");
  if (when.empty()) when = "-";
  std::string state = str(n, "state");
  if (n.value("withdrawn", false)) state += " (withdrawal)";
  std::printf("%s\t%s\t%d/%d\t%s\t%s\t%s\n", str(n, "id").c_str(), state.c_str(),
              n.value("approvals_counted", 0), n.value("approvals_required", 1), when.c_str(),
              str(n["notice"], "severity").c_str(), str(n["notice"], "title").c_str());
}

void print_notice(const nlohmann::json& n) {
  const auto& f = n["notice"];
  std::printf("id           %s\n", str(n, "id").c_str());
  std::printf("state        %s%s\n", str(n, "state").c_str(),
              n.value("withdrawn", false) ? " (a withdrawal)" : "");
  std::printf("author       %s\n", str(n, "author").c_str());
  std::string approvals;
  for (const auto& a : n["approvals"]) approvals += (approvals.empty() ? "" : ", ") + a.get<std::string>();
  std::printf("approvals    %d of %d%s%s\n", n.value("approvals_counted", 0),
              n.value("approvals_required", 1), approvals.empty() ? "" : ": ", approvals.c_str());
  for (const char* k : {"embargo_until", "publish_at", "published_at", "published_by"})
    if (n.contains(k)) std::printf("%-12s %s\n", k, str(n, k).c_str());
  std::printf("severity     %s\ntitle        %s\n", str(f, "severity").c_str(),
              str(f, "title").c_str());
  auto list = [&](const char* key) {
    std::string out;
    for (const auto& v : f.value(key, nlohmann::json::array()))
      out += (out.empty() ? "" : ", ") + v.get<std::string>();
    return out;
  };
  std::printf("cves         %s\n", list("cves").c_str());
  std::printf("branches     %s\n", list("affected_branches").c_str());
  std::printf("affected     %s\n", list("affected_versions").c_str());
  for (const auto& fx : f.value("fixed", nlohmann::json::array()))
    std::printf("fixed        %s in %s\n", str(fx, "branch").c_str(), str(fx, "version").c_str());
  for (const auto& p : f.value("patches", nlohmann::json::array()))
    std::printf("patch        %s %s %s\n", str(p, "ticket").c_str(), str(p, "url").c_str(),
                str(p, "summary").c_str());
  for (const auto& p : f.value("patch_list", nlohmann::json::array()))
    std::printf("listed       %s %s %s %s %s\n", str(p, "release").c_str(),
                str(p, "ticket").c_str(), str(p, "severity").c_str(),
                str(p, "change_url").c_str(), str(p, "summary").c_str());
  std::printf("credits      %s\n", list("credits").c_str());
  if (!str(f, "revision_reason").empty())
    std::printf("reason       %s\n", str(f, "revision_reason").c_str());
  std::printf("\n%s\n", str(f, "summary").c_str());
  if (!str(f, "details").empty()) std::printf("\n%s\n", str(f, "details").c_str());
}

// An embargo option into the request body.
void add_embargo(const SubcommandArgs& a, nlohmann::json& body) {
  if (const auto* e = a.value("--embargo")) {
    const bool digits = !e->empty() && e->find_first_not_of("0123456789") == std::string::npos;
    body["embargo"] = digits ? nlohmann::json(std::stoll(*e)) : nlohmann::json(*e);
  }
}

int notice_cli(const std::vector<std::string>& rest) {
  if (rest.empty()) return usage("which command? (list, show, create, approve, publish, ...)");
  const std::string cmd = rest[0];
  if (cmd == "-h" || cmd == "--help" || cmd == "help") {
    std::fputs(k_notice_usage, stdout);
    return 0;
  }
  auto parsed = parse_subcommand({rest.begin() + 1, rest.end()},
                                 {"--embargo", "--reason", "--limit"}, {"--json"});
  if (!parsed) return usage(parsed.error().message);
  const SubcommandArgs& a = *parsed;
  static const std::map<std::string, size_t> arity = {
      {"list", 0},    {"show", 1},  {"create", 1},   {"approve", 1},
      {"publish", 1}, {"revise", 2}, {"withdraw", 1}, {"log", 1}, {"proposals", 0}};
  auto it = arity.find(cmd);
  if (it == arity.end()) return usage("unknown command '" + cmd + "'");
  const size_t want = it->second;
  if (cmd == "log" ? a.positional.size() > 1 : a.positional.size() != want)
    return usage(cmd + (want ? " takes " + std::to_string(want) + " argument" +
                                   (want > 1 ? "s" : "")
                             : " takes no argument"));
  auto ep = admin_endpoint(a);
  if (!ep) {
    std::fprintf(stderr, "herald notice: %s\n", ep.error().message.c_str());
    return 1;
  }
  std::string method = "GET", path;
  std::optional<nlohmann::json> body;
  const std::string id = a.positional.empty() ? "" : percent_encode(a.positional[0]);
  if (cmd == "list") {
    path = "notices";
  } else if (cmd == "proposals") {
    path = "proposals?limit=" + percent_encode(a.value("--limit") ? *a.value("--limit") : "100");
  } else if (cmd == "show") {
    path = "notices/" + id;
  } else if (cmd == "log") {
    path = "audit?limit=" + percent_encode(a.value("--limit") ? *a.value("--limit") : "1000");
    if (!id.empty()) path += "&subject=" + id;
  } else if (cmd == "create") {
    auto fields = read_fields(a.positional[0]);
    if (!fields) return 1;
    method = "POST";
    path = "notices";
    body = nlohmann::json{{"notice", *fields}};
    add_embargo(a, *body);
  } else {
    method = "POST";
    path = "notices/" + id;
    body = nlohmann::json{{"action", cmd}};
    if (const auto* r = a.value("--reason")) (*body)["reason"] = *r;
    if (cmd == "withdraw" && !a.value("--reason")) return usage("withdraw needs --reason TEXT");
    if (cmd == "revise") {
      auto fields = read_fields(a.positional[1]);
      if (!fields) return 1;
      (*body)["notice"] = *fields;
    }
    add_embargo(a, *body);
  }
  auto answer = admin_call(*ep, method, path, body);
  if (!answer) {
    std::fprintf(stderr, "herald notice: %s\n", answer.error().message.c_str());
    return 1;
  }
  if (answer->status < 200 || answer->status > 299) return report_answer_error(*answer);
  const auto& j = answer->body;
  if (a.flag("--json")) {
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  if (cmd == "list") {
    for (const auto& n : j["notices"]) print_line(n);
  } else if (cmd == "proposals") {
    for (const auto& e : j["proposals"]) {
      std::string state;
      if (e.contains("tags") && e["tags"].value("withdrawn", "") == "true") state = " (withdrawn)";
      std::printf("%s\t%s\t%s\t%s%s\t%s\n", str(e, "kind").c_str(), str(e, "key").c_str(),
                  str(e, "severity").c_str(), str(e, "title").c_str(), state.c_str(),
                  str(e, "url").c_str());
    }
  } else if (cmd == "log") {
    for (const auto& e : j["entries"])
      std::printf("%s\t%s\t%s\t%s\t%s\n", str(e, "at").c_str(), str(e, "admin").c_str(),
                  str(e, "action").c_str(), str(e, "subject").c_str(), str(e, "detail").c_str());
  } else if (cmd == "show") {
    print_notice(j);
  } else {
    std::string state = str(j, "state");
    if (state == "scheduled") state += " for " + str(j, "publish_at");
    std::printf("%s: %s (%d of %d approvals)\n", str(j, "id").c_str(), state.c_str(),
                j.value("approvals_counted", 0), j.value("approvals_required", 1));
  }
  return 0;
}

}  // namespace

int admin_cli_main(const std::vector<std::string>& args) {
  const std::vector<std::string> rest(args.begin() + 1, args.end());
  return args[0] == "notice" ? notice_cli(rest) : patches_cli(rest);
}

}  // namespace herald
