// Release context that reads what the sources stored: a provider given the
// store as well (the eol sources' schedules, kept in their cursors, for the
// distribution section of a release announcement). The providers of
// daemon/source_kind.hpp and these run together, in registration order.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>

#include "daemon/config.hpp"
#include "daemon/event.hpp"

namespace herald {

class Store;

// store: the daemon's, or nullptr when there is none (a preview without a database).
using StoredReleaseContextProvider =
    std::function<nlohmann::json(const Event&, const Config&, Store*)>;
void register_stored_release_context(StoredReleaseContextProvider provider);
// Every registered provider's keys for the event, merged (in registration order).
nlohmann::json release_context(const Event& e, const Config& cfg, Store* store);

}  // namespace herald
