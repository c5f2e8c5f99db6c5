// The checkout's path and the install data directory are compiled into this file only, so
// that every other file's compile command is the same in every checkout (ccache hits).
#include "daemon/data_dir.hpp"

#include <filesystem>
#include <system_error>
#include <vector>

namespace herald {

std::string data_dir() {
  namespace fs = std::filesystem;
  std::vector<fs::path> candidates;
  std::error_code ec;
  // /proc/self/exe names the binary even when it was started through a symlink or $PATH.
  if (auto exe = fs::read_symlink("/proc/self/exe", ec); !ec)
    candidates.push_back(exe.parent_path().parent_path() / "share" / "herald");
  candidates.emplace_back(HERALD_SOURCE_DIR);
  candidates.emplace_back(HERALD_INSTALL_DATA_DIR);
  for (const auto& c : candidates)
    if (fs::is_directory(c / "templates", ec)) return c.lexically_normal().string();
  return candidates.back().string();
}

}  // namespace herald
