// A stored mail made readable for assertions: each base64 body part decoded
// in place, headers as they are.
#pragma once

#include <string>

#include "tests/support/base64.hpp"

namespace herald::test {

inline std::string readable_mail(const std::string& raw) {
  static const std::string k_marker = "Content-Transfer-Encoding: base64\r\n";
  std::string out;
  size_t pos = 0;
  for (;;) {
    const size_t header = raw.find(k_marker, pos);
    const size_t start = header == std::string::npos ? header : raw.find("\r\n\r\n", header);
    if (start == std::string::npos) break;
    out += raw.substr(pos, start + 4 - pos);
    size_t end = start + 4;
    std::string packed;
    while (end < raw.size() && raw.compare(end, 2, "--") != 0) {
      size_t eol = raw.find("\r\n", end);
      if (eol == std::string::npos) eol = raw.size();
      packed += raw.substr(end, eol - end);
      end = eol == raw.size() ? eol : eol + 2;
    }
    out += base64_decode(packed);
    pos = end;
  }
  return out + raw.substr(pos);
}

}  // namespace herald::test
