// libFuzzer target: tracker JSON -> events. Every input goes through each
// payload kind herald reads (Jira webhook, Jira search page, GitHub webhook
// for each event herald uses, GitHub issues page, GitLab webhook), so the
// real payloads of tests/fixtures/{jira,github,gitlab,tracker} seed all of
// them. Besides crashes, it stops when an event lacks its key or kind, has
// a multi-line title or an unknown severity, or would not serialise, and
// when a confidential issue (a Jira security level, a GitLab confidential
// issue) yields any event.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "adapters/sources/tracker/tracker_events.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using herald::tracker::Derived;

using nlohmann::json;

// Whether the value at a JSON pointer exists and is neither null nor false.
bool set_at(const json& j, const char* pointer) {
  try {
    const json& v = j.at(json::json_pointer(pointer));
    return !v.is_null() && v != false;
  } catch (const json::exception&) {
    return false;
  }
}

void check(const herald::Expected<Derived>& d) {
  if (!d) {
    FUZZ_CHECK(!d.error().message.empty());
    return;
  }
  FUZZ_CHECK(d->restricted >= 0 && d->noise >= 0);
  for (const auto& e : d->events) herald::fuzz::check_event(e);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace t = herald::tracker;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const json j = json::parse(body, nullptr, false);
  const bool jira_restricted = set_at(j, "/issue/fields/security");

  auto jira = t::events_from_jira_webhook(body, "jira", "");
  check(jira);
  if (jira && jira_restricted) FUZZ_CHECK(jira->events.empty());
  check(t::events_from_jira_webhook(body, "jira", "https://jira.whamcloud.com"));

  if (auto page = t::parse_jira_search_page(body)) {
    auto d = t::events_from_jira_page(*page, "jira", "https://jira.whamcloud.com", 0);
    for (const auto& e : d.events) herald::fuzz::check_event(e);
    bool all_restricted = true;
    for (const auto& issue : page->issues)
      all_restricted = all_restricted && set_at(issue, "/fields/security");
    if (all_restricted) FUZZ_CHECK(d.events.empty());
  }

  for (const char* event : {"issues", "issue_comment", "release", "security_advisory", "ping"})
    check(t::events_from_github_webhook(event, body, "gh"));
  check(t::events_from_github_issues_page(body, "gh", "", 0));

  auto gitlab = t::events_from_gitlab_webhook(body, "gl");
  check(gitlab);
  if (gitlab && set_at(j, "/object_attributes/confidential")) FUZZ_CHECK(gitlab->events.empty());
  return 0;
}
