// Security notices by mail: the notice model's event (the fixture
// tests/fixtures/notices/OSFS-SA-2026-001-1.json) rendered in the shape of
// Debian's advisories and signed as [openpgp] says, delivered over real SMTP
// (tests/tools/smtp_server.py), taken apart by tests/tools/check_signed_mail.py
// and verified by gpg; personal copies signed once with each footer outside
// the signature; configuration errors with file:line.
#include <catch2/catch.hpp>
#include <clocale>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "adapters/sinks/mail/kind.hpp"
#include "adapters/sinks/mail/openpgp.hpp"
#include "adapters/sinks/mail/transport.hpp"
#include "daemon/config.hpp"
#include "daemon/destination.hpp"
#include "daemon/pipeline.hpp"
#include "daemon/render.hpp"
#include "daemon/store.hpp"
#include "daemon/util.hpp"
#include "tests/support/config_errors.hpp"
#include "tests/support/gnupg.hpp"
#include "tests/support/paths.hpp"
#include "tests/support/servers.hpp"
#include "tests/support/signed_mail.hpp"
#include "tests/support/temp_dir.hpp"

using namespace herald;
using herald::mail::OpenPgpSigner;
using herald::test::keyring;
using herald::test::run;
using herald::test::TempDir;
using herald::test::Verified;
using herald::test::verify;
using herald::test::without_cr;

namespace {

const std::string k_title = "lustre: MDS reads past the lock range of a DoM layout";

Event notice() {
  auto text = herald::read_file(herald::test::fixtures_dir() + "/notices/OSFS-SA-2026-001-1.json");
  REQUIRE(text);
  return event_from_json(nlohmann::json::parse(*text));
}

// The fixture's second revision, withdrawing it.
Event withdrawal() {
  Event e = notice();
  e.key = "notice:OSFS-SA-2026-001-2";
  e.tags["advisory"] = "OSFS-SA-2026-001-2";
  e.attributes["revision"] = 2;
  e.attributes["withdrawn"] = true;
  e.attributes["revision_reason"] = "the flaw needs a patch that no release ever carried.";
  return e;
}

std::string config_text(const std::string& openpgp, const std::string& smtp_url = "") {
  std::string text =
      "[mail]\nfrom = \"Lustre security <security@example.org>\"\n"
      "domain = \"example.org\"\n";
  if (!smtp_url.empty()) text += "smtp_url = \"" + smtp_url + "\"\n";
  text += R"(
[[source]]
name = "notices"
kind = "feed"
url = "http://127.0.0.1:9/feed"

[[destination]]
name = "announce"
kind = "mail"
to = ["lustre-announce@example.org"]
list_id = "Lustre announcements <lustre-announce.example.org>"
)";
  return text + openpgp;
}

std::string openpgp_table(const std::string& form) {
  return "\n[openpgp]\ngnupg_home = \"" + keyring().home() + "\"\nkey = \"" +
         keyring().fingerprint() + "\"\nform = \"" + form + "\"\n";
}

struct Setup {
  Config cfg;
  Templates templates;

  explicit Setup(const std::string& openpgp, const std::string& smtp_url = "")
      : cfg(load(openpgp, smtp_url)), templates(bundled_templates()) {}

  static Config load(const std::string& openpgp, const std::string& smtp_url) {
    auto r = parse_config(config_text(openpgp, smtp_url), "/etc/herald/herald.toml");
    INFO(herald::test::config_errors(r));
    REQUIRE(r.config);
    return *r.config;
  }
  static Templates bundled_templates() {
    auto t = Templates::load(herald::test::source_dir() + "/templates", "");
    REQUIRE(t);
    return std::move(*t);
  }
  const DestinationConfig& dest() const { return *cfg.destination("announce"); }

