// Tracker JSON -> events.
//
// Every tracker object is first reduced to an IssueView: the display
// reference ("LU-123", "owner/repo#5"), the key prefix, the one-line summary,
// the browse URL, the tags and attributes common to all its events, and its
// created / updated / resolved instants in Unix milliseconds. Only then is the
// payload's meaning read, and each meaning becomes one make_event() call with
// an instant and a list of significant changes:
//
// - webhooks say what happened (Jira webhookEvent + changelog.items, GitHub
//   action + changes, GitLab action + changes); changes outside the
//   significant-field table are noise, and a payload of noise only makes no
//   event (Derived::noise counts it);
// - polled REST objects only show the current state, so the caller's cursor
//   (since) decides: created inside the window gives bug.created keyed at the
//   creation instant, and a later update gives bug.updated / bug.resolved
//   keyed at the updated instant. For Jira the changelog histories and
//   comments inside the window name the changes; without a changelog the
//   changes are unknown and the event says so (attributes.changes_known).
//
// Confidential items (Jira security level, GitLab confidential) are checked
// before anything else of theirs is read, counted, and dropped: nothing of
// them reaches an event, a warning or an error. Error messages name members
// and types, never values from the payload, and parse errors are cut before
// nlohmann's "last read" excerpt of the input.
//
// Accessors never throw: absent, null and mistyped optional members read as
// empty; required ones give bad_input naming the member and the type found.
// A catch of nlohmann::json::exception at each public entry point is the last
// guard against a shape the checks missed.
#include "adapters/sources/tracker/tracker_events.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include "daemon/json.hpp"
#include "daemon/util.hpp"

namespace herald::tracker {
namespace {

using nlohmann::json;

constexpr size_t k_max_body_bytes = 32u << 20;
constexpr size_t k_max_title_bytes = 400;
constexpr size_t k_max_summary_bytes = 2000;
constexpr int k_max_adf_depth = 64;

// ------------------------------------------------------------------ JSON access

// The member, or nullptr when obj is not an object or the member is absent or null.
const json* member(const json& obj, const char* name) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

const json* object_member(const json& obj, const char* name) {
  const json* v = member(obj, name);
  return v && v->is_object() ? v : nullptr;
}

const json* array_member(const json& obj, const char* name) {
  const json* v = member(obj, name);
  return v && v->is_array() ? v : nullptr;
}

// The member if it is an object, else an empty object: for reading optional nested data.
const json& sub(const json& obj, const char* name) {
  static const json k_empty = json::object();
  const json* v = object_member(obj, name);
  return v ? *v : k_empty;
}

std::string string_member(const json& obj, const char* name) {
  const json* v = member(obj, name);
  return v && v->is_string() ? v->get<std::string>() : std::string();
}

bool bool_member(const json& obj, const char* name) {
  const json* v = member(obj, name);
  return v && v->is_boolean() && v->get<bool>();
}

std::optional<int64_t> integer_member(const json& obj, const char* name) {
  const json* v = member(obj, name);
  if (!v || !v->is_number_integer()) return std::nullopt;
  if (v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(INT64_MAX)) return std::nullopt;
  return v->get<int64_t>();
}

// A scalar as text: strings as they are, numbers and booleans printed, others empty.
std::string scalar_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer() || v.is_boolean()) return v.dump();
  if (v.is_number_float()) return v.dump();
  return "";
}

// The display name of a user, label, component, version...: an object's first non-empty
// naming member, or a plain string.
std::string name_of(const json* v) {
  if (!v) return "";
  if (v->is_string()) return v->get<std::string>();
  for (const char* k : {"displayName", "name", "title", "login", "value", "key"}) {
    std::string s = string_member(*v, k);
    if (!s.empty()) return s;
  }
  return "";
}

std::vector<std::string> names_of(const json* v) {
  std::vector<std::string> out;
  if (!v || !v->is_array()) return out;
  for (const auto& item : *v) {
    std::string s = name_of(&item);
    if (!s.empty()) out.push_back(std::move(s));
  }
  return out;
}

std::string quoted(std::string_view name) { return "\"" + std::string(name) + "\""; }

// "<where>: "<name>" is <type>, expected <want>" (or "... is missing").
Error shape_error(std::string_view where, std::string_view name, const json* found,
                  std::string_view want) {
  std::string msg = std::string(where) + ": " + quoted(name);
  if (!found) return bad_input(msg + " is missing");
  return bad_input(msg + " is " + found->type_name() + ", expected " + std::string(want));
}

Expected<std::string> required_string(const json& obj, const char* name, std::string_view where) {
  const json* v = member(obj, name);
  if (!v || !v->is_string()) return shape_error(where, name, v, "a string");
  return v->get<std::string>();
}

Expected<const json*> required_object(const json& obj, const char* name, std::string_view where) {
  const json* v = member(obj, name);
  if (!v || !v->is_object()) return shape_error(where, name, v, "an object");
  return v;
}

// Members no derivation reads, dropped while parsing (below the top level):
// Jira's avatar URL sets, custom fields, watchers, votes and time tracking are
// most of a webhook body, and building their tree was most of the cost of ingest.
bool unused_member(const std::string& key) {
  return key == "avatarUrls" || key == "watches" || key == "votes" || key == "timetracking" ||
         key.rfind("customfield_", 0) == 0;
}

// Builds the document as json::parse does, without the unused members. A
// handler of nlohmann's SAX interface rather than a parse callback: the
// callback parser calls a std::function per token and tracks what to keep for
// every value, and cost more than building the whole tree.
class FilteringSax {
 public:
  explicit FilteringSax(json& root) : m_root(root) {}
  bool too_deep() const { return m_too_deep; }

