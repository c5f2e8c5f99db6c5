"""End to end: bad feeds get a clear error on their source, never a crash,
never an injected header, and never stall the other sources."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

GOOD = harness.atom_feed([{"id": "g1", "title": "Good news", "updated": "2025-12-01T00:00:00Z",
                           "link": "https://example.org/g1"}])


class BadInput(unittest.TestCase):
    def setUp(self):
        self.work = harness.Workdir()
        self.http = harness.FeedServer()
        self.smtp = harness.SmtpServer(self.work.file("smtp"))

    def tearDown(self):
        self.smtp.stop()
        self.http.close()
        self.work.cleanup()

    def config_two_sources(self, bad_url, **kw):
        cfg = self.work.config(bad_url, self.smtp.url, model="generic", **kw)
        good = self.http.put("/good.atom", GOOD)
        with open(cfg, "a") as f:
            f.write('\n[[source]]\nname = "good"\nkind = "feed"\nurl = "%s"\n' % good)
        return cfg

    def run_once(self, cfg):
        r = harness.herald("run", "--once", "--config", cfg)
        return r.returncode, r.stderr.decode("utf-8", "replace")

    def subjects(self):
        code, msgs, problems = harness.check_mime(self.smtp.files())
        self.assertEqual(code, 0, problems)
        return [m["subject"] for m in msgs]

    def test_malformed_xml_is_an_error_on_its_source_only(self):
        url = self.http.put("/bad.atom", "<feed xmlns='http://www.w3.org/2005/Atom'><entry>"
                            "<title>unclosed</entry></feed>")
        code, log = self.run_once(self.config_two_sources(url))
        self.assertEqual(code, 1)
        self.assertRegex(log, r"source tags: poll failed \(bad input\): http://127\.0\.0\.1:\d+"
                              r"/bad\.atom: malformed XML: .* at byte \d+")
        self.assertEqual(self.subjects(), ["Good news"])

    def test_a_failed_poll_in_a_once_run_says_the_run_ends(self):
        cfg = self.config_two_sources("http://127.0.0.1:%d/missing.atom" % self.http.port)
        code, log = self.run_once(cfg)
        self.assertEqual(code, 1)
        line = [l for l in log.splitlines() if "source tags: poll failed" in l]
        self.assertEqual(len(line), 1, log)
        self.assertIn("HTTP 404", line[0])
        self.assertRegex(line[0], r"; cursor unchanged; --once does not retry: the next run polls "
                                  r"again \(the daemon would wait \d+s\)$")
        self.assertNotIn("next try in", log)
        # The backoff is still recorded, for a daemon started on the same database.
        import sqlite3
        con = sqlite3.connect(self.work.file("herald.db"))
        [(next_poll, failures)] = con.execute(
            "SELECT next_poll_at, consecutive_failures FROM source_state WHERE source = 'tags'")
        con.close()
        self.assertEqual(failures, 1)
        self.assertGreater(next_poll, 0)

    def test_a_feed_over_the_size_limit_is_refused(self):
        big = harness.atom_feed([{"id": "b%d" % i, "title": "x" * 100} for i in range(100)])
        url = self.http.put("/big.atom", big)
        code, log = self.run_once(self.config_two_sources(url, max_size="4KiB"))
        self.assertEqual(code, 1)
        self.assertIn("exceeds the limit of 4096 bytes", log)
        self.assertEqual(self.subjects(), ["Good news"])

    def test_a_title_with_cr_lf_injects_no_header(self):
        feed = harness.atom_feed([{"id": "i1", "updated": "2025-12-01T00:00:00Z",
                                   "title": "Release\r\nBcc: victim@example.org\r\nX-Evil: 1"}])
        feed = feed.replace("\r\n", "&#13;&#10;")
        url = self.http.put("/inject.atom", feed)
        code, log = self.run_once(self.work.config(url, self.smtp.url, model="generic"))
        self.assertEqual(code, 0, log)
        code, msgs, problems = harness.check_mime(self.smtp.files())
        self.assertEqual(code, 0, problems)
        self.assertEqual(len(msgs), 1)
        self.assertNotIn("Bcc", msgs[0]["headers"])
        self.assertNotIn("X-Evil", msgs[0]["headers"])
        self.assertEqual(msgs[0]["subject"], "Release Bcc: victim@example.org X-Evil: 1")
        rcpts = [e["rcpt"] for e in self.smtp.log() if e["event"] == "rcpt"]
        self.assertEqual(rcpts, ["lustre-discuss@lists.lustre.example"])

    def test_an_iso_8859_1_feed_is_converted(self):
        text = ('<?xml version="1.0" encoding="ISO-8859-1"?>\n'
                '<rss version="2.0"><channel><title>Caf\xe9</title><link>https://example.org/</link>'
                '<item><title>Lustre f\xfcr Caf\xe9 \xa9 2025</title><guid>iso-1</guid>'
                '<link>https://example.org/iso-1</link>'
                '<pubDate>Tue, 02 Dec 2025 18:19:20 EST</pubDate></item></channel></rss>')
        url = self.http.put("/latin1.rss", text.encode("iso-8859-1"), "application/rss+xml")
        code, log = self.run_once(self.work.config(url, self.smtp.url, model="generic"))
        self.assertEqual(code, 0, log)
        self.assertEqual(self.subjects(), ["Lustre für Café © 2025"])

    def test_entries_without_ids_or_dates_get_stable_keys(self):
        feed = harness.atom_feed([{"title": "No id, has link", "link": "https://example.org/l"},
                                  {"title": "No id, no link, no date"}])
        url = self.http.put("/noid.atom", feed)
        cfg = self.work.config(url, self.smtp.url, model="generic")
        code, log = self.run_once(cfg)
        self.assertEqual(code, 0, log)
        self.assertEqual(sorted(self.subjects()), ["No id, has link", "No id, no link, no date"])
        # The same entries served again with a different ETag are not announced twice.
        self.http.put("/noid.atom", feed + "\n")
        code, log = self.run_once(cfg)
        self.assertEqual(code, 0, log)
        self.assertEqual(len(self.smtp.messages()), 2)

    def test_entries_without_link_title_or_date_fall_back_as_a_reader_expects(self):
        feed = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
<id>tag:test,2025:feed</id><title>test feed</title><updated>2025-12-01T00:00:00Z</updated>
<entry><id>https://lustre.example.org/news/quota-fix</id><title>Quota fix released</title>
<updated>2025-12-01T00:00:00Z</updated></entry>
<entry><id>tag:test,2025:untitled</id><link href="https://lustre.example.org/news/untitled"/>
<updated>2025-12-01T00:00:00Z</updated>
<summary>Servers running ZFS 2.3 should update before the next maintenance window.</summary>
</entry>
<entry><id>tag:test,2025:undated</id><title>An undated notice</title>
<link href="https://lustre.example.org/news/undated"/></entry>
</feed>"""
        url = self.http.put("/fallbacks.atom", feed)
        code, log = self.run_once(self.work.config(url, self.smtp.url, model="generic"))
        self.assertEqual(code, 0, log)
        code, msgs, problems = harness.check_mime(self.smtp.files())
        self.assertEqual(code, 0, problems)
        by_subject = {m["subject"]: m for m in msgs}
        self.assertEqual(sorted(by_subject), [
            "An undated notice", "Quota fix released",
            "Servers running ZFS 2.3 should update before the next maintenance window."])

        def text(subject):
            parts = by_subject[subject]["parts"]
            return [p["text"] for p in parts if p["content_type"] == "text/plain"][0]
        # The id is the link; the dated entries show their date; the undated one says so.
        self.assertIn("Release: https://lustre.example.org/news/quota-fix", text("Quota fix released"))
        self.assertIn("Tagged:  2025-12-01", text("Quota fix released"))
        undated = text("An undated notice")
        self.assertIn("Tagged:  date not given", undated)
        self.assertNotRegex(undated, r"Tagged:\s+\d{4}-")


if __name__ == "__main__":
    unittest.main(verbosity=2)
