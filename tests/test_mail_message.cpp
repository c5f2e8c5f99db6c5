#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <string>

#include "tests/support/base64.hpp"
#include "adapters/sinks/mail/message.hpp"
#include "daemon/util.hpp"
#include "tests/support/paths.hpp"

using namespace herald;
using namespace herald::mail;

namespace {

using herald::test::base64_decode;

const std::string k_subject = "Lustre 2.15.7 \u2014 released: Gr\u00fc\u00dfe \u2713";

MessageSpec sample_spec() {
  MessageSpec s;
  s.from = {"Lustre Announce", "announce@lists.lustre.org"};
  s.to = {{"J\u00fcrgen M\u00fcller", "juergen@example.org"}, {"", "ops@example.com"}};
  s.subject = k_subject;
  s.text_body = "Lustre 2.15.7 is available.\nGr\u00fc\u00dfe \u2713\n";
  s.html_body = "<p>Lustre 2.15.7 is <b>available</b>.</p>\n<p>Gr\u00fc\u00dfe &#10003;</p>\n";
  s.date = 1764699560;  // 2025-12-02T18:19:20Z
  s.idempotency_key = "release:lustre:2.15.7#list";
  s.message_id_domain = "herald.lustre.org";
  return s;
}

std::string compose_ok(const MessageSpec& spec) {
  auto r = compose(spec);
  INFO((r ? std::string() : r.error().message));
  REQUIRE(r.ok());
  return *r;
}

// The header block (unfolded fields, name -> value; last one wins) and body.
struct Parsed {
  std::map<std::string, std::string> fields;
  std::vector<std::string> names;
  std::string body;
};

Parsed parse(const std::string& msg) {
  Parsed p;
  auto end = msg.find("\r\n\r\n");
  REQUIRE(end != std::string::npos);
  std::string block = msg.substr(0, end + 2);
  p.body = msg.substr(end + 4);
  std::string current;
  auto commit = [&] {
    if (current.empty()) return;
    auto colon = current.find(':');
    std::string name = current.substr(0, colon);
    p.names.push_back(name);
    p.fields[to_lower(name)] = trim(current.substr(colon + 1));
    current.clear();
  };
  size_t pos = 0;
  while (pos < block.size()) {
    auto eol = block.find("\r\n", pos);
    std::string line = block.substr(pos, eol - pos);
    pos = eol + 2;
    if (!line.empty() && (line[0] == ' ' || line[0] == '\t')) {
      current += line;  // unfolding removes the CRLF only
    } else {
      commit();
      current = line;
    }
  }
  commit();
  return p;
}


// Decodes one RFC 2047 encoded-word ("B" or "Q", charset utf-8).
std::string decode_word(const std::string& word) {
  std::smatch m;
  REQUIRE(std::regex_match(word, m, std::regex(R"(=\?utf-8\?([BQ])\?([^?]*)\?=)")));
  if (m[1] == "B") return base64_decode(m[2].str());
  std::string out, q = m[2].str();
  for (size_t i = 0; i < q.size(); ++i) {
    if (q[i] == '_') {
      out += ' ';
    } else if (q[i] == '=') {
      REQUIRE(i + 2 < q.size());
      out += static_cast<char>(std::stoi(q.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += q[i];
    }
  }
  return out;
}

// True when text starts and ends on a UTF-8 character boundary.
bool whole_utf8(std::string_view text) {
  if (text.empty()) return true;
  if ((static_cast<unsigned char>(text.front()) & 0xc0) == 0x80) return false;
  size_t lead = text.size();
  while (lead > 0 && (static_cast<unsigned char>(text[lead - 1]) & 0xc0) == 0x80) --lead;
  REQUIRE(lead > 0);
  auto c = static_cast<unsigned char>(text[lead - 1]);
  size_t need = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
  return text.size() - (lead - 1) == need;
}

std::vector<std::string> encoded_words_in(const std::string& value) {
  std::vector<std::string> words;
  std::regex re(R"(=\?[^?\s]+\?[BQbq]\?[^?\s]*\?=)");
  for (auto it = std::sregex_iterator(value.begin(), value.end(), re); it != std::sregex_iterator();
       ++it)
    words.push_back(it->str());
  return words;
}

std::string crlf(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) out += '\r';
    out += text[i];
  }
  return out;
}

// Leaf parts of a multipart body: (unfolded headers, body) for each.
std::vector<Parsed> parts_of(const Parsed& msg) {
  std::smatch m;
  const auto& ct = msg.fields.at("content-type");
  REQUIRE(std::regex_search(ct, m, std::regex("boundary=\"([^\"]+)\"")));
  std::string delimiter = "--" + m[1].str();
  std::vector<Parsed> parts;
  size_t pos = msg.body.find(delimiter + "\r\n");
  REQUIRE(pos == 0);
  while (true) {
    size_t start = pos + delimiter.size() + 2;
    size_t next = msg.body.find("\r\n" + delimiter, start);
    REQUIRE(next != std::string::npos);
    parts.push_back(parse(msg.body.substr(start, next - start)));
    pos = next + 2;
    if (msg.body.compare(pos + delimiter.size(), 2, "--") == 0) break;
  }
  return parts;
}

}  // namespace

