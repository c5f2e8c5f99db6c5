#include <catch2/catch.hpp>
#include <filesystem>
#include <set>
#include <string>

#include "adapters/sources/feed/feed_parser.hpp"
#include "daemon/util.hpp"
#include "tests/support/paths.hpp"

using herald::ErrorKind;
using herald::feed::Feed;
using herald::feed::parse_date;
using herald::feed::parse_feed;
using herald::feed::resolve_url;

namespace {

// The public feeds (tests/fixtures/README.md); herald's own beside them.
const std::string k_public_feeds = herald::test::fixtures_dir() + "/feeds/public/";
const std::string k_own_feeds = herald::test::fixtures_dir() + "/feeds/";

std::string load(const std::string& path) {
  auto text = herald::read_file(path);
  INFO(path);
  REQUIRE(text);
  return *text;
}

Feed parse_ok(std::string_view doc, std::string_view base = "") {
  auto feed = parse_feed(doc, base);
  INFO((feed ? std::string() : feed.error().message));
  REQUIRE(feed);
  return std::move(feed).value();
}

bool is_one_line(const std::string& s) {
  return s.find_first_of(std::string("\r\n\0", 3)) == s.npos;
}

void replace_once(std::string& s, std::string_view from, std::string_view to) {
  const size_t pos = s.find(from);
  REQUIRE(pos != std::string::npos);
  s.replace(pos, from.size(), to);
}

// Every public feed of tests/fixtures/feeds/public with what its first entry must be.
struct FixtureCase {
  std::string file;
  std::string base_url;
  std::string format;
  size_t count;
  std::string key, title, link;
  int64_t updated;
};

const std::vector<FixtureCase> k_fixtures = {
    {"feedrs_atom_example_6.xml", "https://github.com/feed-rs/feed-rs/releases.atom", "atom", 4,
     "tag:github.com,2008:Repository/90976281/v0.2.0", "0.2.0",
     "https://github.com/feed-rs/feed-rs/releases/tag/v0.2.0", 1579410539},
    {"feedrs_atom_relative.xml", "https://example.com/blog/feed.xml", "atom", 1,
     "urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a", "Atom-Powered Robots Run Amok",
     "https://example.com/blog/2003/12/13/atom03", 1071340202},
    {"feedrs_atom_spec_1.xml", "http://example.org/feed.atom", "atom", 1,
     "urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a", "Atom-Powered Robots Run Amok",
     "http://example.org/2003/12/13/atom03", 1071340202},
    {"feedrs_rss_1.0_debian.xml", "https://www.debian.org/News/news.rdf", "rss1", 1,
     "https://www.debian.org/News/2022/20221217", "Updated Debian 11: 11.6 released",
     "https://www.debian.org/News/2022/20221217", 1671235200},
    {"feedrs_rss_2.0_kdist.xml", "https://www.kernel.org/feeds/kdist.xml", "rss2", 1,
     "kernel.org,mainline,5.7-rc4,2020-05-03", "5.7-rc4: mainline", "http://www.kernel.org/",
     1588542975},
    {"feedrs_rss_2.0_relurl_1.xml", "https://insanity.industries/index.xml", "rss2", 2,
     "https://insanity.industries/post/pareto-optimal-compression/", "Pareto-optimal compression",
     "https://insanity.industries/post/pareto-optimal-compression/", 1614724755},
    {"feedrs_rss_2.0_spec_1.xml", "http://www.scripting.com/rss.xml", "rss2", 2,
     "http://scriptingnews.userland.com/backissues/2002/09/29#When:12:59:01PM", "",
     "http://scriptingnews.userland.com/backissues/2002/09/29#When:12:59:01PM", 1033329541},
    {"feedparser/docs_atom10.xml", "http://www.example.org/atom10.xml", "atom", 1,
     "tag:feedparser.org,2005-11-09:/docs/examples/atom10.xml:3", "First entry title",
     "http://example.org/entry/3", 1131537394},
    {"feedparser/docs_base.xml", "http://example.org/docs_base.xml", "atom", 1,
     "tag:example.org,2004-04-20:/archives/000001.html", "First entry title",
     "http://example.org/archives/000001.html", 1082462194},
    {"feedparser/docs_rss20.xml", "http://example.org/rss20.xml", "rss2", 1,
     "http://example.org/guid/1", "First item title", "http://example.org/item/1", 1031184001},
    {"feedparser/wellformed_http_headers_etag.xml", "http://example.org/a.xml", "atom", 0, "", "",
     "", 0},
    {"feedparser/wellformed_http_headers_last_modified-modified_parsed.xml",
     "http://example.org/a.xml", "atom", 0, "", "", "", 0},
    // No guid, link or title: the key is sha256("" + "\n" + "Thu, 01 Jan 2004 19:48:21 GMT").
    {"feedparser/wellformed_rss_item_pubDate.xml", "http://example.org/a.xml", "rss2", 1,
     "sha256:c3138e218cbb8ab42e605c9cde49c589aa4e41aa4075fab89f4acb6020b7b967", "", "", 1072986501},
};

}  // namespace

TEST_CASE("feed_parser: every public feed parses to its expected first entry", "[feed_parser]") {
  for (const auto& want : k_fixtures) {
    INFO(want.file);
    const Feed feed = parse_ok(load(k_public_feeds + want.file), want.base_url);
    CHECK(feed.format == want.format);
    CHECK(feed.warnings.empty());
    REQUIRE(feed.entries.size() == want.count);
    if (want.count == 0) continue;
    const auto& e = feed.entries.front();
    CHECK(e.key == want.key);
    CHECK(e.title == want.title);
    CHECK(e.link == want.link);
    CHECK(e.updated == want.updated);
  }
}

