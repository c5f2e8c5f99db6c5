// Digest windows.
#include "daemon/store/digests.hpp"

#include "daemon/store/sqlite.hpp"

namespace herald {

using namespace store_sql;

Expected<std::optional<int64_t>> DigestStore::digest_window_end(const std::string& name) {
  std::lock_guard lock(m_db.mutex());
  return guarded("digest window", [&]() -> Expected<std::optional<int64_t>> {
    Stmt st(conn(m_db), "SELECT window_end FROM digest_state WHERE name = ?");
    st.bind(1, name);
    if (st.step()) return std::optional<int64_t>(st.i64(0));
    return std::optional<int64_t>{};
  });
}

}  // namespace herald