TEST_CASE("mail_message: the Message-ID is stable for a key and differs between keys",
          "[mail_message]") {
  auto spec = sample_spec();
  auto first = parse(compose_ok(spec));
  auto again = parse(compose_ok(spec));
  const auto& id = first.fields.at("message-id");
  CHECK(std::regex_match(id, std::regex("<[0-9a-f]{32}@herald\\.lustre\\.org>")));
  CHECK(id == again.fields.at("message-id"));
  CHECK(id == message_id_for(spec.idempotency_key, spec.message_id_domain));

  spec.idempotency_key = "release:lustre:2.15.8#list";
  CHECK(parse(compose_ok(spec)).fields.at("message-id") != id);

  SECTION("without a domain the From domain is used") {
    spec.message_id_domain.clear();
    CHECK(std::regex_match(parse(compose_ok(spec)).fields.at("message-id"),
                           std::regex("<[0-9a-f]{32}@lists\\.lustre\\.org>")));
  }
}

TEST_CASE("mail_message: the same spec composes to the same bytes, boundary included",
          "[mail_message]") {
  // herald preview renders an event again and must print what the delivery sent.
  auto spec = sample_spec();
  REQUIRE_FALSE(spec.html_body.empty());
  const std::string first = compose_ok(spec);
  CHECK(compose_ok(spec) == first);
  CHECK(parse(first).fields.at("content-type").find("boundary=\"=_herald_") != std::string::npos);
  spec.idempotency_key += "#other";
  CHECK(parts_of(parse(compose_ok(spec))).size() == 2);
  CHECK(parse(compose_ok(spec)).fields.at("content-type") !=
        parse(first).fields.at("content-type"));
}

TEST_CASE("mail_message: a UTF-8 subject becomes encoded-words of at most 75 characters",
          "[mail_message]") {
  auto spec = sample_spec();
  size_t min_words = 1;
  SECTION("the release subject") {}
  SECTION("a long subject of multi-byte characters needs several words") {
    min_words = 10;
    spec.subject = "";
    for (int i = 0; i < 40; ++i) spec.subject += "\u2713 Gr\u00fc\u00dfe ";
    spec.subject += "\U0001F4E6";  // four-byte character at the end
  }
  auto msg = compose_ok(spec);
  auto subject = parse(msg).fields.at("subject");
  auto words = encoded_words_in(subject);
  REQUIRE(words.size() >= min_words);
  std::string decoded;
  for (const auto& w : words) {
    CHECK(w.size() <= 75);
    auto piece = decode_word(w);
    CHECK(whole_utf8(piece));  // words split between characters
    decoded += piece;
  }
  CHECK(decoded == spec.subject);

  // encode_header_text alone: same words, folded with CRLF SP.
  auto alone = encode_header_text(spec.subject);
  CHECK(encoded_words_in(alone) == words);
  CHECK(split(alone, '\n').size() == words.size());
  for (const auto& line : split(alone, '\n'))
    CHECK(std::regex_match(line, std::regex(R"( ?=\?utf-8\?[BQ]\?[^?\s]*\?=\r?)")));
  CHECK(encode_header_text("Lustre 2.15.7 released") == "Lustre 2.15.7 released");
}

