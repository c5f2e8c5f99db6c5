#include "daemon/admin/approval.hpp"

#include <algorithm>

namespace herald {

std::optional<std::string> approval_refused(int required, const std::string& author,
                                            const std::string& admin,
                                            const std::vector<std::string>& approvals) {
  if (required >= 2 && admin == author)
    return "with " + std::to_string(required) +
           " approvals required, the author may not approve their own draft";
  if (std::find(approvals.begin(), approvals.end(), admin) != approvals.end())
    return "admin '" + admin + "' has already approved it";
  return std::nullopt;
}

int counted_approvals(int required, const std::string& author,
                      const std::vector<std::string>& approvals) {
  return static_cast<int>(std::count_if(approvals.begin(), approvals.end(), [&](const auto& a) {
    return required < 2 || a != author;
  }));
}

}  // namespace herald