  bool null() { return scalar(nullptr); }
  bool boolean(bool v) { return scalar(v); }
  bool number_integer(json::number_integer_t v) { return scalar(v); }
  bool number_unsigned(json::number_unsigned_t v) { return scalar(v); }
  bool number_float(json::number_float_t v, const json::string_t&) { return scalar(v); }
  bool string(json::string_t& v) { return scalar(std::move(v)); }
  bool binary(json::binary_t& v) { return scalar(json::binary(std::move(v))); }
  bool start_object(std::size_t) { return open(json::value_t::object); }
  bool start_array(std::size_t) { return open(json::value_t::array); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool key(json::string_t& k) {
    if (m_skipping) return true;
    // Two open containers: a member of an object inside the top-level one.
    if (m_stack.size() >= 2 && unused_member(k)) {
      m_skip_next = true;
      return true;
    }
    m_member = &(*m_stack.back()->get_ptr<json::object_t*>())[std::move(k)];
    return true;
  }
  template <class Exception>
  bool parse_error(std::size_t, const std::string&, const Exception& e) {
    throw e;  // the parser's own exception, as json::parse throws it
  }

 private:
  // Where the next value goes: the root, the end of the open array, or the member just named.
  json* place(json&& v) {
    if (m_stack.empty()) {
      m_root = std::move(v);
      return &m_root;
    }
    json& parent = *m_stack.back();
    if (parent.is_array()) {
      parent.get_ptr<json::array_t*>()->push_back(std::move(v));
      return &parent.get_ptr<json::array_t*>()->back();
    }
    *m_member = std::move(v);
    return m_member;
  }
  bool scalar(json&& v) {
    if (m_skipping) return true;
    if (m_skip_next) {
      m_skip_next = false;
      return true;
    }
    place(std::move(v));
    return true;
  }
  bool open(json::value_t type) {
    // Checked while parsing, before any deep value exists (see daemon/json.hpp).
    if (++m_depth > k_max_json_depth) {
      m_too_deep = true;
      return false;  // ends the parse
    }
    if (m_skipping || m_skip_next) {
      m_skip_next = false;
      ++m_skipping;
      return true;
    }
    m_stack.push_back(place(json(type)));
    return true;
  }
  bool close() {
    --m_depth;
    if (m_skipping) {
      --m_skipping;
      return true;
    }
    m_stack.pop_back();
    return true;
  }

  json& m_root;
  std::vector<json*> m_stack;  // the open containers, innermost last
  json* m_member = nullptr;    // the member named by the last key
  bool m_skip_next = false;    // the next value belongs to an unused member
  int m_skipping = 0;          // depth inside a dropped container
  int m_depth = 0;             // open containers, kept or dropped
  bool m_too_deep = false;
};

Expected<json> parse_body(std::string_view body, std::string_view what) {
  if (body.size() > k_max_body_bytes)
    return bad_input(std::string(what) + ": body is " + std::to_string(body.size()) +
                     " bytes, over the limit of " + std::to_string(k_max_body_bytes));
  try {
    json root;
    FilteringSax sax(root);
    json::sax_parse(body.data(), body.data() + body.size(), &sax);
    if (sax.too_deep())
      return bad_input(std::string(what) + ": JSON nests deeper than " +
                       std::to_string(k_max_json_depth) + " levels");
    return root;
  } catch (const json::exception& e) {
    return bad_input(std::string(what) + ": malformed JSON: " + json_error_text(e));
  }
}

// parse_body, then the top-level type the payload must have (object or array).
Expected<json> parse_body_as(std::string_view body, std::string_view what, json::value_t type) {
  auto parsed = parse_body(body, what);
  if (!parsed) return parsed;
  if (parsed->type() != type)
    return bad_input(std::string(what) + ": body is " + parsed->type_name() + ", expected " +
                     (type == json::value_t::array ? "an array" : "an object"));
  return parsed;
}

// Runs f, turning an nlohmann exception that slipped past the checks into bad_input.
template <class F>
auto guarded(std::string_view what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const json::exception& e) {
    return bad_input(std::string(what) + ": unexpected JSON shape: " + json_error_text(e));
  }
}

// ------------------------------------------------------------------------ time

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

bool leap_year(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(int64_t y, unsigned m) {
  static constexpr std::array<unsigned, 12> k_days = {31, 28, 31, 30, 31, 30,
                                                      31, 31, 30, 31, 30, 31};
  return m == 2 && leap_year(y) ? 29 : k_days[m - 1];
}

// ------------------------------------------------------------------------ text

}  // namespace

// One line for a title: control characters become spaces, runs fold (herald::one_line).
std::string clean_line(std::string_view s) {
  std::string t(s);
  for (char& c : t)
    if ((static_cast<unsigned char>(c) < 0x20) || c == 0x7f) c = ' ';
  return one_line(t);
}

// At most max bytes, cut on a UTF-8 character boundary, "…" marking a cut.
std::string truncate_utf8(std::string s, size_t max) {
  if (s.size() <= max) return s;
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  s.resize(n);
  return s + "\u2026";
}

// Plain multi-line text: CRLF to LF, other control characters (but TAB) dropped, trimmed.
std::string clean_text(std::string_view s, size_t max) {
  std::string out;
  out.reserve(std::min(s.size(), max + 8));
  for (size_t i = 0; i < s.size() && out.size() <= max; ++i) {
    char c = s[i];
    if (c == '\r') {
      if (i + 1 < s.size() && s[i + 1] == '\n') continue;
      c = '\n';
    }
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') || c == 0x7f) continue;
    out += c;
  }
  return truncate_utf8(trim(out), max);
}