TEST_CASE("mail_message: Q encoding writes a space as underscore", "[mail_message]") {
  // Mostly ASCII text is shorter in Q than in B.
  auto encoded = encode_header_text("Gr\u00fc\u00dfe aus Berlin und Hamburg");
  CHECK(encoded == "=?utf-8?Q?Gr=C3=BC=C3=9Fe_aus_Berlin_und_Hamburg?=");
  // In unstructured text punctuation other than "=?_" stays readable.
  CHECK(encode_header_text("Lustre 2.15.7: Gr\u00fc\u00dfe aus Berlin") ==
        "=?utf-8?Q?Lustre_2.15.7:_Gr=C3=BC=C3=9Fe_aus_Berlin?=");
  CHECK(encode_header_text("a_b=c? \u00e9t\u00e9 and more plain words for the list") ==
        "=?utf-8?Q?a=5Fb=3Dc=3F_=C3=A9t=C3=A9_and_more_plain_words_for_the_list?=");
  // Mostly non-ASCII text is shorter in B.
  CHECK(encode_header_text("\u2713\u2713\u2713") == "=?utf-8?B?4pyT4pyT4pyT?=");
}

TEST_CASE("mail_message: CR, LF or NUL in a header value is rejected, nothing injected",
          "[mail_message]") {
  auto spec = sample_spec();
  std::string header;
  SECTION("subject") {
    spec.subject = "Lustre 2.15.7\r\nBcc: x@y";
    header = "Subject";
  }
  SECTION("subject with a bare LF") {
    spec.subject = "Lustre\nBcc: x@y";
    header = "Subject";
  }
  SECTION("display name") {
    spec.to[0].display = "Eve\r\nBcc: x@y";
    header = "To";
  }
  SECTION("from address") {
    spec.from.email = std::string("announce@lists.lustre.org\0", 26);
    header = "From";
  }
  SECTION("list header") {
    spec.list_unsubscribe = "<https://herald.example/u/t>\r\nBcc: x@y";
    header = "List-Unsubscribe";
  }
  SECTION("extra header") {
    spec.extra_headers = {{"X-Herald-Event", "release\r\nBcc: x@y"}};
    header = "X-Herald-Event";
  }
  auto r = compose(spec);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::bad_input);
  CHECK_THAT(r.error().message, Catch::Matchers::StartsWith(header + ":"));
}

TEST_CASE("mail_message: invalid extra headers and addresses are rejected", "[mail_message]") {
  auto spec = sample_spec();
  SECTION("a name with a colon") { spec.extra_headers = {{"X-Bad: x", "v"}}; }
  SECTION("a name with a space") { spec.extra_headers = {{"X Bad", "v"}}; }
  SECTION("a header the composer writes") { spec.extra_headers = {{"message-id", "<x@y>"}}; }
  SECTION("a Bcc") { spec.extra_headers = {{"Bcc", "x@y.org"}}; }
  SECTION("a recipient without @") { spec.to.push_back({"", "nobody"}); }
  SECTION("a non-ASCII addr-spec") { spec.to.push_back({"", "j\u00fcrgen@example.org"}); }
  SECTION("no recipient") { spec.to.clear(); }
  SECTION("a subject that is not UTF-8") {
    spec.subject =
        "Gr\xfc\xdf"
        "e";
  }
  auto r = compose(spec);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().kind == ErrorKind::bad_input);
}