  Expected<NewDelivery> render(const Event& e) const {
    const nlohmann::json ctx = mail_context(e, dest());
    return render_for(RenderInput{cfg, templates, dest(), e.kind, ctx, &e, delivery_key(dest(), e),
                                  1'796'000'100});
  }
  Expected<std::vector<NewDelivery>> render_personal(
      const Event& e, const std::vector<PersonalRecipient>& rcpts) const {
    nlohmann::json ctx = mail_context(e, dest());
    ctx["topic"] = "Security notices";
    return render_personal_for(RenderInput{cfg, templates, dest(), e.kind, ctx, &e,
                                           delivery_key(dest(), e), 1'796'000'100},
                               rcpts);
  }
};

OutboxItem outbox_item(const NewDelivery& d, int64_t id) {
  OutboxItem item;
  item.id = id;
  item.idempotency_key = d.idempotency_key;
  item.destination = d.destination;
  item.sender = d.sender;
  item.recipients = d.recipients;
  item.payload = d.payload;
  return item;
}

// The messages as the SMTP server stored them, after delivering each.
std::vector<std::string> deliver(const Setup& s, const herald::test::SmtpTestServer& server,
                                 const std::vector<NewDelivery>& deliveries) {
  auto sink = herald::mail::make_sink(s.cfg.mail);
  std::vector<OutboxItem> items;
  for (size_t i = 0; i < deliveries.size(); ++i)
    items.push_back(outbox_item(deliveries[i], static_cast<int64_t>(i + 1)));
  auto results = sink->deliver_batch(items);
  REQUIRE(results.size() == items.size());
  std::vector<std::string> received;
  for (size_t i = 0; i < results.size(); ++i) {
    INFO(results[i].detail);
    REQUIRE(results[i].status == DeliveryResult::Status::delivered);
    char name[32];
    std::snprintf(name, sizeof name, "msg-%04zu-1.eml", i + 1);
    received.push_back(server.stored(name));
  }
  return received;
}

// A header's value, unfolded.
std::string header(const std::string& message, const std::string& name) {
  const std::string at = "\r\n" + name + ": ";
  auto p = message.find(at);
  if (p == std::string::npos) return "";
  p += at.size();
  std::string value;
  for (;;) {
    auto eol = message.find("\r\n", p);
    value += message.substr(p, eol - p);
    if (eol == std::string::npos || (message[eol + 2] != ' ' && message[eol + 2] != '\t')) break;
    p = eol + 2;
  }
  return value;
}

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

// What Debian's advisories have, in the notice's words.
void check_advisory_shape(const std::string& text) {
  INFO(text);
  CHECK(text.starts_with(
      "-------------------------------------------------------------------------\n"
      "Lustre Security Advisory OSFS-SA-2026-001-1\n"
      "https://www.lustre.org/security/OSFS-SA-2026-001/\n"
      "November 30, 2026\n"
      "-------------------------------------------------------------------------\n"));
  CHECK(text.find("\nPackage        : lustre\n") != std::string::npos);
  CHECK(text.find("\nCVE ID         : CVE-2026-1234\n") != std::string::npos);
  CHECK(text.find("\nSeverity       : high\n") != std::string::npos);
  CHECK(text.find("\nFor the 2.15 branch, this problem has been fixed in version 2.15.7.\n") !=
        std::string::npos);
  CHECK(text.find("\nFor the 2.16 branch, this problem has been fixed in version 2.16.1.\n") !=
        std::string::npos);
  CHECK(count(text, " branch, this problem has been fixed in version ") == 2);  // one per branch
  CHECK(text.find("\n  2.15.0 - 2.15.6\n  2.16.0\n") != std::string::npos);
  CHECK(text.find("\n  LU-17000: LU-17000 mdt: check DoM extent against the lock range\n"
                  "  https://review.whamcloud.com/c/fs/lustre-release/+/55555\n") !=
        std::string::npos);
  CHECK(text.find("\nCredits:\n  Jane Doe (Example Lab)\n") != std::string::npos);
  // The details as written: UTF-8, lines starting with "From ", "-" and ".",
  // and the 2,000-character line as one line.
  auto details = notice().attributes["details"].get<std::string>();
  CHECK(text.find(details + "\n") != std::string::npos);
  CHECK(text.find("Universität Zürich (Jürgen Müller); ≥ 2 MDTs") != std::string::npos);
  CHECK(text.find("\nFrom the MDS log") != std::string::npos);
  CHECK(text.find("\n- clients on 2.15.0") != std::string::npos);
  // A first revision names no revision, no withdrawal.
  CHECK(text.find("This is revision") == std::string::npos);
  CHECK(text.find("WITHDRAWN") == std::string::npos);
}

}  // namespace

TEST_CASE("security notice: the subject and fields follow Debian's advisories",
          "[openpgp][security_notice]") {
  Setup s("");
  auto d = s.render(notice());
  INFO((d ? "" : d.error().message));
  REQUIRE(d);
  CHECK(d->subject == "[SECURITY] [OSFS-SA-2026-001-1] " + k_title);
  CHECK(d->payload.find("BEGIN PGP") == std::string::npos);  // no [openpgp]: not signed

  SECTION("a withdrawal says so in its subject and gives no fixed versions") {
    auto w = s.render(withdrawal());
    REQUIRE(w);
    CHECK(w->subject == "[SECURITY] [OSFS-SA-2026-001-2] WITHDRAWN: " + k_title);
    RenderedMail m =
        *s.templates.render_mail("security.notice", mail_context(withdrawal(), s.dest()));
    INFO(m.text);
    CHECK(m.text.find("Lustre Security Advisory OSFS-SA-2026-001-2\n") != std::string::npos);
    CHECK(m.text.find("This advisory is WITHDRAWN: the flaw needs a patch") != std::string::npos);
    CHECK(m.text.find("For the 2.15 branch") == std::string::npos);
    CHECK(m.html.empty());  // text only: signed mail has no HTML part
  }
  SECTION("a revision names itself and its reason") {
    Event e = notice();
    e.attributes["revision"] = 2;
    e.attributes["revision_reason"] = "the 2.16 fix was incomplete; 2.16.1 carries the rest.";
    auto m = s.templates.render_mail("security.notice", mail_context(e, s.dest()));
    REQUIRE(m);
    CHECK(m->subject == "[SECURITY] [OSFS-SA-2026-001-2] " + k_title);
    CHECK(m->text.find("\nThis is revision 2 of OSFS-SA-2026-001: the 2.16 fix was incomplete") !=
          std::string::npos);
  }
  SECTION("the date line is in English whatever the locale, the day in two digits, in UTC") {
    Event e = notice();
    e.time = 1'796'342'340;  // 2026-12-03T23:59:00Z
    const char* was = std::setlocale(LC_TIME, nullptr);
    const std::string saved = was ? was : "C";
    std::setlocale(LC_TIME, "");  // whatever the environment says, as the daemon would
    auto m = s.templates.render_mail("security.notice", mail_context(e, s.dest()));
    std::setlocale(LC_TIME, saved.c_str());
    REQUIRE(m);
    CHECK(m->text.find("\nDecember 03, 2026\n----") != std::string::npos);
  }
  SECTION("chat channels get the id, severity, title and link, escaped as the channel needs") {
    Event e = notice();
    e.title = "lustre: <b>&</b> layouts";
    const auto ctx = mail_context(e, s.dest());
    auto slack = s.templates.render("slack", "security.notice", "text", ctx);
    auto slack_title = s.templates.render("slack", "security.notice", "title", ctx);
    auto matrix = s.templates.render("matrix", "security.notice", "html", ctx);
    auto mattermost = s.templates.render("mattermost", "security.notice", "text", ctx);
    REQUIRE((slack && slack_title && matrix && mattermost));
    CHECK(*slack_title == "[SECURITY] OSFS-SA-2026-001-1: lustre: <b>&</b> layouts");
    CHECK(slack->find("*Severity:* high") != std::string::npos);
    CHECK(slack->find("<https://www.lustre.org/security/OSFS-SA-2026-001/|Advisory>") !=
          std::string::npos);
    CHECK(matrix->find("lustre: &lt;b&gt;&amp;&lt;/b&gt; layouts") != std::string::npos);
    CHECK(mattermost->find("[Advisory](https://www.lustre.org/security/OSFS-SA-2026-001/)") !=
          std::string::npos);
  }
}

TEST_CASE("security notice: signed in both forms, delivered over SMTP, verified by gpg",
          "[openpgp][security_notice]") {
  herald::test::SmtpTestServer server;
  const std::string form = GENERATE(as<std::string>{}, "inline", "pgp-mime");
  INFO("form = " << form);
  Setup s(openpgp_table(form), server.url());
  auto d = s.render(notice());
  INFO((d ? "" : d.error().message));
  REQUIRE(d);
  CHECK(d->subject == "[SECURITY] [OSFS-SA-2026-001-1] " + k_title);
  auto received = deliver(s, server, {*d});
  // Byte for byte what was signed and handed over: SMTP's dot-stuffing undone.
  REQUIRE(received[0] == d->payload);
  CHECK(header(received[0], "Subject") == "[SECURITY] [OSFS-SA-2026-001-1] " + k_title);
  CHECK(header(received[0], "List-Id") == "Lustre announcements <lustre-announce.example.org>");

  auto v = verify(received[0]);
  INFO(v.json << v.gpg);
  CHECK(v.good);
  CHECK(v.unsigned_text.empty());
  CHECK(v.json.find(form == "inline" ? "\"form\": \"inline\"" : "\"form\": \"pgp_mime\"") !=
        std::string::npos);
  check_advisory_shape(v.text);

  SECTION("the Maildir keeps the bytes as signed") {
    TempDir maildir;
    auto sink = herald::mail::make_maildir_sink(maildir.path());
    auto results = sink->deliver_batch({outbox_item(*d, 1)});
    REQUIRE(results.size() == 1);
    REQUIRE(results[0].status == DeliveryResult::Status::delivered);
    std::vector<std::string> files;
    for (const auto& f : std::filesystem::directory_iterator(maildir.path() + "/new"))
      files.push_back(f.path().string());
    REQUIRE(files.size() == 1);
    CHECK(herald::read_file(files[0]).value_or("") == d->payload);
    CHECK(verify(d->payload).good);
  }
  SECTION("a tampered copy fails verification") {
    std::string tampered = received[0];
    auto at = tampered.find("Package        : lustre");
    REQUIRE(at != std::string::npos);
    tampered.replace(at, 22, "Package        : lustrE");
    auto t = verify(tampered);
    INFO(t.gpg);
    CHECK_FALSE(t.good);
    CHECK(t.gpg.find("BADSIG") != std::string::npos);
  }
}

TEST_CASE("security notice: personal copies are signed once, each footer outside the signature",
          "[openpgp][security_notice]") {
  herald::test::SmtpTestServer server;
  const std::string form = GENERATE(as<std::string>{}, "inline", "pgp-mime");
  INFO("form = " << form);
  Setup s(openpgp_table(form), server.url());
  // A key of its own on every run (Catch runs the case once per section), so
  // that no signature kept from an earlier run is reused.
  static int runs = 0;
  Event e = notice();
  e.key += "/run-" + std::to_string(++runs);
  const std::vector<PersonalRecipient> rcpts = {
      {"ann@example.org",
       {{"unsubscribe_url", "https://announce.example.org/unsubscribe/TOKEN-ANN"},
        {"preferences_url", "https://announce.example.org/preferences/TOKEN-ANN"}}},
      {"bob@example.org",
       {{"unsubscribe_url", "https://announce.example.org/unsubscribe/TOKEN-BOB"},
        {"preferences_url", "https://announce.example.org/preferences/TOKEN-BOB"}}},
  };
  const uint64_t before = OpenPgpSigner::signatures_made();
  auto copies = s.render_personal(e, rcpts);
  INFO((copies ? "" : copies.error().message));
  REQUIRE(copies);
  REQUIRE(copies->size() == 2);
  CHECK(OpenPgpSigner::signatures_made() - before == 1);

  SECTION("a second batch of the same fan-out reuses the signature") {
    auto again = s.render_personal(e, {rcpts[1]});
    REQUIRE(again);
    CHECK(OpenPgpSigner::signatures_made() - before == 1);
    CHECK(again->at(0).payload == copies->at(1).payload);
  }

  SECTION("a recipient without links gets the signed body with no footer") {
    auto bare = s.render_personal(e, {{"cy@example.org", {}}});
    REQUIRE(bare);
    REQUIRE(bare->size() == 1);
    CHECK(OpenPgpSigner::signatures_made() - before == 1);
    auto v = verify(bare->at(0).payload);
    INFO(v.json << v.gpg);
    CHECK(v.good);
    CHECK(v.json.find("\"footer\": false") != std::string::npos);
    CHECK(v.unsigned_text.empty());
  }

  auto received = deliver(s, server, *copies);
  std::vector<Verified> verified;
  for (size_t i = 0; i < received.size(); ++i) {
    const std::string own = i == 0 ? "TOKEN-ANN" : "TOKEN-BOB";
    const std::string other = i == 0 ? "TOKEN-BOB" : "TOKEN-ANN";
    INFO("copy " << i);
    REQUIRE(received[i] == copies->at(i).payload);
    CHECK(header(received[i], "To") == rcpts[i].address);
    CHECK(header(received[i], "List-Unsubscribe") ==
          "<https://announce.example.org/unsubscribe/" + own + ">");
    CHECK(header(received[i], "List-Unsubscribe-Post") == "List-Unsubscribe=One-Click");
    CHECK(received[i].find(other) == std::string::npos);
    auto v = verify(received[i]);
    INFO(v.json << v.gpg);
    CHECK(v.good);
    CHECK(v.json.find("\"footer\": true") != std::string::npos);
    // The links are outside what is signed, and only the copy's own.
    CHECK(v.text.find("TOKEN-") == std::string::npos);
    CHECK(v.unsigned_text.find("Unsubscribe: https://announce.example.org/unsubscribe/" + own) !=
          std::string::npos);
    CHECK(v.unsigned_text.find("Your preferences: https://announce.example.org/preferences/" +
                               own) != std::string::npos);
    CHECK(v.unsigned_text.find("You receive this because you subscribed to Security notices.") !=
          std::string::npos);
    CHECK(v.text.find("\nCVE ID         : CVE-2026-1234\n") != std::string::npos);
    verified.push_back(std::move(v));
  }
  REQUIRE(verified.size() == 2);
  CHECK_FALSE(verified[0].signature.empty());
  CHECK(verified[0].signature == verified[1].signature);
  CHECK(verified[0].text == verified[1].text);
}

TEST_CASE("security notice: kinds not in [openpgp] kinds are sent unsigned", "[openpgp]") {
  Setup s(openpgp_table("inline"));
  Event e;
  e.key = "release:lustre:2.15.7";
  e.kind = "release.published";
  e.source = "notices";
  e.title = "Lustre 2.15.7 released";
  e.attributes = {{"version", "2.15.7"}, {"branch", "2.15"}};
  const uint64_t before = OpenPgpSigner::signatures_made();
  auto d = s.render(e);
  INFO((d ? "" : d.error().message));
  REQUIRE(d);
  CHECK(OpenPgpSigner::signatures_made() == before);
  CHECK(d->payload.find("multipart/signed") == std::string::npos);
  CHECK(d->payload.find("PGP") == std::string::npos);
  CHECK(d->payload.find("Content-Type: multipart/alternative") != std::string::npos);

  SECTION("and a kind added to kinds is signed") {
    s.cfg.openpgp.kinds = {"release.published"};
    auto signed_release = s.render(e);
    REQUIRE(signed_release);
    CHECK(OpenPgpSigner::signatures_made() == before + 1);
    CHECK(signed_release->payload.find("multipart/alternative") == std::string::npos);
    CHECK(verify(signed_release->payload).good);
  }
}

TEST_CASE("security notice: a key that cannot sign is a render error saying why",
          "[openpgp][security_notice]") {
  Setup s(openpgp_table("pgp-mime"));
  s.cfg.openpgp.key = "nobody@example.org";
  auto d = s.render(notice());
  REQUIRE_FALSE(d);
  CHECK(d.error().message ==
        "cannot sign the mail to announce: OpenPGP: no secret key for \"nobody@example.org\" in " +
            keyring().home());
  auto personal = s.render_personal(notice(), {{"ann@example.org", {{"unsubscribe_url", "u"}}}});
  REQUIRE_FALSE(personal);
  CHECK(personal.error().message.find("cannot sign the mail to announce") != std::string::npos);
}

TEST_CASE("security notice: [openpgp] errors cite file:line", "[openpgp][config]") {
  const std::string file = "/etc/herald/herald.toml";
  // config_text ends on line 14; [openpgp] is on line 16, its keys from 17.
  auto errors_of = [&](const std::string& table) {
    return herald::test::config_errors(parse_config(config_text(table), file));
  };
  const std::string home = keyring().home(), fpr = keyring().fingerprint();

  CHECK(errors_of("\n[openpgp]\ngnupg_home = \"" + home + "\"\nkey = \"" + fpr +
                  "\"\nform = \"smime\"\n") ==
        file + ":19: 'form' must be one of inline, pgp-mime, not 'smime'\n");
  CHECK(errors_of("\n[openpgp]\ngnupg_home = \"" + home + "\"\n") ==
        file + ":16: [openpgp] needs 'key', the signing key's fingerprint or a user id\n");
  CHECK(errors_of("\n[openpgp]\ngnupg_home = \"" + home + "/missing\"\nkey = \"" + fpr + "\"\n") ==
        file + ":17: [openpgp] gnupg_home '" + home + "/missing' is not a directory\n");
  CHECK(errors_of("\n[openpgp]\nkey = \"" + fpr + "\"\n") ==
        file + ":16: [openpgp] needs 'gnupg_home', the GnuPG home directory holding the key\n");
  CHECK(errors_of("\n[openpgp]\ngnupg_home = \"" + home + "\"\nkey = \"" + fpr +
                  "\"\nsign = true\n") == file + ":19: unknown key 'sign' in [openpgp]\n");
  // Looked up in the GnuPG home at load, so check-config and the start say so.
  CHECK(errors_of("\n[openpgp]\ngnupg_home = \"" + home + "\"\nkey = \"nobody@example.org\"\n") ==
        file + ":18: [openpgp] key cannot be used: OpenPGP: no secret key for " +
            "\"nobody@example.org\" in " + home + "\n");
  CHECK(errors_of(openpgp_table("pgp-mime")).empty());

  auto r = parse_config(config_text(openpgp_table("inline")), file);
  REQUIRE(r.config);
  CHECK(r.config->openpgp.enabled);
  CHECK(r.config->openpgp.kinds == std::vector<std::string>{"security.notice", "patch.supported"});
  auto absent = parse_config(config_text(""), file);
  REQUIRE(absent.config);
  CHECK_FALSE(absent.config->openpgp.enabled);
}

namespace {

const char* k_pipeline_config = R"(
[herald]
database = "h.db"
[mail]
from = "Lustre security <security@example.org>"
[[source]]
name = "notices"
kind = "feed"
url = "http://127.0.0.1:9/feed"
[http]
listen = "127.0.0.1:0"
[web]
base_url = "https://announce.example.org"
[[topic]]
name = "security"
title = "Lustre security notices"
kinds = ["security.notice"]
[[route]]
kinds = ["security.notice"]
to = ["topic:security"]
)";

// The pipeline of a configuration with a security topic and two confirmed
// subscribers, the notice stored and not yet routed.
struct Published {
  TempDir dir;
  FakeClock clock{1'796'000'100};
  std::unique_ptr<Store> store;
  std::optional<Config> cfg;

  explicit Published(const std::string& form) {
    dir.write("h.toml", std::string(k_pipeline_config) + openpgp_table(form));
    auto r = load_config(dir.file("h.toml"));
    INFO(herald::test::config_errors(r));
    REQUIRE(r.config);
    cfg = *r.config;
    store = std::move(*Store::open(cfg->database));
    for (const char* address : {"ann@example.org", "bob@example.org"}) {
      Subscriber s;
      s.address = address;
      s.state = "confirmed";
      s.topics = {"security"};
      s.mode = "immediate";
      s.subscribed_at = 1000;
      REQUIRE(store->subscribers().add(s));
    }
    REQUIRE(store->events().insert_events({notice()}, clock.now()));
  }

  RunReport route() {
    auto templates = Templates::load(cfg->bundled_templates, "");
    REQUIRE(templates);
    Pipeline pipeline(*cfg, std::move(*templates), *store, clock,
                      [](const std::string&) { return nullptr; });
    RunReport r;
    pipeline.route_pending(r);
    return r;
  }

  // recipient -> the payload stored in the outbox.
  std::map<std::string, std::string> outbox() {
    auto rows = store->outbox().outbox_rows("", 100);
    REQUIRE(rows);
    std::map<std::string, std::string> out;
    for (const auto& row : *rows) {
      auto p = store->outbox().outbox_payload(row.idempotency_key);
      REQUIRE(p);
      REQUIRE(*p);
      out[row.recipient] = (*p)->payload;
    }
    return out;
  }
};

}  // namespace

TEST_CASE("security notice: routed to a topic's subscribers, each outbox copy verifies",
          "[openpgp][security_notice][pipeline]") {
  const std::string form = GENERATE(as<std::string>{}, "inline", "pgp-mime");
  INFO("form = " << form);
  Published p(form);
  const uint64_t before = OpenPgpSigner::signatures_made();
  auto report = p.route();
  CHECK(report.render_failures == 0);
  auto mails = p.outbox();
  REQUIRE(mails.size() == 2);
  CHECK(OpenPgpSigner::signatures_made() - before == 1);
  for (const auto& [address, payload] : mails) {
    INFO(address);
    CHECK(header(payload, "Subject") == "[SECURITY] [OSFS-SA-2026-001-1] " + k_title);
    auto v = verify(payload);
    INFO(v.json << v.gpg);
    CHECK(v.good);
    CHECK(v.text.find("/unsubscribe/") == std::string::npos);
    CHECK(v.unsigned_text.find("you subscribed to Lustre security notices.") != std::string::npos);
    // The footer's link is the one of List-Unsubscribe.
    auto list_unsubscribe = header(payload, "List-Unsubscribe");
    REQUIRE(list_unsubscribe.size() > 2);
    CHECK(v.unsigned_text.find("Unsubscribe: " +
                               list_unsubscribe.substr(1, list_unsubscribe.size() - 2)) !=
          std::string::npos);
  }
}

TEST_CASE("security notice: when signing fails no outbox row is made and the run counts it",
          "[openpgp][security_notice][pipeline]") {
  Published p("inline");
  p.cfg->openpgp.key = "nobody@example.org";  // as if the key was removed after the start
  auto report = p.route();
  CHECK(report.render_failures == 1);
  CHECK(p.outbox().empty());
}