TEST_CASE("feed_parser: the fixture table covers every public feed", "[feed_parser]") {
  std::set<std::string> on_disk, in_table;
  for (const auto& f : std::filesystem::recursive_directory_iterator(k_public_feeds))
    if (f.is_regular_file())
      on_disk.insert(std::filesystem::relative(f.path(), k_public_feeds).generic_string());
  for (const auto& want : k_fixtures) in_table.insert(want.file);
  CHECK(on_disk == in_table);
}

TEST_CASE("feed_parser: GitHub releases Atom feed keeps order, authors and plain summaries",
          "[feed_parser]") {
  const Feed feed = parse_ok(load(k_public_feeds + "feedrs_atom_example_6.xml"));
  CHECK(feed.title == "Release notes from feed-rs");
  CHECK(feed.link == "https://github.com/feed-rs/feed-rs/releases");  // not the rel="self" one
  REQUIRE(feed.entries.size() == 4);
  CHECK(feed.entries[0].author == "markpritchard");
  CHECK(feed.entries[0].summary.starts_with(
      "A range of maintenance work, including: migrate to Rust 2018 edition Align domain model"));
  CHECK(feed.entries[0].summary.find('<') == std::string::npos);
  CHECK(feed.entries[1].title == "0.1.3");
  CHECK(feed.entries[1].updated == 1499428066);  // 2017-07-07T21:47:46+10:00
  CHECK(feed.entries[1].summary == "Update version to 0.1.3");
  CHECK(feed.entries[3].key == "tag:github.com,2008:Repository/90976281/0.1.0");
  CHECK(feed.entries[3].author == "kumabook");
}

TEST_CASE("feed_parser: RSS 1.0 items use dc:date and their link as key", "[feed_parser]") {
  const Feed feed = parse_ok(load(k_public_feeds + "feedrs_rss_1.0_debian.xml"));
  CHECK(feed.format == "rss1");
  CHECK(feed.title == "Debian News");
  CHECK(feed.link == "https://www.debian.org/News/");
  REQUIRE(feed.entries.size() == 1);
  CHECK(feed.entries[0].summary.starts_with(
      "The Debian project is pleased to announce the sixth update of its stable distribution "
      "Debian 11 (codename bullseye). This point release"));
}

TEST_CASE("feed_parser: RSS 2.0 guid permalinks and escaped HTML descriptions", "[feed_parser]") {
  SECTION("kernel.org: a non-permalink guid is the key, not the link") {
    const Feed feed = parse_ok(load(k_public_feeds + "feedrs_rss_2.0_kdist.xml"));
    CHECK(feed.title == "Latest Linux Kernel Versions");
    REQUIRE(feed.entries.size() == 1);
    CHECK(feed.entries[0].summary ==
          "Version: 5.7-rc4 (mainline) Released: 2020-05-03 Source: linux-5.7-rc4.tar.gz Patch: "
          "full (incremental)");
  }
  SECTION("the RSS 2.0 specification sample: untitled items link to their guid") {
    const Feed feed = parse_ok(load(k_public_feeds + "feedrs_rss_2.0_spec_1.xml"));
    REQUIRE(feed.entries.size() == 2);
    CHECK(feed.entries[0].summary == "Joshua Allen: Who loves namespaces?");
    CHECK(feed.entries[1].link ==
          "http://scriptingnews.userland.com/backissues/2002/09/29#When:6:52:02PM");
    CHECK(feed.entries[1].updated == 1033350722);  // Mon, 30 Sep 2002 01:52:02 GMT
  }
  SECTION("feedparser's sample: guid key, separate link, author") {
    const Feed feed = parse_ok(load(k_public_feeds + "feedparser/docs_rss20.xml"));
    REQUIRE(feed.entries.size() == 1);
    CHECK(feed.entries[0].summary == "Watch out for nasty tricks");
    CHECK(feed.entries[0].author == "mark@example.org");
  }
}

TEST_CASE("feed_parser: relative Atom links resolve against the feed URL", "[feed_parser]") {
  const std::string doc = load(k_public_feeds + "feedrs_atom_relative.xml");
  const Feed feed = parse_ok(doc, "https://example.com/blog/feed.xml");
  CHECK(feed.link == "https://example.com/blog/");
  CHECK(feed.entries.at(0).link == "https://example.com/blog/2003/12/13/atom03");

  const Feed mirrored = parse_ok(doc, "http://mirror.example.net/a/b/feed.xml");
  CHECK(mirrored.link == "http://mirror.example.net/blog/");
  CHECK(mirrored.entries.at(0).link == "http://mirror.example.net/blog/2003/12/13/atom03");

  const Feed no_base = parse_ok(doc, "");
  CHECK(no_base.entries.at(0).link == "/blog/2003/12/13/atom03");
}

