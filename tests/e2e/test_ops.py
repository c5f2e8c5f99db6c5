"""End to end: the operations commands. `herald preview` prints the bytes a delivery sends
(compared with what the real SMTP server received), `herald status` reports sources, the
outbox and digests, and `herald backup` copies the database while the daemon delivers."""
import email
import email.policy
import json
import os
import signal
import sqlite3
import subprocess
import sys
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

SAMPLE = os.path.join(harness.SRC, "config", "sample")


def message_id(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)["Message-ID"]


class Preview(unittest.TestCase):
    def setUp(self):
        self.work = harness.Workdir()
        self.http = harness.FeedServer()
        self.smtp = harness.SmtpServer(self.work.file("smtp"))
        with open(os.path.join(SAMPLE, "lustre-release-tags.atom"), "rb") as f:
            feed = self.http.put("/tags.atom", f.read())
        cls = []
        for name in ("ChangeLog.b2_15", "ChangeLog.master"):
            with open(os.path.join(SAMPLE, name), "rb") as f:
                cls.append(self.http.put("/" + name, f.read(), "text/plain"))
        self.cfg = self.work.config(feed, self.smtp.url, changelog=cls)

    def tearDown(self):
        self.smtp.stop()
        self.http.close()
        self.work.cleanup()

    def outbox(self):
        r = harness.herald("outbox", "list", "--limit", "1000", "--config", self.cfg)
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = []
        for line in r.stdout.decode().splitlines():
            f = line.split("\t")
            rows.append({"id": f[0], "state": f[1], "destination": f[2], "key": f[7]})
        return rows

    def test_preview_of_a_stored_event_is_byte_for_byte_what_the_smtp_server_received(self):
        r = harness.herald("run", "--once", "--config", self.cfg)
        self.assertEqual(r.returncode, 0, r.stderr)
        received = {}
        for path in self.smtp.files():
            with open(path, "rb") as f:
                raw = f.read()
            received[message_id(raw)] = raw
        rows = self.outbox()
        self.assertGreaterEqual(len(rows), 5)
        self.assertEqual(len(rows), len(received))
        for row in rows:
            prefix = "mail:%s:" % row["destination"]
            self.assertTrue(row["key"].startswith(prefix), row)
            event_key = row["key"][len(prefix):]
            p = harness.herald("preview", event_key, "--destination", row["destination"],
                               "--config", self.cfg)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn(b"Date from the outbox row", p.stderr)
            mid = message_id(p.stdout)
            self.assertIn(mid, received, row)
            self.assertEqual(p.stdout, received[mid], row)
            # Without --destination the routes choose: one route per event here.
            q = harness.herald("preview", event_key, "--config", self.cfg)
            self.assertEqual(q.returncode, 0, q.stderr)
            self.assertEqual(q.stdout, received[mid])
        # Nothing was sent by previewing.
        self.assertEqual(len(self.smtp.files()), len(received))

    def test_preview_of_a_kind_renders_a_sample_without_sending_or_storing(self):
        p = harness.herald("preview", "release.published", "--date", "2026-01-31T12:00:00Z",
                           "--config", self.cfg)
        self.assertEqual(p.returncode, 0, p.stderr)
        msg = email.message_from_bytes(p.stdout, policy=email.policy.default)
        self.assertEqual(msg["Subject"], "Lustre 2.15.8 (LTS) released")
        self.assertEqual(msg["To"], "lustre-discuss@lists.lustre.example")
        self.assertEqual(msg["Date"], "Sat, 31 Jan 2026 12:00:00 +0000")
        self.assertEqual(msg["List-Id"], "Lustre discussion <lustre-discuss.lists.lustre.example>")
        self.assertEqual([p.get_content_type() for p in msg.walk() if not p.is_multipart()],
                         ["text/plain", "text/html"])
        self.assertIn("1.47.3-wc1", msg.get_body(("plain",)).get_content())
        self.assertIn(b"\r\n", p.stdout)
        self.assertNotIn(b"\n", p.stdout.replace(b"\r\n", b""))
        self.assertIn(b"sample event", p.stderr)
        self.assertEqual(self.smtp.files(), [])
        self.assertFalse(os.path.exists(self.work.file("herald.db")))
        # A bug event has no route in this configuration: the destination must be named.
        b = harness.herald("preview", "bug.created", "--config", self.cfg)
        self.assertEqual(b.returncode, 1)
        self.assertIn(b"--destination", b.stderr)
        b = harness.herald("preview", "bug.created", "--destination", "testers",
                           "--config", self.cfg)
        self.assertEqual(b.returncode, 0, b.stderr)
        self.assertIn(b"Subject: [testing] Created: LU-18123: ldlm: lock cancel races", b.stdout)
        u = harness.herald("preview", "no.such.kind", "--config", self.cfg)
        self.assertEqual(u.returncode, 1)
        self.assertIn(b"release.published", u.stderr)
        d = harness.herald("preview", "release.published", "--date", "yesterday",
                           "--config", self.cfg)
        self.assertEqual(d.returncode, 2)


