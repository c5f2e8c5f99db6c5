// parse_json: the nesting limit applies while parsing, errors never quote the input.
#include <catch2/catch.hpp>
#include <string>

#include "daemon/json.hpp"

using namespace herald;
using nlohmann::json;

namespace {

// levels objects nested as {"a":{"a":...1...}}.
std::string nested_objects(int levels) {
  std::string s;
  for (int i = 0; i < levels; ++i) s += "{\"a\":";
  s += "1";
  s.append(static_cast<size_t>(levels), '}');
  return s;
}

std::string nested_arrays(int levels) {
  return std::string(static_cast<size_t>(levels), '[') +
         std::string(static_cast<size_t>(levels), ']');
}

}  // namespace

TEST_CASE("json: 64 levels of nesting parse, 65 are refused with the limit named", "[json]") {
  SECTION("objects") {
    auto ok = parse_json(nested_objects(64));
    REQUIRE(ok);
    const json* v = &*ok;
    int depth = 0;
    while (v->is_object()) v = &(*v)["a"], ++depth;
    CHECK(depth == 64);
    auto deep = parse_json(nested_objects(65));
    REQUIRE_FALSE(deep);
    CHECK(deep.error().kind == ErrorKind::bad_input);
    CHECK(deep.error().message == "JSON nests deeper than 64 levels");
  }
  SECTION("arrays, and arrays in objects") {
    CHECK(parse_json(nested_arrays(64)));
    CHECK(parse_json(nested_arrays(65)).error().message == "JSON nests deeper than 64 levels");
    CHECK(parse_json("{\"x\":" + nested_arrays(64) + "}").error().message ==
          "JSON nests deeper than 64 levels");
  }
  SECTION("a chosen limit") {
    CHECK(parse_json(nested_objects(3), nullptr, 3));
    CHECK(parse_json(nested_objects(4), nullptr, 3).error().message ==
          "JSON nests deeper than 3 levels");
  }
}

TEST_CASE("json: 100,000 levels (600 KB) are refused without building them", "[json]") {
  const std::string body =
      "{\"events\":[{\"key\":\"k\",\"kind\":\"x\",\"attributes\":" + nested_objects(100'000) +
      "}]}";
  REQUIRE(body.size() > 600'000);
  auto r = parse_json(body);
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "JSON nests deeper than 64 levels");
  // Unbalanced: the limit is met before the syntax error at the end.
  CHECK(parse_json(std::string(100'000, '[')).error().message ==
        "JSON nests deeper than 64 levels");
}

TEST_CASE("json: malformed text is bad_input without an excerpt of it", "[json]") {
  auto r = parse_json(R"({"secret": "hunter2" oops})");
  REQUIRE_FALSE(r);
  CHECK(r.error().kind == ErrorKind::bad_input);
  CHECK(r.error().message.rfind("malformed JSON: parse error at line 1, column 22", 0) == 0);
  CHECK(r.error().message.find("hunter2") == std::string::npos);
  CHECK(parse_json("").error().message.rfind("malformed JSON: ", 0) == 0);
  CHECK(parse_json("[1] 2").error().message.rfind("malformed JSON: ", 0) == 0);
}

TEST_CASE("json: a filter drops members while parsing and the limit still holds", "[json]") {
  const json::parser_callback_t drop_x = [](int, json::parse_event_t event, json& parsed) {
    return !(event == json::parse_event_t::key && parsed == "x");
  };
  auto r = parse_json(R"({"x": {"deep": 1}, "y": 2})", drop_x);
  REQUIRE(r);
  CHECK(*r == json({{"y", 2}}));
  // A dropped member is still parsed, so its nesting counts.
  CHECK(parse_json("{\"x\":" + nested_objects(64) + "}", drop_x).error().message ==
        "JSON nests deeper than 64 levels");
}
