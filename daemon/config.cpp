// Configuration loading. Every section is described by one table of keys
// (name, how to read it into the struct); unknown keys are errors with the
// closest known key as a suggestion. Every error cites file:line, and all
// errors are collected before giving up, so one run shows them all. A check
// that involves several keys or tables runs after reading (validate) and
// cites the line of the key it is about, or the table's header when the key
// is missing; a problem with the file as a whole has no line.
#include "daemon/config.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <toml++/toml.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <string_view>

#include "daemon/data_dir.hpp"
#include "daemon/destination.hpp"
#include "daemon/event.hpp"
#include "daemon/expected.hpp"
#include "daemon/http_server.hpp"
#include "daemon/schedule.hpp"
#include "daemon/source_kind.hpp"
#include "daemon/subscriptions/audience.hpp"
#include "daemon/subscriptions/web.hpp"
#include "daemon/util.hpp"

namespace herald {

std::string ConfigError::to_string() const {
  if (line <= 0) return file + ": " + message;
  return file + ":" + std::to_string(line) + ": " + message;
}

const DestinationConfig* Config::destination(const std::string& name) const {
  for (const auto& d : destinations)
    if (d.name == name) return &d;
  return nullptr;
}

namespace {

struct Ctx {
  std::string file;
  std::string base_dir;
  std::vector<ConfigError> errors;
  // Where each key was written, for the checks made after reading: keyed by
  // the table's header line (one per [[array]] item) and the key's name.
  std::map<std::pair<int, std::string>, int> key_lines;
  std::map<std::string, int> section_lines;  // "mail" -> the line of [mail]

  // The line of `key` in the table whose header is on `table_line`; 0 if it is not there.
  int key_line(int table_line, const std::string& key) const {
    auto it = key_lines.find({table_line, key});
    return it == key_lines.end() ? 0 : it->second;
  }
  // The key's line, else the table's header line (the key is missing).
  int line_of(int table_line, const std::string& key) const {
    int line = key_line(table_line, key);
    return line ? line : table_line;
  }
  int section_line(const std::string& section) const {
    auto it = section_lines.find(section);
    return it == section_lines.end() ? 0 : it->second;
  }