TEST_CASE("mail_message: every line ends in CRLF, is at most 998 octets, headers are 7-bit",
          "[mail_message]") {
  auto spec = sample_spec();
  auto changelog = read_file(herald::test::fixtures_dir() + "/lustre/ChangeLog.b2_15");
  REQUIRE(changelog);
  spec.text_body = *changelog;                                   // real text, LF line ends
  spec.html_body = "<pre>" + std::string(5000, 'x') + "</pre>";  // one 5000-octet line
  spec.subject = "";
  for (int i = 0; i < 60; ++i) spec.subject += "Lustre 2.15.7 released ";
  spec.list_unsubscribe = "<https://herald.example/u/" + std::string(300, 'a') + ">, " +
                          "<mailto:unsubscribe@lists.lustre.org?subject=" + std::string(300, 'b') +
                          ">";
  auto msg = compose_ok(spec);

  size_t start = 0, lines = 0, bad_ends = 0, long_lines = 0, eight_bit = 0;
  while (start < msg.size()) {
    auto lf = msg.find('\n', start);
    REQUIRE(lf != std::string::npos);  // the message ends with CRLF
    std::string_view line(msg.data() + start, lf - start);
    if (line.empty() || line.back() != '\r' || line.find('\r') != line.size() - 1) ++bad_ends;
    if (line.size() > 999) ++long_lines;
    start = lf + 1;
    ++lines;
  }
  for (unsigned char c : msg) eight_bit += c >= 0x80;
  CHECK(lines > 100);
  CHECK(bad_ends == 0);
  CHECK(long_lines == 0);
  CHECK(eight_bit == 0);

  auto parsed = parse(msg);
  CHECK(parsed.fields.at("subject") == trim(spec.subject));  // folded at spaces, unfolds back
  const auto& to = parsed.fields.at("to");
  auto to_words = encoded_words_in(to);
  REQUIRE(to_words.size() == 1);
  CHECK(decode_word(to_words[0]) == spec.to[0].display);
  CHECK(to == to_words[0] + " <juergen@example.org>, ops@example.com");
  CHECK(parsed.fields.at("list-unsubscribe") == spec.list_unsubscribe);
  // The long subject is folded before spaces into lines of at most 78 octets.
  auto subject_at = msg.find("\r\nSubject: ") + 2;
  auto subject_end = msg.find("\r\n", subject_at);
  size_t subject_lines = 1;
  while (msg[subject_end + 2] == ' ') {
    auto next = msg.find("\r\n", subject_end + 2);
    CHECK(next - subject_end - 2 <= 78);
    subject_end = next;
    ++subject_lines;
  }
  CHECK(subject_lines > 10);
}

TEST_CASE("mail_message: an encoded display name carries no phrase specials", "[mail_message]") {
  auto spec = sample_spec();
  spec.to = {{"J\u00fcrgen M\u00fcller (Lustre.org), Berlin \"Office\" Team", "jm@example.org"}};
  auto to = parse(compose_ok(spec)).fields.at("to");
  auto words = encoded_words_in(to);
  REQUIRE(!words.empty());
  std::string decoded, joined;
  for (const auto& w : words) {
    CHECK(std::regex_match(w, std::regex(R"(=\?utf-8\?[BQ]\?[A-Za-z0-9!*+/=_-]*\?=)")));
    decoded += decode_word(w);
    joined += (joined.empty() ? "" : " ") + w;
  }
  CHECK(decoded == spec.to[0].display);
  CHECK(to == joined + " <jm@example.org>");
}

TEST_CASE("mail_message: a quoted display name keeps its specials", "[mail_message]") {
  auto spec = sample_spec();
  spec.to = {{"Doe, John \"JD\"", "jd@example.org"}};
  CHECK(parse(compose_ok(spec)).fields.at("to") == R"("Doe, John \"JD\"" <jd@example.org>)");
}

