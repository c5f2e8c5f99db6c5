// The subscription pages over real HTTP: subscribe, the confirmation mail in
// the outbox, a scanner's GET that confirms nothing, confirm, preferences,
// one-click unsubscribe; expired and forged tokens, CSRF, no enumeration,
// rate limits and bad addresses.
#include <catch2/catch.hpp>
#include <regex>
#include <string>

#include "daemon/config.hpp"
#include "daemon/http_server.hpp"
#include "daemon/render.hpp"
#include "daemon/store.hpp"
#include "daemon/subscriptions/token.hpp"
#include "daemon/subscriptions/web.hpp"
#include "tests/support/curl_client.hpp"
#include "tests/support/mail_text.hpp"
#include "tests/support/temp_dir.hpp"

using namespace herald;
using herald::test::curl_request;
using herald::test::TempDir;

namespace {

const char* k_config = R"(
[[source]]
name = "releases"
kind = "feed"
url = "http://127.0.0.1:9/feed"

[http]
listen = "127.0.0.1:0"

[web]
base_url = "https://announce.example.org/"
from = "Lustre announcements <announce@example.org>"

[[topic]]
name = "releases"
title = "Lustre releases"
kinds = ["release.published"]

[[topic]]
name = "eol"
title = "End of life notices"
kinds = ["eol.upcoming", "eol.reached"]
)";

