"""End to end: a Lustre tags feed served over HTTP, announcements delivered
to a real SMTP server, every message read back with Python's email package."""
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

SAMPLE = os.path.join(harness.SRC, "config", "sample")


def expected_from_feed(text):
    """Independent derivation of what the sample feed should announce."""
    ga, rc = set(), set()
    for title in re.findall(r"<title>([^<]*)</title>", text)[1:]:
        m = re.fullmatch(r"v?(\d+)[._](\d+)[._](\d+)(?:-RC(\d+))?", title)
        assert m, title
        version = "%s.%s.%s" % m.group(1, 2, 3) + ("-RC%s" % m.group(4) if m.group(4) else "")
        if m.group(4):
            rc.add(version)
        elif int(m.group(3)) < 50:
            ga.add(version)
    return ga, rc


class ReleaseAnnouncements(unittest.TestCase):
    def setUp(self):
        self.work = harness.Workdir()
        self.http = harness.FeedServer()
        self.smtp = harness.SmtpServer(self.work.file("smtp"))
        with open(os.path.join(SAMPLE, "lustre-release-tags.atom")) as f:
            self.feed_text = f.read()
        self.feed = self.http.put("/lustre-release/tags.atom", self.feed_text)
        cls = []
        for name in ("ChangeLog.b2_15", "ChangeLog.master"):
            with open(os.path.join(SAMPLE, name), "rb") as f:
                cls.append(self.http.put("/" + name, f.read(), "text/plain"))
        self.cfg = self.work.config(self.feed, self.smtp.url, changelog=cls)

    def tearDown(self):
        self.smtp.stop()
        self.http.close()
        self.work.cleanup()

    def run_once(self):
        r = harness.herald("run", "--once", "--config", self.cfg)
        return r, r.stderr.decode("utf-8", "replace")

    def test_announcements_arrive_correct_on_the_wire(self):
        r, log = self.run_once()
        self.assertEqual(r.returncode, 0, log)
        ga, rc = expected_from_feed(self.feed_text)
        self.assertTrue(ga and rc)
        code, msgs, problems = harness.check_mime(self.smtp.files())
        self.assertEqual(code, 0, problems)
        self.assertEqual(len(msgs), len(ga) + len(rc), [m["subject"] for m in msgs])
        subjects = {m["subject"] for m in msgs}
        for v in ga:
            lts = " (LTS)" if v.startswith("2.15.") else ""
            self.assertIn("Lustre %s%s released" % (v, lts), subjects)
        for v in rc:
            self.assertIn("[testing] Lustre %s release candidate available for testing" % v,
                          subjects)
        ids = [m["message_id"] for m in msgs]
        self.assertEqual(len(set(ids)), len(ids))
        for m in msgs:
            self.assertRegex(m["message_id"], r"^<[0-9a-f]{32}@lists\.lustre\.example>$")
            types = [p["content_type"] for p in m["parts"]]
            self.assertEqual(types, ["text/plain", "text/html"])
            for p in m["parts"]:
                self.assertEqual(p["charset"], "utf-8")
            if m["to"] == ["lustre-discuss@lists.lustre.example"]:
                self.assertEqual(m["list_id"],
                                 "Lustre discussion <lustre-discuss.lists.lustre.example>")
                self.assertIn("List-Post", m["headers"])
                self.assertIn("Precedence", m["headers"])
        # The ChangeLog of b2_15 enriches 2.15.8: kernels, e2fsprogs and ZFS.
        m = next(m for m in msgs if m["subject"] == "Lustre 2.15.8 (LTS) released")
        text = m["parts"][0]["text"]
        self.assertIn("1.47.3-wc1", text)
        self.assertIn("Recommended ZFS:       2.3.2", text)
        self.assertIn("4.18.0-553.82.1.el8", text)
        self.assertIn("Lustre 2.15.8", m["parts"][1]["text"])
        # Development builds are not announced.
        self.assertFalse(any("2.17.5" in s for s in subjects))
        # Every delivery was logged once with its idempotency key.
        for key in ("mail:lustre-discuss:release:lustre:2.15.8",
                    "mail:testers:release:lustre:2.17.0-RC4"):
            self.assertEqual(log.count("delivery %s " % key), 1, log)

    def test_second_poll_and_restart_send_nothing(self):
        r, log = self.run_once()
        self.assertEqual(r.returncode, 0, log)
        first = len(self.smtp.messages())
        self.assertGreater(first, 0)
        r, log = self.run_once()
        self.assertEqual(r.returncode, 0, log)
        self.assertEqual(self.http.statuses("/lustre-release/tags.atom"), [200, 304])
        self.assertEqual(len(self.smtp.messages()), first)
        # A new entry is announced alone.
        self.http.put("/lustre-release/tags.atom", self.feed_text.replace(
            "<entry>", "<entry><id>x:2.15.9</id><updated>2026-09-01T00:00:00Z</updated>"
            "<link href='https://example.org/2.15.9'/><title>2.15.9</title></entry><entry>", 1))
        r, log = self.run_once()
        self.assertEqual(r.returncode, 0, log)
        new = self.smtp.messages()[first:]
        self.assertEqual(len(new), 1)
        code, msgs, problems = harness.check_mime([new[0]["files"][0]] if os.path.isabs(
            new[0]["files"][0]) else [os.path.join(self.smtp.out, new[0]["files"][0])])
        self.assertEqual(code, 0, problems)
        self.assertEqual(msgs[0]["subject"], "Lustre 2.15.9 (LTS) released")

    def test_utf8_titles_are_encoded_and_decode(self):
        title = "Lustre 2.15.7 — Grüße aus Zürich ✓ " + "ü" * 40
        feed = harness.atom_feed([{"id": "u1", "title": title, "updated": "2025-12-01T00:00:00Z",
                                   "link": "https://example.org/u1"}])
        url = self.http.put("/generic.atom", feed)
        cfg = self.work.config(url, self.smtp.url, model="generic")
        r = harness.herald("run", "--once", "--config", cfg)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        code, msgs, problems = harness.check_mime(self.smtp.files())
        self.assertEqual(code, 0, problems)
        self.assertEqual(len(msgs), 1)
        self.assertEqual(msgs[0]["subject"], title)
        self.assertIn(title, msgs[0]["parts"][0]["text"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
