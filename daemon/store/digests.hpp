// Digest windows: where each digest's last window ended.
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

class DigestStore {
 public:
  explicit DigestStore(Database& db) : m_db(db) {}

  // The end of the last digest window committed for a digest, if any.
  Expected<std::optional<int64_t>> digest_window_end(const std::string& name);

 private:
  Database& m_db;
};

}  // namespace herald