struct Site {
  TempDir dir;
  Config cfg;
  std::unique_ptr<Store> store;
  std::unique_ptr<Templates> templates;
  FakeClock clock{1'780'000'000};
  HttpServer server{[] {
    HttpServerOptions o;
    o.listen = "127.0.0.1:0";
    return o;
  }()};
  int wakes = 0;

  explicit Site(SubscriptionLimits limits = {}) {
    auto r = parse_config(k_config, dir.file("herald.toml"));
    for (const auto& e : r.errors) FAIL(e.to_string());
    cfg = *r.config;
    store = std::move(*Store::open(dir.file("h.db")));
    templates = std::make_unique<Templates>(*Templates::load(cfg.bundled_templates, ""));
    add_subscription_routes(
        server, cfg, *store, *templates, clock, [this] { ++wakes; }, limits);
    REQUIRE(server.start());
  }

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server.port()) + path;
  }
  test::CurlReply get(const std::string& path) { return curl_request("GET", url(path)); }
  test::CurlReply post(const std::string& path, const std::string& body) {
    return curl_request("POST", url(path), body,
                        {"Content-Type: application/x-www-form-urlencoded"});
  }
  // The CSRF token of the form on a page.
  static std::string csrf_of(const std::string& html) {
    std::smatch m;
    REQUIRE(std::regex_search(html, m, std::regex(R"re(name="csrf" value="([^"]+)")re")));
    return m[1];
  }
  std::vector<OutboxRow> mails() {
    auto rows = store->outbox().outbox_rows("", 100);
    REQUIRE(rows);
    return *rows;
  }
  std::string payload(const OutboxRow& row) {
    auto p = store->outbox().outbox_payload(row.idempotency_key);
    REQUIRE(p);
    REQUIRE(*p);
    return test::readable_mail((*p)->payload);
  }
  std::string link_in(const OutboxRow& row, const std::string& page) {
    std::smatch m;
    const std::string text = payload(row);
    REQUIRE(std::regex_search(
        text, m, std::regex("https://announce\\.example\\.org/" + page + "/([A-Za-z0-9_-]{43})")));
    return m[1];
  }
  std::optional<Subscriber> find(const std::string& address) {
    auto s = store->subscribers().find(address);
    REQUIRE(s);
    return *s;
  }
  test::CurlReply subscribe(
      const std::string& address,
      const std::string& choices = "topic=releases&topic=eol&branches=2.15%2C+2.16&mode=daily") {
    const std::string csrf = csrf_of(get("/subscribe").body);
    return post("/subscribe", "csrf=" + csrf + "&address=" + address + "&" + choices);
  }
};

}  // namespace

TEST_CASE("web: subscribe, a scanner's GET, confirm, preferences, one-click unsubscribe",
          "[subscriptions][web]") {
  Site site;
  auto form = site.get("/subscribe");
  CHECK(form.status == 200);
  CHECK(form.headers.find("text/html") != std::string::npos);
  CHECK(form.headers.find("Cache-Control: no-store") != std::string::npos);
  CHECK(form.body.find("Lustre releases") != std::string::npos);
  CHECK(form.body.find("End of life notices") != std::string::npos);
  CHECK(form.body.find("<script") == std::string::npos);

  auto sent = site.subscribe("ann%40example.org");
  CHECK(sent.status == 200);
  CHECK(sent.body.find("Check your mail") != std::string::npos);
  auto ann = site.find("ann@example.org");
  REQUIRE(ann);
  CHECK(ann->state == "pending");
  CHECK(ann->topics == std::vector<std::string>{"releases", "eol"});
  CHECK(ann->branches == std::vector<std::string>{"2.15", "2.16"});
  CHECK(ann->mode == "daily");
  CHECK(ann->subscribed_at == site.clock.now());
  CHECK(ann->subscribed_client == "127.0.0.1");
  CHECK(site.wakes == 1);

  auto mails = site.mails();
  REQUIRE(mails.size() == 1);
  CHECK(mails[0].destination == "subscribers");
  CHECK(mails[0].recipient == "ann@example.org");
  const std::string confirmation = site.payload(mails[0]);
  CHECK(confirmation.find("From: Lustre announcements <announce@example.org>") !=
        std::string::npos);
  CHECK(confirmation.find("To: ann@example.org") != std::string::npos);
  // A confirmation has no one-click header: there is nothing to unsubscribe from.
  CHECK(confirmation.find("List-Unsubscribe") == std::string::npos);
  const std::string token = site.link_in(mails[0], "confirm");
  CHECK(confirmation.find("ann@example.org") != std::string::npos);

  // A link scanner follows the link: a page, no confirmation.
  auto page = site.get("/confirm/" + token);
  CHECK(page.status == 200);
  CHECK(page.body.find("<form method=\"post\"") != std::string::npos);
  CHECK(site.find("ann@example.org")->state == "pending");
  // A POST without the page's form token confirms no one either.
  CHECK(site.post("/confirm/" + token, "").status == 403);
  CHECK(site.find("ann@example.org")->state == "pending");

  site.clock.advance(60);
  auto done = site.post("/confirm/" + token, "csrf=" + Site::csrf_of(page.body));
  CHECK(done.status == 200);
  ann = site.find("ann@example.org");
  CHECK(ann->state == "confirmed");
  CHECK(ann->confirmed_at == site.clock.now());
  CHECK(ann->confirmed_client == "127.0.0.1");
  // The confirmation link is spent.
  CHECK(site.get("/confirm/" + token).status == 404);

  std::smatch m;
  REQUIRE(std::regex_search(done.body, m,
                            std::regex(R"re(href="../preferences/([A-Za-z0-9_-]{43})")re")));
  const std::string manage = m[1];
  auto prefs = site.get("/preferences/" + manage);
  CHECK(prefs.status == 200);
  CHECK(prefs.body.find("value=\"releases\" checked") != std::string::npos);
  CHECK(prefs.body.find("value=\"daily\" checked") != std::string::npos);
  CHECK(prefs.body.find("2.15, 2.16") != std::string::npos);
  auto saved = site.post("/preferences/" + manage, "csrf=" + Site::csrf_of(prefs.body) +
                                                       "&topic=eol&branches=all&mode=weekly");
  CHECK(saved.status == 200);
  ann = site.find("ann@example.org");
  CHECK(ann->topics == std::vector<std::string>{"eol"});
  CHECK(ann->branches.empty());
  CHECK(ann->mode == "weekly");
  CHECK(ann->state == "confirmed");

  auto unsub_page = site.get("/unsubscribe/" + manage);
  CHECK(unsub_page.status == 200);
  CHECK(site.find("ann@example.org")->state == "confirmed");
  // What a mail client sends (RFC 8058): no cookie, no form token.
  auto unsub = site.post("/unsubscribe/" + manage, "List-Unsubscribe=One-Click");
  CHECK(unsub.status == 200);
  CHECK(unsub.body.find("unsubscribed") != std::string::npos);
  CHECK(site.find("ann@example.org")->state == "unsubscribed");
  // Saving preferences again subscribes again (the link proves the mailbox).
  prefs = site.get("/preferences/" + manage);
  CHECK(prefs.body.find("You are unsubscribed") != std::string::npos);
  CHECK(site.post("/preferences/" + manage, "csrf=" + Site::csrf_of(prefs.body) + "&topic=releases")
            .status == 200);
  CHECK(site.find("ann@example.org")->state == "confirmed");
}

TEST_CASE("web: expired, forged and malformed tokens are refused alike", "[subscriptions][web]") {
  Site site;
  REQUIRE(site.subscribe("bob%40example.org").status == 200);
  const std::string token = site.link_in(site.mails().at(0), "confirm");
  const std::string forged = new_subscriber_token();
  for (const std::string& t : {forged, std::string("short"), token.substr(0, 42) + "!"}) {
    INFO(t);
    for (const char* page : {"/confirm/", "/preferences/", "/unsubscribe/"}) {
      CHECK(site.get(page + t).status == 404);
      CHECK(site.post(page + t, "List-Unsubscribe=One-Click").status == 404);
    }
  }
  // The confirmation token is no manage token.
  CHECK(site.get("/preferences/" + token).status == 404);
  CHECK(site.post("/unsubscribe/" + token, "List-Unsubscribe=One-Click").status == 404);
  site.clock.advance(3 * 86'400);  // the confirmation lasts three days
  CHECK(site.get("/confirm/" + token).status == 404);
  CHECK(site.find("bob@example.org")->state == "pending");
}

TEST_CASE("web: the subscribe form answers the same whether or not the address is known",
          "[subscriptions][web]") {
  Site site;
  Subscriber known;
  known.address = "known@example.org";
  known.state = "confirmed";
  known.topics = {"releases"};
  known.subscribed_at = 100;
  REQUIRE(site.store->subscribers().add(known));

  auto a = site.subscribe("known%40example.org");
  auto b = site.subscribe("unknown%40example.org");
  CHECK(a.status == b.status);
  auto strip = [](std::string s, const std::string& addr) {
    for (auto p = s.find(addr); p != std::string::npos; p = s.find(addr)) s.erase(p, addr.size());
    return s;
  };
  CHECK(strip(a.body, "known@example.org") == strip(b.body, "unknown@example.org"));
  // The known address is not changed, and is told where its preferences are.
  auto k = site.find("known@example.org");
  CHECK(k->state == "confirmed");
  CHECK(k->topics == std::vector<std::string>{"releases"});
  auto mails = site.mails();
  REQUIRE(mails.size() == 2);
  for (const auto& row : mails) {
    INFO(row.recipient);
    if (row.recipient == "known@example.org") {
      const std::string t = site.link_in(row, "preferences");
      CHECK(site.get("/preferences/" + t).status == 200);
      CHECK(site.payload(row).find("/confirm/") == std::string::npos);
    } else {
      CHECK(row.recipient == "unknown@example.org");
      site.link_in(row, "confirm");
    }
  }
}

TEST_CASE("web: CSRF tokens are bound to their page and expire", "[subscriptions][web]") {
  Site site;
  const std::string body = "&address=c%40example.org&topic=releases";
  CHECK(site.post("/subscribe", "csrf=" + body).status == 403);
  CHECK(site.post("/subscribe", body.substr(1)).status == 403);
  auto secret = site.store->subscribers().web_secret();
  REQUIRE(secret);
  const std::string other = csrf_token(*secret, "/preferences/x", site.clock.now());
  CHECK(site.post("/subscribe", "csrf=" + other + body).status == 403);
  const std::string old = csrf_token(*secret, "/subscribe", site.clock.now() - 86'401);
  CHECK(site.post("/subscribe", "csrf=" + old + body).status == 403);
  const std::string fresh = csrf_token(*secret, "/subscribe", site.clock.now());
  CHECK(site.post("/subscribe", "csrf=" + fresh + body).status == 200);
  CHECK_FALSE(site.find("c@example.org") == std::nullopt);
}

TEST_CASE("web: bad addresses and choices get the form back with the reason",
          "[subscriptions][web]") {
  Site site;
  for (const char* bad :
       {"not-an-address", "a%40b", "a%40b.org%2C+c%40d.org", "%3Cx%40y.org%3E", ""}) {
    INFO(bad);
    auto r = site.subscribe(bad);
    CHECK(r.status == 400);
    CHECK(r.body.find("That is not a mail address.") != std::string::npos);
  }
  auto no_topic = site.subscribe("d%40example.org", "branches=2.15");
  CHECK(no_topic.status == 400);
  CHECK(no_topic.body.find("Choose at least one topic.") != std::string::npos);
  CHECK(no_topic.body.find("value=\"d@example.org\"") != std::string::npos);
  auto bad_branch = site.subscribe("d%40example.org", "topic=eol&branches=lustre");
  CHECK(bad_branch.status == 400);
  CHECK(site.find("d@example.org") == std::nullopt);
  CHECK(site.mails().empty());
  // A topic that is not configured is ignored, not stored.
  CHECK(site.subscribe("d%40example.org", "topic=eol&topic=secret-stuff").status == 200);
  CHECK(site.find("d@example.org")->topics == std::vector<std::string>{"eol"});
}

TEST_CASE("web: subscribe attempts are limited per client and per address",
          "[subscriptions][web]") {
  SubscriptionLimits limits;
  limits.per_client = 5;
  limits.per_address = 2;
  Site site(limits);
  for (int i = 0; i < 4; ++i) CHECK(site.subscribe("e%40example.org").status == 200);
  // Two mails to the address, then the same answer and no third mail.
  CHECK(site.mails().size() == 2);
  CHECK(site.subscribe("f%40example.org").status == 200);
  CHECK(site.subscribe("g%40example.org").status == 429);
  CHECK(site.find("g@example.org") == std::nullopt);
  site.clock.advance(3600);
  CHECK(site.subscribe("g%40example.org").status == 200);
  CHECK(site.mails().size() == 4);
}

TEST_CASE("web: forms are parsed as browsers send them", "[subscriptions][web]") {
  auto f = parse_form("a=1&topic=x&topic=y+z&e=%40%zz&&flag&c%3D=%3D");
  REQUIRE(f.size() == 6);
  CHECK(f[0] == std::pair<std::string, std::string>{"a", "1"});
  CHECK(f[2].second == "y z");
  CHECK(f[3].second == "@%zz");
  CHECK(f[4] == std::pair<std::string, std::string>{"flag", ""});
  CHECK(f[5] == std::pair<std::string, std::string>{"c=", "="});
  std::string many;
  for (int i = 0; i < 500; ++i) many += "k=v&";
  CHECK(parse_form(many).size() == 100);
  CHECK(plausible_address("ann@example.org"));
  CHECK_FALSE(plausible_address("ann@localhost"));
  CHECK_FALSE(plausible_address("ann smith@example.org"));
  CHECK_FALSE(plausible_address(std::string(250, 'a') + "@x.org"));
}

TEST_CASE("web: [web] needs [http] listen and a topic, and owns the subscribers name",
          "[subscriptions][web][config]") {
  TempDir dir;
  auto errors = [&](const std::string& text) {
    auto r = parse_config(text, dir.file("h.toml"));
    std::string all;
    for (const auto& e : r.errors) all += e.to_string() + "\n";
    return all;
  };
  const std::string source = "[[source]]\nname = \"f\"\nkind = \"feed\"\nurl = \"http://x/f\"\n";
  auto no_http =
      errors(source + "[web]\nbase_url = \"https://a.example\"\n[[topic]]\nname = \"t\"\n");
  CHECK(no_http.find("h.toml:6: [web] base_url needs [http] listen") != std::string::npos);
  auto no_topic =
      errors(source + "[http]\nlisten = \"8080\"\n[web]\nbase_url = \"https://a.example\"\n");
  CHECK(no_topic.find("h.toml:7: [web] base_url is set but there is no [[topic]]") !=
        std::string::npos);
  auto taken = errors(source +
                      "[[destination]]\nname = \"subscribers\"\nto = [\"a@b.org\"]\n"
                      "[http]\nlisten = \"8080\"\n[web]\nbase_url = \"https://a.example\"\n"
                      "[[topic]]\nname = \"t\"\n");
  CHECK(taken.find("h.toml:6: destination name 'subscribers' is taken") != std::string::npos);
  auto from = errors(source +
                     "[http]\nlisten = \"8080\"\n[web]\nbase_url = \"https://a.example\"\n"
                     "from = \"nobody\"\n[[topic]]\nname = \"t\"\n");
  CHECK(from.find("h.toml:9: 'from' must be a mail address") != std::string::npos);
  auto r = parse_config(source +
                            "[http]\nlisten = \"8080\"\n[web]\nbase_url = \"https://a.example\"\n"
                            "[[topic]]\nname = \"t\"\n",
                        dir.file("h.toml"));
  REQUIRE(r.config);
  const DestinationConfig* sub = r.config->destination("subscribers");
  REQUIRE(sub);
  CHECK(sub->kind == "mail");
  CHECK(sub->to.empty());
}
