// The client side of the admin API, for `herald notice` and `herald patches`:
// like amtool for Alertmanager, they talk to the running daemon over HTTP
// with the admin's bearer token, so that every rule (approvals, embargo, the
// audit log) is the daemon's alone.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/expected.hpp"

namespace herald {

// A subcommand's arguments: positionals in order, options with a value
// (--reason TEXT or --reason=TEXT) and flags.
struct SubcommandArgs {
  std::vector<std::string> positional;
  std::map<std::string, std::string> values;  // "--reason" -> "..."
  std::set<std::string> flags;                // "--json"
  const std::string* value(const std::string& name) const;
  bool flag(const std::string& name) const { return flags.count(name) > 0; }
};

// Parses args; every admin command also takes --config, --url and --token-file.
// bad_input naming an unknown option or one without its value.
Expected<SubcommandArgs> parse_subcommand(const std::vector<std::string>& args,
                                          std::set<std::string> value_options,
                                          const std::set<std::string>& flag_options);

struct AdminEndpoint {
  std::string base_url;  // "http://127.0.0.1:8080"
  std::string token;
};

// --url, else $HERALD_URL, else http:// and the [http] listen of --config
// (default $HERALD_CONFIG, else /etc/herald/herald.toml); the token from
// --token-file, else $HERALD_ADMIN_TOKEN_FILE.
Expected<AdminEndpoint> admin_endpoint(const SubcommandArgs& args);

struct AdminAnswer {
  long status = 0;
  nlohmann::json body;  // null when the answer was not JSON
};

// One request to the admin API (path from /api/v1/admin/ on). Errors: no
// answer (the daemon is not running there), or one that is not JSON.
Expected<AdminAnswer> admin_call(const AdminEndpoint& endpoint, const std::string& method,
                                 const std::string& path,
                                 const std::optional<nlohmann::json>& body = std::nullopt);

// For an answer that is not 2xx: prints "herald: STATUS: error" on stderr
// and answers the exit code (1).
int report_answer_error(const AdminAnswer& answer);

// `herald notice ...` and `herald patches ...`: args from the command
// ("notice" or "patches") on.
int admin_cli_main(const std::vector<std::string>& args);

}  // namespace herald
