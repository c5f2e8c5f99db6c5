// Destination state: a disabled destination takes nothing until enabled.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "daemon/expected.hpp"
#include "daemon/store/database.hpp"

namespace herald {

// A destination an admin (or the destination's own answer) switched off.
struct DisabledDestination {
  std::string reason;
  int64_t since = 0;
};

// A disabled destination's deliveries stay pending and are not claimed
// until it is enabled.
class DestinationStore {
 public:
  explicit DestinationStore(Database& db) : m_db(db) {}

  Status disable(const std::string& name, const std::string& reason, int64_t now);
  // False when it was not disabled.
  Expected<bool> enable(const std::string& name);
  Expected<std::map<std::string, DisabledDestination>> disabled();

 private:
  Database& m_db;
};

}  // namespace herald
