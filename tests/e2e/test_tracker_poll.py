"""End to end: the real binary polls tests/tools/tracker_server.py (Jira's search
and GitHub's issues API over real HTTP) with `run --once`; what it stored is read
back from its SQLite database with Python's sqlite3."""
import json
import os
import sqlite3
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

FIXTURES = os.path.join(harness.SRC, "tests", "fixtures", "tracker")
SERVER = os.path.join(harness.SRC, "tests", "tools", "tracker_server.py")

CONFIG = """
[herald]
database = "{db}"

[mail]
maildir = "{maildir}"

[[source]]
name = "{name}"
kind = "{kind}"
base_url = "{url}"
{extra}
page_size = 1
max_age = "1000d"
interval = "15m"
timeout = "10s"
"""


class TrackerServer:
    def __init__(self, log, *args):
        self.log_path = log
        self.proc = subprocess.Popen([harness.PY, SERVER, "--log", log] + list(args),
                                     stdout=subprocess.PIPE, stderr=sys.stderr)
        line = self.proc.stdout.readline().decode()
        if not line.startswith("PORT "):
            raise RuntimeError("tracker_server.py did not start: %r" % line)
        self.url = "http://127.0.0.1:%d" % int(line.split()[1])

    def requests(self):
        if not os.path.exists(self.log_path):
            return []
        with open(self.log_path) as f:
            return [json.loads(l) for l in f if l.strip()]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(10)
        self.proc.stdout.close()


class TrackerPoll(unittest.TestCase):
    def setUp(self):
        self.work = harness.Workdir()
        self.issues = self.work.file("issues")
        os.mkdir(self.issues)
        self.server = None

    def tearDown(self):
        if self.server:
            self.server.stop()
        self.work.cleanup()

    def start(self, kind, fixtures, *server_args, extra=""):
        for name in fixtures:
            with open(os.path.join(FIXTURES, name)) as src, \
                    open(os.path.join(self.issues, name), "w") as dst:
                dst.write(src.read())
        self.server = TrackerServer(self.work.file("requests.jsonl"),
                                    "--" + kind, self.issues, *server_args)
        path = self.work.file("herald.toml")
        with open(path, "w") as f:
            f.write(CONFIG.format(db=self.work.file("herald.db"),
                                  maildir=self.work.file("Maildir"), name="tracker", kind=kind,
                                  url=self.server.url, extra=extra))
        return path

    def run_once(self, cfg):
        r = harness.herald("run", "--once", "--config", cfg)
        return r.returncode, r.stderr.decode("utf-8", "replace")

    def db(self, sql):
        con = sqlite3.connect(self.work.file("herald.db"))
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    def test_jira_events_are_stored_once_and_restricted_issues_never(self):
        cfg = self.start("jira", ["jira_search_page_v2.json", "jira_restricted_issue.json"],
                         "--tz", "+0300", extra='jql = "project = LU"')
        code, log = self.run_once(cfg)
        self.assertEqual(code, 0, log)
        keys = [k for (k,) in self.db("SELECT key FROM events ORDER BY id")]
        self.assertEqual(keys, ["jira:LU-18123:2024-04-10T08:00:00Z",
                                "jira:LU-18123:2024-05-02T09:36:15.507Z",
                                "jira:LU-18140:2024-05-03T07:15:00Z",
                                "jira:LU-18140:2024-05-03T09:20:41.002Z"])
        kinds = [k for (k,) in self.db("SELECT kind FROM events ORDER BY id")]
        self.assertEqual(kinds, ["bug.created", "bug.resolved", "bug.created", "bug.updated"])
        # The restricted issue (LU-18999) is nowhere: not in events, not in the source state.
        dump = json.dumps(self.db("SELECT * FROM events") + self.db("SELECT * FROM source_state"))
        self.assertNotIn("LU-18999", dump)
        self.assertNotIn("crafted ping", dump)
        self.assertNotIn("LU-18999", log)
        [(cursor,)] = self.db("SELECT cursor FROM source_state WHERE source = 'tracker'")
        self.assertEqual(cursor, "2024-05-03T12:20:41.002+0300 LU-18140")

        # The second poll asks again from the cursor's minute and stores nothing new.
        before = len(self.server.requests())
        code, log = self.run_once(cfg)
        self.assertEqual(code, 0, log)
        self.assertEqual(len(self.db("SELECT key FROM events")), 4)
        again = self.server.requests()[before:]
        self.assertEqual(len(again), 1)
        self.assertIn('updated >= "2024/05/03 12:20"', again[0]["query"]["jql"])
        self.assertRegex(log, r"source tracker: unchanged; 0 entries, 0 new")

    def test_jira_retry_after_sets_the_next_poll(self):
        cfg = self.start("jira", ["jira_search_page_v2.json"], "--fail-requests", "1",
                         "--retry-after", "3600", extra='jql = "project = LU"')
        t0 = int(time.time())
        code, log = self.run_once(cfg)
        self.assertEqual(code, 1, log)
        self.assertIn("HTTP 429 (the server asks to wait 3600 s)", log)
        [(next_poll, failures, cursor)] = self.db(
            "SELECT next_poll_at, consecutive_failures, cursor FROM source_state")
        self.assertGreaterEqual(next_poll, t0 + 3600)  # not the 30 s first backoff step
        self.assertEqual(failures, 1)
        self.assertEqual(cursor, "")
        self.assertEqual(self.db("SELECT count(*) FROM events"), [(0,)])

    def test_github_issues_and_pull_requests_are_stored_once(self):
        cfg = self.start("github", ["github_issues_list.json"],
                         extra='repo = "example/lustre-tools"\ntoken = "ghp_e2e_secret"')
        code, log = self.run_once(cfg)
        self.assertEqual(code, 0, log)
        rows = self.db("SELECT key, kind, body FROM events ORDER BY id")
        self.assertEqual([(k, kind) for k, kind, _ in rows], [
            ("github:example/lustre-tools#12:2024-05-01T10:00:00Z", "bug.created"),
            ("github:example/lustre-tools#12:2024-05-02T08:00:00Z", "bug.resolved"),
            ("github:example/lustre-tools#13:2024-05-02T09:00:00Z", "bug.created")])
        self.assertEqual(json.loads(rows[2][2])["tags"]["type"], "pull_request")
        reqs = self.server.requests()
        self.assertEqual([r["query"].get("page") for r in reqs], [None, "2"])
        self.assertTrue(all(r["authorization"] for r in reqs))
        self.assertNotIn("ghp_e2e_secret", log)

        code, log = self.run_once(cfg)
        self.assertEqual(code, 0, log)
        self.assertEqual(len(self.db("SELECT key FROM events")), 3)
        self.assertEqual(self.server.requests()[-1]["query"]["since"], "2024-05-02T09:00:00Z")


if __name__ == "__main__":
    unittest.main()
