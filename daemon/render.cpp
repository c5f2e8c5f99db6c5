// Template loading and rendering with kainjow mustache. JSON values become
// mustache data (objects, lists, strings; numbers and booleans as text).
// Subject and text templates are rendered without HTML escaping; HTML
// templates escape as mustache does by default. Templates are parsed once,
// at load: parsing dominated the cost of rendering when it was per message.
#include "daemon/render.hpp"

#include <kainjow/mustache.hpp>

#include <filesystem>

#include "daemon/util.hpp"

namespace herald {

namespace fs = std::filesystem;
using kainjow::mustache::data;
using kainjow::mustache::mustache;

namespace {

constexpr size_t k_max_template_size = 256 * 1024;

// "December 03, 2026": the date line of Debian's advisories, in UTC. Built
// from the RFC 3339 form, so no locale (LC_TIME) changes a month's name.
std::string long_date(int64_t t) {
  static constexpr const char* k_months[] = {"January", "February", "March",     "April",
                                             "May",     "June",     "July",      "August",
                                             "September", "October", "November", "December"};
  const std::string s = format_rfc3339(t);  // 2026-12-03T...
  const int month = std::stoi(s.substr(5, 2));
  return std::string(k_months[month - 1]) + " " + s.substr(8, 2) + ", " + s.substr(0, 4);
}

data to_data(const nlohmann::json& j) {
  switch (j.type()) {
    // Values are moved in: set() and push_back() take copies, which deep-copied
    // every subtree once per level.
    case nlohmann::json::value_t::object: {
      data d{data::type::object};
      for (const auto& [k, v] : j.items()) d[k] = to_data(v);
      return d;
    }
    case nlohmann::json::value_t::array: {
      data d{data::type::list};
      auto& list = const_cast<kainjow::mustache::basic_list<std::string>&>(d.list_value());
      list.reserve(j.size());
      for (const auto& v : j) list.push_back(to_data(v));
      return d;
    }
    case nlohmann::json::value_t::string:
      return data{j.get<std::string>()};
    case nlohmann::json::value_t::boolean:
      return j.get<bool>() ? data{data::type::bool_true} : data{data::type::bool_false};
    case nlohmann::json::value_t::null:
      return data{data::type::bool_false};
    default:
      return data{j.dump()};
  }
}

// At most one blank line in a row. A section that renders nothing leaves the line of its
// tags behind (kainjow's standalone-tag handling), so a template with several optional
// blocks would otherwise open gaps of many empty lines in the plain text.
std::string collapse_blank_lines(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  size_t newlines = 0;
  for (char c : text) {
    newlines = c == '\n' ? newlines + 1 : 0;
    if (newlines <= 2) out += c;
  }
  return out;
}

// Slack's mrkdwn gives &, < and > meaning (links, mentions): values must not.
std::string slack_escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      default: out += c;
    }
  }
  return out;
}