namespace {

std::string join(const std::vector<std::string>& items, std::string_view sep = ",") {
  std::string out;
  for (const auto& s : items) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

// The text of an Atlassian Document Format node (Jira Cloud v3 descriptions).
void adf_text(const json& node, std::string& out, int depth) {
  if (depth > k_max_adf_depth || out.size() > k_max_summary_bytes || !node.is_object()) return;
  out += string_member(node, "text");
  if (const json* content = array_member(node, "content"))
    for (const auto& child : *content) adf_text(child, out, depth + 1);
  std::string type = string_member(node, "type");
  if (type == "paragraph" || type == "heading" || type == "listItem" || type == "codeBlock")
    out += '\n';
}

std::string description_text(const json* v) {
  if (!v) return "";
  if (v->is_string()) return clean_text(v->get_ref<const std::string&>(), k_max_summary_bytes);
  std::string out;
  adf_text(*v, out, 0);
  return clean_text(out, k_max_summary_bytes);
}

// ------------------------------------------------------------------ the model

struct Change {
  std::string field;  // normalised name: status, priority, assignee, comment ...
  std::string from;
  std::string to;
};

// What every event of one tracker item shares.
struct IssueView {
  std::string key_prefix;  // "jira:LU-1", "github:o/r#5"
  std::string ref;         // "LU-1", "o/r#5"
  std::string summary;
  std::string url;
  std::string severity = "info";
  std::string description;
  std::map<std::string, std::string> tags;
  json attributes = json::object();
  std::optional<int64_t> created_ms;
  std::optional<int64_t> updated_ms;
  std::optional<int64_t> resolved_ms;  // Jira resolutiondate, GitHub/GitLab closed_at
  bool closed = false;                 // a resolution is set / the state is closed
};

void set_tag(std::map<std::string, std::string>& tags, const char* name, std::string value) {
  value = clean_line(value);
  if (!value.empty()) tags[name] = std::move(value);
}

std::string change_line(const Change& c) {
  if (c.field == "comment") return c.to.empty() ? "comment added" : "comment by " + c.to;
  auto shown = [](const std::string& v) { return v.empty() ? std::string("(none)") : v; };
  return c.field + ": " + shown(c.from) + " -> " + shown(c.to);
}

Event make_event(const IssueView& v, const std::string& source, const char* kind,
                 int64_t instant_ms, const std::vector<Change>& changes) {
  Event e;
  e.key = v.key_prefix + ":" + canonical_time(instant_ms);
  e.kind = kind;
  e.source = source;
  e.time = floor_div(instant_ms, 1000);
  e.severity = v.severity;
  e.title = truncate_utf8(clean_line(v.ref + ": " + v.summary), k_max_title_bytes);
  e.url = v.url;
  e.tags = v.tags;
  e.attributes = v.attributes;
  json list = json::array();
  std::vector<std::string> fields;
  std::string lines;
  for (const auto& c : changes) {
    list.push_back({{"field", c.field}, {"from", c.from}, {"to", c.to}});
    if (std::find(fields.begin(), fields.end(), c.field) == fields.end()) fields.push_back(c.field);
    if (!lines.empty()) lines += '\n';
    lines += clean_line(change_line(c));
  }
  if (std::string_view(kind) != "bug.created") {
    e.attributes["changes"] = list;
    set_tag(e.tags, "changes", join(fields));
  }
  e.summary = std::string_view(kind) == "bug.created" ? v.description
                                                      : truncate_utf8(lines, k_max_summary_bytes);
  return e;
}

void push_unique(Derived& out, Event e) {
  for (const auto& have : out.events)
    if (have.key == e.key) return;
  out.events.push_back(std::move(e));
}

// Adds one item's result to a page's.
void merge(Derived& into, Derived&& one) {
  for (auto& e : one.events) push_unique(into, std::move(e));
  into.restricted += one.restricted;
  into.noise += one.noise;
  for (auto& w : one.warnings) into.warnings.push_back(std::move(w));
}

bool in_window(int64_t ms, std::optional<int64_t> since) {
  return !since || floor_div(ms, 1000) >= *since;
}

// Events of a polled object whose changes are not listed (GitHub, GitLab REST, Jira
// without changelog): created in the window, then updated or resolved after.
void poll_events(const IssueView& v, const std::string& source, std::optional<int64_t> since,
                 Derived& out) {
  if (v.updated_ms && !in_window(*v.updated_ms, since)) return;
  bool created_in = v.created_ms && in_window(*v.created_ms, since);
  if (created_in) push_unique(out, make_event(v, source, "bug.created", *v.created_ms, {}));
  if (!v.updated_ms) return;
  if (created_in && *v.updated_ms <= *v.created_ms) return;
  bool resolved_in = v.closed && v.resolved_ms && in_window(*v.resolved_ms, since);
  Event e = make_event(v, source, resolved_in ? "bug.resolved" : "bug.updated", *v.updated_ms, {});
  e.attributes["changes_known"] = false;
  push_unique(out, std::move(e));
}

// --------------------------------------------------------------------- Jira

// Jira field (changelog item "field", or its "fieldId") -> normalised significant name.
std::optional<std::string> jira_significant(std::string_view field, std::string_view field_id) {
  static constexpr std::pair<std::string_view, std::string_view> k_fields[] = {
      {"status", "status"},
      {"priority", "priority"},
      {"assignee", "assignee"},
      {"fix version", "fix_versions"},
      {"fixversions", "fix_versions"},
      {"resolution", "resolution"},
      {"component", "components"},
      {"components", "components"},
      {"labels", "labels"},
      {"comment", "comment"},
      {"summary", "summary"},
      {"issuetype", "type"},
      {"project", "project"},
      {"key", "key"},
      {"version", "affects_versions"},
      {"versions", "affects_versions"},
      {"security", "security"},
      {"security level", "security"},
  };
  for (std::string_view name : {field_id, field}) {
    if (name.empty()) continue;
    std::string lower = to_lower(name);
    for (const auto& [jira, ours] : k_fields)
      if (lower == jira) return std::string(ours);
  }
  return std::nullopt;
}

bool resolved_status(std::string_view status) {
  return iequals(status, "Resolved") || iequals(status, "Closed") || iequals(status, "Done");
}

// A resolution newly set, or a move into Resolved/Closed/Done from elsewhere.
bool resolves(const std::vector<Change>& changes) {
  for (const auto& c : changes) {
    if (c.field == "resolution" && !c.to.empty() && c.from.empty()) return true;
    if (c.field == "status" && resolved_status(c.to) && !resolved_status(c.from)) return true;
  }
  return false;
}

// Appends the significant items of a changelog "items" array; the rest is noise.
void jira_changes(const json& items, std::vector<Change>& out) {
  for (const auto& item : items) {
    auto name = jira_significant(string_member(item, "field"), string_member(item, "fieldId"));
    if (name)
      out.push_back({*name, clean_line(string_member(item, "fromString")),
                     clean_line(string_member(item, "toString"))});
  }
}

// A comment that only some roles or groups may read is not announced.
bool public_comment(const json& comment) { return member(comment, "visibility") == nullptr; }

// Whether the issue carries a security level. Fails closed: any non-null value counts.
Expected<bool> jira_restricted(const json& issue, std::string_view where) {
  if (!issue.is_object())
    return bad_input(std::string(where) + ": the issue is " + issue.type_name() +
                     ", expected an object");
  auto fields = required_object(issue, "fields", where);
  if (!fields) return fields.error();
  return member(**fields, "security") != nullptr;
}

std::string jira_browse_base(const json& issue, const std::string& base_url) {
  std::string base = base_url;
  if (base.empty()) {
    std::string self = string_member(issue, "self");
    auto at = self.find("/rest/api/");
    if (at != std::string::npos) base = self.substr(0, at);
  }
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base;
}

// The view of a Jira issue whose security field was already checked.
Expected<IssueView> jira_view(const json& issue, const std::string& base_url,
                              std::string_view where) {
  const json& fields = *object_member(issue, "fields");
  auto key = required_string(issue, "key", where);
  if (!key) return key.error();
  std::string issue_key = clean_line(*key);
  if (issue_key.empty()) return bad_input(std::string(where) + ": \"key\" is empty");

  IssueView v;
  v.key_prefix = "jira:" + issue_key;
  v.ref = issue_key;
  v.summary = string_member(fields, "summary");
  std::string base = jira_browse_base(issue, base_url);
  if (!base.empty()) v.url = base + "/browse/" + issue_key;
  v.description = description_text(member(fields, "description"));

  std::string project = string_member(sub(fields, "project"), "key");
  if (project.empty()) project = issue_key.substr(0, issue_key.rfind('-'));
  std::string priority = name_of(member(fields, "priority"));
  std::string status = name_of(member(fields, "status"));
  std::string type = name_of(member(fields, "issuetype"));
  std::string resolution = name_of(member(fields, "resolution"));
  auto components = names_of(member(fields, "components"));
  auto labels = names_of(member(fields, "labels"));
  auto fix_versions = names_of(member(fields, "fixVersions"));
  auto versions = names_of(member(fields, "versions"));
  v.severity = severity_from_priority(priority);

  set_tag(v.tags, "project", project);
  set_tag(v.tags, "component", join(components));
  set_tag(v.tags, "priority", priority);
  set_tag(v.tags, "type", type);
  set_tag(v.tags, "labels", join(labels));
  set_tag(v.tags, "fix_versions", join(fix_versions));
  set_tag(v.tags, "status", status);

  v.attributes = {{"issue_key", issue_key},
                  {"issue_id", member(issue, "id") ? scalar_text(*member(issue, "id")) : ""},
                  {"project", project},
                  {"reporter", name_of(member(fields, "reporter"))},
                  {"assignee", name_of(member(fields, "assignee"))},
                  {"status", status},
                  {"resolution", resolution},
                  {"priority", priority},
                  {"type", type},
                  {"components", components},
                  {"labels", labels},
                  {"fix_versions", fix_versions},
                  {"affects_versions", versions},
                  {"created", string_member(fields, "created")},
                  {"updated", string_member(fields, "updated")}};

  v.created_ms = parse_jira_time_ms(string_member(fields, "created"));
  v.updated_ms = parse_jira_time_ms(string_member(fields, "updated"));
  v.resolved_ms = parse_jira_time_ms(string_member(fields, "resolutiondate"));
  v.closed = !resolution.empty();
  return v;
}

Expected<Derived> jira_issue_events(const json& issue, const std::string& source,
                                    const std::string& base_url, std::optional<int64_t> since) {
  constexpr std::string_view where = "jira issue";
  Derived out;
  auto restricted = jira_restricted(issue, where);
  if (!restricted) return restricted.error();
  if (*restricted) {
    out.restricted = 1;
    return out;
  }
  auto view = jira_view(issue, base_url, where);
  if (!view) return view.error();
  IssueView& v = *view;
  const json& fields = *object_member(issue, "fields");
  if (!v.updated_ms) {
    const json* updated = member(fields, "updated");
    if (updated && updated->is_string())
      return bad_input(std::string(where) + ": \"fields.updated\" is not a Jira date");
    return shape_error(where, "fields.updated", updated, "a string");
  }
  if (!in_window(*v.updated_ms, since)) return out;  // nothing happened since the cursor

  const json* changelog = object_member(issue, "changelog");
  const json* histories = changelog ? array_member(*changelog, "histories") : nullptr;
  std::vector<Change> changes;
  if (histories) {
    for (const auto& h : *histories) {
      auto at = parse_jira_time_ms(string_member(h, "created"));
      if (!at) {
        out.warnings.push_back(v.ref + ": a changelog entry without a readable date was skipped");
        continue;
      }
      if (!in_window(*at, since)) continue;
      if (const json* items = array_member(h, "items")) jira_changes(*items, changes);
    }
  }
  if (const json* comment = object_member(fields, "comment")) {
    if (const json* list = array_member(*comment, "comments")) {
      for (const auto& c : *list) {
        auto at = parse_jira_time_ms(string_member(c, "created"));
        if (!at || !in_window(*at, since)) continue;
        if (public_comment(c))
          changes.push_back({"comment", "", clean_line(name_of(member(c, "author")))});
      }
    }
  }

  bool created_in = v.created_ms && in_window(*v.created_ms, since);
  if (created_in) push_unique(out, make_event(v, source, "bug.created", *v.created_ms, {}));
  if (created_in && *v.updated_ms <= *v.created_ms) return out;
  if (histories) {
    if (changes.empty()) {
      if (!created_in) out.noise = 1;
      return out;
    }
    push_unique(out, make_event(v, source, resolves(changes) ? "bug.resolved" : "bug.updated",
                                *v.updated_ms, changes));
    return out;
  }
  // No changelog: the comments are all that is known of what changed.
  bool resolved_in = v.closed && v.resolved_ms && in_window(*v.resolved_ms, since);
  Event e =
      make_event(v, source, resolved_in ? "bug.resolved" : "bug.updated", *v.updated_ms, changes);
  e.attributes["changes_known"] = false;
  push_unique(out, std::move(e));
  return out;
}

Derived ignored(std::string what) {
  Derived out;
  out.warnings.push_back("ignored " + clean_line(what));
  return out;
}

Expected<Derived> jira_webhook_events(std::string_view body, const std::string& source,
                                      const std::string& base_url) {
  constexpr std::string_view where = "jira webhook";
  auto parsed = parse_body_as(body, where, json::value_t::object);
  if (!parsed) return parsed.error();
  const json& j = *parsed;
  auto event = required_string(j, "webhookEvent", where);
  if (!event) return event.error();

  bool is_created = *event == "jira:issue_created";
  bool is_updated = *event == "jira:issue_updated";
  bool is_comment = *event == "comment_created" || *event == "comment_updated";
  if (!is_created && !is_updated && !is_comment) return ignored(*event);

  const json* issue = member(j, "issue");
  if (is_comment) {
    // Comment events may carry a slim issue without its security field: publish only
    // what can be shown to be public.
    const json* fields = issue ? object_member(*issue, "fields") : nullptr;
    if (!fields || !fields->contains("security"))
      return ignored(*event + ": the payload does not show the issue's security level");
  }
  if (!issue || !issue->is_object()) return shape_error(where, "issue", issue, "an object");
  const std::string issue_where = std::string(where) + ": issue";

  Derived out;
  auto restricted = jira_restricted(*issue, issue_where);
  if (!restricted) return restricted.error();
  if (*restricted) {
    out.restricted = 1;
    return out;
  }
  auto view = jira_view(*issue, base_url, issue_where);
  if (!view) return view.error();
  IssueView& v = *view;
  v.attributes["webhook_event"] = *event;
  v.attributes["actor"] = name_of(member(j, "user"));
  if (auto type = string_member(j, "issue_event_type_name"); !type.empty())
    v.attributes["issue_event_type"] = type;

  std::optional<int64_t> stamp = integer_member(j, "timestamp");
  std::optional<int64_t> updated = v.updated_ms ? v.updated_ms : stamp;
  if (is_created) {
    std::optional<int64_t> at = v.created_ms ? v.created_ms : updated;
    if (!at)
      return bad_input(std::string(where) +
                       ": neither \"issue.fields.created\" nor a numeric \"timestamp\" is usable");
    out.events.push_back(make_event(v, source, "bug.created", *at, {}));
    return out;
  }
  if (!updated)
    return bad_input(std::string(where) +
                     ": neither \"issue.fields.updated\" nor a numeric \"timestamp\" is usable");

  std::vector<Change> changes;
  if (const json* changelog = member(j, "changelog")) {
    const json* items = member(*changelog, "items");
    if (items && !items->is_array())
      return shape_error(where, "changelog.items", items, "an array");
    if (items) jira_changes(*items, changes);
  }
  const json* comment = object_member(j, "comment");
  if (comment && public_comment(*comment) &&
      string_member(j, "issue_event_type_name") != "issue_comment_deleted")
    changes.push_back({"comment", "", clean_line(name_of(member(*comment, "author")))});
  if (changes.empty()) {
    out.noise = 1;
    return out;
  }
  out.events.push_back(
      make_event(v, source, resolves(changes) ? "bug.resolved" : "bug.updated", *updated, changes));
  return out;
}

// ------------------------------------------------------------------- GitHub

std::string repo_from_api_url(std::string_view url) {
  auto at = url.find("/repos/");
  if (at == std::string_view::npos) return "";
  return std::string(url.substr(at + 7));
}

Expected<IssueView> github_view(const json& issue, const std::string& repo_hint,
                                std::string_view where) {
  if (!issue.is_object())
    return bad_input(std::string(where) + ": issue is " + issue.type_name() +
                     ", expected an object");
  auto number = integer_member(issue, "number");
  if (!number) return shape_error(where, "number", member(issue, "number"), "an integer");
  auto updated = required_string(issue, "updated_at", where);
  if (!updated) return updated.error();
  std::string repo =
      repo_hint.empty() ? repo_from_api_url(string_member(issue, "repository_url")) : repo_hint;
  if (repo.empty())
    return bad_input(std::string(where) + ": no repository (\"repository_url\" is missing)");

  IssueView v;
  v.ref = clean_line(repo) + "#" + std::to_string(*number);
  v.key_prefix = "github:" + v.ref;
  v.summary = string_member(issue, "title");
  v.url = string_member(issue, "html_url");
  v.description = description_text(member(issue, "body"));
  v.updated_ms = parse_jira_time_ms(*updated);
  if (!v.updated_ms) return bad_input(std::string(where) + ": \"updated_at\" is not a date");
  v.created_ms = parse_jira_time_ms(string_member(issue, "created_at"));
  v.resolved_ms = parse_jira_time_ms(string_member(issue, "closed_at"));
  std::string state = string_member(issue, "state");
  v.closed = state == "closed";

  bool pull = member(issue, "pull_request") != nullptr;
  std::string type = pull ? "pull_request" : name_of(member(issue, "type"));
  if (type.empty()) type = "issue";
  auto labels = names_of(member(issue, "labels"));
  std::vector<std::string> assignees;
  if (const json* list = array_member(issue, "assignees"))
    for (const auto& a : *list)
      if (auto login = string_member(a, "login"); !login.empty()) assignees.push_back(login);
  if (assignees.empty())
    if (auto login = string_member(sub(issue, "assignee"), "login"); !login.empty())
      assignees.push_back(login);
  std::string milestone = string_member(sub(issue, "milestone"), "title");

  set_tag(v.tags, "project", repo);
  set_tag(v.tags, "type", type);
  set_tag(v.tags, "labels", join(labels));
  set_tag(v.tags, "fix_versions", milestone);
  set_tag(v.tags, "status", state);
  v.attributes = {{"repository", repo},
                  {"number", *number},
                  {"reporter", string_member(sub(issue, "user"), "login")},
                  {"assignee", join(assignees)},
                  {"status", state},
                  {"resolution", string_member(issue, "state_reason")},
                  {"type", type},
                  {"labels", labels},
                  {"milestone", milestone},
                  {"created", string_member(issue, "created_at")},
                  {"updated", *updated}};
  return v;
}

std::string github_severity(std::string_view s) {
  if (iequals(s, "critical")) return "critical";
  if (iequals(s, "high")) return "high";
  if (iequals(s, "moderate") || iequals(s, "medium")) return "medium";
  if (iequals(s, "low")) return "low";
  return "info";
}

std::string github_repo(const json& j) {
  std::string repo = string_member(sub(j, "repository"), "full_name");
  if (repo.empty()) repo = repo_from_api_url(string_member(sub(j, "issue"), "repository_url"));
  return repo;
}

Expected<Derived> github_issue_webhook(const json& j, const std::string& event,
                                       const std::string& source) {
  std::string where = "github " + event + " webhook";
  auto action = required_string(j, "action", where);
  if (!action) return action.error();
  auto issue = required_object(j, "issue", where);
  if (!issue) return issue.error();
  auto view = github_view(**issue, github_repo(j), where + ": issue");
  if (!view) return view.error();
  IssueView& v = *view;
  v.attributes["action"] = *action;
  v.attributes["actor"] = string_member(sub(j, "sender"), "login");
  int64_t updated = *v.updated_ms;
  Derived out;

  if (event == "issue_comment") {
    if (*action != "created") return ignored(event + "." + *action);
    const json* comment = object_member(j, "comment");
    std::string author = comment ? string_member(sub(*comment, "user"), "login") : std::string();
    out.events.push_back(
        make_event(v, source, "bug.updated", updated, {{"comment", "", clean_line(author)}}));
    return out;
  }

  const std::string& a = *action;
  std::vector<Change> changes;
  if (a == "opened") {
    out.events.push_back(
        make_event(v, source, "bug.created", v.created_ms ? *v.created_ms : updated, {}));
    return out;
  }
  if (a == "closed") {
    changes.push_back({"status", "open", "closed"});
    if (auto reason = string_member(**issue, "state_reason"); !reason.empty())
      changes.push_back({"resolution", "", reason});
    out.events.push_back(make_event(v, source, "bug.resolved", updated, changes));
    return out;
  }
  if (a == "reopened") {
    changes.push_back({"status", "closed", "open"});
  } else if (a == "edited") {
    const json* edits = object_member(j, "changes");
    if (edits && object_member(*edits, "title"))
      changes.push_back({"summary", clean_line(string_member(edits->at("title"), "from")),
                         clean_line(v.summary)});
  } else if (a == "labeled" || a == "unlabeled") {
    std::string label = clean_line(name_of(member(j, "label")));
    changes.push_back(a == "labeled" ? Change{"labels", "", label} : Change{"labels", label, ""});
  } else if (a == "assigned" || a == "unassigned") {
    std::string who = clean_line(string_member(sub(j, "assignee"), "login"));
    changes.push_back(a == "assigned" ? Change{"assignee", "", who} : Change{"assignee", who, ""});
  } else if (a == "milestoned" || a == "demilestoned") {
    std::string ms = clean_line(string_member(sub(j, "milestone"), "title"));
    changes.push_back(a == "milestoned" ? Change{"fix_versions", "", ms}
                                        : Change{"fix_versions", ms, ""});
  } else {
    return ignored(event + "." + a);
  }
  if (changes.empty()) {
    out.noise = 1;
    return out;
  }
  out.events.push_back(make_event(v, source, "bug.updated", updated, changes));
  return out;
}

Expected<Derived> github_release_webhook(const json& j, const std::string& source) {
  const std::string where = "github release webhook";
  auto action = required_string(j, "action", where);
  if (!action) return action.error();
  if (*action != "published" && *action != "prereleased") return ignored("release." + *action);
  auto release = required_object(j, "release", where);
  if (!release) return release.error();
  const json& r = **release;
  if (bool_member(r, "draft")) return ignored("draft release");
  auto tag = required_string(r, "tag_name", where + ": release");
  if (!tag) return tag.error();
  std::string repo = github_repo(j);
  if (repo.empty()) return shape_error(where, "repository.full_name", nullptr, "a string");
  bool pre = *action == "prereleased" || bool_member(r, "prerelease");
  std::string version = clean_line(*tag);
  std::string name = clean_line(string_member(r, "name"));

  Event e;
  e.kind = "release.published";
  e.source = source;
  e.key = "github-release:" + clean_line(repo) + ":" + version;
  auto published = parse_jira_time_ms(string_member(r, "published_at"));
  if (!published) published = parse_jira_time_ms(string_member(r, "created_at"));
  e.time = published ? floor_div(*published, 1000) : 0;
  std::string title = repo + " " + version;
  if (!name.empty() && name != version) title += ": " + name;
  if (pre) title += " (pre-release)";
  e.title = truncate_utf8(clean_line(title), k_max_title_bytes);
  e.url = string_member(r, "html_url");
  e.summary = description_text(member(r, "body"));
  set_tag(e.tags, "project", repo);
  set_tag(e.tags, "version", version);
  e.tags["class"] = pre ? "rc" : "ga";
  e.tags["prerelease"] = pre ? "yes" : "no";
  e.attributes = {{"repository", repo},
                  {"tag_name", version},
                  {"name", name},
                  {"prerelease", pre},
                  {"action", *action},
                  {"author", string_member(sub(r, "author"), "login")},
                  {"target_commitish", string_member(r, "target_commitish")},
                  {"published_at", string_member(r, "published_at")}};
  Derived out;
  out.events.push_back(std::move(e));
  return out;
}

Expected<Derived> github_advisory_webhook(const json& j, const std::string& source) {
  const std::string where = "github security_advisory webhook";
  auto action = required_string(j, "action", where);
  if (!action) return action.error();
  if (*action != "published" && *action != "updated" && *action != "withdrawn")
    return ignored("security_advisory." + *action);
  auto advisory = required_object(j, "security_advisory", where);
  if (!advisory) return advisory.error();
  const json& a = **advisory;
  auto ghsa = required_string(a, "ghsa_id", where + ": security_advisory");
  if (!ghsa) return ghsa.error();
  auto at = parse_jira_time_ms(string_member(a, "updated_at"));
  if (!at) at = parse_jira_time_ms(string_member(a, "published_at"));
  if (!at) return bad_input(where + ": neither \"updated_at\" nor \"published_at\" is a date");
  bool withdrawn = *action == "withdrawn" || member(a, "withdrawn_at") != nullptr;
  std::string id = clean_line(*ghsa);

  std::vector<std::string> cves;
  if (const json* ids = array_member(a, "identifiers"))
    for (const auto& i : *ids)
      if (string_member(i, "type") == "CVE") cves.push_back(string_member(i, "value"));
  std::vector<std::string> packages, ecosystems;
  json vulnerabilities = json::array();
  if (const json* list = array_member(a, "vulnerabilities")) {
    for (const auto& vul : *list) {
      json pkg = sub(vul, "package");
      std::string name = string_member(pkg, "name"), eco = string_member(pkg, "ecosystem");
      if (!name.empty() && std::find(packages.begin(), packages.end(), name) == packages.end())
        packages.push_back(name);
      if (!eco.empty() && std::find(ecosystems.begin(), ecosystems.end(), eco) == ecosystems.end())
        ecosystems.push_back(eco);
      vulnerabilities.push_back(
          {{"package", name},
           {"ecosystem", eco},
           {"vulnerable_version_range", string_member(vul, "vulnerable_version_range")},
           {"first_patched_version",
            string_member(sub(vul, "first_patched_version"), "identifier")}});
    }
  }
  std::vector<std::string> references;
  if (const json* refs = array_member(a, "references"))
    for (const auto& r : *refs)
      if (auto url = string_member(r, "url"); !url.empty()) references.push_back(url);

  Event e;
  e.kind = "security.advisory";
  e.source = source;
  e.key = "github-advisory:" + id + ":" + canonical_time(*at);
  e.time = floor_div(*at, 1000);
  e.severity = github_severity(string_member(a, "severity"));
  std::string title = id + ": " + string_member(a, "summary");
  if (withdrawn) title = "Withdrawn: " + title;
  e.title = truncate_utf8(clean_line(title), k_max_title_bytes);
  e.url = string_member(a, "html_url");
  if (e.url.empty()) e.url = "https://github.com/advisories/" + id;
  e.summary = description_text(member(a, "description"));
  set_tag(e.tags, "ghsa", id);
  set_tag(e.tags, "cve", join(cves));
  set_tag(e.tags, "package", join(packages));
  set_tag(e.tags, "ecosystem", join(ecosystems));
  set_tag(e.tags, "status", withdrawn ? "withdrawn" : "published");
  e.attributes = {{"ghsa_id", id},
                  {"cves", cves},
                  {"severity", string_member(a, "severity")},
                  {"vulnerabilities", vulnerabilities},
                  {"references", references},
                  {"published_at", string_member(a, "published_at")},
                  {"updated_at", string_member(a, "updated_at")},
                  {"withdrawn_at", string_member(a, "withdrawn_at")},
                  {"action", *action}};
  if (const json* cvss = object_member(a, "cvss"))
    if (const json* score = member(*cvss, "score"); score && score->is_number())
      e.attributes["cvss_score"] = *score;
  Derived out;
  out.events.push_back(std::move(e));
  return out;
}

// ------------------------------------------------------------------- GitLab

// GitLab "changes" key -> normalised significant name.
std::optional<std::string> gitlab_significant(std::string_view key) {
  static constexpr std::pair<std::string_view, std::string_view> k_fields[] = {
      {"title", "summary"},
      {"labels", "labels"},
      {"assignees", "assignee"},
      {"assignee_id", "assignee"},
      {"milestone_id", "fix_versions"},
      {"state_id", "status"},
      {"severity", "priority"},
      {"confidential", "security"},
  };
  for (const auto& [gitlab, ours] : k_fields)
    if (key == gitlab) return std::string(ours);
  return std::nullopt;
}

std::string change_value(const json* v) {
  if (!v) return "";
  if (v->is_array()) return join(names_of(v));
  if (v->is_object()) return name_of(v);
  return scalar_text(*v);
}

// GitLab confidential flag, failing closed: anything but an explicit false counts.
bool confidential(const json& issue) {
  const json* c = member(issue, "confidential");
  return c && !(c->is_boolean() && !c->get<bool>());
}

// A view from webhook object_attributes or a REST issue. extra holds the webhook's
// top-level labels / assignees (nullptr for REST).
Expected<IssueView> gitlab_view(const json& issue, std::string path, const json* extra,
                                std::string_view where) {
  auto iid = integer_member(issue, "iid");
  if (!iid) return shape_error(where, "iid", member(issue, "iid"), "an integer");
  auto updated = required_string(issue, "updated_at", where);
  if (!updated) return updated.error();
  std::string url = string_member(issue, "url");
  if (url.empty()) url = string_member(issue, "web_url");
  if (path.empty()) {
    std::string full = string_member(sub(issue, "references"), "full");
    path = full.substr(0, full.find('#'));
  }
  if (path.empty()) {
    // https://host/group/project/-/issues/1 or .../issues/1
    auto scheme = url.find("://");
    auto slash = scheme == std::string::npos ? std::string::npos : url.find('/', scheme + 3);
    auto issues = url.rfind("/issues/");
    if (slash != std::string::npos && issues != std::string::npos && issues > slash) {
      path = url.substr(slash + 1, issues - slash - 1);
      if (path.size() >= 2 && path.compare(path.size() - 2, 2, "/-") == 0)
        path.resize(path.size() - 2);
    }
  }
  if (path.empty()) return bad_input(std::string(where) + ": no project path");

  IssueView v;
  v.ref = clean_line(path) + "#" + std::to_string(*iid);
  v.key_prefix = "gitlab:" + v.ref;
  v.summary = string_member(issue, "title");
  v.url = url;
  v.description = description_text(member(issue, "description"));
  v.updated_ms = parse_jira_time_ms(*updated);
  if (!v.updated_ms) return bad_input(std::string(where) + ": \"updated_at\" is not a date");
  v.created_ms = parse_jira_time_ms(string_member(issue, "created_at"));
  v.resolved_ms = parse_jira_time_ms(string_member(issue, "closed_at"));
  std::string state = string_member(issue, "state");
  v.closed = state == "closed";
  std::string severity = to_lower(string_member(issue, "severity"));
  if (severity == "low" || severity == "medium" || severity == "high" || severity == "critical")
    v.severity = severity;

  const json* labels_json = member(issue, "labels");
  const json* assignees_json = member(issue, "assignees");
  if (extra) {
    if (!labels_json) labels_json = member(*extra, "labels");
    if (const json* a = member(*extra, "assignees")) assignees_json = a;
  }
  auto labels = names_of(labels_json);
  auto assignees = names_of(assignees_json);
  std::string milestone = string_member(sub(issue, "milestone"), "title");
  std::string type = to_lower(string_member(issue, "type"));
  if (type.empty()) type = to_lower(string_member(issue, "issue_type"));
  if (type.empty()) type = "issue";

  set_tag(v.tags, "project", path);
  set_tag(v.tags, "type", type);
  set_tag(v.tags, "labels", join(labels));
  set_tag(v.tags, "fix_versions", milestone);
  set_tag(v.tags, "status", state);
  v.attributes = {{"project", path},
                  {"iid", *iid},
                  {"reporter", name_of(member(issue, "author"))},
                  {"assignee", join(assignees)},
                  {"status", state},
                  {"type", type},
                  {"labels", labels},
                  {"milestone", milestone},
                  {"created", string_member(issue, "created_at")},
                  {"updated", *updated}};
  if (auto id = integer_member(issue, "milestone_id")) v.attributes["milestone_id"] = *id;
  return v;
}

Expected<Derived> gitlab_webhook_events(std::string_view body, const std::string& source) {
  constexpr std::string_view where = "gitlab webhook";
  auto parsed = parse_body_as(body, where, json::value_t::object);
  if (!parsed) return parsed.error();
  const json& j = *parsed;
  auto kind = required_string(j, "object_kind", where);
  if (!kind) return kind.error();
  if (*kind != "issue") return ignored(*kind);
  auto attrs = required_object(j, "object_attributes", where);
  if (!attrs) return attrs.error();
  const json& oa = **attrs;

  Derived out;
  if (string_member(j, "event_type") == "confidential_issue" || confidential(oa)) {
    out.restricted = 1;
    return out;
  }
  std::string path = string_member(sub(j, "project"), "path_with_namespace");
  auto view = gitlab_view(oa, path, &j, std::string(where) + ": object_attributes");
  if (!view) return view.error();
  IssueView& v = *view;
  std::string action = string_member(oa, "action");
  v.attributes["action"] = action;
  v.attributes["actor"] = name_of(member(j, "user"));
  int64_t updated = *v.updated_ms;

  if (action == "open") {
    out.events.push_back(
        make_event(v, source, "bug.created", v.created_ms ? *v.created_ms : updated, {}));
    return out;
  }
  if (action == "close") {
    out.events.push_back(
        make_event(v, source, "bug.resolved", updated, {{"status", "opened", "closed"}}));
    return out;
  }
  if (action == "reopen") {
    out.events.push_back(
        make_event(v, source, "bug.updated", updated, {{"status", "closed", "opened"}}));
    return out;
  }
  if (action != "update") return ignored("issue." + (action.empty() ? "(no action)" : action));

  std::vector<Change> changes;
  if (const json* map = object_member(j, "changes")) {
    for (const auto& [key, change] : map->items()) {
      auto name = gitlab_significant(key);
      if (!name) continue;
      changes.push_back({*name, clean_line(change_value(member(change, "previous"))),
                         clean_line(change_value(member(change, "current")))});
    }
  }
  if (changes.empty()) {
    out.noise = 1;
    return out;
  }
  out.events.push_back(make_event(v, source, "bug.updated", updated, changes));
  return out;
}

}  // namespace

// ------------------------------------------------------------------ public

std::optional<int64_t> parse_jira_time_ms(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  size_t i = 0;
  auto number = [&](size_t width, int64_t& out) {
    if (i + width > s.size()) return false;
    out = 0;
    for (size_t k = 0; k < width; ++k) {
      if (!is_digit(s[i + k])) return false;
      out = out * 10 + (s[i + k] - '0');
    }
    i += width;
    return true;
  };
  auto eat = [&](char c) {
    if (i < s.size() && s[i] == c) {
      ++i;
      return true;
    }
    return false;
  };

  int64_t y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0, ms = 0, offset_min = 0;
  if (!number(4, y) || !eat('-') || !number(2, mo) || !eat('-') || !number(2, d)) return {};
  if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, unsigned(mo))) return {};
  int64_t days = days_from_civil(y, unsigned(mo), unsigned(d));
  if (i == s.size()) return days * 86400000;
  if (s[i] != 'T' && s[i] != 't' && s[i] != ' ') return {};
  ++i;
  if (!number(2, h) || !eat(':') || !number(2, mi)) return {};
  if (eat(':') && !number(2, sec)) return {};
  if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
    ++i;
    size_t digits = 0;
    for (; i < s.size() && is_digit(s[i]); ++i, ++digits)
      if (digits < 3) ms = ms * 10 + (s[i] - '0');
    if (digits == 0) return {};
    for (; digits < 3; ++digits) ms *= 10;
  }
  if (h > 23 || mi > 59 || sec > 60) return {};
  while (i < s.size() && s[i] == ' ') ++i;
  std::string_view zone = s.substr(i);
  if (zone == "Z" || zone == "z" || zone == "UTC" || zone == "GMT") {
    i = s.size();
  } else if (!zone.empty() && (zone[0] == '+' || zone[0] == '-')) {
    bool negative = zone[0] == '-';
    ++i;
    int64_t oh = 0, om = 0;
    if (!number(2, oh)) return {};
    if (i < s.size()) {
      eat(':');
      if (!number(2, om)) return {};
    }
    if (oh > 23 || om > 59) return {};
    offset_min = (oh * 60 + om) * (negative ? -1 : 1);
  } else {
    return {};  // no zone: local time of an unknown place
  }
  if (i != s.size()) return {};
  int64_t seconds = days * 86400 + h * 3600 + mi * 60 + sec - offset_min * 60;
  return seconds * 1000 + ms;
}