STATUS_CONFIG = """
[herald]
database = "{db}"
[mail]
from = "herald <herald@lists.lustre.example>"
maildir = "{maildir}"
[[source]]
name = "tags"
kind = "feed"
url = "{good}"
release_model = "lustre"
[[source]]
name = "broken"
kind = "feed"
url = "{bad}"
[[destination]]
name = "lustre-discuss"
to = ["lustre-discuss@lists.lustre.example"]
[[destination]]
name = "developers"
to = ["lustre-devel@lists.lustre.example"]
[[route]]
tags = {{ audience = "release" }}
to = ["lustre-discuss"]
[[digest]]
name = "lustre-bugs"
schedule = "0 8 * * 1-5"
timezone = "Europe/London"
to = ["developers"]
"""


class Status(unittest.TestCase):
    def test_status_shows_sources_outbox_and_digests(self):
        work = harness.Workdir()
        http = harness.FeedServer()
        try:
            with open(os.path.join(SAMPLE, "lustre-release-tags.atom"), "rb") as f:
                good = http.put("/tags.atom", f.read())
            cfg = work.file("herald.toml")
            with open(cfg, "w") as f:
                f.write(STATUS_CONFIG.format(db=work.file("herald.db"),
                                             maildir=work.file("Maildir"), good=good,
                                             bad=good.replace("tags.atom", "missing.atom")))
            r = harness.herald("status", "--config", cfg)
            self.assertEqual(r.returncode, 1)
            self.assertIn(b"no database", r.stderr)
            r = harness.herald("run", "--once", "--config", cfg)
            self.assertEqual(r.returncode, 1)  # the broken source failed
            delivered = len(os.listdir(work.file("Maildir/new")))
            self.assertGreater(delivered, 0)
            r = harness.herald("status", "--config", cfg)
            self.assertEqual(r.returncode, 0, r.stderr)
            out = r.stdout.decode()
            tags = out[out.index("  tags (feed)"):out.index("  broken (feed)")]
            self.assertRegex(tags, r"last success  \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(\d+s ago\)")
            self.assertRegex(tags, r"next poll     \S+ \(in \d+m\)")
            self.assertNotIn("last error", tags)
            broken = out[out.index("  broken (feed)"):out.index("outbox:")]
            self.assertIn("last success  never", broken)
            self.assertRegex(broken, r"last error    \S+ \(\d+s ago\): .*404.* \(1 in a row, 1 in all\)")
            self.assertRegex(broken, r"next poll     \S+ \(in \d+s\)")
            self.assertRegex(out, r"lustre-discuss +pending 0  delivered %d  dead 0" % delivered)
            self.assertRegex(out, r"developers +pending 0  delivered 0  dead 0")
            digest = out[out.index("digests:"):]
            self.assertIn("lustre-bugs (0 8 * * 1-5, Europe/London)", digest)
            self.assertRegex(digest, r"next fire     \d{4}-\d\d-\d\dT0[78]:00:00Z \(in \d+[mhd]\)")
        finally:
            http.close()
            work.cleanup()


