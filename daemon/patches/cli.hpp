// `herald patches ...`: the supported critical-patch list through the running
// daemon's admin API (daemon/admin/client.hpp), so that the approval rule and
// the audit log are the daemon's alone.
#pragma once

#include <string>
#include <vector>

namespace herald {

// args: what follows "patches". Answers the exit code: 0, 1 (refused or
// failed, with the reason on stderr) or 2 (a usage error).
int patches_cli(const std::vector<std::string>& args);

}  // namespace herald
