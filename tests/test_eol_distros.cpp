// Distribution end-of-life notices cross-referenced with the Lustre support
// matrix of lustre/ChangeLog (the master and b2_15 copies in tests/fixtures):
// a notice names exactly the Lustre branches whose newest release is built for
// that distribution release, for servers and for clients.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "adapters/sources/eol/announce.hpp"
#include "adapters/sources/eol/support_matrix.hpp"
#include "adapters/sources/lustre/release.hpp"
#include "adapters/sources/source.hpp"
#include "daemon/render.hpp"
#include "daemon/util.hpp"
#include "tests/support/paths.hpp"

using namespace herald;
using nlohmann::json;

namespace {

int64_t utc(int y, unsigned m, unsigned d) { return days_from_civil(y, m, d) * 86'400; }

std::vector<std::string> changelogs() {
  return {test::fixtures_dir() + "/lustre/ChangeLog.master",
          test::fixtures_dir() + "/lustre/ChangeLog.b2_15"};
}

// The announced events of a first poll of the product file at `now`, with the ChangeLogs.
std::vector<Event> first_poll(const std::string& product, const std::string& file, int64_t now) {
  SourceConfig sc;
  sc.name = product + "-eol";
  sc.kind = "eol";
  sc.product = product;
  sc.path = test::fixtures_dir() + "/eol/" + file;
  sc.changelogs = changelogs();
  FakeClock clock(now);
  auto src = make_source(sc, Config{}, clock);
  auto out = src->poll(SourceState{});
  INFO((out.ok() ? "" : out.error().message));
  REQUIRE(out.ok());
  CHECK(out->warnings.empty());
  std::vector<Event> announced;
  for (size_t i = 0; i < out->events.size(); ++i)
    if (out->announce[i]) announced.push_back(out->events[i]);
  return announced;
}

json list(std::vector<std::string> v) { return json(std::move(v)); }

}  // namespace

TEST_CASE("eol distributions: the support matrix takes each branch's newest released block",
          "[eol][distros]") {
  std::vector<lustre::ChangeLogRelease> all;
  for (const auto& f : changelogs()) {
    auto text = read_file(f);
    REQUIRE(text);
    auto r = lustre::parse_changelog(*text);
    all.insert(all.end(), r.begin(), r.end());
  }
  auto m = eol::support_matrix(all);
  REQUIRE(m.size() >= 3);
  // 2.18.0 heads master's ChangeLog but is dated TBD: not released yet.
  CHECK(m[0].branch == "2.17");
  CHECK(m[0].release == "2.17.0");
  CHECK(m[1].release == "2.16.0");
  CHECK(m[2].release == "2.15.8");  // b2_15's block, newer than master's 2.15.0
  CHECK(m[2].date == "2025-12-02");
}

TEST_CASE("eol distributions: a notice names the Lustre branches built for that release",
          "[eol][distros]") {
  SECTION("RHEL 8: servers and clients of 2.17, 2.16 and 2.15") {
    auto a = first_poll("rhel", "rhel.md", utc(2028, 12, 10));
    REQUIRE(a.size() == 1);
    CHECK(a[0].key == "eol:rhel:8:T-180:2029-05-31");
    CHECK(a[0].attributes["distro"] == "RHEL 8");
    CHECK(a[0].attributes["lustre_server_branches"] == list({"2.17", "2.16", "2.15"}));
    CHECK(a[0].attributes["lustre_client_branches"] == list({"2.17", "2.16", "2.15"}));
    CHECK(a[0].tags.at("lustre_branches") == "2.17 2.16 2.15");
    CHECK(a[0].summary.rfind(
              "Lustre branches built for RHEL 8: servers 2.17, 2.16, 2.15; clients 2.17, 2.16, "
              "2.15.",
              0) == 0);
    CHECK(a[0].tags.count("branch") == 0);  // a RHEL cycle is not a Lustre branch
    CHECK(a[0].tags.at("cycle") == "8");
    // The exact minor release each branch's ChangeLog block names.
    // (2.17.0's servers are built for 8.10, 8.9 and 8.8; 2.15.8's for 8.10 only.)
    const std::string named =
        "servers RHEL 8.10 (2.17, 2.16, 2.15), RHEL 8.9 (2.17, 2.16), RHEL 8.8 (2.17, 2.16); "
        "clients RHEL 8.10 (2.17, 2.16, 2.15), RHEL 8.9 (2.16), RHEL 8.8 (2.16)";
    CHECK(a[0].attributes["distro_releases"] == named);
    CHECK(a[0].summary.find("\nAs the ChangeLogs name them: " + named + ".\n") !=
          std::string::npos);
    auto t = Templates::load(test::source_dir() + "/templates", "");
    REQUIRE(t);
    auto mail = t->render_mail(a[0].kind, mail_context(a[0], DestinationConfig{}));
    REQUIRE(mail);
    CHECK(mail->text.find("\nAs the ChangeLogs name them: " + named + "\n") != std::string::npos);
    CHECK(mail->html.find("<li>As the ChangeLogs name them: servers RHEL 8.10") !=
          std::string::npos);
  }
  SECTION("SLES 15 SP6: clients only, of the branches built for SP6") {
    auto a = first_poll("sles", "sles.md", utc(2025, 12, 5));
    REQUIRE(a.size() == 1);
    CHECK(a[0].key == "eol:sles:15.6:T-30:2025-12-31");
    CHECK(a[0].attributes["lustre_server_branches"] == json::array());
    CHECK(a[0].attributes["lustre_client_branches"] == list({"2.17", "2.16", "2.15"}));
    CHECK(a[0].summary.rfind("Lustre branches built for SLES 15.6: servers none; clients", 0) == 0);
    auto t = Templates::load(test::source_dir() + "/templates", "");
    REQUIRE(t);
    const auto ctx = mail_context(a[0], DestinationConfig{});
    auto mail = t->render_mail(a[0].kind, ctx);
    REQUIRE(mail);
    CHECK(mail->text.find(
              "Lustre branches built for SLES 15.6: servers none; clients 2.17, 2.16, 2.15\n") !=
          std::string::npos);
    auto slack = t->render("slack", a[0].kind, "text", ctx);
    REQUIRE(slack);
    CHECK(slack->find("*Lustre branches built for SLES 15.6:* servers none; clients 2.17, 2.16, "
                      "2.15") != std::string::npos);
  }
  SECTION("Ubuntu 22.04: clients of 2.17 and 2.15 (2.16.0 was built for 20.04)") {
    auto a = first_poll("ubuntu", "ubuntu.md", utc(2027, 1, 5));
    REQUIRE(a.size() == 1);
    CHECK(a[0].key == "eol:ubuntu:22.04:T-90:2027-04-01");
    CHECK(a[0].attributes["lustre_server_branches"] == json::array());
    CHECK(a[0].attributes["lustre_client_branches"] == list({"2.17", "2.15"}));
  }
  SECTION("a product the ChangeLog does not name gets no cross-reference") {
    auto a = first_poll("debian", "debian.md", utc(2026, 6, 1));
    REQUIRE(a.size() == 1);
    CHECK_FALSE(a[0].attributes.contains("distro"));
    CHECK(a[0].tags.count("lustre_branches") == 0);
  }
}

TEST_CASE("eol distributions: SLES service packs are told apart by the kernels", "[eol][distros]") {
  const std::vector<std::string> distros = {"SLES 15", "RHEL 9"};
  const std::vector<std::string> kernels = {"6.4.0-150700.53.22 (SLES15 SP7)",
                                            "5.14.0-570.62.1.el9 (RHEL9.6)"};
  CHECK(eol::lists_cycle(distros, kernels, "SLES", "15.7"));
  CHECK_FALSE(eol::lists_cycle(distros, kernels, "SLES", "15.6"));
  CHECK(eol::lists_cycle(distros, kernels, "SLES", "15.0"));
  CHECK_FALSE(eol::lists_cycle(distros, kernels, "SLES", "12.5"));
  CHECK(eol::lists_cycle(distros, kernels, "RHEL", "9"));
  CHECK_FALSE(eol::lists_cycle(distros, kernels, "RHEL", "8"));
  CHECK(eol::lists_cycle(distros, kernels, "RHEL", "9.6"));  // a minor cycle, by the kernel
  CHECK_FALSE(eol::lists_cycle(distros, kernels, "RHEL", "9.5"));
  CHECK(eol::distro_family("rhel") == "RHEL");
  CHECK(eol::distro_family("debian").empty());
}

TEST_CASE("eol distributions: RHEL rows are the minor releases the ChangeLog names",
          "[eol][distros]") {
  // 2.15.8's block (ChangeLog.b2_15): clients built for RHEL 9.7, 9.6 and 9.5, and 8.10.
  auto text = read_file(test::fixtures_dir() + "/lustre/ChangeLog.b2_15");
  REQUIRE(text);
  auto block = lustre::find_release(lustre::parse_changelog(*text), "2.15.8");
  REQUIRE(block);
  CHECK(block->client_distros[0] == "RHEL 9");  // the parser keeps the major
  auto rows = eol::distro_rows(block->client_distros, block->client_kernels);
  std::vector<std::string> labels, cycles, majors;
  for (const auto& r : rows) {
    labels.push_back(r.label);
    cycles.push_back(r.cycle);
    majors.push_back(r.major_cycle);
  }
  CHECK(labels == std::vector<std::string>{"RHEL 9.7", "RHEL 9.6", "RHEL 9.5", "RHEL 8.10",
                                           "Ubuntu 22.04", "SLES 15 SP6", "SLES 15 SP5"});
  CHECK(cycles == std::vector<std::string>{"9.7", "9.6", "9.5", "8.10", "22.04", "15.6", "15.5"});
  CHECK(majors == std::vector<std::string>{"9", "9", "9", "8", "", "15", "15"});
  CHECK(rows[0].kernels == std::vector<std::string>{"5.14.0-611.7.1.el9 (RHEL9.7)"});

  // The date comes from the most specific cycle: rhel.md has majors only, so RHEL 9's;
  // with a minor cycle added (9.6 Extended Update Support), that one for RHEL 9.6.
  auto rhel = read_file(test::fixtures_dir() + "/eol/rhel.md");
  REQUIRE(rhel);
  auto majors_only = eol::parse_product_file(*rhel);
  REQUIRE(majors_only.ok());
  const eol::Cycle* c = eol::find_distro_cycle(*majors_only, rows[1]);
  REQUIRE(c);
  CHECK(c->name == "9");
  CHECK(c->eol.text() == "2032-05-31");
  std::string with_minor = *rhel;
  const std::string at = "  - releaseCycle: \"9\"\n";
  REQUIRE(with_minor.find(at) != std::string::npos);
  with_minor.insert(with_minor.find(at),
                    "  - releaseCycle: \"9.6\"\n    releaseDate: 2025-05-20\n"
                    "    eol: 2027-05-31\n\n");
  auto minors = eol::parse_product_file(with_minor);
  REQUIRE(minors.ok());
  c = eol::find_distro_cycle(*minors, rows[1]);
  REQUIRE(c);
  CHECK(c->name == "9.6");
  CHECK(c->eol.text() == "2027-05-31");
  c = eol::find_distro_cycle(*minors, rows[0]);  // 9.7 has no cycle of its own
  REQUIRE(c);
  CHECK(c->name == "9");
  eol::DistroRow debian{"Debian 12", "Debian", "12", "", {}};
  CHECK(eol::find_distro_cycle(*minors, debian) == nullptr);
}

TEST_CASE("eol distributions: a release announcement lists its distributions near or past EOL",
          "[eol][distros][announce]") {
  Config cfg;
  for (const char* product : {"rhel", "sles", "ubuntu"}) {
    SourceConfig sc;
    sc.name = std::string(product) + "-eol";
    sc.kind = "eol";
    sc.product = product;
    sc.path = test::fixtures_dir() + "/eol/" + product + ".md";
    cfg.sources.push_back(sc);
  }
  Event e;
  e.kind = "release.published";
  e.key = "release:lustre:2.15.9";
  e.title = "Lustre 2.15.9";
  e.time = utc(2027, 1, 15);
  e.attributes = {{"version", "2.15.9"},
                  {"branch", "2.15"},
                  {"server_distros", {"RHEL 8"}},
                  {"server_kernels", {"4.18.0-553.82.1.el8 (RHEL8.10)"}},
                  {"client_distros", {"RHEL 9", "SLES 15", "Ubuntu 22.04"}},
                  {"client_kernels",
                   {"5.14.0-611.7.1.el9 (RHEL9.7)", "6.4.0-150600.23.73 (SLES15 SP6)",
                    "5.15.0-88 (Ubuntu 22.04)"}}};
  const json ctx = eol::announcement_context(e, cfg, nullptr);
  CHECK(ctx["distro_eol"] == json::parse(R"([
      {"distro": "SLES 15 SP6", "role": "clients", "eol": "2025-12-31", "status": "past",
       "eol_cycle": "SLES 15.6", "is_past": true},
      {"distro": "Ubuntu 22.04", "role": "clients", "eol": "2027-04-01", "status": "near",
       "eol_cycle": "Ubuntu 22.04", "is_past": false}])"));

  auto t = Templates::load(test::source_dir() + "/templates", "");
  REQUIRE(t);
  json full = mail_context(e, DestinationConfig{});
  full.update(ctx);
  auto mail = t->render_mail("release.published", full);
  REQUIRE(mail);
  CHECK(mail->text.find("Distributions near or past their end of life:\n"
                        "  SLES 15 SP6 (clients): end of life since 2025-12-31\n"
                        "  Ubuntu 22.04 (clients): end of life on 2027-04-01\n") !=
        std::string::npos);
  CHECK(mail->html.find("<li>Ubuntu 22.04 (clients): end of life on 2027-04-01</li>") !=
        std::string::npos);

  SECTION("every distribution supported: no section") {
    e.time = utc(2024, 1, 15);  // before SLES 15 SP6's and Ubuntu 22.04's ends
    CHECK(eol::announcement_context(e, cfg, nullptr).empty());
    json plain = mail_context(e, DestinationConfig{});
    auto m = t->render_mail("release.published", plain);
    REQUIRE(m);
    CHECK(m->text.find("end of life") == std::string::npos);
  }
}