BACKUP_CONFIG = """
[herald]
database = "{db}"
log_level = "warn"
[mail]
from = "herald <herald@lists.lustre.example>"
domain = "lists.lustre.example"
smtp_url = "{smtp}"
max_connections = 2
[delivery]
batch = 10
[http]
listen = "127.0.0.1:{port}"
api_token = "backup-test-token"
[[destination]]
name = "list"
to = ["list@lists.lustre.example"]
[[route]]
to = ["list"]
"""


class Backup(unittest.TestCase):
    EVENTS = 1000

    def test_backup_during_1000_deliveries_holds_every_row_committed_before_it(self):
        work = harness.Workdir()
        # 10 ms per message on each of two connections: the 1,000 deliveries take seconds,
        # committed ten at a time, so the backup runs in the middle of them.
        smtp = harness.SmtpServer(work.file("smtp"), "--delay-data", "0.01")
        port = harness.free_port()
        cfg = work.file("herald.toml")
        db = work.file("herald.db")
        with open(cfg, "w") as f:
            f.write(BACKUP_CONFIG.format(db=db, smtp=smtp.url, port=port))
        log = open(work.file("herald.log"), "wb")
        proc = subprocess.Popen([harness.HERALD, "run", "--config", cfg], stderr=log)
        try:
            def healthy():
                try:
                    with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port, timeout=2):
                        return True
                except OSError:
                    return proc.poll() is not None
            self.assertTrue(harness.wait_until(healthy, 30))
            self.assertIsNone(proc.poll())
            for start in range(0, self.EVENTS, 100):
                events = [{"key": "backup-test:%04d" % i, "kind": "notice.posted",
                           "title": "Notice %d" % i, "summary": "body %d" % i}
                          for i in range(start, start + 100)]
                req = urllib.request.Request(
                    "http://127.0.0.1:%d/api/v1/events" % port,
                    data=json.dumps({"events": events}).encode(),
                    headers={"Authorization": "Bearer backup-test-token",
                             "Content-Type": "application/json"})
                with urllib.request.urlopen(req, timeout=20) as answer:
                    self.assertEqual(json.load(answer)["new"], 100)
            self.assertTrue(harness.wait_until(lambda: len(smtp.messages()) >= 100, 120))

            # What is committed now must be in the backup, as it is now or newer.
            ro = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
            events_before = {r[0] for r in ro.execute("SELECT key FROM events")}
            outbox_before = dict(ro.execute("SELECT idempotency_key, state FROM deliveries"))
            ro.close()
            backup = work.file("backup/herald.db")
            os.makedirs(os.path.dirname(backup))
            r = harness.herald("backup", backup, "--config", cfg)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn(b"integrity ok", r.stdout)
            pending_before = [k for k, s in outbox_before.items() if s == "pending"]
            self.assertTrue(pending_before, "the deliveries were over before the backup began")
            self.assertEqual(len(events_before), self.EVENTS)

            self.assertEqual(sorted(os.listdir(os.path.dirname(backup))), ["herald.db"])
            copy = sqlite3.connect("file:%s?mode=ro" % backup, uri=True)
            self.assertEqual(copy.execute("PRAGMA integrity_check").fetchall(), [("ok",)])
            self.assertEqual(copy.execute("PRAGMA journal_mode").fetchone()[0], "delete")
            events_after = {r[0] for r in copy.execute("SELECT key FROM events")}
            outbox_after = dict(copy.execute("SELECT idempotency_key, state FROM deliveries"))
            copy.close()
            self.assertEqual(events_before - events_after, set())
            self.assertEqual(set(outbox_before) - set(outbox_after), set())
            for key, state in outbox_before.items():
                if state == "delivered":
                    self.assertEqual(outbox_after[key], "delivered", key)

            # The daemon went on and delivered everything; the backup opens as a database.
            self.assertTrue(harness.wait_until(lambda: len(smtp.messages()) >= self.EVENTS, 120))
            r = harness.herald("outbox", "list", "--state", "delivered", "--limit", "5",
                               "--config", cfg)
            self.assertEqual(r.returncode, 0)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
            log.close()
            smtp.stop()
        with open(work.file("herald.log"), "rb") as f:
            self.assertNotIn(b"critical", f.read())
        work.cleanup()


if __name__ == "__main__":
    unittest.main()