  // A message may quote a value with a line break in it (a TOML string can
  // hold one): each error stays one line, as the parser's own do.
  void error(const toml::node& n, const std::string& msg) {
    errors.push_back({file, static_cast<int>(n.source().begin.line), one_line(msg)});
  }
  void error_at(int line, const std::string& msg) { errors.push_back({file, line, one_line(msg)}); }
  std::string path(const std::string& p) const {
    if (p.empty() || p.find("://") != std::string::npos) return p;
    std::filesystem::path fp(p);
    if (fp.is_absolute()) return p;
    return (std::filesystem::path(base_dir) / fp).lexically_normal().string();
  }
};

template <class T>
struct Key {
  std::string_view name;
  std::function<void(Ctx&, const toml::node&, T&)> apply;
};

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

template <class T>
std::string suggestion(std::string_view key, const std::vector<Key<T>>& keys) {
  std::string best;
  size_t best_d = 3;
  for (const auto& k : keys) {
    size_t d = edit_distance(key, k.name);
    if (d < best_d) best_d = d, best = k.name;
  }
  return best.empty() ? "" : "; did you mean '" + best + "'?";
}

std::optional<std::string> as_string(Ctx& c, const toml::node& n, std::string_view key) {
  if (auto v = n.value<std::string>()) return *v;
  c.error(n, "'" + std::string(key) + "' must be a string");
  return std::nullopt;
}

void read_string(Ctx& c, const toml::node& n, std::string_view key, std::string& out) {
  if (auto v = as_string(c, n, key)) out = *v;
}

void read_bool(Ctx& c, const toml::node& n, std::string_view key, bool& out) {
  if (auto v = n.value<bool>())
    out = *v;
  else
    c.error(n, "'" + std::string(key) + "' must be true or false");
}

void read_int(Ctx& c, const toml::node& n, std::string_view key, int64_t lo, int64_t hi,
              int64_t& out) {
  auto v = n.value<int64_t>();
  if (!v || !n.is_integer()) {
    c.error(n, "'" + std::string(key) + "' must be an integer");
  } else if (*v < lo || *v > hi) {
    c.error(n, "'" + std::string(key) + "' must be between " + std::to_string(lo) + " and " +
                   std::to_string(hi));
  } else {
    out = *v;
  }
}

void read_duration(Ctx& c, const toml::node& n, std::string_view key, int64_t& out) {
  if (auto v = n.value<std::string>()) {
    if (auto ms = parse_duration_ms(*v)) {
      out = *ms;
      return;
    }
    c.error(n, "'" + std::string(key) + "': '" + *v +
                   "' is not a duration (use e.g. 30s, 15m, 2h, 5d, 1h30m)");
    return;
  }
  c.error(n, "'" + std::string(key) + "' must be a duration string such as \"15m\"");
}

void read_size(Ctx& c, const toml::node& n, std::string_view key, int64_t& out) {
  if (n.is_integer()) {
    out = *n.value<int64_t>();
    return;
  }
  if (auto v = n.value<std::string>()) {
    if (auto b = parse_size(*v)) {
      out = *b;
      return;
    }
    c.error(n, "'" + std::string(key) + "': '" + *v + "' is not a size (use e.g. 512KiB, 5MiB)");
    return;
  }
  c.error(n, "'" + std::string(key) + "' must be a size such as \"5MiB\"");
}

void read_strings(Ctx& c, const toml::node& n, std::string_view key,
                  std::vector<std::string>& out) {
  out.clear();
  if (auto s = n.value<std::string>()) {
    out.push_back(*s);
    return;
  }
  const auto* arr = n.as_array();
  if (!arr) {
    c.error(n, "'" + std::string(key) + "' must be a string or an array of strings");
    return;
  }
  for (const auto& el : *arr) {
    if (auto s = el.value<std::string>())
      out.push_back(*s);
    else
      c.error(el, "'" + std::string(key) + "' must contain only strings");
  }
}

void read_choice(Ctx& c, const toml::node& n, std::string_view key,
                 std::initializer_list<std::string_view> choices, std::string& out) {
  auto v = as_string(c, n, key);
  if (!v) return;
  for (auto ch : choices)
    if (*v == ch) {
      out = *v;
      return;
    }
  std::string list;
  for (auto ch : choices) list += (list.empty() ? "" : ", ") + std::string(ch);
  c.error(n, "'" + std::string(key) + "' must be one of " + list + ", not '" + *v + "'");
}

// A secret is given literally, as "env:NAME", or by a *_file key.
void read_secret(Ctx& c, const toml::node& n, std::string_view key, std::string& out) {
  auto v = as_string(c, n, key);
  if (!v) return;
  if (v->rfind("env:", 0) == 0) {
    const char* e = std::getenv(v->c_str() + 4);
    if (!e)
      c.error(n,
              "'" + std::string(key) + "': environment variable " + v->substr(4) + " is not set");
    else
      out = e;
    return;
  }
  out = *v;
}

void read_secret_file(Ctx& c, const toml::node& n, std::string_view key, std::string& out) {
  auto v = as_string(c, n, key);
  if (!v) return;
  auto content = read_file(c.path(*v));
  if (!content) {
    c.error(n, "'" + std::string(key) + "': cannot read " + c.path(*v));
    return;
  }
  out = trim(*content);
}

// Checks the scheme of a URL-valued key against the schemes it may use; a
// value without "://" is a path when paths are allowed. nullopt when fine,
// else the complaint.
std::optional<std::string> url_problem(std::string_view key, const std::string& value,
                                       std::initializer_list<std::string_view> schemes,
                                       bool path_allowed) {
  std::string list;
  for (auto sch : schemes) list += (list.empty() ? "" : ", ") + std::string(sch) + "://";
  if (path_allowed) list += " or a path";
  auto sep = value.find("://");
  if (sep == std::string::npos) {
    if (path_allowed) return std::nullopt;
    return "'" + std::string(key) + "': '" + value + "' is not a URL; use " + list;
  }
  std::string scheme = value.substr(0, sep);
  for (auto& ch : scheme) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (std::find(schemes.begin(), schemes.end(), scheme) == schemes.end())
    return "'" + std::string(key) + "': scheme '" + value.substr(0, sep) +
           "' is not supported; use " + list;
  if (value.size() == sep + 3 || (scheme != "file" && value[sep + 3] == '/'))
    return "'" + std::string(key) + "': '" + value + "' names no " +
           (scheme == "file" ? "file" : "host");
  return std::nullopt;
}

void read_url(Ctx& c, const toml::node& n, std::string_view key,
              std::initializer_list<std::string_view> schemes, bool path_allowed,
              std::string& out) {
  auto v = as_string(c, n, key);
  if (!v) return;
  if (v->empty()) {  // unset, as if the key were not there
    out.clear();
    return;
  }
  // Kept even when refused, so that the checks after reading do not also call it missing.
  if (auto problem = url_problem(key, *v, schemes, path_allowed)) c.error(n, *problem);
  out = *v;
}

template <class T>
void apply_table(Ctx& c, const toml::table& t, std::string_view section,
                 const std::vector<Key<T>>& keys, T& out) {
  const int table_line = static_cast<int>(t.source().begin.line);
  for (const auto& [k, node] : t) {
    // By value: clang 14 cannot capture a structured binding (the fuzz build uses it).
    c.key_lines[{table_line, std::string(k.str())}] = static_cast<int>(node.source().begin.line);
    auto it = std::find_if(keys.begin(), keys.end(),
                           [name = k.str()](const Key<T>& key) { return key.name == name; });
    if (it == keys.end()) {
      c.error(node, "unknown key '" + std::string(k.str()) + "' in " + std::string(section) +
                        suggestion(k.str(), keys));
      continue;
    }
    it->apply(c, node, out);
  }
}

#define STR(field) [](Ctx& c, const toml::node& n, auto& o) { read_string(c, n, #field, o.field); }
#define BOOL(field) [](Ctx& c, const toml::node& n, auto& o) { read_bool(c, n, #field, o.field); }
#define DUR(key, field) \
  [](Ctx& c, const toml::node& n, auto& o) { read_duration(c, n, key, o.field); }
#define LIST(field) \
  [](Ctx& c, const toml::node& n, auto& o) { read_strings(c, n, #field, o.field); }
#define PATH(field)                          \
  [](Ctx& c, const toml::node& n, auto& o) { \
    read_string(c, n, #field, o.field);      \
    o.field = c.path(o.field);               \
  }

const std::vector<Key<Config>> k_herald_keys = {
    {"database", PATH(database)},
    {"templates_dir", PATH(templates_dir)},
    {"log_format",
     [](Ctx& c, const toml::node& n, Config& o) {
       read_choice(c, n, "log_format", {"text", "json"}, o.log_format);
     }},
    {"log_level",
     [](Ctx& c, const toml::node& n, Config& o) {
       read_choice(c, n, "log_level", {"trace", "debug", "info", "warn", "error"}, o.log_level);
     }},
};

// A sender address ([mail] from, [web] from).
void read_from(Ctx& c, const toml::node& n, std::string& out) {
  auto v = as_string(c, n, "from");
  if (v && v->find('@') == std::string::npos)
    c.error(n, "'from' must be a mail address, not '" + *v + "'");
  else if (v)
    out = *v;
}

const std::vector<Key<MailConfig>> k_mail_keys = {
    {"from", [](Ctx& c, const toml::node& n, MailConfig& o) { read_from(c, n, o.from); }},
    {"domain", STR(domain)},
    {"smtp_url",
     [](Ctx& c, const toml::node& n, MailConfig& o) {
       read_url(c, n, "smtp_url", {"smtp", "smtps"}, false, o.smtp_url);
     }},
    {"tls",
     [](Ctx& c, const toml::node& n, MailConfig& o) {
       read_choice(c, n, "tls", {"none", "starttls", "implicit"}, o.tls);
     }},
    {"username", STR(username)},
    {"password",
     [](Ctx& c, const toml::node& n, MailConfig& o) { read_secret(c, n, "password", o.password); }},
    {"password_file", [](Ctx& c, const toml::node& n,
                         MailConfig& o) { read_secret_file(c, n, "password_file", o.password); }},
    {"ca_file", PATH(ca_file)},
    {"verify_peer", BOOL(verify_peer)},
    {"timeout", DUR("timeout", timeout_ms)},
    {"connect_timeout", DUR("connect_timeout", connect_timeout_ms)},
    {"data_timeout", DUR("data_timeout", data_timeout_ms)},
    {"max_connections",
     [](Ctx& c, const toml::node& n, MailConfig& o) {
       int64_t v = o.max_connections;
       read_int(c, n, "max_connections", 1, 32, v);
       o.max_connections = static_cast<int>(v);
     }},
    {"maildir", PATH(maildir)},
};

const std::vector<Key<OpenPgpConfig>> k_openpgp_keys = {
    {"gnupg_home", PATH(gnupg_home)},
    {"key", STR(key)},
    {"form",
     [](Ctx& c, const toml::node& n, OpenPgpConfig& o) {
       read_choice(c, n, "form", {"inline", "pgp-mime"}, o.form);
     }},
    {"kinds", LIST(kinds)},
};

const std::vector<Key<DeliveryConfig>> k_delivery_keys = {
    {"max_age", DUR("max_age", max_age_ms)},
    {"backoff_initial", DUR("backoff_initial", backoff_initial_ms)},
    {"backoff_max", DUR("backoff_max", backoff_max_ms)},
    {"batch",
     [](Ctx& c, const toml::node& n, DeliveryConfig& o) {
       int64_t v = o.batch;
       read_int(c, n, "batch", 1, 100000, v);
       o.batch = static_cast<int>(v);
     }},
};

const std::vector<Key<LustreConfig>> k_lustre_keys = {
    {"lts_branches", LIST(lts_branches)},
    {"ga", STR(ga)},
    {"rc", STR(rc)},
    {"dev", STR(dev)},
    {"download_url", STR(download_url)},
    {"release_notes_url", STR(release_notes_url)},
    {"report_url", STR(report_url)},
    {"tracker", STR(tracker)},
    {"fixed_jql", STR(fixed_jql)},
    {"fixed_max",
     [](Ctx& c, const toml::node& n, LustreConfig& o) {
       int64_t v = o.fixed_max;
       read_int(c, n, "fixed_max", 0, 1000, v);
       o.fixed_max = static_cast<int>(v);
     }},
    {"fixed_timeout", DUR("fixed_timeout", fixed_timeout_ms)},
    {"lts_interop",
     [](Ctx& c, const toml::node& n, LustreConfig& o) {
       const auto* t = n.as_table();
       if (!t) {
         c.error(n, "'lts_interop' must be a table such as { \"2.17\" = \"2.15.8\" }");
         return;
       }
       o.lts_interop.clear();
       for (const auto& [k, v] : *t)
         read_string(c, v, "lts_interop." + std::string(k.str()),
                     o.lts_interop[std::string(k.str())]);
     }},
};

const std::vector<Key<SourceConfig>> k_source_keys = {
    {"name", STR(name)},
    {"kind",
     [](Ctx& c, const toml::node& n, SourceConfig& o) {
       auto v = as_string(c, n, "kind");
       if (!v) return;
       if (source_kind(*v)) {
         o.kind = *v;
         return;
       }
       std::string list;
       for (const auto& k : source_kinds()) list += (list.empty() ? "" : ", ") + k;
       c.error(n, "'kind' must be one of " + list + ", not '" + *v + "'");
     }},
    {"base_url",
     [](Ctx& c, const toml::node& n, SourceConfig& o) {
       read_url(c, n, "base_url", {"http", "https"}, false, o.base_url);
     }},
    {"jql", STR(jql)},
    {"api",
     [](Ctx& c, const toml::node& n, SourceConfig& o) {
       read_choice(c, n, "api", {"v2", "v3"}, o.api);
     }},
    {"page_size",
     [](Ctx& c, const toml::node& n, SourceConfig& o) {
       int64_t v = o.page_size;
       read_int(c, n, "page_size", 1, 1000, v);
       o.page_size = static_cast<int>(v);
     }},
    {"repo", STR(repo)},
    {"username", [](Ctx& c, const toml::node& n,
                    SourceConfig& o) { read_string(c, n, "username", o.auth_user); }},
    {"token", [](Ctx& c, const toml::node& n,
                 SourceConfig& o) { read_secret(c, n, "token", o.auth_secret); }},
    {"token_file", [](Ctx& c, const toml::node& n,
                      SourceConfig& o) { read_secret_file(c, n, "token_file", o.auth_secret); }},
    {"password_file",
     [](Ctx& c, const toml::node& n, SourceConfig& o) {
       read_secret_file(c, n, "password_file", o.auth_secret);
     }},
    {"path",
     [](Ctx& c, const toml::node& n, SourceConfig& o) {
       read_string(c, n, "path", o.path);
       o.file = c.path(o.path);
     }},
    {"secret",
     [](Ctx& c, const toml::node& n, SourceConfig& o) { read_secret(c, n, "secret", o.secret); }},
    {"product", STR(product)},
    {"points",
     [](Ctx& c, const toml::node& n, SourceConfig& o) {
       const auto* a = n.as_array();
       if (!a) {
         c.error(n, "'points' must be a list of days such as [180, 90, 30, 7]");
         return;
       }
       std::vector<int64_t> points;
       for (const auto& el : *a) {
         int64_t v = -1;
         read_int(c, el, "points", 1, 3650, v);
         if (v < 0) continue;
         if (std::find(points.begin(), points.end(), v) != points.end())
           c.error(el, "'points' lists " + std::to_string(v) + " twice");
         else
           points.push_back(v);
       }
       o.points = std::move(points);
     }},
    {"timezone", STR(timezone)},
    {"secret_file", [](Ctx& c, const toml::node& n,
                       SourceConfig& o) { read_secret_file(c, n, "secret_file", o.secret); }},
    {"url",
     [](Ctx& c, const toml::node& n, SourceConfig& o) {
       read_url(c, n, "url", {"http", "https", "file"}, true, o.url);
       if (o.url.find("://") == std::string::npos && !o.url.empty())
         o.url = "file://" + c.path(o.url);
     }},
    {"interval",
     [](Ctx& c, const toml::node& n, SourceConfig& o) {
       int64_t v = o.interval_ms;
       read_duration(c, n, "interval", v);
       if (v < 10'000)
         c.error(n, "'interval' must be at least 10s");
       else
         o.interval_ms = v;
     }},
    {"timeout", DUR("timeout", timeout_ms)},
    {"connect_timeout", DUR("connect_timeout", connect_timeout_ms)},
    {"max_size",
     [](Ctx& c, const toml::node& n, SourceConfig& o) { read_size(c, n, "max_size", o.max_size); }},
    {"max_redirects",
     [](Ctx& c, const toml::node& n, SourceConfig& o) {
       int64_t v = o.max_redirects;
       read_int(c, n, "max_redirects", 0, 20, v);
       o.max_redirects = v;
     }},
    {"release_model",
     [](Ctx& c, const toml::node& n, SourceConfig& o) {
       read_choice(c, n, "release_model", {"lustre", "generic"}, o.release_model);
     }},
    {"project",
     [](Ctx& c, const toml::node& n, SourceConfig& o) {
       read_string(c, n, "project", o.project);
       o.project_set = true;
     }},
    {"max_age", DUR("max_age", max_age_ms)},
    {"packages", LIST(packages)},
    {"branches", LIST(branches)},
    {"hashtags", LIST(hashtags)},
    {"topics", LIST(topics)},
    {"changelog",
     [](Ctx& c, const toml::node& n, SourceConfig& o) {
       read_strings(c, n, "changelog", o.changelogs);
       for (auto& p : o.changelogs) {
         if (auto problem = url_problem("changelog", p, {"http", "https", "file"}, true))
           c.error(n, *problem);
         p = c.path(p);
       }
     }},
};

const std::vector<Key<DestinationConfig>> k_destination_keys = {
    {"name", STR(name)},
    {"kind",
     [](Ctx& c, const toml::node& n, DestinationConfig& o) {
       auto v = as_string(c, n, "kind");
       if (!v) return;
       o.kind = *v;
       if (destination_kind(*v)) return;
       std::string list;
       for (const auto& k : destination_kinds()) list += (list.empty() ? "" : ", ") + k;
       c.error(n, "'kind' must be one of " + list + ", not '" + *v + "'");
     }},
    {"url",
     [](Ctx& c, const toml::node& n, DestinationConfig& o) {
       std::string v;
       read_secret(c, n, "url", v);
       // The message leaves the value out: a webhook URL is its own password.
       if (!v.empty() && url_problem("url", v, {"http", "https"}, false))
         c.error(n, "'url' must be an http:// or https:// URL with a host");
       o.url = v;
     }},
    {"url_file",
     [](Ctx& c, const toml::node& n, DestinationConfig& o) {
       read_secret_file(c, n, "url_file", o.url);
       if (url_problem("url_file", o.url, {"http", "https"}, false))
         c.error(n, "'url_file': the file does not hold an http:// or https:// URL");
     }},
    {"secrets",
     [](Ctx& c, const toml::node& n, DestinationConfig& o) {
       std::vector<std::string> given;
       read_strings(c, n, "secrets", given);
       o.secrets.clear();
       for (const auto& g : given) {
         std::string v = g;
         if (g.rfind("env:", 0) == 0) {
           const char* e = std::getenv(g.c_str() + 4);
           if (!e) {
             c.error(n, "'secrets': environment variable " + g.substr(4) + " is not set");
             continue;
           }
           v = e;
         }
         o.secrets.push_back(std::move(v));
       }
     }},
    {"secrets_file",
     [](Ctx& c, const toml::node& n, DestinationConfig& o) {
       std::string text;
       read_secret_file(c, n, "secrets_file", text);
       o.secrets.clear();
       for (auto& line : split(text, '\n'))
         if (auto t = trim(line); !t.empty()) o.secrets.push_back(t);
     }},
    {"homeserver",
     [](Ctx& c, const toml::node& n, DestinationConfig& o) {
       read_url(c, n, "homeserver", {"http", "https"}, false, o.homeserver);
     }},
    {"room", STR(room)},
    {"access_token",
     [](Ctx& c, const toml::node& n, DestinationConfig& o) {
       read_secret(c, n, "access_token", o.access_token);
     }},
    {"access_token_file",
     [](Ctx& c, const toml::node& n, DestinationConfig& o) {
       read_secret_file(c, n, "access_token_file", o.access_token);
     }},
    {"username", STR(username)},
    {"icon_url",
     [](Ctx& c, const toml::node& n, DestinationConfig& o) {
       read_url(c, n, "icon_url", {"http", "https"}, false, o.icon_url);
     }},
    {"rate",
     [](Ctx& c, const toml::node& n, DestinationConfig& o) {
       auto v = n.value<double>();
       if (!v || !(n.is_floating_point() || n.is_integer()) || *v <= 0 || *v > 100000)
         c.error(n, "'rate' must be a number of messages a second, above 0 (e.g. 1 or 0.5)");
       else
         o.rate = *v;
     }},
    {"burst",
     [](Ctx& c, const toml::node& n, DestinationConfig& o) {
       int64_t v = o.burst;
       read_int(c, n, "burst", 1, 1000, v);
       o.burst = static_cast<int>(v);
     }},
    {"timeout", DUR("timeout", timeout_ms)},
    {"connect_timeout", DUR("connect_timeout", connect_timeout_ms)},
    {"retry_schedule",
     [](Ctx& c, const toml::node& n, DestinationConfig& o) {
       std::vector<std::string> given;
       read_strings(c, n, "retry_schedule", given);
       std::vector<int64_t> waits;
       for (const auto& g : given) {
         auto ms = parse_duration_ms(g);
         if (!ms || *ms <= 0) {
           c.error(n, "'retry_schedule': '" + g + "' is not a duration (use e.g. 5s, 5m, 2h)");
           return;
         }
         waits.push_back(*ms);
       }
       if (waits.empty()) {
         c.error(n, "'retry_schedule' needs at least one wait, e.g. [\"5s\", \"5m\", \"2h\"]");
         return;
       }
       o.retry_schedule_ms = std::move(waits);
     }},
    {"max_connections",
     [](Ctx& c, const toml::node& n, DestinationConfig& o) {
       int64_t v = o.max_connections;
       read_int(c, n, "max_connections", 1, 32, v);
       o.max_connections = static_cast<int>(v);
     }},
    {"to", LIST(to)},
    {"from", STR(from)},
    {"subject_prefix", STR(subject_prefix)},
    {"list_id", STR(list_id)},
    {"list_post", STR(list_post)},
    {"list_archive", STR(list_archive)},
    {"list_help", STR(list_help)},
    {"precedence_list", BOOL(precedence_list)},
    {"templates", STR(templates)},
};

const std::vector<Key<RouteConfig>> k_route_keys = {
    {"kinds", LIST(kinds)},
    {"tags",
     [](Ctx& c, const toml::node& n, RouteConfig& o) {
       const auto* t = n.as_table();
       if (!t) {
         c.error(n, "'tags' must be a table such as { audience = \"release\" }");
         return;
       }
       for (const auto& [k, v] : *t)
         read_strings(c, v, "tags." + std::string(k.str()), o.tags[std::string(k.str())]);
     }},
    {"min_severity",
     [](Ctx& c, const toml::node& n, RouteConfig& o) {
       read_choice(c, n, "min_severity", {"info", "low", "medium", "high", "critical"},
                   o.min_severity);
     }},
    {"to", LIST(to)},
};

const std::vector<Key<HttpConfig>> k_http_keys = {
    {"listen",
     [](Ctx& c, const toml::node& n, HttpConfig& o) {
       read_string(c, n, "listen", o.listen);
       if (o.listen.empty()) return;
       if (auto a = parse_listen(o.listen); !a) c.error(n, "'listen': " + a.error().message);
     }},
    {"max_body",
     [](Ctx& c, const toml::node& n, HttpConfig& o) { read_size(c, n, "max_body", o.max_body); }},
    {"api_token", [](Ctx& c, const toml::node& n,
                     HttpConfig& o) { read_secret(c, n, "api_token", o.api_token); }},
    {"api_token_file",
     [](Ctx& c, const toml::node& n, HttpConfig& o) {
       read_secret_file(c, n, "api_token_file", o.api_token);
     }},
    {"threads",
     [](Ctx& c, const toml::node& n, HttpConfig& o) {
       int64_t v = o.threads;
       read_int(c, n, "threads", 1, 64, v);
       o.threads = static_cast<int>(v);
     }},
    {"max_connections",
     [](Ctx& c, const toml::node& n, HttpConfig& o) {
       int64_t v = o.max_connections;
       read_int(c, n, "max_connections", 1, 100'000, v);
       o.max_connections = static_cast<int>(v);
     }},
    {"max_connections_per_ip",
     [](Ctx& c, const toml::node& n, HttpConfig& o) {
       int64_t v = o.max_connections_per_ip;
       read_int(c, n, "max_connections_per_ip", 0, 100'000, v);
       o.max_connections_per_ip = static_cast<int>(v);
     }},
    {"read_timeout",
     [](Ctx& c, const toml::node& n, HttpConfig& o) {
       int64_t v = o.read_timeout_ms;
       read_duration(c, n, "read_timeout", v);
       if (v > 3'600'000)
         c.error(n, "'read_timeout' must be at most 1h");
       else
         o.read_timeout_ms = v;
     }},
};

const std::vector<Key<DigestConfig>> k_digest_keys = {
    {"name", STR(name)},
    {"schedule", STR(schedule)},
    {"timezone", STR(timezone)},
    {"kinds", LIST(kinds)},
    {"projects", LIST(projects)},
    {"components", LIST(components)},
    {"labels", LIST(labels)},
    {"min_severity",
     [](Ctx& c, const toml::node& n, DigestConfig& o) {
       read_choice(c, n, "min_severity", {"info", "low", "medium", "high", "critical"},
                   o.min_severity);
     }},
    {"to", LIST(to)},
    {"group_by", LIST(group_by)},
    {"send_empty", BOOL(send_empty)},
    {"title", STR(title)},
};

const std::vector<Key<TopicConfig>> k_topic_keys = {
    {"name", STR(name)},
    {"title", STR(title)},
    {"kinds", LIST(kinds)},
    {"tags", LIST(tags)},
};

const std::vector<Key<WebConfig>> k_web_keys = {
    {"base_url",
     [](Ctx& c, const toml::node& n, WebConfig& o) {
       o.line = static_cast<int>(n.source().begin.line);
       auto v = n.value<std::string>();
       if (!v) {
         c.error(n, "'base_url' must be a string");
         return;
       }
       if (v->rfind("https://", 0) != 0 && v->rfind("http://", 0) != 0)
         c.error(n, "'base_url' must start with https:// or http://, not '" + *v + "'");
       else
         o.base_url = v->back() == '/' ? v->substr(0, v->size() - 1) : *v;
     }},
    {"from", [](Ctx& c, const toml::node& n, WebConfig& o) { read_from(c, n, o.from); }},
    {"subscribe_per_client",
     [](Ctx& c, const toml::node& n, WebConfig& o) {
       int64_t v = o.subscribe_per_client;
       read_int(c, n, "subscribe_per_client", 1, 100'000, v);
       o.subscribe_per_client = static_cast<int>(v);
     }},
    {"mails_per_address",
     [](Ctx& c, const toml::node& n, WebConfig& o) {
       int64_t v = o.mails_per_address;
       read_int(c, n, "mails_per_address", 1, 1000, v);
       o.mails_per_address = static_cast<int>(v);
     }},
    {"confirm_expiry",
     [](Ctx& c, const toml::node& n, WebConfig& o) {
       int64_t ms = o.confirm_expiry_s * 1000;
       read_duration(c, n, "confirm_expiry", ms);
       if (ms < 3'600'000)
         c.error(n, "'confirm_expiry' must be at least 1h");
       else
         o.confirm_expiry_s = ms / 1000;
     }},
};

const std::vector<Key<AdminConfig>> k_admin_keys = {
    {"name", STR(name)},
    {"token_file",
     [](Ctx& c, const toml::node& n, AdminConfig& o) {
       read_secret_file(c, n, "token_file", o.token);
       if (!o.token.empty() && o.token.size() < 32)
         c.error(n, "'token_file': the token is " + std::to_string(o.token.size()) +
                        " characters; use at least 32 (e.g. openssl rand -hex 32)");
     }},
    {"may",
     [](Ctx& c, const toml::node& n, AdminConfig& o) {
       std::vector<std::string> given;
       read_strings(c, n, "may", given);
       for (const auto& g : given)
         if (g != "draft" && g != "approve" && g != "publish" && g != "patches" && g != "read") {
           c.error(n, "'may': unknown action '" + g +
                          "' (draft, approve, publish, patches, read)");
           return;
         }
       o.may = std::move(given);
     }},
};

const std::vector<Key<SecurityConfig>> k_security_keys = {
    {"prefix",
     [](Ctx& c, const toml::node& n, SecurityConfig& o) {
       read_string(c, n, "prefix", o.prefix);
       const bool fine = !o.prefix.empty() && o.prefix.size() <= 16 &&
                         std::all_of(o.prefix.begin(), o.prefix.end(), [](char ch) {
                           return std::isupper(static_cast<unsigned char>(ch)) ||
                                  std::isdigit(static_cast<unsigned char>(ch)) || ch == '-';
                         });
       if (!fine)
         c.error(n, "'prefix' must be 1 to 16 upper-case letters, digits or '-', such as OSFS-SA");
     }},
    {"approvals",
     [](Ctx& c, const toml::node& n, SecurityConfig& o) {
       int64_t v = o.approvals;
       read_int(c, n, "approvals", 1, 5, v);
       o.approvals = static_cast<int>(v);
     }},
    {"topic", STR(topic)},
    {"to", LIST(to)},
    {"max_embargo",
     [](Ctx& c, const toml::node& n, SecurityConfig& o) {
       int64_t ms = o.max_embargo_s * 1000;
       read_duration(c, n, "max_embargo", ms);
       o.max_embargo_s = ms / 1000;
     }},
    {"priority",
     [](Ctx& c, const toml::node& n, SecurityConfig& o) {
       int64_t v = o.priority;
       read_int(c, n, "priority", 1, 1000, v);
       o.priority = static_cast<int>(v);
     }},
};

#undef STR
#undef BOOL
#undef DUR
#undef LIST
#undef PATH

template <class T>
std::vector<std::string> names(const std::vector<Key<T>>& keys) {
  std::vector<std::string> out;
  for (const auto& k : keys) out.emplace_back(k.name);
  return out;
}

template <class T>
void read_array_of_tables(Ctx& c, const toml::node& n, std::string_view section,
                          const std::vector<Key<T>>& keys, std::vector<T>& out) {
  const auto* arr = n.as_array();
  if (!arr) {
    c.error(n, "'" + std::string(section) + "' must be an array of tables: write [[" +
                   std::string(section) + "]]");
    return;
  }
  for (const auto& el : *arr) {
    const auto* t = el.as_table();
    if (!t) {
      c.error(el, "each " + std::string(section) + " must be a table");
      continue;
    }
    T item;
    item.line = static_cast<int>(el.source().begin.line);
    apply_table(c, *t, "[[" + std::string(section) + "]]", keys, item);
    out.push_back(std::move(item));
  }
}

template <class T>
void read_section(Ctx& c, const toml::node& n, std::string_view section,
                  const std::vector<Key<T>>& keys, T& out) {
  const auto* t = n.as_table();
  if (!t) {
    c.error(n,
            "'" + std::string(section) + "' must be a table: write [" + std::string(section) + "]");
    return;
  }
  c.section_lines[std::string(section)] = static_cast<int>(t->source().begin.line);
  apply_table(c, *t, "[" + std::string(section) + "]", keys, out);
}

// A [lustre] template names only {version} and {branch}.
bool known_placeholders(std::string_view tmpl) {
  for (size_t at = tmpl.find('{'); at != std::string_view::npos; at = tmpl.find('{', at + 1)) {
    std::string_view rest = tmpl.substr(at);
    if (!rest.starts_with("{version}") && !rest.starts_with("{branch}")) return false;
  }
  return true;
}

// "2.15" (count 2) or "2.15.8" (count 3): dot-separated numbers of at most four digits.
bool dotted_numbers(std::string_view s, size_t count) {
  auto parts = split(s, '.');
  if (parts.size() != count) return false;
  for (const auto& p : parts)
    if (p.empty() || p.size() > 4 || p.find_first_not_of("0123456789") != std::string::npos)
      return false;
  return true;
}

void validate_lustre(Ctx& c, const toml::table& root, const Config& cfg) {
  const toml::node* section = root.get("lustre");
  if (!section || !section->is_table()) return;
  const auto& t = *section->as_table();
  const LustreConfig& l = cfg.lustre;
  if (!l.tracker.empty()) {
    auto it = std::find_if(cfg.sources.begin(), cfg.sources.end(),
                           [&](const SourceConfig& s) { return s.name == l.tracker; });
    if (it == cfg.sources.end() || it->kind != "jira")
      c.error(*t.get("tracker"),
              "[lustre] tracker: '" + l.tracker + "' is not a kind = \"jira\" source");
  }
  if (!known_placeholders(l.fixed_jql))
    c.error(*t.get("fixed_jql"), "[lustre] fixed_jql: only {version} and {branch} may be replaced");
  if (t.get("fixed_timeout") && (l.fixed_timeout_ms < 100 || l.fixed_timeout_ms > 300'000))
    c.error(*t.get("fixed_timeout"), "[lustre] fixed_timeout must be between 100ms and 5m");
  if (const auto* interop = t.get_as<toml::table>("lts_interop")) {
    for (const auto& [branch, release] : l.lts_interop) {
      const toml::node& n = *interop->get(branch);
      if (!dotted_numbers(branch, 2))
        c.error(n, "[lustre] lts_interop: '" + branch + "' is not a branch such as \"2.17\"");
      else if (!dotted_numbers(release, 3) || std::stoi(split(release, '.')[2]) >= 50)
        c.error(n, "[lustre] lts_interop." + branch + ": '" + release +
                       "' is not a GA release such as \"2.15.8\"");
    }
  }
  for (auto [key, value] : {std::pair{"download_url", &l.download_url},
                            std::pair{"release_notes_url", &l.release_notes_url},
                            std::pair{"report_url", &l.report_url}}) {
    if (value->empty()) continue;
    const toml::node& n = *t.get(key);
    if (!value->starts_with("https://") && !value->starts_with("http://"))
      c.error(n, std::string("[lustre] ") + key + " must be an http:// or https:// URL");
    else if (!known_placeholders(*value) ||
             value->find_first_of(" \t\r\n\"<>") != std::string::npos)
      c.error(n, std::string("[lustre] ") + key +
                     ": only {version} and {branch} may be replaced, and a URL has no spaces, "
                     "quotes or angle brackets");
  }
}

// [openpgp]: present means signing, so the key and its GnuPG home are needed.
void validate_openpgp(Ctx& c, Config& cfg) {
  const int table = c.section_line("openpgp");
  if (!table) return;
  auto& o = cfg.openpgp;
  o.enabled = true;
  o.line = table;
  std::error_code ec;
  if (o.gnupg_home.empty())
    c.error_at(table, "[openpgp] needs 'gnupg_home', the GnuPG home directory holding the key");
  else if (!std::filesystem::is_directory(o.gnupg_home, ec))
    c.error_at(c.line_of(table, "gnupg_home"),
               "[openpgp] gnupg_home '" + o.gnupg_home + "' is not a directory");
  if (o.key.empty())
    c.error_at(table, "[openpgp] needs 'key', the signing key's fingerprint or a user id");
}

// Checks of the destination kinds that look outside the file (a signing key
// in its GnuPG home), made on an otherwise valid configuration only: with
// errors already found their answer changes nothing, and they cost a process.
void validate_outside(Ctx& c, const Config& cfg) {
  if (!c.errors.empty()) return;
  for (const auto& name : destination_kinds()) {
    const DestinationKind* kind = destination_kind(name);
    if (!kind || !kind->check_config) continue;
    for (const auto& [where, problem] : kind->check_config(cfg)) {
      const auto dot = where.find('.');
      const int table = c.section_line(where.substr(0, dot));
      c.error_at(dot == std::string::npos ? table : c.line_of(table, where.substr(dot + 1)),
                 problem);
    }
  }
}

void validate(Ctx& c, Config& cfg, bool empty_file) {
  std::set<std::string> names;
  for (auto& s : cfg.sources) {
    if (s.name.empty())
      c.error_at(s.line, "[[source]] needs a 'name'");
    else if (!names.insert(s.name).second)
      c.error_at(c.line_of(s.line, "name"), "duplicate source name '" + s.name + "'");
    if (s.kind.empty()) c.error_at(s.line, "[[source]] '" + s.name + "' needs a 'kind' (feed)");
    if (const SourceKind* kind = source_kind(s.kind)) {  // else the kind key's own error says so
      if (kind->check)
        for (const auto& [key, problem] : kind->check(s, cfg))
          c.error_at(key.empty() ? s.line : c.line_of(s.line, key),
                     "[[source]] '" + s.name + "' " + problem);
      if (kind->complete) kind->complete(s);
    }
    if (s.release_model.empty()) s.release_model = "generic";
  }
  std::set<std::string> dests;
  for (auto& d : cfg.destinations) {
    if (d.name.empty())
      c.error_at(d.line, "[[destination]] needs a 'name'");
    else if (!dests.insert(d.name).second)
      c.error_at(c.line_of(d.line, "name"), "duplicate destination name '" + d.name + "'");
    const DestinationKind* kind = destination_kind(d.kind);
    if (!kind) continue;  // the kind key's own error says so
    // Keys of another kind: a webhook 'room' is a mistake worth naming.
    std::string own;
    for (const auto& k : kind->keys) own += (own.empty() ? "" : ", ") + k;
    for (const auto& entry : c.key_lines) {  // not a structured binding: clang 14 lambdas
      const std::string& key = entry.first.second;
      if (entry.first.first != d.line || key == "name" || key == "kind") continue;
      if (std::find(kind->keys.begin(), kind->keys.end(), key) == kind->keys.end() &&
          std::any_of(k_destination_keys.begin(), k_destination_keys.end(),
                      [&key](const auto& known) { return known.name == key; }))
        c.error_at(entry.second, "destination '" + d.name + "' (" + d.kind + ") does not take '" +
                                     key + "'; its keys: " + own);
    }
    if (kind->check)
      for (const auto& [key, problem] : kind->check(d))
        c.error_at(c.line_of(d.line, key), "destination '" + d.name + "': " + problem);
    if (d.rate == 0) d.rate = kind->default_rate;
    if (d.max_connections == 0)
      d.max_connections = d.kind == "mail" ? cfg.mail.max_connections : kind->default_connections;
  }
  // Proposals wait for an admin (daemon/event.hpp): a rule that would send them is a mistake.
  const auto held = [&c](const std::vector<std::string>& kinds, int table_line,
                         const std::string& what) {
    for (const auto& k : kinds)
      if (is_proposal_kind(k))
        c.error_at(c.line_of(table_line, "kinds"),
                   what + " names '" + k +
                       "': security.advisory and patch.candidate events are proposals held "
                       "for an admin; they are never routed");
  };
  for (const auto& r : cfg.routes) held(r.kinds, r.line, "[[route]]");
  for (const auto& d : cfg.digests) held(d.kinds, d.line, "[[digest]] '" + d.name + "'");
  for (const auto& t : cfg.topics) held(t.kinds, t.line, "[[topic]] '" + t.name + "'");
  // A route's or digest's audience: destination names and "topic:NAME".
  const auto check_audience = [&](const std::vector<std::string>& to, int to_line,
                                  const std::string& what) {
    for (const auto& t : to) {
      if (t.rfind(k_topic_prefix, 0) == 0) {
        const std::string name = t.substr(std::string(k_topic_prefix).size());
        if (std::none_of(cfg.topics.begin(), cfg.topics.end(),
                         [&name](const TopicConfig& topic) { return topic.name == name; }))
          c.error_at(to_line, what + " sends to unknown topic '" + name + "'");
        else if (cfg.web.base_url.empty())
          c.error_at(to_line, what + " sends to topic '" + name +
                                  "', which needs [web] base_url (the links in subscriber mail)");
      } else if (!dests.count(t)) {
        c.error_at(to_line, what + " sends to unknown destination '" + t + "'");
      }
    }
  };
  for (const auto& r : cfg.routes) {
    const int to_line = c.line_of(r.line, "to");
    if (r.to.empty()) c.error_at(to_line, "[[route]] needs 'to' (destination names)");
    check_audience(r.to, to_line, "[[route]]");
  }
  std::set<std::string> digest_names;
  std::set<std::string> topic_names;
  for (auto& t : cfg.topics) {
    if (t.name.empty()) {
      c.error_at(t.line, "[[topic]] needs a 'name'");
      continue;
    }
    for (char ch : t.name)
      if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_' && ch != '.') {
        c.error_at(t.line, "[[topic]] name '" + t.name +
                               "' may hold only letters, digits, '-', '_' and '.'");
        break;
      }
    if (!topic_names.insert(t.name).second)
      c.error_at(t.line, "[[topic]] '" + t.name + "' is defined twice");
    for (const auto& tag : t.tags)
      if (tag.find('=') == std::string::npos || tag.front() == '=')
        c.error_at(t.line, "[[topic]] '" + t.name + "': tag '" + tag + "' is not key=value");
    if (t.title.empty()) t.title = t.name;
  }
  for (auto& d : cfg.digests) {
    if (d.name.empty())
      c.error_at(d.line, "[[digest]] needs a 'name'");
    else if (!digest_names.insert(d.name).second)
      c.error_at(c.line_of(d.line, "name"), "duplicate digest name '" + d.name + "'");
    if (d.schedule.empty()) {
      c.error_at(d.line, "[[digest]] '" + d.name + "' needs a 'schedule'");
    } else if (auto sched = CronSchedule::parse(d.schedule, d.timezone); !sched) {
      const std::string& why = sched.error().message;
      const bool zone = why.find("time zone") != std::string::npos;
      c.error_at(c.line_of(d.line, zone ? "timezone" : "schedule"),
                 "[[digest]] '" + d.name + "': " + why);
    }
    const int to_line = c.line_of(d.line, "to");
    if (d.to.empty())
      c.error_at(to_line, "[[digest]] '" + d.name + "' needs 'to' (destination names)");
    check_audience(d.to, to_line, "[[digest]] '" + d.name + "'");
    if (d.title.empty()) d.title = d.name + " digest";
  }
  if (!cfg.web.base_url.empty()) {
    const int web_line = c.section_line("web");
    if (dests.count(k_subscriber_destination))
      c.error_at(c.line_of(cfg.destination(k_subscriber_destination)->line, "name"),
                 std::string("destination name '") + k_subscriber_destination +
                     "' is taken: with [web] base_url set it carries subscriber mail");
    if (cfg.http.listen.empty())
      c.error_at(cfg.web.line,
                 "[web] base_url needs [http] listen: herald's HTTP server serves "
                 "the subscription pages");
    if (cfg.topics.empty())
      c.error_at(web_line, "[web] base_url is set but there is no [[topic]] to subscribe to");
    // The mail destination of subscriber mail: its recipients are per delivery.
    DestinationConfig sub;
    sub.name = k_subscriber_destination;
    sub.kind = "mail";
    sub.from = cfg.web.from;
    sub.max_connections = cfg.mail.max_connections;
    sub.line = web_line;
    cfg.destinations.push_back(std::move(sub));
  }
  std::set<std::string> admin_names, admin_tokens;
  for (const auto& a : cfg.admins) {
    if (a.name.empty()) c.error_at(a.line, "[[admin]] needs a 'name'");
    else if (!admin_names.insert(a.name).second)
      c.error_at(c.line_of(a.line, "name"), "duplicate admin name '" + a.name + "'");
    if (a.token.empty())
      c.error_at(a.line, "[[admin]] '" + a.name + "' needs a 'token_file'");
    else if (!admin_tokens.insert(a.token).second)
      c.error_at(c.line_of(a.line, "token_file"),
                 "[[admin]] '" + a.name + "' has the token of another admin");
  }
  if (const int sec = c.section_line("security"); sec) {
    const int to_line = c.line_of(sec, "to");
    for (const auto& t : cfg.security.to)
      if (!dests.count(t))
        c.error_at(to_line, "[security] sends to unknown destination '" + t + "'");
    if (cfg.admins.empty())
      c.error_at(sec, "[security] is set but there is no [[admin]] to draft and approve notices");
    if (!cfg.security.topic.empty() && !topic_names.empty() &&
        !topic_names.count(cfg.security.topic))
      c.error_at(c.line_of(sec, "topic"),
                 "[security] topic '" + cfg.security.topic + "' is not a [[topic]]");
    const auto approvers = std::count_if(cfg.admins.begin(), cfg.admins.end(), [](const auto& a) {
      return std::find(a.may.begin(), a.may.end(), "approve") != a.may.end();
    });
    if (!cfg.admins.empty() && approvers < cfg.security.approvals)
      c.error_at(c.line_of(sec, "approvals"),
                 "[security] approvals = " + std::to_string(cfg.security.approvals) + " but only " +
                     std::to_string(approvers) + " [[admin]] may approve");
    // A change to the patch list is proposed and approved by admins allowed
    // "patches" (daemon/patches/routes.cpp), under the same rule: with two or
    // more approvals the proposer's own never counts (daemon/admin/approval.cpp),
    // so the list needs its proposer and `approvals` others. Nobody allowed
    // "patches": the list is not used and cannot be changed.
    const auto patchers = std::count_if(cfg.admins.begin(), cfg.admins.end(), [](const auto& a) {
      return std::find(a.may.begin(), a.may.end(), "patches") != a.may.end();
    });
    const int patchers_needed =
        cfg.security.approvals >= 2 ? cfg.security.approvals + 1 : cfg.security.approvals;
    if (patchers > 0 && patchers < patchers_needed)
      c.error_at(c.line_of(sec, "approvals"),
                 "[security] approvals = " + std::to_string(cfg.security.approvals) + " but only " +
                     std::to_string(patchers) +
                     " [[admin]] may change the patch list ('patches' in may): a change needs " +
                     std::to_string(patchers_needed) + ", its proposer and " +
                     std::to_string(cfg.security.approvals) +
                     " others to approve it; allow more admins 'patches', or none to leave the "
                     "list unused");
    if (cfg.security.max_embargo_s <= 0 || cfg.security.max_embargo_s > 90 * 86'400)
      c.error_at(c.line_of(sec, "max_embargo"), "[security] max_embargo must be within 90d");
  }
  if (cfg.delivery.backoff_initial_ms > cfg.delivery.backoff_max_ms) {
    const int table = c.section_line("delivery");
    int line = c.key_line(table, "backoff_initial");
    if (!line) line = c.line_of(table, "backoff_max");
    c.error_at(line, "[delivery] backoff_initial is larger than backoff_max");
  }
  // Without an input herald would start, poll nothing and send nothing: a
  // configuration that watches nothing is a mistake, not a valid no-op.
  // Admins relaying notices through the admin API are an input too.
  const bool event_api =
      !cfg.http.listen.empty() && (!cfg.http.api_token.empty() || !cfg.admins.empty());
  if (empty_file)
    c.error_at(0,
               "the configuration is empty; it needs at least one [[source]] to watch (see the "
               "example herald.toml)");
  else if (cfg.sources.empty() && !event_api)
    c.error_at(0,
               "nothing to watch: no [[source]] (feed, jira, github or a webhook), and no [http] "
               "listen with api_token for the event API or [[admin]]s for notices");
}

}  // namespace

ConfigResult parse_config(const std::string& text, const std::string& path) {
  ConfigResult result;
  Ctx c;
  c.file = path;
  std::error_code ec;
  auto parent = std::filesystem::path(path).parent_path();
  auto absolute = std::filesystem::absolute(parent.empty() ? "." : parent, ec);
  c.base_dir = (ec ? parent : absolute).lexically_normal().string();
  if (c.base_dir.size() > 1 && c.base_dir.back() == '/') c.base_dir.pop_back();
  Config cfg;
  cfg.path = path;
  cfg.base_dir = c.base_dir;
  cfg.bundled_templates = data_dir() + "/templates";
  cfg.database = c.path(cfg.database);
  cfg.mail.maildir = c.path(cfg.mail.maildir);

  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    result.errors.push_back(
        // The parser may quote what it saw, a line break included: one line.
        {path, static_cast<int>(e.source().begin.line), one_line(e.description())});
    return result;
  }
  for (const auto& [k, node] : root) {
    std::string_view key = k.str();
    if (key == "herald")
      read_section(c, node, key, k_herald_keys, cfg);
    else if (key == "mail")
      read_section(c, node, key, k_mail_keys, cfg.mail);
    else if (key == "openpgp")
      read_section(c, node, key, k_openpgp_keys, cfg.openpgp);
    else if (key == "delivery")
      read_section(c, node, key, k_delivery_keys, cfg.delivery);
    else if (key == "lustre")
      read_section(c, node, key, k_lustre_keys, cfg.lustre);
    else if (key == "source")
      read_array_of_tables(c, node, key, k_source_keys, cfg.sources);
    else if (key == "destination")
      read_array_of_tables(c, node, key, k_destination_keys, cfg.destinations);
    else if (key == "route")
      read_array_of_tables(c, node, key, k_route_keys, cfg.routes);
    else if (key == "http")
      read_section(c, node, key, k_http_keys, cfg.http);
    else if (key == "digest")
      read_array_of_tables(c, node, key, k_digest_keys, cfg.digests);
    else if (key == "topic")
      read_array_of_tables(c, node, key, k_topic_keys, cfg.topics);
    else if (key == "web")
      read_section(c, node, key, k_web_keys, cfg.web);
    else if (key == "admin")
      read_array_of_tables(c, node, key, k_admin_keys, cfg.admins);
    else if (key == "security")
      read_section(c, node, key, k_security_keys, cfg.security);
    else {
      static const std::vector<Key<int>> k_sections = {
          {"herald", {}}, {"mail", {}},        {"delivery", {}}, {"lustre", {}},
          {"source", {}}, {"destination", {}}, {"route", {}},    {"http", {}},
          {"digest", {}}, {"topic", {}},       {"web", {}},      {"admin", {}},
          {"security", {}}, {"openpgp", {}}};
      c.error(node, "unknown section '" + std::string(key) + "'" + suggestion(key, k_sections));
    }
  }
  validate(c, cfg, root.empty());
  validate_lustre(c, root, cfg);
  validate_openpgp(c, cfg);
  validate_outside(c, cfg);
  // Whole-file problems (no line) first, then in file order.
  std::stable_sort(c.errors.begin(), c.errors.end(),
                   [](const ConfigError& a, const ConfigError& b) { return a.line < b.line; });
  result.errors = std::move(c.errors);
  if (result.errors.empty()) result.config = std::move(cfg);
  return result;
}

namespace {

// A configuration is a few KiB; anything near this is not one.
constexpr off_t k_max_config_size = 1024 * 1024;

// The file's text, or why it cannot be a configuration (no line: it is about the whole file).
Expected<std::string> read_config_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return bad_input(std::string("cannot read: ") + std::strerror(errno));
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return bad_input(std::string("cannot read: ") + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) return bad_input("is a directory, not a configuration file");
  std::string text;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return bad_input(std::string("cannot read: ") + std::strerror(errno));
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (static_cast<off_t>(text.size()) > k_max_config_size)
      return bad_input("is larger than " + std::to_string(k_max_config_size / 1024) +
                       " KiB; this is not a configuration file");
  }
  return text;
}

}  // namespace

ConfigResult load_config(const std::string& path) {
  auto text = read_config_file(path);
  if (!text) {
    ConfigResult r;
    r.errors.push_back({path, 0, text.error().message});
    return r;
  }
  return parse_config(*text, path);
}

std::vector<std::string> config_sections() {
  return {"herald", "mail",   "delivery", "lustre", "source",   "destination", "route",
          "http",   "digest", "topic",    "web",    "admin",    "security",    "openpgp"};
}

std::vector<std::string> config_keys(const std::string& section) {
  if (section == "herald") return names(k_herald_keys);
  if (section == "mail") return names(k_mail_keys);
  if (section == "openpgp") return names(k_openpgp_keys);
  if (section == "delivery") return names(k_delivery_keys);
  if (section == "lustre") return names(k_lustre_keys);
  if (section == "source") return names(k_source_keys);
  if (section == "destination") return names(k_destination_keys);
  if (section == "route") return names(k_route_keys);
  if (section == "http") return names(k_http_keys);
  if (section == "digest") return names(k_digest_keys);
  if (section == "topic") return names(k_topic_keys);
  if (section == "web") return names(k_web_keys);
  if (section == "admin") return names(k_admin_keys);
  if (section == "security") return names(k_security_keys);
  return {};
}

}  // namespace herald
