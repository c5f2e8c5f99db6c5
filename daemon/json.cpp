// The depth limit is checked as each object or array opens, before the
// parser descends into it: past the limit the parse is abandoned while the
// partial value is at most max_depth deep.
//
// Without a filter, a small SAX handler builds the value: nlohmann's callback
// parser (needed for a filter) costs about twice as much per event, which the
// event API would pay on every body. With a filter, the depth check rides on
// the callback (it is told the number of containers around each new one).
#include "daemon/json.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace herald {

namespace {

using nlohmann::json;

struct TooDeep {};

// Builds the document for json::sax_parse; throws TooDeep past the limit.
class Builder {
 public:
  Builder(json& root, size_t max_depth) : m_root(root), m_max_depth(max_depth) {}

  bool null() { return put(nullptr); }
  bool boolean(bool v) { return put(v); }
  bool number_integer(json::number_integer_t v) { return put(v); }
  bool number_unsigned(json::number_unsigned_t v) { return put(v); }
  bool number_float(json::number_float_t v, const json::string_t&) { return put(v); }
  bool string(json::string_t& v) { return put(std::move(v)); }
  bool binary(json::binary_t& v) { return put(json::binary(std::move(v))); }
  bool start_object(size_t) { return open(json::value_t::object); }
  bool start_array(size_t) { return open(json::value_t::array); }
  bool key(json::string_t& k) {
    m_member = &(*m_open.back())[std::move(k)];
    return true;
  }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool parse_error(size_t, const std::string&, const json::exception& e) {
    m_error = json_error_text(e);
    return false;
  }

  const std::string& error() const { return m_error; }

 private:
  // Places a value where the parser is: the root, an array's end or the member just keyed.
  json* place(json&& v) {
    if (m_open.empty()) {
      m_root = std::move(v);
      return &m_root;
    }
    json& parent = *m_open.back();
    if (parent.is_array()) {
      parent.push_back(std::move(v));
      return &parent.back();
    }
    *m_member = std::move(v);
    return m_member;
  }
  bool put(json&& v) {
    place(std::move(v));
    return true;
  }
  bool open(json::value_t type) {
    if (m_open.size() >= m_max_depth) throw TooDeep{};
    m_open.push_back(place(json(type)));
    return true;
  }
  bool close() {
    m_open.pop_back();
    return true;
  }

  json& m_root;
  const size_t m_max_depth;
  std::vector<json*> m_open;  // the containers being filled, outermost first
  json* m_member = nullptr;   // the object member named by the last key
  std::string m_error;
};

}  // namespace

Expected<json> parse_json(std::string_view text, const json::parser_callback_t& filter,
                          int max_depth) {
  const auto too_deep = [&] {
    return bad_input("JSON nests deeper than " + std::to_string(max_depth) + " levels");
  };
  if (!filter) {
    json root;
    Builder builder(root, static_cast<size_t>(std::max(max_depth, 0)));
    try {
      if (!json::sax_parse(text.data(), text.data() + text.size(), &builder))
        return bad_input("malformed JSON: " + builder.error());
    } catch (const TooDeep&) {
      return too_deep();
    }
    return root;
  }
  const json::parser_callback_t limited = [&](int depth, json::parse_event_t event, json& parsed) {
    if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) &&
        depth >= max_depth)
      throw TooDeep{};
    return filter(depth, event, parsed);
  };
  try {
    return json::parse(text.data(), text.data() + text.size(), limited);
  } catch (const TooDeep&) {
    return too_deep();
  } catch (const json::exception& e) {
    return bad_input("malformed JSON: " + json_error_text(e));
  }
}

std::string json_error_text(const nlohmann::json::exception& e) {
  std::string s = e.what();
  if (!s.empty() && s.front() == '[') {
    auto close = s.find("] ");
    if (close != std::string::npos) s.erase(0, close + 2);
  }
  auto cut = s.find("; last read");
  if (cut != std::string::npos) s.erase(cut);
  return s;
}

}  // namespace herald
