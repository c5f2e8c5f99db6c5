// Generates herald(8) and herald.toml(5) from docs/man/*.in: @USAGE@ becomes `herald --help`'s
// text, @KEYS@ the documentation of every configuration key (daemon/config_doc.cpp), @VERSION@
// herald's version. Usage: herald_mangen IN_DIR OUT_DIR.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "daemon/cli.hpp"
#include "daemon/config_doc.hpp"
#include "daemon/util.hpp"

namespace {

// Text as roff shows it literally: backslashes and minus signs escaped, no line taken for a
// request.
std::string roff(std::string_view text) {
  std::string out;
  bool line_start = true;
  for (char ch : text) {
    if (line_start && (ch == '.' || ch == '\'')) out += "\\&";
    if (ch == '\\')
      out += "\\e";
    else if (ch == '-')
      out += "\\-";
    else
      out += ch;
    line_start = ch == '\n';
  }
  return out;
}

std::string usage_section() {
  std::string usage = herald::usage_text();
  // The synopsis is the manual's own; the commands start at "Usage:".
  if (auto at = usage.find("Usage:\n"); at != std::string::npos) usage = usage.substr(at + 7);
  return ".nf\n" + roff(usage) + ".fi\n";
}

std::string keys_section() {
  std::string out;
  for (const auto& s : herald::config_section_docs()) {
    std::string head =
        s.array ? "[[" + std::string(s.name) + "]]" : "[" + std::string(s.name) + "]";
    out += ".SS " + roff(head) + "\n" + roff(s.meaning) + "\n";
    for (const auto& k : herald::config_key_docs()) {
      if (k.section != s.name) continue;
      out += ".TP\n\\fB" + roff(k.key) + "\\fR (" + roff(k.type);
      if (!k.default_value.empty()) out += "; default \\fB" + roff(k.default_value) + "\\fR";
      out += ")\n" + roff(k.meaning) + "\n";
    }
  }
  return out;
}

std::string substitute(std::string text, const std::string& marker, const std::string& with) {
  for (size_t at; (at = text.find(marker)) != std::string::npos;)
    text.replace(at, marker.size(), with);
  return text;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: herald_mangen IN_DIR OUT_DIR\n");
    return 2;
  }
  const std::filesystem::path in = argv[1], out = argv[2];
  std::filesystem::create_directories(out);
  for (const char* name : {"herald.8", "herald.toml.5"}) {
    auto text = herald::read_file((in / (std::string(name) + ".in")).string());
    if (!text) {
      std::fprintf(stderr, "herald_mangen: cannot read %s.in\n", name);
      return 1;
    }
    std::string page = substitute(*text, "@VERSION@", HERALD_VERSION);
    page = substitute(page, "@USAGE@\n", usage_section());
    page = substitute(page, "@KEYS@\n", keys_section());
    std::ofstream f(out / name, std::ios::binary);
    f << page;
    if (!f.flush()) {
      std::fprintf(stderr, "herald_mangen: cannot write %s\n", (out / name).c_str());
      return 1;
    }
  }
  return 0;
}
