// The admin API of security notices, on herald's HTTP server, each call under
// an admin's bearer token (daemon/admin/auth.hpp):
//
//   GET  /api/v1/admin/notices        every notice and revision          read
//   POST /api/v1/admin/notices        {"notice": {...}, "embargo": T}    draft
//        a new advisory, a draft: 201 with its id (OSFS-SA-2026-001-1); its
//        patch_list citations are checked against the supported critical-patch
//        list (400 naming the one not on it) and the entries copied in, here
//        and at revise
//   GET  /api/v1/admin/notices/ID     one (ID with or without -REVISION) read
//   POST /api/v1/admin/notices/ID     {"action": ...}:
//        approve                                                          approve
//        publish [embargo]  an approved notice goes out now, or when its
//                           embargo ends (202)                            publish
//        revise  notice [reason]  a draft is changed (its approvals are
//                           dropped); a published one gets revision N+1   draft
//        withdraw reason    a published notice gets a withdrawal
//                           revision; an unpublished one is discarded     draft
//   GET  /api/v1/admin/audit[?subject=ID&limit=N]  the audit log          read
//   GET  /api/v1/admin/proposals[?limit=N]  what the osv and gerrit watches
//        proposed (security.advisory, patch.candidate), newest first       read
//
// Errors are JSON {"error": "..."}: 400 (a bad body), 401, 403, 404, 409 (not
// in a state that allows the action). Every action and every 403 is in the
// audit log. Nothing of a notice's content is logged: only its id.
#pragma once

#include <functional>

#include "daemon/clock.hpp"
#include "daemon/config.hpp"

namespace herald {

class HttpServer;
class Store;

// wake: called after a notice was scheduled, so that the daemon's loop
// publishes it without waiting for its next pass.
void add_notice_routes(HttpServer& server, const Config& cfg, Store& store, const Clock& clock,
                       std::function<void()> wake);

}  // namespace herald
