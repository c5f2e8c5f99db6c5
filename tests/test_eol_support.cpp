// GET /support and /support.json over a real local HTTP server, built from
// what the eol sources stored after one poll each: config/lustre-eol.md, the
// rhel, sles and ubuntu product files of tests/fixtures/eol, and the Lustre
// ChangeLogs of tests/fixtures/lustre.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "adapters/sources/eol/support_page.hpp"
#include "adapters/sources/lustre/release.hpp"
#include "adapters/sources/source.hpp"
#include "daemon/http_server.hpp"
#include "daemon/ingest.hpp"
#include "daemon/metrics.hpp"
#include "daemon/store.hpp"
#include "daemon/util.hpp"
#include "tests/support/page_checks.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/temp_dir.hpp"

using namespace herald;
using nlohmann::json;

namespace {

int64_t utc(int y, unsigned m, unsigned d) { return days_from_civil(y, m, d) * 86'400; }

SourceConfig eol_source(const std::string& product, const std::string& path, bool changelogs) {
  SourceConfig sc;
  sc.name = product + "-eol";
  sc.kind = "eol";
  sc.product = product;
  sc.path = path;
  if (changelogs)
    sc.changelogs = {test::fixtures_dir() + "/lustre/ChangeLog.master",
                     test::fixtures_dir() + "/lustre/ChangeLog.b2_15"};
  return sc;
}

// Polls each source once and commits its state, as a run of herald does.
void poll_all(const Config& cfg, Store& store, const Clock& clock) {
  for (const auto& sc : cfg.sources) {
    auto src = make_source(sc, cfg, clock);
    auto out = src->poll(SourceState{});
    INFO(sc.name << ": " << (out.ok() ? "" : out.error().message));
    REQUIRE(out.ok());
    PollCommit c;
    c.source = sc.name;
    c.events = out->events;
    c.announce = out->announce;
    c.cursor = out->cursor;
    c.now = clock.now();
    REQUIRE(store.sources().commit_poll(c).ok());
  }
}

const json* find_row(const json& rows, const std::string& distro) {
  for (const auto& r : rows)
    if (r["distro"] == distro) return &r;
  return nullptr;
}

}  // namespace

TEST_CASE("eol support page: /support.json and /support from the stored schedules",
          "[eol][support]") {
  test::TempDir dir;
  auto opened = Store::open(dir.file("h.db"));
  REQUIRE(opened.ok());
  Store& store = **opened;
  FakeClock clock(utc(2027, 1, 15));
  Config cfg;
  cfg.sources = {
      eol_source("lustre", test::source_dir() + "/config/lustre-eol.md", false),
      eol_source("rhel", test::fixtures_dir() + "/eol/rhel.md", true),
      eol_source("sles", test::fixtures_dir() + "/eol/sles.md", true),
      eol_source("ubuntu", test::fixtures_dir() + "/eol/ubuntu.md", true),
  };
  poll_all(cfg, store, clock);

  HttpServerOptions options;
  options.listen = "127.0.0.1:0";
  HttpServer server(options);
  IngestWriter writer(store, clock);
  Metrics metrics;
  eol::add_support_routes(server, cfg, InboundEnv{writer, metrics, clock, &store});
  REQUIRE(server.start().ok());
  auto http = make_curl_transport();
  auto get = [&](const std::string& path) {
    HttpRequest req;
    req.url = "http://" + server.address() + path;
    auto resp = fetch(*http, req);
    REQUIRE(resp.ok());
    CHECK(resp->status == 200);
    return *resp;
  };

  const auto j_resp = get("/support.json");
  CHECK(j_resp.content_type.rfind("application/json", 0) == 0);
  const json data = json::parse(j_resp.body);
  CHECK(data["generated_at"] == "2027-01-15T00:00:00Z");
  // The answer validates against the published schema (docs/support.schema.json), checked by
  // an independent validator (python3-jsonschema).
  auto validates = [&](const std::string& name, const std::string& text) {
    return test::validates_against_schema(dir, name, text, "support.schema.json");
  };
  CHECK(validates("support.json", j_resp.body));
  json broken = data;
  broken["branches"][0]["servers"][0]["status"] = "fine";
  CHECK_FALSE(validates("broken.json", broken.dump()));  // the check can fail

  // Maintained: the newest branch and the LTS branches not past their end of life
  // (2.10's is `true` in the Lustre schedule).
  std::vector<std::string> branches;
  for (const auto& b : data["branches"]) branches.push_back(b["branch"]);
  CHECK(branches == std::vector<std::string>{"2.17", "2.15", "2.12"});

  const json& b215 = data["branches"][1];
  CHECK(b215["release"] == "2.15.8");
  CHECK(b215["lts"] == true);
  CHECK(b215["eol"] == "false");
  CHECK(b215["status"] == "supported");
  for (const auto& b : data["branches"]) {
    INFO(b["branch"]);
    for (const char* role : {"servers", "clients"}) {
      REQUIRE(b[role].is_array());
      for (const auto& r : b[role]) {
        CHECK(r["distro"].is_string());
        CHECK(r["kernels"].is_array());
        CHECK(r["eol"].is_string());
        const std::string status = r["status"];
        CHECK((status == "supported" || status == "near_eol" || status == "past_eol" ||
               status == "unknown"));
      }
    }
  }

  // The rows' kernels are the ChangeLog block's own, row by row.
  auto b2_15 = read_file(test::fixtures_dir() + "/lustre/ChangeLog.b2_15");
  REQUIRE(b2_15);
  auto block = lustre::find_release(lustre::parse_changelog(*b2_15), "2.15.8");
  REQUIRE(block);
  std::vector<std::string> listed;
  for (const char* role : {"servers", "clients"})
    for (const auto& r : b215[role])
      for (const auto& k : r["kernels"]) listed.push_back(k);
  std::vector<std::string> in_block = block->server_kernels;
  in_block.insert(in_block.end(), block->client_kernels.begin(), block->client_kernels.end());
  std::sort(listed.begin(), listed.end());
  std::sort(in_block.begin(), in_block.end());
  CHECK(listed == in_block);

  // RHEL by the minor release the ChangeLog names; rhel.md has majors only: their dates.
  const json* rhel8 = find_row(b215["servers"], "RHEL 8.10");
  REQUIRE(rhel8);
  CHECK((*rhel8)["eol"] == "2029-05-31");
  CHECK((*rhel8)["eol_cycle"] == "RHEL 8");
  CHECK((*rhel8)["status"] == "supported");
  CHECK((*rhel8)["kernels"] == json::array({"4.18.0-553.82.1.el8 (RHEL8.10)"}));
  CHECK(b215["servers"].size() == 1);  // 2.15.8 servers: RHEL 8.10 only
  for (const char* minor : {"RHEL 9.7", "RHEL 9.6", "RHEL 9.5", "RHEL 8.10"}) {
    INFO(minor);
    const json* row = find_row(b215["clients"], minor);
    REQUIRE(row);
    CHECK((*row)["eol"] == (minor[5] == '9' ? "2032-05-31" : "2029-05-31"));
    CHECK((*row)["eol_cycle"] == (minor[5] == '9' ? "RHEL 9" : "RHEL 8"));
  }
  CHECK_FALSE(find_row(b215["clients"], "RHEL 9"));
  const json* ubuntu = find_row(b215["clients"], "Ubuntu 22.04");
  REQUIRE(ubuntu);
  CHECK((*ubuntu)["eol"] == "2027-04-01");
  CHECK((*ubuntu)["status"] == "near_eol");  // 76 days on
  const json* sp6 = find_row(b215["clients"], "SLES 15 SP6");
  REQUIRE(sp6);
  CHECK((*sp6)["eol"] == "2025-12-31");
  CHECK((*sp6)["status"] == "past_eol");
  CHECK((*sp6)["eol_cycle"] == "SLES 15.6");
  CHECK((*ubuntu)["eol_cycle"] == "Ubuntu 22.04");
  CHECK(find_row(b215["clients"], "SLES 15 SP5"));

  const auto page = get("/support");
  CHECK(page.content_type == "text/html; charset=utf-8");
  const std::string& h = page.body;
  CHECK(h.find("<meta name=\"viewport\"") != std::string::npos);
  CHECK(h.find("<script") == std::string::npos);
  CHECK(h.find("<h2 id=\"lustre-2.15\">Lustre 2.15 (long-term support)</h2>") != std::string::npos);
  CHECK(h.find("<tr class=\"near_eol\"><th scope=\"row\">Ubuntu 22.04</th>") != std::string::npos);
  CHECK(h.find("<td>2027-04-01</td><td>end of life within 90 days</td>") != std::string::npos);
  CHECK(h.find("<td>2025-12-31 (SLES 15.6)</td><td>past end of life</td>") != std::string::npos);
  CHECK(h.find("<th scope=\"row\">RHEL 8.10</th><td><ul><li>4.18.0-553.82.1.el8 (RHEL8.10)</li>"
               "</ul></td><td>2029-05-31 (RHEL 8)</td><td>supported</td>") != std::string::npos);

  // A picture of the page in headless Chromium (a test dependency: scripts/setup-deps.sh
  // test), saved beside the browser test's under artifacts/support/. ctest runs in the
  // build folder; a run from the checkout writes to the temporary folder.
  test::screenshot_page(dir, h, "support", "support-page.png");
  server.stop(std::chrono::milliseconds(100));
  writer.stop();
}
