"""End to end: a GA release announcement lists the tickets fixed in it, as the
local Jira-protocol server (tests/tools/tracker_server.py) answers the
fix-version search from the real issues of tests/fixtures/fixversion; the mail
is read back from the real SMTP server with Python's email package. A tracker
that hangs makes the announcement go out without the list, within the bound."""
import os
import re
import shutil
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

FIXTURES = os.path.join(harness.SRC, "tests", "fixtures")
SERVER = os.path.join(harness.SRC, "tests", "tools", "tracker_server.py")

LUSTRE = """fixed_jql = 'fixVersion = "Lustre {version}"'
fixed_timeout = "%s"
"""

EXTRA = """
[[destination]]
name = "archive"
to = ["lustre-archive@lists.lustre.example"]

[[route]]
tags = { audience = "release" }
to = ["archive"]

[[source]]
name = "lu-jira"
kind = "jira"
base_url = "%s"
interval = "15m"
timeout = "10s"
"""

FEED = [{"id": "t:2.15.8", "title": "2.15.8", "updated": "2025-12-02T18:19:20Z",
         "link": "https://github.com/lustre/lustre-release/releases/tag/2.15.8"},
        {"id": "t:2.17.0-RC4", "title": "2.17.0-RC4", "updated": "2025-12-23T19:43:26Z",
         "link": "https://github.com/lustre/lustre-release/releases/tag/2.17.0-RC4"}]

# The issues fixed in 2.15.8, by priority then key number; BBCOM-1233 has a security level.
EXPECTED = ["INDEV-6", "INDEV-130", "BBCOM-1398", "INDEV-242"]


class ReleaseTickets(unittest.TestCase):
    def setUp(self):
        self.work = harness.Workdir()
        self.http = harness.FeedServer()
        self.smtp = harness.SmtpServer(self.work.file("smtp"))
        self.feed = self.http.put("/tags.atom", harness.atom_feed(FEED))
        self.issues = self.work.file("issues")
        os.mkdir(self.issues)
        for name in os.listdir(os.path.join(FIXTURES, "fixversion")):
            if name.endswith(".json"):
                shutil.copy(os.path.join(FIXTURES, "fixversion", name), self.issues)
        shutil.copy(os.path.join(FIXTURES, "tracker", "jira_search_page_v2.json"), self.issues)
        self.tracker = None

    def tearDown(self):
        if self.tracker:
            self.tracker.terminate()
            self.tracker.wait(10)
            self.tracker.stdout.close()
        self.smtp.stop()
        self.http.close()
        self.work.cleanup()

    def start_tracker(self, *args):
        self.tracker_log = self.work.file("tracker.jsonl")
        self.tracker = subprocess.Popen(
            [harness.PY, SERVER, "--jira", self.issues, "--tz", "+0300", "--log",
             self.tracker_log] + list(args), stdout=subprocess.PIPE, stderr=sys.stderr)
        line = self.tracker.stdout.readline().decode()
        self.assertTrue(line.startswith("PORT "), line)
        return "http://127.0.0.1:%d" % int(line.split()[1])

    def fixversion_requests(self):
        import json
        with open(self.tracker_log) as f:
            reqs = [json.loads(l) for l in f if l.strip()]
        return [r for r in reqs if "fixVersion" in r["query"].get("jql", "")]

    def run_herald(self, tracker_url, timeout):
        path = self.work.config(self.feed, self.smtp.url)
        with open(path) as f:
            text = f.read()
        text = text.replace("[lustre]\n", "[lustre]\n" + LUSTRE % timeout, 1)
        with open(path, "w") as f:
            f.write(text + EXTRA % tracker_url)
        started = time.monotonic()
        r = harness.herald("run", "--once", "--config", path, timeout=60)
        elapsed = time.monotonic() - started
        log = r.stderr.decode("utf-8", "replace")
        self.assertEqual(r.returncode, 0, log)
        code, msgs, problems = harness.check_mime(self.smtp.files())
        self.assertEqual(code, 0, problems)
        for m in msgs:
            self.assertEqual([p["content_type"] for p in m["parts"]], ["text/plain", "text/html"])
            for p in m["parts"]:
                self.assertEqual(p["charset"], "utf-8")
                p["text"] = p["text"].replace("\r\n", "\n")
        return msgs, log, elapsed

    def test_the_mail_lists_exactly_the_issues_fixed_in_priority_order(self):
        url = self.start_tracker()
        msgs, log, elapsed = self.run_herald(url, "10s")
        sys.stderr.write("run --once with an answering tracker: %.2f s\n" % elapsed)
        ga = [m for m in msgs if m["subject"] == "Lustre 2.15.8 (LTS) released"]
        self.assertEqual(sorted(m["to"][0] for m in ga),
                         ["lustre-archive@lists.lustre.example",
                          "lustre-discuss@lists.lustre.example"])
        for m in ga:
            text, html = (p["text"] for p in m["parts"])
            self.assertIn("Tickets fixed in this release: 4\n", text)
            self.assertEqual(re.findall(r"^  ([A-Z]+-\d+)  ", text, re.M), EXPECTED)
            self.assertEqual(re.findall(r"^Highest:$|^Medium:$", text, re.M),
                             ["Highest:", "Medium:"])
            for key in EXPECTED:
                self.assertIn("         %s/browse/%s\n" % (url, key), text)
            self.assertIn("Тестовая задача", text)
            self.assertEqual(
                re.findall(r'<li><a href="%s/browse/([A-Z]+-\d+)">\1</a> ' % re.escape(url),
                           html), EXPECTED)
            self.assertIn('<a href="%s/issues/?jql=fixVersion%%20%%3D%%20%%22Lustre%%202.15.8'
                          '%%22">' % url, html)
        # The restricted issue is nowhere: not in any mail, not in the log.
        for m in msgs:
            for p in m["parts"]:
                self.assertNotIn("BBCOM-1233", p["text"])
                self.assertNotIn("POupok", p["text"])
        self.assertNotIn("BBCOM-1233", log)
        self.assertIn("1 issue(s) with a security level withheld", log)
        # The release candidate lists nothing; the search ran once for two destinations.
        rc = next(m for m in msgs if "2.17.0-RC4" in m["subject"])
        self.assertNotIn("Tickets fixed", rc["parts"][0]["text"])
        self.assertEqual(len(self.fixversion_requests()), 1)

    def test_a_tracker_that_hangs_delays_the_mail_by_the_bound_at_most(self):
        url = self.start_tracker("--hang", "fixVersion")
        msgs, log, elapsed = self.run_herald(url, "2s")
        sys.stderr.write("run --once with a hanging tracker and fixed_timeout = 2s: %.2f s\n"
                         % elapsed)
        self.assertEqual(len(self.fixversion_requests()), 1)  # asked once, never answered
        subjects = sorted(m["subject"] for m in msgs)
        self.assertEqual(subjects, ["Lustre 2.15.8 (LTS) released",
                                    "Lustre 2.15.8 (LTS) released",
                                    "[testing] Lustre 2.17.0-RC4 release candidate available "
                                    "for testing"])
        for m in msgs:
            for p in m["parts"]:
                self.assertNotIn("Tickets fixed", p["text"])
        self.assertRegex(log, r"warning +release release:lustre:2\.15\.8: the tickets fixed "
                              r"are left out of the announcement: tracker lu-jira "
                              r"\(temporary, after \d+ ms\): no complete answer within 2000 ms")
        waited = int(re.search(r"after (\d+) ms\): no complete", log).group(1))
        self.assertGreaterEqual(waited, 1950)
        self.assertLess(waited, 2500)
        self.assertLess(elapsed, 2.0 + 3.0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