TEST_CASE("feed_parser: RSS item links resolve against the item's xml:base", "[feed_parser]") {
  std::string doc = load(k_public_feeds + "feedrs_rss_2.0_relurl_1.xml");
  replace_once(doc, "<link>https://insanity.industries/post/pareto-optimal-compression/</link>",
               "<link>./</link>");
  replace_once(doc,
               "<link>https://insanity.industries/post/pacman-tracking-leftover-packages/</link>",
               "<link>../pareto-optimal-compression/#top</link>");
  const Feed feed = parse_ok(doc, "https://elsewhere.example/feed.xml");
  REQUIRE(feed.entries.size() == 2);
  CHECK(feed.entries[0].link == "https://insanity.industries/post/pareto-optimal-compression/");
  CHECK(feed.entries[1].link == "https://insanity.industries/post/pareto-optimal-compression/#top");
  CHECK(feed.entries[1].key ==
        "https://insanity.industries/post/pacman-tracking-leftover-packages/");
  CHECK(feed.entries[1].updated == 1613174400);  // Sat, 13 Feb 2021 00:00:00 +0000
  CHECK(feed.entries[0].summary ==
        "Everyone wants good compression. But what exactly is good compression? Time for a closer "
        "look.");
}

TEST_CASE("feed_parser: nested relative xml:base on feed, entry and link", "[feed_parser]") {
  SECTION("feedparser's Atom 0.3 sample") {
    const Feed feed = parse_ok(load(k_public_feeds + "feedparser/docs_base.xml"), "");
    CHECK(feed.link == "http://example.org/index.html");
    CHECK(feed.entries.at(0).summary == "skip to anchor 2 Some content This is anchor 2");
  }
  SECTION("Atom with relative bases at every level") {
    const std::string doc = R"(<feed xmlns="http://www.w3.org/2005/Atom" xml:base="../news/">
      <link href="./"/>
      <entry xml:base="2025/">
        <id>urn:x:1</id>
        <link xml:base="../archive/" href="r.html?x=1#y"/>
      </entry>
      <entry xml:base="2025/"><id>urn:x:2</id><link href="/abs/p"/></entry>
      <entry xml:base="https://other.example/root/"><id>urn:x:3</id><link href="q/../s"/></entry>
    </feed>)";
    const Feed feed = parse_ok(doc, "https://lustre.example.org/feeds/all.atom");
    CHECK(feed.link == "https://lustre.example.org/news/");
    REQUIRE(feed.entries.size() == 3);
    CHECK(feed.entries[0].link == "https://lustre.example.org/news/archive/r.html?x=1#y");
    CHECK(feed.entries[1].link == "https://lustre.example.org/abs/p");
    CHECK(feed.entries[2].link == "https://other.example/root/s");
  }
  SECTION("RSS with a relative xml:base on the channel") {
    const std::string doc = R"(<rss version="2.0"><channel xml:base="/lustre/">
      <link>index.html</link>
      <item xml:base="releases/"><title>a</title><link>2.16.0.html</link></item>
      <item><title>b</title><guid>notes/b.html</guid></item>
    </channel></rss>)";
    const Feed feed = parse_ok(doc, "https://lustre.example.org/feeds/rss.xml");
    CHECK(feed.link == "https://lustre.example.org/lustre/index.html");
    REQUIRE(feed.entries.size() == 2);
    CHECK(feed.entries[0].link == "https://lustre.example.org/lustre/releases/2.16.0.html");
    CHECK(feed.entries[1].link == "https://lustre.example.org/lustre/notes/b.html");
    CHECK(feed.entries[1].key == "notes/b.html");
  }
}

TEST_CASE("feed_parser: Atom prefers the alternate text/html link", "[feed_parser]") {
  const std::string doc = R"(<feed xmlns="http://www.w3.org/2005/Atom"><entry>
      <id>urn:x</id>
      <link rel="self" type="text/html" href="https://e.example/self"/>
      <link rel="enclosure" href="https://e.example/file.tar.gz"/>
      <link rel="alternate" type="application/pdf" href="https://e.example/notes.pdf"/>
      <link href="https://e.example/no-type"/>
      <link rel="alternate" type="text/html" href="https://e.example/page"/>
      <link rel="alternate" type="text/html" href="https://e.example/second"/>
    </entry><entry><id>urn:y</id>
      <link rel="related" href="https://e.example/related"/>
      <link rel="alternate" type="application/pdf" href="https://e.example/only.pdf"/>
    </entry><entry><id>urn:z</id><link rel="self" href="https://e.example/self"/></entry></feed>)";
  const Feed feed = parse_ok(doc);
  REQUIRE(feed.entries.size() == 3);
  CHECK(feed.entries[0].link == "https://e.example/page");
  CHECK(feed.entries[1].link == "https://e.example/only.pdf");
  CHECK(feed.entries[2].link == "");
}

TEST_CASE("feed_parser: an Atom entry without a link takes its id when that is an http(s) URL",
          "[feed_parser]") {
  const Feed feed = parse_ok(R"(<feed xmlns="http://www.w3.org/2005/Atom">
    <entry><id> https://lustre.example.org/releases/2.15.8 </id><title>a</title></entry>
    <entry><id>HTTP://lustre.example.org/b</id><title>b</title></entry>
    <entry><id>tag:lustre.example.org,2025:c</id><title>c</title></entry>
    <entry><id>https://lustre.example.org/id/d</id><title>d</title>
      <link href="https://lustre.example.org/page/d"/></entry></feed>)");
  REQUIRE(feed.entries.size() == 4);
  CHECK(feed.entries[0].link == "https://lustre.example.org/releases/2.15.8");
  CHECK(feed.entries[0].key == "https://lustre.example.org/releases/2.15.8");
  CHECK(feed.entries[1].link == "HTTP://lustre.example.org/b");
  CHECK(feed.entries[2].link == "");  // a tag: URI is no page
  CHECK(feed.entries[3].link == "https://lustre.example.org/page/d");
}

