// The supported critical-patch list over HTTP.
//
// Admin API (JSON, Authorization: Bearer TOKEN of an [[admin]]):
//   GET  /api/v1/admin/patches[?release=R]   every entry and pending change ("read")
//   POST /api/v1/admin/patches               propose a change ("patches"):
//        {"action":"add","release","ticket","change_url","severity","summary","branches"}
//        {"action":"remove","release","ticket"}             -> 202 {"id", "change"}
//   POST /api/v1/admin/patch-changes/ID      {"action":"approve"} or {"action":"cancel"}
//
// Public pages (no token; applied entries only, never a pending change):
//   GET /patches                the releases that have a list
//   GET /patches/2.15.7         the list (HTML, herald's layout, no script)
//   GET /patches/2.15.7.json    the same as JSON (docs/patches.schema.json)
//   GET /patches/2.15.7.atom    an Atom 1.0 feed, one entry per supported patch
#pragma once

#include <functional>

#include "daemon/clock.hpp"
#include "daemon/config.hpp"

namespace herald {

class HttpServer;
class Store;
class Templates;

// Adds the routes. The store, templates and clock must outlive the server;
// wake is called after a change was applied (its announcement is to be routed).
void add_patch_routes(HttpServer& server, const Config& cfg, Store& store,
                      const Templates& templates, const Clock& clock, std::function<void()> wake);

}  // namespace herald
