// Operations commands: `herald preview`, `herald backup`, `herald status`. Each prints to
// stdout/stderr and returns the process exit status; cli.cpp parses their arguments.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "daemon/config.hpp"

namespace herald {

struct PreviewRequest {
  std::string what;             // a stored event's key, else an event kind (a sample event)
  std::string destination;      // empty = every destination the routes choose
  std::optional<int64_t> date;  // Date header when no outbox row fixes it; empty = now
};

// Renders what herald sends for an event, without sending: the message bytes on stdout (one
// after the other for several destinations), the envelope and where the Date came from on
// stderr. For an event already routed, the Date is the outbox row's, so the output is the
// bytes that row delivers; a difference from the stored row (templates or configuration
// changed since) is reported on stderr.
int run_preview(const Config& cfg, const PreviewRequest& req);

// Copies the database to `file` with SQLite's online backup API in one step (one read
// transaction: a consistent snapshot; the daemon's writers are not blocked in WAL mode),
// converts the copy to a self-contained rollback-journal database, checks it with
// PRAGMA integrity_check and renames it over `file`.
int run_backup(const Config& cfg, const std::string& file);

// Sources (last success, last error, next poll), outbox rows by destination and state, and
// each digest's next fire time.
int run_status(const Config& cfg);

// The event kinds `herald preview` has a sample event for.
std::string preview_sample_kinds();

}  // namespace herald