TEST_CASE("feed_parser: an untitled entry is called by its summary's first words, else its link",
          "[feed_parser]") {
  herald::feed::FeedEntry e;
  e.title = "Lustre 2.15.8";
  e.summary = "ignored";
  CHECK(herald::feed::display_title(e) == "Lustre 2.15.8");
  e.title.clear();
  e.summary = "Fixes for quota accounting on ZFS targets.";
  CHECK(herald::feed::display_title(e) == "Fixes for quota accounting on ZFS targets.");
  e.summary =
      "The Lustre team has published Lustre 2.15.8, a release of the 2.15 long-term support "
      "branch, with fixes for LNet and the client.";
  CHECK(herald::feed::display_title(e) ==
        "The Lustre team has published Lustre 2.15.8, a release of the 2.15\u2026");  // 12 words
  e.summary = std::string(100, 'x');
  CHECK(herald::feed::display_title(e) == std::string(80, 'x') + "\u2026");
  e.summary.clear();
  e.link = "https://lustre.example.org/r/2.15.8";
  CHECK(herald::feed::display_title(e) == "https://lustre.example.org/r/2.15.8");
  e.link.clear();
  CHECK(herald::feed::display_title(e) == "(no title)");
  // An untitled item as in the RSS 2.0 specification's sample, parsed.
  const Feed rss = parse_ok(R"(<rss version="2.0"><channel><item>
    <description>Joshua Allen: &lt;a href="http://example.org/">Who loves namespaces?&lt;/a>
    </description></item></channel></rss>)");
  REQUIRE(rss.entries.size() == 1);
  CHECK(rss.entries[0].title == "");
  CHECK(herald::feed::display_title(rss.entries[0]) == "Joshua Allen: Who loves namespaces?");
}

TEST_CASE("feed_parser: Atom updated is preferred to published", "[feed_parser]") {
  const Feed feed = parse_ok(R"(<feed xmlns="http://www.w3.org/2005/Atom">
    <entry><id>a</id><published>2025-01-01T00:00:00Z</published>
      <updated>2025-12-02T18:19:20Z</updated></entry>
    <entry><id>b</id><published>2025-12-02T13:19:20-05:00</published></entry></feed>)");
  REQUIRE(feed.entries.size() == 2);
  CHECK(feed.entries[0].updated == 1764699560);
  CHECK(feed.entries[1].updated == 1764699560);
}

TEST_CASE("feed_parser: an ISO-8859-1 feed is converted to UTF-8", "[feed_parser]") {
  const Feed feed =
      parse_ok(load(k_own_feeds + "latin1_rss.xml"), "https://lustre.example.fr/feeds/rss.xml");
  CHECK(feed.title == "Actualités Lustre");
  REQUIRE(feed.entries.size() == 2);
  const auto& e = feed.entries[0];
  CHECK(e.title == "Lustre 2.15.7 publiée : sécurité et stabilité");
  CHECK(e.key == "lustre-2.15.7-fr");
  CHECK(e.link == "https://lustre.example.fr/feeds/annonces/2.15.7.html");
  CHECK(e.updated == 1764695960);  // Tue, 02 Dec 2025 18:19:20 +0100
  CHECK(e.summary ==
        "Corrections apportées à la gestion des quotas ; voir « notes » (Zürich, ½ journée).");
  CHECK(feed.entries[1].title == "Réunion à Zürich");
  CHECK(feed.entries[1].updated == 1764576000);  // Mon, 01 Dec 2025 09:00 CET
  CHECK(feed.entries[1].key == "https://lustre.example.fr/feeds/annonces/zurich.html");
}

TEST_CASE("feed_parser: feeds in iso-8859-7, koi8-r and Shift_JIS are converted by iconv",
          "[feed_parser]") {
  SECTION("Greek RSS in iso-8859-7") {
    const Feed feed = parse_ok(load(k_own_feeds + "iso-8859-7_rss.xml"));
    CHECK(feed.title == "Νέα του Lustre");
    REQUIRE(feed.entries.size() == 1);
    CHECK(feed.entries[0].title == "Κυκλοφόρησε το Lustre 2.15.7: διορθώσεις ασφαλείας");
    CHECK(feed.entries[0].summary ==
          "Διορθώσεις στη διαχείριση των ορίων χώρου, δείτε τις σημειώσεις έκδοσης.");
    CHECK(feed.entries[0].updated == 1764692360);  // Tue, 02 Dec 2025 18:19:20 +0200
  }
  SECTION("Russian Atom in koi8-r") {
    const Feed feed = parse_ok(load(k_own_feeds + "koi8-r_atom.xml"));
    CHECK(feed.title == "Новости Lustre");
    REQUIRE(feed.entries.size() == 1);
    CHECK(feed.entries[0].title == "Вышел Lustre 2.15.7: исправления безопасности");
    CHECK(feed.entries[0].summary ==
          "Исправлена работа квот; подробности в примечаниях к выпуску.");
    CHECK(feed.entries[0].link == "https://lustre.example.ru/novosti/2.15.7");
  }
  SECTION("Japanese RSS in Shift_JIS") {
    const Feed feed = parse_ok(load(k_own_feeds + "shift_jis_rss.xml"));
    CHECK(feed.title == "Lustre ニュース");
    REQUIRE(feed.entries.size() == 1);
    CHECK(feed.entries[0].title == "Lustre 2.15.7 をリリースしました：セキュリティ修正");
    CHECK(feed.entries[0].summary ==
          "クォータ管理の不具合を修正しました。詳しくはリリースノートをご覧ください。");
  }
  SECTION("bytes the charset does not define become U+FFFD") {
    // 0xAE is unassigned in iso-8859-7; a lone Shift_JIS lead byte ends the title.
    CHECK(parse_ok("<?xml version='1.0' encoding='iso-8859-7'?><rss><channel><title>\xE1\xAE"
                   "\xE2</title></channel></rss>")
              .title == "α\xEF\xBF\xBDβ");
    CHECK(parse_ok("<?xml version='1.0' encoding='Shift_JIS'?><rss><channel><title>\x83\x4E"
                   "\x83</title></channel></rss>")
              .title == "ク\xEF\xBF\xBD");
  }
  SECTION("a parse error names the byte of the original document") {
    // "<title>" then two Shift_JIS characters (4 bytes, 6 in UTF-8) then a bad tag.
    const std::string doc =
        "<?xml version='1.0' encoding='Shift_JIS'?><rss><channel><title>\x83\x4E\x83\x49<"
        "</title>";
    auto feed = parse_feed(doc, "");
    REQUIRE_FALSE(feed);
    REQUIRE(doc.find("<</") + 1 == 68);
    CHECK(feed.error().message == "malformed XML: Could not determine tag type at byte 68");
  }
}