std::optional<int64_t> parse_jira_time(std::string_view text) {
  auto ms = parse_jira_time_ms(text);
  if (!ms) return std::nullopt;
  return floor_div(*ms, 1000);
}

std::string canonical_time(int64_t ms) {
  int64_t seconds = floor_div(ms, 1000);
  int64_t frac = ms - seconds * 1000;
  std::string s = format_rfc3339(seconds);
  if (frac != 0) {
    char buf[8];
    snprintf(buf, sizeof buf, ".%03lld", static_cast<long long>(frac));
    s.insert(s.size() - 1, buf);
  }
  return s;
}

std::string severity_from_priority(std::string_view priority) {
  static constexpr std::pair<std::string_view, std::string_view> k_table[] = {
      {"blocker", "critical"}, {"critical", "high"},    {"major", "medium"}, {"minor", "low"},
      {"trivial", "info"},     {"highest", "critical"}, {"high", "high"},    {"medium", "medium"},
      {"low", "low"},          {"lowest", "info"},
  };
  std::string p = to_lower(trim(priority));
  for (const auto& [name, severity] : k_table)
    if (p == name) return std::string(severity);
  return "info";
}

Expected<Derived> events_from_jira_webhook(std::string_view body, const std::string& source,
                                           const std::string& base_url) {
  return guarded("jira webhook", [&] { return jira_webhook_events(body, source, base_url); });
}