TEST_CASE("mail_message: text and HTML parts decode back to the original UTF-8 text",
          "[mail_message]") {
  auto spec = sample_spec();
  auto changelog = read_file(herald::test::fixtures_dir() + "/lustre/ChangeLog.b2_15");
  REQUIRE(changelog);
  spec.text_body = changelog->substr(0, 4000) + "\nGr\u00fc\u00dfe \u2713\r\nend";
  auto msg = parse(compose_ok(spec));
  CHECK(msg.fields.at("mime-version") == "1.0");
  CHECK_THAT(msg.fields.at("content-type"),
             Catch::Matchers::StartsWith("multipart/alternative; boundary="));
  auto parts = parts_of(msg);
  REQUIRE(parts.size() == 2);
  CHECK(parts[0].fields.at("content-type") == "text/plain; charset=\"utf-8\"");
  CHECK(parts[1].fields.at("content-type") == "text/html; charset=\"utf-8\"");
  for (const auto& p : parts) CHECK(p.fields.at("content-transfer-encoding") == "base64");
  CHECK(base64_decode(parts[0].body) == crlf(spec.text_body));
  CHECK(base64_decode(parts[1].body) == crlf(spec.html_body));
  // base64 lines of 76 characters.
  CHECK(parts[0].body.find("\r\n") == 76);
}

TEST_CASE("mail_message: without HTML the message is a single text/plain part", "[mail_message]") {
  auto spec = sample_spec();
  spec.html_body.clear();
  auto msg = parse(compose_ok(spec));
  CHECK(msg.fields.at("content-type") == "text/plain; charset=\"utf-8\"");
  CHECK(msg.fields.at("content-transfer-encoding") == "base64");
  CHECK(base64_decode(msg.body) == crlf(spec.text_body));
  CHECK(msg.fields.at("date") == "Tue, 02 Dec 2025 18:19:20 +0000");
}

TEST_CASE("mail_message: list headers are written when set", "[mail_message]") {
  auto spec = sample_spec();
  SECTION("none set") {
    auto msg = parse(compose_ok(spec));
    for (const auto& name : msg.names) CHECK_FALSE(starts_with_icase(name, "List-"));
    CHECK(msg.fields.count("precedence") == 0);
  }
  SECTION("all set") {
    spec.list_id = "Lustre discussion <lustre-discuss.lists.lustre.org>";
    spec.list_post = "NO";
    spec.list_unsubscribe = "<https://herald.example/u/tok123>, <mailto:u@lists.lustre.org>";
    spec.list_unsubscribe_one_click = true;
    spec.list_archive = "<https://lists.lustre.org/pipermail/lustre-discuss/>";
    spec.list_help = "<mailto:lustre-discuss-request@lists.lustre.org?subject=help>";
    spec.precedence_list = true;
    spec.extra_headers = {{"X-Herald-Event", "release:lustre:2.15.7"},
                          {"Auto-Submitted", "auto-generated"}};
    auto msg = parse(compose_ok(spec));
    CHECK(msg.fields.at("list-id") == spec.list_id);
    CHECK(msg.fields.at("list-post") == "NO");
    CHECK(msg.fields.at("list-unsubscribe") == spec.list_unsubscribe);
    CHECK(msg.fields.at("list-unsubscribe-post") == "List-Unsubscribe=One-Click");
    CHECK(msg.fields.at("list-archive") == spec.list_archive);
    CHECK(msg.fields.at("list-help") == spec.list_help);
    CHECK(msg.fields.at("precedence") == "list");
    CHECK(msg.fields.at("x-herald-event") == "release:lustre:2.15.7");
    CHECK(msg.fields.at("auto-submitted") == "auto-generated");
  }
  SECTION("a UTF-8 list name is encoded, the list-id kept") {
    spec.list_id = "Lustre Ank\u00fcndigungen <announce.lists.lustre.org>";
    auto id = parse(compose_ok(spec)).fields.at("list-id");
    CHECK(id == "=?utf-8?Q?Lustre_Ank=C3=BCndigungen?= <announce.lists.lustre.org>");
  }
  SECTION("one-click without an unsubscribe URL is refused") {
    spec.list_unsubscribe_one_click = true;
    CHECK_FALSE(compose(spec).ok());
  }
}