// Drops empty strings from objects, at every depth: kainjow opens a section for
// an empty string, so {{#url}}<{{url}}|Open>{{/url}} would link nowhere.
void drop_empty_strings(nlohmann::json& j) {
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end();) {
      if (it->is_string() && it->get_ref<const std::string&>().empty()) {
        it = j.erase(it);
      } else {
        drop_empty_strings(*it);
        ++it;
      }
    }
  } else if (j.is_array()) {
    for (auto& v : j) drop_empty_strings(v);
  }
}

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Every <dir>/<channel>/*.mustache, named "<channel>/<file stem>".
Status load_dir(const std::string& dir, std::map<std::string, std::pair<std::string, std::string>>& out,
                std::vector<std::string>& errors) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return ok_status();
  for (const auto& channel : fs::directory_iterator(dir, ec)) {
    if (!channel.is_directory(ec)) continue;
    const std::string name = channel.path().filename().string();
    for (const auto& ent : fs::directory_iterator(channel.path(), ec)) {
      if (ent.path().extension() != ".mustache") continue;
      if (ent.file_size(ec) > k_max_template_size) {
        errors.push_back(ent.path().string() + ": larger than 256 KiB");
        continue;
      }
      auto text = read_file(ent.path().string());
      if (!text) {
        errors.push_back(ent.path().string() + ": cannot read");
        continue;
      }
      out[name + "/" + ent.path().stem().string()] = {*text, ent.path().string()};
    }
  }
  return ok_status();
}

}  // namespace

struct Templates::Compiled {
  explicit Compiled(const std::string& text) : m(text) {}
  mustache m;
};

Expected<Templates> Templates::load(const std::string& bundled_dir, const std::string& override_dir) {
  std::map<std::string, std::pair<std::string, std::string>> found;
  std::vector<std::string> errors;
  load_dir(bundled_dir, found, errors);
  if (!override_dir.empty()) {
    if (!fs::is_directory(override_dir))
      errors.push_back(override_dir + ": templates_dir is not a directory");
    load_dir(override_dir, found, errors);
  }
  Templates t;
  for (auto& [name, src] : found) {
    auto compiled = std::make_shared<Compiled>(src.first);
    if (!compiled->m.is_valid()) {
      errors.push_back(src.second + ": " + compiled->m.error_message());
      continue;
    }
    const bool html = name.size() > 5 && name.compare(name.size() - 5, 5, ".html") == 0;
    if (html) {
      // mustache's default escape
    } else if (name.rfind("slack/", 0) == 0 && !ends_with(name, ".title")) {
      compiled->m.set_custom_escape(slack_escape);
    } else {
      compiled->m.set_custom_escape([](const std::string& s) { return s; });
    }
    t.m_templates[name] = {std::move(src.second), std::move(compiled)};
  }
  if (!t.has_set("default")) errors.push_back(bundled_dir + "/mail: no default template set");
  if (!errors.empty()) {
    std::string msg;
    for (const auto& e : errors) msg += (msg.empty() ? "" : "\n") + e;
    return bad_input(msg);
  }
  return t;
}

bool Templates::has_set(const std::string& set) const {
  return m_templates.count("mail/" + set + ".subject") && m_templates.count("mail/" + set + ".text");
}

std::vector<std::string> Templates::names() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : m_templates) out.push_back(k);
  return out;
}

std::string Templates::origin(const std::string& name) const {
  auto it = m_templates.find(name);
  return it == m_templates.end() ? std::string() : it->second.file;
}

Expected<RenderedMail> Templates::render_mail(const std::string& set,
                                              const nlohmann::json& context) const {
  const std::string use = has_set(set) ? set : "default";
  data ctx = to_data(context);
  std::lock_guard lock(*m_mutex);
  auto render = [&](const std::string& part) -> Expected<std::string> {
    auto it = m_templates.find("mail/" + use + "." + part);
    if (it == m_templates.end()) return std::string();
    mustache& m = it->second.compiled->m;
    std::string out = m.render(ctx);
    if (!m.is_valid()) return bad_input(it->second.file + ": " + m.error_message());
    return out;
  };
  RenderedMail r;
  auto subject = render("subject");
  if (!subject) return subject.error();
  r.subject = one_line(*subject);
  ctx.set("subject", data{r.subject});  // the HTML <title>, and whatever else repeats it
  auto text = render("text");
  if (!text) return text.error();
  r.text = collapse_blank_lines(*text);
  auto html = render("html");
  if (!html) return html.error();
  r.html = std::move(*html);
  return r;
}

bool Templates::has_set(const std::string& channel, const std::string& set) const {
  const std::string prefix = channel + "/" + set + ".";
  auto it = m_templates.lower_bound(prefix);
  return it != m_templates.end() && it->first.compare(0, prefix.size(), prefix) == 0;
}

Expected<std::string> Templates::render(const std::string& channel, const std::string& set,
                                        const std::string& part,
                                        const nlohmann::json& context) const {
  const std::string use = has_set(channel, set) ? set : "default";
  auto it = m_templates.find(channel + "/" + use + "." + part);
  if (it == m_templates.end()) return std::string();
  nlohmann::json values = context;
  drop_empty_strings(values);
  data ctx = to_data(values);
  std::lock_guard lock(*m_mutex);
  mustache& m = it->second.compiled->m;
  std::string out = m.render(ctx);
  if (!m.is_valid()) return bad_input(it->second.file + ": " + m.error_message());
  return trim(collapse_blank_lines(out));
}

nlohmann::json mail_context(const Event& e, const DestinationConfig& dest) {
  nlohmann::json ctx = to_json(e);
  // Without a time both are null, which templates test with {{^date}}: an empty
  // string would still open {{#date}}.
  if (e.time) {
    ctx["time_rfc3339"] = format_rfc3339(e.time);
    ctx["date"] = format_rfc3339(e.time).substr(0, 10);
    ctx["date_long"] = long_date(e.time);
  } else {
    ctx["time_rfc3339"] = nullptr;
    ctx["date"] = nullptr;
    ctx["date_long"] = nullptr;
  }
  ctx["destination_name"] = dest.name;
  ctx["subject_prefix"] = dest.subject_prefix;
  ctx["herald_version"] = HERALD_VERSION;
  // Templates enter {{#attributes}} and test lists with {{#has_NAME}}: plain
  // names, because dotted names cost a string split on every lookup. Strings
  // get one too, since kainjow opens a section for an empty string.
  ctx["has_url"] = !e.url.empty();
  auto& attrs = ctx["attributes"];
  if (attrs.is_object()) {
    nlohmann::json flags = nlohmann::json::object();
    for (const auto& [k, v] : attrs.items()) {
      if (v.is_array()) flags["has_" + k] = !v.empty();
      if (v.is_string() && !attrs.contains("has_" + k))
        flags["has_" + k] = !v.get_ref<const std::string&>().empty();
    }
    attrs.update(flags);
  }
  return ctx;
}

}  // namespace herald