Expected<Derived> events_from_jira_issue(const nlohmann::json& issue, const std::string& source,
                                         const std::string& base_url,
                                         std::optional<int64_t> since) {
  return guarded("jira issue", [&] { return jira_issue_events(issue, source, base_url, since); });
}

Expected<JiraPage> parse_jira_search_page(std::string_view body) {
  constexpr std::string_view where = "jira search page";
  return guarded(where, [&]() -> Expected<JiraPage> {
    auto parsed = parse_body_as(body, where, json::value_t::object);
    if (!parsed) return parsed.error();
    json& j = *parsed;
    const json* issues = member(j, "issues");
    if (!issues) {
      if (const json* errors = array_member(j, "errorMessages"); errors && !errors->empty()) {
        std::vector<std::string> messages;
        for (const auto& m : *errors)
          if (m.is_string()) messages.push_back(clean_line(m.get<std::string>()));
        return bad_input(std::string(where) + ": Jira answered with errors: " +
                         truncate_utf8(join(messages, "; "), 500));
      }
    }
    if (!issues || !issues->is_array()) return shape_error(where, "issues", issues, "an array");
    JiraPage page;
    for (auto [name, slot] :
         {std::pair{"startAt", &page.start_at}, std::pair{"maxResults", &page.max_results},
          std::pair{"total", &page.total}}) {
      const json* v = member(j, name);
      if (!v) continue;
      auto n = integer_member(j, name);
      if (!n || *n < 0) return shape_error(where, name, v, "a non-negative integer");
      *slot = *n;
    }
    const json* token = member(j, "nextPageToken");
    if (token && !token->is_string()) return shape_error(where, "nextPageToken", token, "a string");
    if (token) page.next_page_token = token->get<std::string>();
    const json* last = member(j, "isLast");
    if (last && !last->is_boolean()) return shape_error(where, "isLast", last, "a boolean");
    if (last)
      page.is_last = last->get<bool>();
    else if (token || page.total < 0)
      page.is_last = page.next_page_token.empty();
    else
      page.is_last =
          issues->empty() || page.start_at + static_cast<int64_t>(issues->size()) >= page.total;
    if (!page.is_last && page.total < 0 && page.next_page_token.empty())
      return bad_input(std::string(where) +
                       ": \"isLast\" is false but there is no \"nextPageToken\"");
    json& list = j["issues"];
    page.issues.reserve(list.size());
    for (auto& issue : list) page.issues.push_back(std::move(issue));
    return page;
  });
}

