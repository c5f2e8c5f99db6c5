// Every error of a configuration load, one per line, as the loader words them
// (file:line: message): for INFO() and for the checks that look for one.
#pragma once

#include <string>

#include "daemon/config.hpp"

namespace herald::test {

inline std::string config_errors(const ConfigResult& r) {
  std::string out;
  for (const auto& e : r.errors) out += e.to_string() + "\n";
  return out;
}

}  // namespace herald::test
