#include "daemon/patches/cli.hpp"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "daemon/admin/client.hpp"
#include "daemon/util.hpp"

namespace herald {

namespace {

constexpr const char* k_patches_usage =
    "herald patches list [--release RELEASE] [--json]\n"
    "herald patches add RELEASE TICKET --summary TEXT --change-url URL --severity SEVERITY\n"
    "                   [--branches 2.15,2.16]\n"
    "herald patches remove RELEASE TICKET\n"
    "herald patches approve CHANGE-ID\n"
    "herald patches cancel CHANGE-ID\n"
    "  each also takes --url URL, --token-file FILE and --config FILE\n";

int patches_usage(const std::string& msg) {
  std::fprintf(stderr, "herald patches: %s\nUsage:\n%s", msg.c_str(), k_patches_usage);
  return 2;
}

std::string text(const nlohmann::json& j, const char* name) {
  return j.contains(name) && j[name].is_string() ? j[name].get<std::string>() : std::string();
}

std::string joined(const nlohmann::json& list, const char* sep) {
  std::string out;
  if (list.is_array())
    for (const auto& v : list)
      if (v.is_string()) out += (out.empty() ? "" : sep) + v.get<std::string>();
  return out;
}

// "change 3: add LU-17000 for 2.15.7, pending, 1 of 2 approvals (alice)"
std::string change_line(const nlohmann::json& c, const nlohmann::json& answer) {
  const auto& e = c["entry"];
  std::string line = "change " + std::to_string(c.value("id", int64_t{0})) + ": " +
                     text(c, "action") + " " + text(e, "ticket") + " for " + text(e, "release") +
                     ", " + text(c, "state");
  if (answer.contains("approvals_counted"))
    line += ", " + std::to_string(answer.value("approvals_counted", 0)) + " of " +
            std::to_string(answer.value("approvals_required", 0)) + " approvals";
  if (!c["approvals"].empty()) line += " (approved by " + joined(c["approvals"], ", ") + ")";
  return line;
}

int list(const AdminEndpoint& ep, const SubcommandArgs& a) {
  std::string path = "patches";
  if (const auto* r = a.value("--release")) path += "?release=" + percent_encode(*r);
  auto answer = admin_call(ep, "GET", path);
  if (!answer) {
    std::fprintf(stderr, "herald: %s\n", answer.error().message.c_str());
    return 1;
  }
  if (answer->status != 200) return report_answer_error(*answer);
  const auto& body = answer->body;
  if (a.flag("--json")) {
    std::printf("%s\n", body.dump(2).c_str());
    return 0;
  }
  // Tab-separated: release, ticket, state, severity, branches, since, change, summary.
  for (const auto& e : body["entries"])
    std::printf("%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", text(e, "release").c_str(),
                text(e, "ticket").c_str(), text(e, "state").c_str(), text(e, "severity").c_str(),
                joined(e["branches"], ",").c_str(),
                format_rfc3339(e.value("applied_at", int64_t{0})).c_str(),
                text(e, "change_url").c_str(), text(e, "summary").c_str());
  for (const auto& c : body["changes"])
    std::printf("pending %s\n", change_line(c, nlohmann::json::object()).c_str());
  return 0;
}

}  // namespace

int patches_cli(const std::vector<std::string>& args) {
  auto parsed = parse_subcommand(
      args, {"--release", "--summary", "--change-url", "--severity", "--branches"}, {"--json"});
  if (!parsed) return patches_usage(parsed.error().message);
  const SubcommandArgs& a = *parsed;
  if (a.positional.empty())
    return patches_usage("which command: list, add, remove, approve or cancel?");
  const std::string& sub = a.positional[0];
  const size_t wanted = sub == "list" ? 1 : sub == "add" || sub == "remove" ? 3 : 2;
  if (sub != "list" && sub != "add" && sub != "remove" && sub != "approve" && sub != "cancel")
    return patches_usage("unknown command '" + sub + "'");
  if (a.positional.size() != wanted)
    return patches_usage(sub + (sub == "list"                     ? " takes no argument"
                                : sub == "add" || sub == "remove" ? " needs RELEASE and TICKET"
                                                                  : " needs one CHANGE-ID"));
  nlohmann::json body;
  std::string path = "patches";
  if (sub == "add") {
    body = {{"action", "add"}, {"release", a.positional[1]}, {"ticket", a.positional[2]}};
    for (const auto& [option, field] :
         {std::pair{"--summary", "summary"}, std::pair{"--change-url", "change_url"},
          std::pair{"--severity", "severity"}}) {
      const auto* v = a.value(option);
      if (!v) return patches_usage(std::string("add needs ") + option);
      body[field] = *v;
    }
    if (const auto* b = a.value("--branches")) {
      body["branches"] = nlohmann::json::array();
      for (const auto& part : split(*b, ','))
        if (auto t = trim(part); !t.empty()) body["branches"].push_back(t);
    }
  } else if (sub == "remove") {
    body = {{"action", "remove"}, {"release", a.positional[1]}, {"ticket", a.positional[2]}};
  } else if (sub == "approve" || sub == "cancel") {
    body = {{"action", sub}};
    path = "patch-changes/" + percent_encode(a.positional[1]);
  }
  auto ep = admin_endpoint(a);
  if (!ep) {
    std::fprintf(stderr, "herald: %s\n", ep.error().message.c_str());
    return 1;
  }
  if (sub == "list") return list(*ep, a);
  auto answer = admin_call(*ep, "POST", path, body);
  if (!answer) {
    std::fprintf(stderr, "herald: %s\n", answer.error().message.c_str());
    return 1;
  }
  if (answer->status / 100 != 2) return report_answer_error(*answer);
  const auto& change = answer->body["change"];
  if (sub == "add" || sub == "remove") {
    const int required = answer->body.value("approvals_required", 1);
    std::printf("%s\nIt applies once %d admin%s approved it: herald patches approve %lld\n",
                change_line(change, nlohmann::json::object()).c_str(), required,
                required == 1 ? " has" : "s have",
                static_cast<long long>(change.value("id", int64_t{0})));
  } else {
    std::printf("%s\n", change_line(change, answer->body).c_str());
  }
  return 0;
}

}  // namespace herald