TEST_CASE("feed_parser: windows-1252, US-ASCII, UTF-16 and BOMs", "[feed_parser]") {
  SECTION("windows-1252 curly quotes, dashes and the euro sign") {
    const Feed feed = parse_ok(load(k_own_feeds + "windows1252_atom.xml"));
    CHECK(feed.title == "Lustre “community” news");
    REQUIRE(feed.entries.size() == 1);
    CHECK(feed.entries[0].title == "Lustre 2.16 – “LTS” candidate, €0 licence");
    CHECK(feed.entries[0].summary == "It’s here… café");
  }
  SECTION("US-ASCII") {
    const Feed feed = parse_ok(
        "<?xml version='1.0' "
        "encoding='us-ascii'?><rss><channel><title>Plain</title></channel></rss>");
    CHECK(feed.title == "Plain");
  }
  const std::string text =
      "<?xml version=\"1.0\" encoding=\"UTF-16\"?><rss><channel><title>Caf\xC3\xA9</title>"
      "</channel></rss>";
  auto utf16 = [&](bool little_endian, bool bom) {
    std::string out = bom ? (little_endian ? "\xFF\xFE" : "\xFE\xFF") : "";
    for (size_t i = 0; i < text.size(); ++i) {
      unsigned cp = static_cast<unsigned char>(text[i]);
      if (cp == 0xC3) cp = 0xC0 | (static_cast<unsigned char>(text[++i]) & 0x3F);
      const char hi = static_cast<char>(cp >> 8), lo = static_cast<char>(cp & 0xFF);
      out += little_endian ? lo : hi;
      out += little_endian ? hi : lo;
    }
    return out;
  };
  SECTION("UTF-16LE with a BOM") { CHECK(parse_ok(utf16(true, true)).title == "Café"); }
  SECTION("UTF-16BE with a BOM") { CHECK(parse_ok(utf16(false, true)).title == "Café"); }
  SECTION("UTF-16LE without a BOM") { CHECK(parse_ok(utf16(true, false)).title == "Café"); }
  SECTION("UTF-8 with a BOM") {
    CHECK(parse_ok("\xEF\xBB\xBF<rss><channel><title>Caf\xC3\xA9</title></channel></rss>").title ==
          "Café");
  }
  SECTION("invalid UTF-8 becomes U+FFFD") {
    CHECK(parse_ok("<rss><channel><title>a\xFF"
                   "b\xC3</title></channel></rss>")
              .title ==
          "a\xEF\xBF\xBD"
          "b\xEF\xBF\xBD");
  }
  SECTION("a charset iconv does not know is refused by its name") {
    auto feed = parse_feed("<?xml version='1.0' encoding='x-klingon-piqad'?><rss/>", "");
    REQUIRE_FALSE(feed);
    CHECK(feed.error().kind == ErrorKind::bad_input);
    CHECK(feed.error().message == "unsupported encoding 'x-klingon-piqad'");
    // iconv's own syntax is not passed through.
    CHECK(parse_feed("<?xml version='1.0' encoding='KOI8-R//IGNORE'?><rss/>", "").error().message ==
          "unsupported encoding 'KOI8-R//IGNORE'");
  }
}

