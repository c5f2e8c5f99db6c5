// The support matrix page: GET /support (HTML) and GET /support.json. For each
// maintained Lustre branch, the distributions its newest release is built for
// (servers and clients, with the kernels), each distribution release's own
// end of life and status, and the branch's own end of life. Everything comes
// from what the eol sources stored (their cursors keep the schedule and the
// ChangeLogs' matrix): a request reads the database, never the network.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "daemon/config.hpp"
#include "daemon/source_kind.hpp"

namespace herald {

class Store;

namespace eol {

// The page's data at `now` (see docs/admin-guide.md "Support matrix page").
nlohmann::json support_json(const Config& cfg, Store& store, int64_t now);
// The HTML page of that data: plain, no script, readable on a phone.
std::string support_html(const nlohmann::json& data);

// Adds GET /support and GET /support.json when the configuration has an eol source
// with a changelog and the environment gives the store.
void add_support_routes(HttpServer& server, const Config& cfg, const InboundEnv& env);

}  // namespace eol
}  // namespace herald
