// What the end-of-life schedules add to a Lustre release announcement: which of
// the distributions the release is built for are near or past their end of life.
#pragma once

#include <nlohmann/json.hpp>

#include "daemon/config.hpp"
#include "daemon/event.hpp"

namespace herald::eol {

// For a release.published event carrying its ChangeLog's distributions, the keys
// distro_eol (a list of {distro, role: "servers" | "clients", eol, status: "near" |
// "past"}) and has_distro_eol, as of the release's time, from the product files of the
// configured eol sources (path) of a distribution (rhel, sles, ubuntu, fedora,
// openeuler). An empty object otherwise, or when every one is supported.
nlohmann::json announcement_context(const Event& e, const Config& cfg);

}  // namespace herald::eol