TEST_CASE("feed_parser: malformed XML is bad input with pugixml's reason and byte offset",
          "[feed_parser]") {
  SECTION("mismatched end tag: the offset points into </channel>") {
    const std::string doc = "<rss version=\"2.0\"><channel><item><title>x</title></channel></rss>";
    auto feed = parse_feed(doc, "");
    REQUIRE_FALSE(feed);
    CHECK(feed.error().kind == ErrorKind::bad_input);
    CHECK(feed.error().message.find("Start-end tags mismatch") != std::string::npos);
    const size_t end_tag = doc.find("</channel>");
    CHECK(feed.error().message.find("at byte " + std::to_string(end_tag + 2)) != std::string::npos);
  }
  SECTION("the offset counts the document's own bytes, not the UTF-8 conversion") {
    const std::string doc =
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n"
        "<rss><channel><title>\xE9\xE9\xE9</title><item></channel></rss>";
    auto feed = parse_feed(doc, "");
    REQUIRE_FALSE(feed);
    const size_t end_tag = doc.find("</channel>");
    CHECK(feed.error().message.find("at byte " + std::to_string(end_tag + 2)) != std::string::npos);
  }
  SECTION("truncated, empty and non-XML documents") {
    for (std::string_view doc :
         {"", "   ", "not xml at all", "<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry>",
          "<rss><channel><title>&bogus</title></channel></rss"}) {
      INFO(doc);
      auto feed = parse_feed(doc, "");
      REQUIRE_FALSE(feed);
      CHECK(feed.error().kind == ErrorKind::bad_input);
      CHECK(feed.error().message.find("malformed XML") != std::string::npos);
    }
  }
  SECTION("an unknown root element is named") {
    auto feed = parse_feed("<html><body>not a feed</body></html>", "");
    REQUIRE_FALSE(feed);
    CHECK(feed.error().kind == ErrorKind::bad_input);
    CHECK(feed.error().message.find("'html'") != std::string::npos);
  }
}

TEST_CASE("feed_parser: RSS 0.91 with a DOCTYPE and HTML entities", "[feed_parser]") {
  const Feed feed = parse_ok(R"(<?xml version="1.0" encoding="ISO-8859-1"?>
<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"
  "http://my.netscape.com/publish/formats/rss-0.91.dtd">
<rss version="0.91"><channel><title>Lustre News</title><link>http://lustre.example.org/</link>
<description>x</description><language>en</language>
<item><title>Lustre&nbsp;2.15 &ndash; LTS</title><link>http://lustre.example.org/2.15</link>
<description>d</description></item></channel></rss>)");
  CHECK(feed.format == "rss2");
  REQUIRE(feed.entries.size() == 1);
  CHECK(feed.entries[0].title == "Lustre 2.15 \xE2\x80\x93 LTS");
  CHECK(feed.entries[0].key == "http://lustre.example.org/2.15");
}

TEST_CASE("feed_parser: entries without id or date get a stable hash key", "[feed_parser]") {
  const std::string doc = R"(<rss version="2.0"><channel>
    <item><title>Lustre 2.16.0 released</title></item>
    <item><title>Maintenance window</title><pubDate>next Tuesday, probably</pubDate></item>
    <item><title>With link</title><link>/news/x.html</link></item>
    <item><title>Opaque guid</title><guid isPermaLink="false">lustre-x</guid></item>
  </channel></rss>)";
  const Feed first = parse_ok(doc, "https://lustre.example.org/feed.xml");
  const Feed second = parse_ok(doc, "https://lustre.example.org/feed.xml");
  REQUIRE(first.entries.size() == 4);
  // sha256("Lustre 2.16.0 released\n"), computed independently.
  CHECK(first.entries[0].key ==
        "sha256:5947097bfe3900843b25dd3cad3d35aac615d73b43dcac2ae4b61221e8ffebcc");
  CHECK(first.entries[0].updated == 0);
  // sha256("Maintenance window\nnext Tuesday, probably"): the raw date text counts.
  CHECK(first.entries[1].key ==
        "sha256:ea0099bb1e756e7aa8cb364de5db82a0f11c87f968ea79f95d7ad7befb1ad7f7");
  CHECK(first.entries[1].updated == 0);
  CHECK(first.entries[2].key == "https://lustre.example.org/news/x.html");
  CHECK(first.entries[3].key == "lustre-x");
  CHECK(first.entries[3].link == "");
  for (size_t i = 0; i < first.entries.size(); ++i)
    CHECK(first.entries[i].key == second.entries[i].key);
  // A missing date is normal; an unparseable one is reported, once.
  REQUIRE(first.warnings.size() == 1);
  CHECK(first.warnings[0].find("next Tuesday, probably") != std::string::npos);
  CHECK(first.warnings[0].find("entry 2") != std::string::npos);
}

TEST_CASE("feed_parser: titles are one plain line whatever the markup", "[feed_parser]") {
  const Feed feed =
      parse_ok(R"(<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>1</id><title type="html">)"
               R"(&lt;b&gt;Lustre&lt;/b&gt; 2.15.7&#13;&#10;Bcc: victim@example.com &amp;amp; more)"
               R"(&lt;br/&gt;end</title></entry>)"
               R"(<entry><id>2</id><title type="text">)"
               R"(Release &lt;b&gt;1&lt;/b&gt;&#13;&#10;Subject: x &amp;amp;</title></entry>)"
               R"(<entry><id>3</id><title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">)"
               R"(Lustre <em>2.16</em>&#10;is <b>out</b>&#13;</div></title></entry>)"
               R"(<entry><id>4</id><title type="html">)"
               R"(a&amp;#0;b &amp;#13;&amp;#10;c &amp;#x85; d&#9;&#9;e</title></entry></feed>)");
  REQUIRE(feed.entries.size() == 4);
  CHECK(feed.entries[0].title == "Lustre 2.15.7 Bcc: victim@example.com & more end");
  CHECK(feed.entries[1].title == "Release <b>1</b> Subject: x &amp;");
  CHECK(feed.entries[2].title == "Lustre 2.16 is out");
  CHECK(feed.entries[3].title ==
        "a\xEF\xBF\xBD"
        "b c \xE2\x80\xA6 d e");

  const Feed rss = parse_ok(
      "<rss><channel><item><title><![CDATA[Lustre 2.15.7\r\nBcc: x@y]]>"
      " &amp;amp; more\n\n</title></item></channel></rss>");
  REQUIRE(rss.entries.size() == 1);
  CHECK(rss.entries[0].title == "Lustre 2.15.7 Bcc: x@y & more");
  for (const auto& f : {feed, rss})
    for (const auto& e : f.entries) CHECK(is_one_line(e.title));
}

