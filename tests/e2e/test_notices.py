"""End to end: a security notice through `herald notice` (the real binary)
against a running daemon: 401 with a wrong token, draft, two approvals,
publish under an embargo; before the embargo ends nothing of the notice is at
the SMTP server, the webhook receiver, in the log or in /metrics; after it, the
list's mail ([SECURITY] subject, Debian's fields) and the webhook arrive, and
`herald notice log` shows who did what."""
import json
import os
import sys
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

CONFIG = """
[herald]
database = "{db}"
log_level = "debug"

[mail]
from = "Lustre security <security@lists.lustre.example>"
smtp_url = "{smtp}"

[http]
listen = "127.0.0.1:{port}"

[[destination]]
name = "list"
to = ["lustre-announce@lists.lustre.example"]

[[destination]]
name = "chat"
kind = "webhook"
url = "{hook}/notices"
secrets = ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]

[[admin]]
name = "alice"
token_file = "{alice}"

[[admin]]
name = "bob"
token_file = "{bob}"
may = ["approve", "patches", "read"]

[[admin]]
name = "carol"
token_file = "{carol}"
may = ["approve", "publish", "patches", "read"]

[security]
approvals = 2
to = ["list", "chat"]
"""

TITLE = "Remote crash in the LNet router"
NOTICE = {"severity": "critical", "title": TITLE,
          "summary": "A crafted LNet message crashes a router.",
          "details": "Grüße: the router dereferences a NULL peer.\nFrom the logs it is plain.",
          "cves": ["CVE-2026-31337"], "affected_branches": ["2.15"],
          "fixed": [{"branch": "2.15", "version": "2.15.8"}],
          "patches": [{"ticket": "LU-17000",
                       "url": "https://review.whamcloud.com/c/fs/lustre-release/+/55555"}]}


