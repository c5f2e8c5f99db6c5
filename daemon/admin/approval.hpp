// The approval rule shared by security notices and changes to the
// critical-patch list: [security] approvals distinct admins; when two or more
// are required, the author's own approval does not count and is refused.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace herald {

// Why `admin` may not approve what `author` drafted, given the approvals
// already recorded; nullopt when they may.
std::optional<std::string> approval_refused(int required, const std::string& author,
                                            const std::string& admin,
                                            const std::vector<std::string>& approvals);

// The approvals that count towards the rule.
int counted_approvals(int required, const std::string& author,
                      const std::vector<std::string>& approvals);

}  // namespace herald
