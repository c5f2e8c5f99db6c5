"""End to end: the links of [lustre] (download, release notes, where to report
problems) in the announcements of the sample tags feed, delivered to the real
SMTP server and read back with Python's email package (tests/tools/check_mime.py)."""
import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

SAMPLE = os.path.join(harness.SRC, "config", "sample")

LINKS = """
download_url = "https://downloads.whamcloud.com/public/lustre/lustre-{version}/"
release_notes_url = "https://wiki.lustre.org/Lustre_{version}_Changelog"
report_url = "https://jira.whamcloud.com/"
"""


class ReleaseLinks(unittest.TestCase):
    def setUp(self):
        self.work = harness.Workdir()
        self.http = harness.FeedServer()
        self.smtp = harness.SmtpServer(self.work.file("smtp"))
        with open(os.path.join(SAMPLE, "lustre-release-tags.atom")) as f:
            self.feed = self.http.put("/tags.atom", f.read())
        with open(os.path.join(SAMPLE, "ChangeLog.b2_15"), "rb") as f:
            self.changelog = self.http.put("/ChangeLog.b2_15", f.read(), "text/plain")

    def tearDown(self):
        self.smtp.stop()
        self.http.close()
        self.work.cleanup()

    def announce(self, lustre_keys):
        path = self.work.config(self.feed, self.smtp.url, changelog=[self.changelog])
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(text.replace("[lustre]\n", "[lustre]\n" + lustre_keys, 1))
        r = harness.herald("run", "--once", "--config", path)
        log = r.stderr.decode("utf-8", "replace")
        self.assertEqual(r.returncode, 0, log)
        code, msgs, problems = harness.check_mime(self.smtp.files())
        self.assertEqual(code, 0, problems)
        for m in msgs:
            self.assertEqual([p["content_type"] for p in m["parts"]], ["text/plain", "text/html"])
            self.assertTrue(all(p["charset"] == "utf-8" for p in m["parts"]))
        for m in msgs:
            for p in m["parts"]:
                p["text"] = p["text"].replace("\r\n", "\n")
        return {m["subject"]: m for m in msgs}

    def test_configured_links_are_in_both_parts(self):
        msgs = self.announce(LINKS)
        text, html = [p["text"] for p in msgs["Lustre 2.15.8 (LTS) released"]["parts"]]
        self.assertIn("Download: https://downloads.whamcloud.com/public/lustre/lustre-2.15.8/\n",
                      text)
        self.assertIn("Release notes: https://wiki.lustre.org/Lustre_2.15.8_Changelog\n", text)
        self.assertIn("Report problems here: https://jira.whamcloud.com/\n", text)
        self.assertIn('<a href="https://downloads.whamcloud.com/public/lustre/lustre-2.15.8/">',
                      html)
        self.assertIn('<a href="https://wiki.lustre.org/Lustre_2.15.8_Changelog">', html)
        self.assertIn('<a href="https://jira.whamcloud.com/">', html)
        self.assertIn("<title>Lustre 2.15.8 (LTS) released</title>", html)
        # A release candidate: where to report problems, no download or release notes.
        rc = msgs["[testing] Lustre 2.17.0-RC4 release candidate available for testing"]
        text, html = [p["text"] for p in rc["parts"]]
        self.assertIn("Report problems here: https://jira.whamcloud.com/", text)
        self.assertIn('<a href="https://jira.whamcloud.com/">', html)
        for part in (text, html):
            self.assertNotIn("Download", part)
            self.assertNotIn("Release notes", part)

    def test_links_not_configured_are_left_out(self):
        msgs = self.announce('report_url = "https://jira.whamcloud.com/"\n')
        text, html = [p["text"] for p in msgs["Lustre 2.15.8 (LTS) released"]["parts"]]
        self.assertIn("Report problems here: https://jira.whamcloud.com/", text)
        self.assertIn("Report problems here:", html)
        for part in (text, html):
            self.assertNotIn("Download", part)
            self.assertNotIn("Release notes", part)
            self.assertNotIn("downloads.whamcloud.com", part)
        self.smtp.stop()
        self.work.cleanup()
        self.work = harness.Workdir()
        self.smtp = harness.SmtpServer(self.work.file("smtp"))
        msgs = self.announce("")
        for m in msgs.values():
            for p in m["parts"]:
                for label in ("Download", "Release notes", "Report problems"):
                    self.assertNotIn(label, p["text"])


class DemoConfiguration(unittest.TestCase):
    """config/demo.toml, copied with config/sample/ into a temporary directory (its
    database and Maildir moved there too), shows the new sections offline."""

    def test_the_demo_shows_links_release_dates_and_upgrade_notes(self):
        work = harness.Workdir()
        try:
            shutil.copytree(SAMPLE, work.file("sample"))
            with open(os.path.join(harness.SRC, "config", "demo.toml")) as f:
                text = f.read()
            text = text.replace('"../var/demo/herald.db"', '"herald.db"')
            text = text.replace('"../var/demo/Maildir"', '"Maildir"')
            path = work.file("demo.toml")
            with open(path, "w") as f:
                f.write(text)
            r = harness.herald("run", "--once", "--config", path)
            log = r.stderr.decode("utf-8", "replace")
            self.assertEqual(r.returncode, 0, log)
            code, msgs, problems = harness.check_mime([work.file("Maildir")])
            self.assertEqual(code, 0, problems)
            by_subject = {m["subject"]: [p["text"].replace("\r\n", "\n") for p in m["parts"]]
                          for m in msgs}
            text, html = by_subject["Lustre 2.15.8 (LTS) released"]
            self.assertIn("Download: https://downloads.whamcloud.com/public/lustre/lustre-2.15.8/",
                          text)
            self.assertIn("Release notes: https://wiki.lustre.org/Lustre_2.15.8_Changelog", text)
            self.assertIn("Upgrading: from Lustre 2.15.7, the previous release of the 2.15 LTS "
                          "branch.", text)
            self.assertIn("Released: 2025-12-02", text)
            self.assertIn("<title>Lustre 2.15.8 (LTS) released</title>", html)
            text, html = by_subject["Lustre 2.17.0 released"]
            self.assertIn("Released: 2025-12-29", text)  # tagged 2025-12-30 UTC
            self.assertIn("Upgrading: Lustre 2.17.0 interoperates with Lustre 2.15.8", text)
            self.assertIn('<a href="https://jira.whamcloud.com/">', html)
            # No tracker in the demo: no ticket list, and no lookup was tried.
            self.assertNotIn("Tickets fixed", text)
            self.assertNotIn("tickets fixed", log)
        finally:
            work.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
