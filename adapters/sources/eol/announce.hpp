// What the end-of-life schedules add to a Lustre release announcement: which of
// the distributions the release is built for are near or past their end of life.
#pragma once

#include <nlohmann/json.hpp>

#include "daemon/config.hpp"
#include "daemon/event.hpp"

namespace herald {
class Store;
}

namespace herald::eol {

// For a release.published event carrying its ChangeLog's distributions, the keys
// distro_eol (a list of {distro, role: "servers" | "clients", eol, eol_cycle, status:
// "near" | "past"}) and has_distro_eol, as of the release's time, from the schedules of
// the configured eol sources of a distribution (rhel, sles, ubuntu, fedora, openeuler),
// whether read from a product file (path) or the API (url): the schedule each stored at
// its last poll, or, for a source with a path that has not stored one (or without a
// store), its file. An empty object otherwise, or when every one is supported.
nlohmann::json announcement_context(const Event& e, const Config& cfg, Store* store);

}  // namespace herald::eol