Derived events_from_jira_page(const JiraPage& page, const std::string& source,
                              const std::string& base_url, std::optional<int64_t> since) {
  Derived out;
  for (size_t i = 0; i < page.issues.size(); ++i) {
    auto one = events_from_jira_issue(page.issues[i], source, base_url, since);
    if (!one) {
      out.warnings.push_back("issues[" + std::to_string(i) + "] skipped: " + one.error().message);
      continue;
    }
    merge(out, std::move(*one));
  }
  return out;
}

Expected<Derived> events_from_github_webhook(std::string_view event_header, std::string_view body,
                                             const std::string& source) {
  std::string event = to_lower(trim(event_header));
  return guarded("github webhook", [&]() -> Expected<Derived> {
    if (event.empty()) return bad_input("github webhook: no X-GitHub-Event");
    if (event != "issues" && event != "issue_comment" && event != "release" &&
        event != "security_advisory")
      return ignored(event);
    std::string where = "github " + event + " webhook";
    auto parsed = parse_body_as(body, where, json::value_t::object);
    if (!parsed) return parsed.error();
    const json& j = *parsed;
    if (event == "release") return github_release_webhook(j, source);
    if (event == "security_advisory") return github_advisory_webhook(j, source);
    return github_issue_webhook(j, event, source);
  });
}

