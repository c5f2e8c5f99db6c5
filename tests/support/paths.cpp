#include "tests/support/paths.hpp"

namespace herald::test {

const std::string& source_dir() {
  static const std::string dir = HERALD_SOURCE_DIR;
  return dir;
}

const std::string& fixtures_dir() {
  static const std::string dir = HERALD_FIXTURES;
  return dir;
}

}  // namespace herald::test