TEST_CASE("mail_message: parse_address reads name-addr and addr-spec", "[mail_message]") {
  auto a = parse_address("Lustre Announce <announce@lists.lustre.org>");
  REQUIRE(a.ok());
  CHECK(a->display == "Lustre Announce");
  CHECK(a->email == "announce@lists.lustre.org");
  auto b = parse_address("  ops@example.com ");
  REQUIRE(b.ok());
  CHECK(b->display.empty());
  CHECK(b->email == "ops@example.com");
  auto c = parse_address(R"("Doe, John" <jd@example.org>)");
  REQUIRE(c.ok());
  CHECK(c->display == "Doe, John");
  CHECK_FALSE(parse_address("nobody").ok());
  CHECK_FALSE(parse_address("Eve <eve@example.org>\r\nBcc: x@y").ok());
  CHECK_FALSE(parse_address("j\u00fcrgen@example.org").ok());
  CHECK_FALSE(parse_address("Eve <eve@example.org> trailing").ok());
  CHECK(parse_address("Eve <eve@example.org>\r\nBcc: x@y").error().kind == ErrorKind::bad_input);
}

TEST_CASE("mail_message: Python's email package accepts the message", "[mail_message]") {
  auto spec = sample_spec();
  spec.list_id = "Lustre discussion <lustre-discuss.lists.lustre.org>";
  spec.list_unsubscribe = "<https://herald.example/u/tok123>";
  spec.list_unsubscribe_one_click = true;
  auto msg = compose_ok(spec);

  char dir_template[] = "/tmp/herald_mail_message_XXXXXX";
  REQUIRE(mkdtemp(dir_template) != nullptr);
  std::string dir = dir_template;
  std::string path = dir + "/message.eml";
  {
    std::ofstream out(path, std::ios::binary);
    out << msg;
  }
  std::string cmd = "/usr/bin/python3 " + herald::test::source_dir() + "/tests/tools/check_mime.py " + path;
  std::string output;
  int status = -1;
  {
    std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
    REQUIRE(pipe);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, pipe.get())) > 0) output.append(buf, n);
    status = pclose(pipe.release());
  }
  std::remove(path.c_str());
  rmdir(dir.c_str());
  INFO(output);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(output.find("\"subject\": \"" + k_subject + "\"") != std::string::npos);
  CHECK(output.find("\"list_id\": \"Lustre discussion <lustre-discuss.lists.lustre.org>\"") !=
        std::string::npos);
  CHECK(output.find("\"problems\": []") != std::string::npos);
}

TEST_CASE("mail_message: quoted_printable keeps risky line starts and line ends from transports",
          "[mail_message]") {
  using herald::mail::quoted_printable;
  CHECK(quoted_printable("From here\n") == "=46rom here\r\n");
  CHECK(quoted_printable("-- \n") == "=2D-=20\r\n");
  CHECK(quoted_printable(".\n") == "=2E\r\n");
  CHECK(quoted_printable("a=b M\xc3\xbcller\r\nend") == "a=3Db M=C3=BCller\r\nend");
  CHECK(quoted_printable("Fromage\n") == "Fromage\r\n");

  const std::string long_line(2000, 'x');
  auto encoded = quoted_printable(long_line + "\n");
  size_t start = 0;
  for (size_t eol; (eol = encoded.find("\r\n", start)) != std::string::npos; start = eol + 2)
    CHECK(eol - start <= 76);
  std::string joined;
  for (char c : encoded)
    if (c != '=' && c != '\r' && c != '\n') joined += c;
  CHECK(joined == long_line);
}
