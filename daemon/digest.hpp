// Digests: the events of a window, filtered and grouped, sent as one message per destination
// on a cron schedule in a named time zone ([[digest]] in the configuration).
//
// Window semantics (durable, see digest.cpp for the reasoning):
// - A digest's windows are [start, end) over the time herald received events (received_at).
//   The end of the last window sent is in the store (digest_state); the next window starts there.
// - The first time a runner sees a digest it records "now" as the start: a new digest covers
//   what arrives from then on, and its first message goes out at the next fire time.
// - A window closes at a fire time F once now >= F + k_settle_s. When several fire times passed
//   (herald was down), one merged window up to the latest of them is sent.
// - The outbox rows (key "digest:<name>:<end>:<destination>") and the new window end are written
//   in one transaction: a crash before it recollects the same window, a crash after it does not
//   send again.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "daemon/clock.hpp"
#include "daemon/config.hpp"
#include "daemon/run_report.hpp"
#include "daemon/render.hpp"
#include "daemon/schedule.hpp"
#include "daemon/store.hpp"

namespace herald {

// How many items a section lists at most; the others are counted ("and 12 more"). Mailing
// lists refuse large messages, and nobody reads a digest of thousands of lines.
inline constexpr size_t k_digest_max_listed = 500;

// One tracker item (or one event of another kind) as a digest section shows it: its latest
// state in the window and, for changes, every change seen in the window, oldest first.
struct DigestItem {
  std::string identity;  // the event key without its time: "jira:LU-18123"
  std::string title;
  std::string url;
  std::string severity;
  std::map<std::string, std::string> tags;  // of the latest event
  std::vector<std::string> changes;         // "priority: Major -> Critical", "comment by X"
  std::string excerpt;                      // first line of a new item's description
  int events = 0;                           // events of this item in the section
  int64_t time = 0;                         // of the latest event
};

// Items under one value of the second grouping key (priority by default).
struct DigestSubgroup {
  std::string label;          // "Critical", "(no priority)"; empty when grouping has one level
  std::vector<size_t> items;  // indexes into DigestSection::items, in display order
};

// Items under one value of the first grouping key (component by default).
struct DigestGroup {
  std::string label;  // "ldlm", "(no component)"; empty when there is no grouping
  int count = 0;      // distinct listed items in the group
  std::vector<DigestSubgroup> subgroups;
};

// One section: new (bug.created), resolved (bug.resolved), changed (bug.updated), other.
struct DigestSection {
  std::string id;     // "new" | "resolved" | "changed" | "other"
  std::string title;  // "New", "Resolved", "Notable changes", "Other events"
  int count = 0;      // distinct items in the section, listed or not
  int unlisted = 0;   // items over the listing limit (the lowest severity, then the oldest)
  std::vector<DigestItem> items;  // the listed items, each once
  std::vector<DigestGroup> groups;
};

// A digest's content for one window, before rendering.
struct DigestContent {
  std::string name, title, schedule, timezone;
  int64_t window_start = 0, window_end = 0;  // Unix s, [start, end)
  int events = 0;                            // matching events in the window
  std::vector<DigestSection> sections;       // the four sections in order, empty ones included
  bool empty() const { return events == 0; }
};

// Whether an event passes a digest's filter: kind listed, project listed, one of its
// components listed, one of its labels listed (each when the list is not empty; tag values
// are comma-joined, compared case-insensitively) and severity at least min_severity.
// Proposals (is_proposal_kind) pass no digest.
bool digest_matches(const DigestConfig& digest, const Event& e);

// Filters `events` (as the store returns them, by id) and groups them into sections, then by
// digest.group_by: the first key's values in alphabetical order, the second's by severity
// (highest first) when it is priority or severity, else alphabetically; missing values last.
// An item with several values of a key (components "llite,clio") is listed under each.
// Keys after the second are ignored. The same item several times in a section is one entry.
// A section lists at most max_listed items: the highest severity first, then the latest.
DigestContent build_digest(const DigestConfig& digest, const std::vector<StoredEvent>& events,
                           int64_t window_start, int64_t window_end,
                           size_t max_listed = k_digest_max_listed);

// The data the digest templates (templates/mail/digest.*) see for one destination.
nlohmann::json digest_context(const DigestContent& content, const DestinationConfig& dest);

// One digest window ready to commit: the outbox rows for its destinations.
struct DigestBatch {
  std::string name;
  int64_t window_start = 0, window_end = 0;
  int events = 0;                       // matching events
  std::vector<NewDelivery> deliveries;  // empty for an empty digest that is not sent
  int failures = 0;                     // destinations that could not be rendered (logged)
};

// Runs the configured digests against the store. Copies what it needs from the config and
// templates; the store and clock must outlive it. Not thread-safe: one caller (the daemon
// loop). A digest whose schedule or time zone does not parse is left out (see errors()).
class DigestRunner {
 public:
  // Seconds a window stays open after its fire time, so that an event stamped just before the
  // fire time but committed just after it (a webhook in a group commit) is in the window.
  static constexpr int64_t k_settle_s = 5;

  DigestRunner(const Config& cfg, const Templates& templates, Store& store, const Clock& clock);

  // Collects and commits every due window: one transaction per digest. Adds the rows written
  // to report.deliveries_created and destinations that failed to render to
  // report.render_failures. Records the start of digests seen for the first time.
  void run_due(RunReport& report);
  // When run_due has something to do next (Unix s); CronSchedule::k_never when no digest has
  // a future fire time. The current time when a digest has not been started yet.
  int64_t next_due();

  // The two halves of run_due, for tests and previews. collect_due reads only (it records the
  // start of a new digest, nothing else); commit writes the batch and its window end.
  std::vector<DigestBatch> collect_due();
  Status commit(const DigestBatch& batch);

  // Problems found at construction: "digest 'x': <schedule error>".
  const std::vector<std::string>& errors() const { return m_errors; }

 private:
  struct Scheduled {
    DigestConfig config;
    CronSchedule schedule;
  };
  std::optional<DigestBatch> collect(const Scheduled& d, int64_t now);
  // The personal mails of the subscribers of the topics in the digest's `to`.
  void collect_for_subscribers(const Scheduled& d, const std::vector<StoredEvent>& events,
                               DigestBatch& batch, int64_t now);

  Config m_cfg;
  Templates m_templates;
  Store& m_store;
  const Clock& m_clock;
  std::vector<Scheduled> m_digests;
  std::vector<std::string> m_errors;
};

}  // namespace herald
