// The supported critical-patch list: for each Lustre release, the approved
// patches (an LU ticket and its change) a supported site may apply on top of
// it. An admin proposes a change (add or remove); it is applied once the
// approvals the shared rule counts (daemon/admin/approval.hpp) reach the
// required number. Every action writes the audit log in its own transaction,
// and applying an addition stores its announcement event, unrouted, in the
// same transaction, so an applied entry is never left unannounced.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "daemon/event.hpp"
#include "daemon/expected.hpp"
#include "daemon/store/database.hpp"

namespace herald {

// One entry of a release's list.
struct PatchEntry {
  std::string release;  // "2.15.7"
  std::string ticket;   // "LU-17000"
  std::string change_url;
  std::string severity;               // low | medium | high | critical
  std::string summary;                // one line
  std::vector<std::string> branches;  // "2.15", "2.16"
  std::string state;                  // supported | removed (an applied entry; never pending)
  std::string proposed_by;
  int64_t proposed_at = 0;
  int64_t applied_at = 0;  // when it became supported (or was removed)
  // The change that is applying it, while announce() runs; 0 otherwise (an
  // entry read from the list does not keep it).
  int64_t change_id = 0;
};

// A proposed change to the list, with the admins who approved it.
struct PatchChange {
  int64_t id = 0;
  std::string action;  // add | remove
  PatchEntry entry;    // for remove, only release and ticket
  std::string state;   // pending | applied | cancelled
  std::string author;
  int64_t created_at = 0;
  int64_t decided_at = 0;  // applied or cancelled
  std::vector<std::string> approvals;
};

// "patch:2.15.7:LU-17000": the audit log's subject. The announcement's key
// adds the applied change's id (supported_patch_event).
std::string patch_subject(const std::string& release, const std::string& ticket);

nlohmann::json to_json(const PatchEntry& e);
nlohmann::json to_json(const PatchChange& c);

// Why a change was not made, when the request itself was well formed.
enum class PatchRefusal {
  none,
  not_found,  // no such change, or no such entry to remove
  conflict,   // already listed, already pending, already approved, not pending
  forbidden,  // the approval rule refuses this admin
};

// What a propose / approve / cancel did. refusal != none: nothing changed
// but the audit log, and `why` says what was refused.
struct PatchOutcome {
  PatchRefusal refusal = PatchRefusal::none;
  std::string why;
  PatchChange change;
  bool applied = false;  // the change took effect now
};

class PatchStore {
 public:
  explicit PatchStore(Database& db) : m_db(db) {}

  // Makes the event announcing an applied addition (built by the caller,
  // which knows the configuration: titles, the page's URL).
  using Announce = std::function<Event(const PatchEntry&)>;

  // Records a pending change by `admin`. For add, `entry` carries every field
  // (validated by the caller); for remove, release and ticket. Refusals:
  // conflict (adding an entry already supported, or one with a change
  // pending), not_found (removing what is not supported).
  Expected<PatchOutcome> propose(const std::string& action, const PatchEntry& entry,
                                 const std::string& admin, int64_t now);
  // Records `admin`'s approval of change `id` and applies it once
  // counted_approvals reaches `required` (an addition stores announce(entry)).
  Expected<PatchOutcome> approve(int64_t id, const std::string& admin, int required,
                                 const Announce& announce, int64_t now);
  // Cancels a pending change (any admin allowed "patches" may).
  Expected<PatchOutcome> cancel(int64_t id, const std::string& admin, int64_t now);

  // Every entry (release "" = all releases), by release then ticket.
  Expected<std::vector<PatchEntry>> entries(const std::string& release = "");
  // Supported entries of a release, oldest first; nullopt when the release has
  // never had an entry.
  Expected<std::optional<std::vector<PatchEntry>>> supported(const std::string& release);
  // Releases with at least one supported entry, and how many.
  Expected<std::vector<std::pair<std::string, int>>> releases();
  // Pending changes (release "" = all), oldest first.
  Expected<std::vector<PatchChange>> pending(const std::string& release = "");
  Expected<std::optional<PatchChange>> change(int64_t id);

 private:
  Database& m_db;
};

}  // namespace herald