TEST_CASE("feed_parser: summaries are plain text of at most 2000 bytes", "[feed_parser]") {
  SECTION("scripts, styles and comments are dropped, entities decoded") {
    const Feed feed = parse_ok(
        "<rss><channel><item><description>&lt;p&gt;Hello&lt;/p&gt;&lt;script&gt;alert(1)&lt;/"
        "script&gt;&lt;style&gt;p{}&lt;/style&gt;&lt;!-- note --&gt;&lt;p "
        "class=\"a&gt;b\"&gt;World &amp;amp; co&lt;/p&gt;</description></item></channel></rss>");
    CHECK(feed.entries.at(0).summary == "Hello World & co");
  }
  SECTION("a long summary is cut on a UTF-8 boundary") {
    std::string text;
    for (int i = 0; i < 3000; ++i) text += "\xE2\x82\xAC";  // U+20AC, 3 bytes
    const Feed feed = parse_ok(
        "<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry><id>x</id>"
        "<content type=\"text\">" +
        text + "</content></entry></feed>");
    const std::string& summary = feed.entries.at(0).summary;
    CHECK(summary.size() == 1998);
    CHECK(summary == text.substr(0, 1998));
  }
  SECTION("Atom summary wins over content") {
    const Feed feed = parse_ok(load(k_public_feeds + "feedparser/docs_atom10.xml"));
    CHECK(feed.entries.at(0).summary == "Watch out for nasty tricks");
    CHECK(feed.entries.at(0).author == "Mark Pilgrim");
  }
}

TEST_CASE("feed_parser: dates in the formats real feeds use", "[feed_parser]") {
  constexpr int64_t t = 1764699560;  // 2025-12-02T18:19:20Z
  const std::vector<std::pair<std::string, int64_t>> table = {
      {"2025-12-02T18:19:20Z", t},
      {"2025-12-02t18:19:20z", t},
      {"2025-12-02T13:19:20-05:00", t},
      {"2025-12-02T19:19:20+0100", t},
      {"2025-12-02T18:19:20.123456789Z", t},
      {"2025-12-02 18:19:20Z", t},
      {"2025-12-02T18:19:20", t},
      {"  2025-12-02T18:19:20Z\n", t},
      {"2025-12-02T18:19Z", t - 20},
      {"2025-12-02", 1764633600},
      {"2024-02-29T00:00:00Z", 1709164800},
      {"Tue, 02 Dec 2025 18:19:20 GMT", t},
      {"Tue, 02 Dec 2025 18:19:20 UT", t},
      {"Tue, 02 Dec 2025 18:19:20 UTC", t},
      {"Tue, 02 Dec 2025 18:19:20 +0000", t},
      {"Tue, 02 Dec 2025 18:19:20 -0000", t},
      {"Tue, 02 Dec 2025 19:19:20 +0100", t},
      {"Tue, 02 Dec 2025 13:49:20 -0430", t},
      {"Tue, 02 Dec 2025 13:19:20 EST", t},
      {"Tue, 02 Dec 2025 14:19:20 EDT", t},
      {"Tue, 02 Dec 2025 12:19:20 CST", t},
      {"Tue, 02 Dec 2025 13:19:20 CDT", t},
      {"Tue, 02 Dec 2025 11:19:20 MST", t},
      {"Tue, 02 Dec 2025 12:19:20 MDT", t},
      {"Tue, 02 Dec 2025 10:19:20 PST", t},
      {"Tue, 02 Dec 2025 11:19:20 PDT", t},
      {"Tue, 02 Dec 2025 18:19:20 Z", t},
      {"Tue, 02 Dec 2025 17:19:20 A", t},  // RFC 822: A = -0100
      {"Tue, 02 Dec 2025 06:19:20 M", t},  // M = -1200
      {"Tue, 02 Dec 2025 19:19:20 N", t},  // N = +0100
      {"Wed, 03 Dec 2025 06:19:20 Y", t},  // Y = +1200
      {"Tue, 02 Dec 2025 18:19 GMT", t - 20},
      {"02 Dec 2025 18:19:20 GMT", t},
      {"Tue, 2 Dec 2025 18:19:20 GMT", t},
      {"Tue 02 Dec 2025 18:19:20 GMT", t},
      {"Tue, 02 Dec 25 18:19:20 GMT", t},
      {"Thu, 02 Dec 99 18:19:20 GMT", 944158760},  // 1999
      {"Tuesday, 02-Dec-25 18:19:20 GMT", t},      // RFC 850
      {"Tue, 02 December 2025 18:19:20 GMT", t},
      {"tue, 02 dec 2025 18:19:20 gmt", t},
      {"Tue, 02 Dec 2025 18:19:20", t},
      {"Tue, 02 Dec 2025 18:19:20 +0000 (UTC)", t},
      {"Tue, 02 Dec 2025", 1764633600},
  };
  for (const auto& [text, want] : table) {
    INFO(text);
    CHECK(parse_date(text) == want);
  }
  for (std::string_view bad :
       {"", "yesterday", "2025-13-01T00:00:00Z", "2023-02-29", "2025-12-02T24:00:00Z",
        "2025-12-02T18:19:20+25:00", "2025-12-02T18:19:20Z trailing",
        "Tue, 32 Dec 2025 18:19:20 GMT", "Tue, 02 Foo 2025 18:19:20 GMT",
        "Tue, 02 Dec 2025 25:00:00 GMT", "Tue, 02 Dec 2025 18:19:20 XYZ",
        "Tue, 02 Dec 2025 18:19:20 J", "Tue, 02 Dec 2025 18h19"}) {
    INFO(bad);
    CHECK_FALSE(parse_date(bad));
  }
}

