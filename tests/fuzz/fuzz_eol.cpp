// libFuzzer target: end-of-life schedules. The input is read as an
// endoflife.date product file and as an API v1 answer; a schedule that
// parses is then polled by a kind = "eol" source (through a transport that
// answers the input) at a few instants, twice each, with the first poll's
// cursor. Seeds: tests/fixtures/eol and tests/fuzz/seeds/eol (the Lustre
// schedule of config/). Besides crashes, it stops when a parsed cycle has no
// name or a line break in it, a day does not survive formatting and parsing
// again, an event breaks what the store and later stages rely on
// (fuzz_check.hpp), or a second poll at the same instant with the committed
// cursor announces a notice the first poll did not make.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "adapters/sources/eol/eol_source.hpp"
#include "adapters/sources/eol/schedule.hpp"
#include "tests/fuzz/fuzz_check.hpp"

namespace {

using namespace herald;

// Answers every request with the same body.
class BodyTransport final : public HttpTransport {
 public:
  explicit BodyTransport(std::string body) : m_body(std::move(body)) {}
  HttpResult perform(const HttpRequest&) override {
    HttpResponse r;
    r.status = 200;
    r.body = m_body;
    return r;
  }

 private:
  std::string m_body;
};

void check_product(const eol::Product& p) {
  fuzz::check_utf8(p.title);
  for (const auto& c : p.cycles) {
    FUZZ_CHECK(!c.name.empty());
    FUZZ_CHECK(!fuzz::has_line_break(c.name));
    fuzz::check_utf8(c.name);
    for (const auto* f : {&c.eoas, &c.eol, &c.eoes})
      if (f->state == eol::DateField::State::day)
        FUZZ_CHECK(eol::parse_day(eol::format_day(f->days)) == f->days);
  }
}

void poll_at(const std::string& body, bool api, int64_t now) {
  SourceConfig sc;
  sc.name = "fuzz";
  sc.kind = "eol";
  sc.product = "p";
  if (api)
    sc.url = "http://127.0.0.1/api/v1/products/p/";
  else
    sc.path = "/p.md";
  sc.timezone = "Pacific/Auckland";
  FakeClock clock(now);
  auto src = make_eol_source(sc, Config{}, clock, std::make_unique<BodyTransport>(body));
  auto first = src->poll(SourceState{});
  if (!first) return;
  FUZZ_CHECK(first->events.size() == first->announce.size());
  std::set<std::string> keys;
  for (const auto& e : first->events) {
    fuzz::check_event(e);
    keys.insert(e.key);
  }
  SourceState state;
  state.cursor = first->cursor;
  state.content_hash = first->content_hash;
  auto second = src->poll(state);
  FUZZ_CHECK(second.ok());
  for (size_t i = 0; i < second->events.size(); ++i) {
    // A notice not stored by the first poll would be new, and announced.
    if (second->announce[i]) FUZZ_CHECK(keys.count(second->events[i].key) == 1);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  for (bool api : {false, true}) {
    auto p = api ? eol::parse_api_v1(body) : eol::parse_product_file(body);
    if (!p) {
      FUZZ_CHECK(!p.error().message.empty());
      continue;
    }
    check_product(*p);
    for (int64_t now : {int64_t{1'767'225'600}, int64_t{1'900'000'000}, int64_t{4'102'444'800}})
      poll_at(body, api, now);
  }
  return 0;
}