Expected<Derived> events_from_github_issue(const nlohmann::json& issue, const std::string& source,
                                           const std::string& repo, std::optional<int64_t> since) {
  return guarded("github issue", [&]() -> Expected<Derived> {
    auto view = github_view(issue, repo, "github issue");
    if (!view) return view.error();
    Derived out;
    poll_events(*view, source, since, out);
    return out;
  });
}

Expected<Derived> events_from_github_issues_page(std::string_view body, const std::string& source,
                                                 const std::string& repo,
                                                 std::optional<int64_t> since) {
  constexpr std::string_view where = "github issues page";
  return guarded(where, [&]() -> Expected<Derived> {
    auto parsed = parse_body_as(body, where, json::value_t::array);
    if (!parsed) return parsed.error();
    const json& j = *parsed;
    Derived out;
    for (size_t i = 0; i < j.size(); ++i) {
      auto one = events_from_github_issue(j[i], source, repo, since);
      if (!one) {
        out.warnings.push_back("[" + std::to_string(i) + "] skipped: " + one.error().message);
        continue;
      }
      merge(out, std::move(*one));
    }
    return out;
  });
}

Expected<Derived> events_from_gitlab_webhook(std::string_view body, const std::string& source) {
  return guarded("gitlab webhook", [&] { return gitlab_webhook_events(body, source); });
}

Expected<Derived> events_from_gitlab_issue(const nlohmann::json& issue, const std::string& source,
                                           const std::string& project_path,
                                           std::optional<int64_t> since) {
  return guarded("gitlab issue", [&]() -> Expected<Derived> {
    constexpr std::string_view where = "gitlab issue";
    if (!issue.is_object())
      return bad_input(std::string(where) + ": issue is " + issue.type_name() +
                       ", expected an object");
    Derived out;
    if (confidential(issue)) {
      out.restricted = 1;
      return out;
    }
    auto view = gitlab_view(issue, project_path, nullptr, where);
    if (!view) return view.error();
    poll_events(*view, source, since, out);
    return out;
  });
}

}  // namespace herald::tracker