TEST_CASE("feed_parser: resolve_url follows the RFC 3986 section 5.4 examples", "[feed_parser]") {
  const std::string base = "http://a/b/c/d;p?q";
  const std::vector<std::pair<std::string, std::string>> examples = {
      // 5.4.1 normal
      {"g:h", "g:h"},
      {"g", "http://a/b/c/g"},
      {"./g", "http://a/b/c/g"},
      {"g/", "http://a/b/c/g/"},
      {"/g", "http://a/g"},
      {"//g", "http://g"},
      {"?y", "http://a/b/c/d;p?y"},
      {"g?y", "http://a/b/c/g?y"},
      {"#s", "http://a/b/c/d;p?q#s"},
      {"g#s", "http://a/b/c/g#s"},
      {"g?y#s", "http://a/b/c/g?y#s"},
      {";x", "http://a/b/c/;x"},
      {"g;x", "http://a/b/c/g;x"},
      {"g;x?y#s", "http://a/b/c/g;x?y#s"},
      {"", "http://a/b/c/d;p?q"},
      {".", "http://a/b/c/"},
      {"./", "http://a/b/c/"},
      {"..", "http://a/b/"},
      {"../", "http://a/b/"},
      {"../g", "http://a/b/g"},
      {"../..", "http://a/"},
      {"../../", "http://a/"},
      {"../../g", "http://a/g"},
      // 5.4.2 abnormal
      {"../../../g", "http://a/g"},
      {"../../../../g", "http://a/g"},
      {"/./g", "http://a/g"},
      {"/../g", "http://a/g"},
      {"g.", "http://a/b/c/g."},
      {".g", "http://a/b/c/.g"},
      {"g..", "http://a/b/c/g.."},
      {"..g", "http://a/b/c/..g"},
      {"./../g", "http://a/b/g"},
      {"./g/.", "http://a/b/c/g/"},
      {"g/./h", "http://a/b/c/g/h"},
      {"g/../h", "http://a/b/c/h"},
      {"g;x=1/./y", "http://a/b/c/g;x=1/y"},
      {"g;x=1/../y", "http://a/b/c/y"},
      {"g?y/./x", "http://a/b/c/g?y/./x"},
      {"g?y/../x", "http://a/b/c/g?y/../x"},
      {"g#s/./x", "http://a/b/c/g#s/./x"},
      {"g#s/../x", "http://a/b/c/g#s/../x"},
      {"http:g", "http:g"},  // strict parser
  };
  for (const auto& [ref, want] : examples) {
    INFO(ref);
    CHECK(resolve_url(base, ref) == want);
  }
  CHECK(resolve_url("http://a", "g") == "http://a/g");  // 5.2.3: base with authority, empty path
  CHECK(resolve_url("http://a/b/c", "https://x.example/./y/../z") == "https://x.example/z");
  CHECK(resolve_url("", "relative/x") == "relative/x");
}

TEST_CASE("feed_parser: no input crashes it", "[feed_parser]") {
  SECTION("every prefix of real feeds parses or fails cleanly") {
    for (const std::string file :
         {"feedrs_atom_example_6.xml", "feedrs_rss_1.0_debian.xml", "feedparser/docs_base.xml"}) {
      const std::string doc = load(k_public_feeds + file);
      for (size_t n = 0; n <= doc.size(); ++n) {
        auto feed = parse_feed(std::string_view(doc).substr(0, n), "https://e.example/f.xml");
        if (!feed) {
          CHECK(feed.error().kind == ErrorKind::bad_input);
          continue;
        }
        for (const auto& e : feed->entries) CHECK(is_one_line(e.title));
      }
    }
  }
  SECTION("oversized base URIs and authors are bounded, not copied into every entry") {
    const std::string huge(200000, 'a');
    std::string doc = "<feed xmlns=\"http://www.w3.org/2005/Atom\" xml:base=\"https://e.example/" +
                      huge + "/\"><author><name>" + huge + "</name></author>";
    for (int i = 0; i < 20000; ++i) doc += "<entry><link href=\"x\"/></entry>";
    doc += "</feed>";
    const Feed feed = parse_ok(doc, "https://lustre.example.org/feed.atom");
    REQUIRE(feed.entries.size() == 20000);
    CHECK(feed.entries[0].link == "https://lustre.example.org/x");
    CHECK(feed.entries[0].author.size() <= 256);
  }
  SECTION("deeply nested content") {
    std::string content;
    for (int i = 0; i < 100000; ++i) content += "<div>";
    content += "deep";
    for (int i = 0; i < 100000; ++i) content += "</div>";
    const Feed feed = parse_ok(
        "<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry><id>x</id>"
        "<content type=\"xhtml\">" +
        content + "</content></entry></feed>");
    CHECK(feed.entries.at(0).summary == "deep");
  }
}