class Notices(unittest.TestCase):
    def setUp(self):
        self.work = harness.Workdir()
        self.smtp = harness.SmtpServer(self.work.file("smtp"))
        self.hook = harness.HttpReceiver(self.work.file("hook.jsonl"))
        self.port = harness.free_port()
        tokens = {}
        for name in ("alice", "bob", "carol"):
            tokens[name] = self.work.file(name + ".token")
            with open(tokens[name], "w") as f:
                f.write(name[0] * 40 + "\n")
        self.cfg = self.work.file("herald.toml")
        with open(self.cfg, "w") as f:
            f.write(CONFIG.format(db=self.work.file("herald.db"), smtp=self.smtp.url,
                                  port=self.port, hook=self.hook.url, **tokens))
        self.tokens = tokens
        self.daemon = harness.Daemon(self.cfg, self.work.file("herald.log"))
        self.assertTrue(harness.wait_until(lambda: harness.healthy(self.port), 30),
                        self.daemon.log())

    def tearDown(self):
        self.daemon.stop()
        self.smtp.stop()
        self.hook.stop()
        self.work.cleanup()

    def notice(self, who, *args, code=0):
        r = harness.herald("notice", *args, "--config", self.cfg,
                           "--token-file", self.tokens[who] if who in self.tokens else who)
        self.assertEqual(r.returncode, code, r.stdout.decode() + r.stderr.decode())
        return r.stdout.decode() + r.stderr.decode()

    def metrics(self):
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % self.port, timeout=5) as r:
            return r.read().decode()

    def test_draft_approve_embargo_publish(self):
        wrong = self.work.file("wrong.token")
        with open(wrong, "w") as f:
            f.write("x" * 40)
        self.assertIn("401", self.notice(wrong, "list", code=1))
        self.assertIn("403: admin 'bob' may not draft", self.notice_stdin("bob", code=1))
        out = self.notice_stdin("alice")
        self.assertIn("OSFS-SA-", out)
        nid = out.split(":")[0].strip()
        self.assertIn("the author may not approve", self.notice("alice", "approve", nid, code=1))
        self.assertIn("draft (1 of 2 approvals)", self.notice("bob", "approve", nid))
        self.assertIn("approved (2 of 2 approvals)", self.notice("carol", "approve", nid))
        embargo = int(time.time()) + 5
        out = self.notice("carol", "publish", nid, "--embargo", str(embargo))
        self.assertIn("scheduled for", out)

        # Before the embargo ends: nothing anywhere.
        time.sleep(max(0.0, embargo - time.time() - 1.5))
        self.assertEqual(self.smtp.messages(), [])
        self.assertEqual(self.hook.requests(), [])
        for text in (self.daemon.log(), self.metrics()):
            self.assertNotIn("LNet", text)
            self.assertNotIn("CVE-2026-31337", text)

        # After: the list's mail and the webhook, within seconds of the end.
        self.assertTrue(harness.wait_until(
            lambda: self.smtp.messages() and self.hook.requests(), 30), self.daemon.log())
        self.assertGreaterEqual(time.time(), embargo)
        rc, mails, problems = harness.check_mime(self.smtp.files())
        self.assertEqual(rc, 0, problems)
        self.assertEqual(len(mails), 1)
        self.assertEqual(mails[0]["subject"], "[SECURITY] [%s] %s" % (nid, TITLE))
        text = "".join(p["text"] or "" for p in mails[0]["parts"])
        self.assertIn("CVE-2026-31337", text)
        self.assertIn("For the 2.15 branch", text)
        self.assertIn("2.15.8", text)
        body = json.loads(self.hook.requests()[0]["body"])
        self.assertEqual(body["event"]["kind"], "security.notice")
        self.assertEqual(body["event"]["key"], "notice:%s" % nid)

        show = self.notice("bob", "show", nid)
        self.assertIn("state        published", show)
        log = self.notice("bob", "log", nid)
        actions = [line.split("\t")[1:3] for line in log.splitlines()]
        self.assertEqual(actions, [["alice", "create"], ["alice", "refused"], ["bob", "approve"],
                                   ["carol", "approve"], ["carol", "publish"],
                                   ["herald", "published"]])

    def test_cite_the_patch_list(self):
        out = harness.herald("patches", "add", "2.15.8", "LU-17000", "--summary",
                             "lnet: check the peer before routing",
                             "--change-url",
                             "https://review.whamcloud.com/c/fs/lustre-release/+/55555",
                             "--severity", "critical", "--config", self.cfg,
                             "--token-file", self.tokens["alice"])
        self.assertEqual(out.returncode, 0, out.stdout.decode() + out.stderr.decode())
        change = out.stdout.decode().split("herald patches approve ")[1].split()[0]
        for who in ("bob", "carol"):
            r = harness.herald("patches", "approve", change, "--config", self.cfg,
                               "--token-file", self.tokens[who])
            self.assertEqual(r.returncode, 0, r.stdout.decode() + r.stderr.decode())
        path = self.work.file("cites.json")
        for ticket, code in (("LU-17001", 1), ("LU-17000", 0)):
            with open(path, "w") as f:
                json.dump(dict(NOTICE, patch_list=[{"release": "2.15.8", "ticket": ticket}]), f)
            out = self.notice("alice", "create", path, code=code)
        # The refusal was the first; the second was accepted.
        nid = out.split(":")[0].strip()
        show = self.notice("bob", "show", nid)
        self.assertIn("listed       2.15.8 LU-17000 critical https://review.whamcloud.com/"
                      "c/fs/lustre-release/+/55555 lnet: check the peer before routing", show)
        with open(path, "w") as f:
            json.dump(dict(NOTICE, patch_list=[{"release": "2.15.8", "ticket": "LU-17001"}]), f)
        self.assertIn("400: 'patch_list'[0]: LU-17001 is not on the approved list of Lustre 2.15.8",
                      self.notice("alice", "create", path, code=1))

    def notice_stdin(self, who, code=0):
        import subprocess
        r = subprocess.run([harness.HERALD, "notice", "create", "-", "--config", self.cfg,
                            "--token-file", self.tokens[who]],
                           input=json.dumps(NOTICE).encode(), capture_output=True, timeout=60)
        self.assertEqual(r.returncode, code, r.stdout.decode() + r.stderr.decode())
        return r.stdout.decode() + r.stderr.decode()


if __name__ == "__main__":
    unittest.main()
