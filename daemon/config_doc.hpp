// The documentation of every configuration key: type, default and meaning. herald.toml(5) is
// generated from it (docs/man/mangen.cpp), and a test checks that it names exactly the keys
// of the configuration key table (config_keys), so a new key cannot go undocumented.
#pragma once

#include <string_view>
#include <vector>

namespace herald {

struct SectionDoc {
  std::string_view name;     // "mail"
  bool array = false;        // written [[name]] (one table per item) instead of [name]
  std::string_view meaning;  // a paragraph
};

struct KeyDoc {
  std::string_view section;        // "mail"
  std::string_view key;            // "smtp_url"
  std::string_view type;           // "string", "duration", "size", "integer 1-32", ...
  std::string_view default_value;  // as written in TOML; "" = none (required or unset)
  std::string_view meaning;        // one or a few sentences
};

// The sections in the order herald.toml(5) lists them.
const std::vector<SectionDoc>& config_section_docs();
// Every key, grouped by section in that order.
const std::vector<KeyDoc>& config_key_docs();

}  // namespace herald
