"""End to end: tracker webhooks and the event API posted with curl to the real
`herald run`, the database checked with sqlite3, mail received by the real
SMTP server of tests/tools/smtp_server.py.

Fixtures: the real Jira, GitHub and GitLab webhook payloads of
tests/fixtures/{jira,github,gitlab}, and tests/fixtures/tracker/jira_restricted_issue.json (an
issue with a security level) wrapped in a Jira webhook envelope.
"""
import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

SECRETS = {"jira": "jira-secret", "github": "gh-secret", "gitlab": "gl-token"}
TOKEN = "api-token-for-tests"

CONFIG = """
[herald]
database = "{db}"
log_level = "info"

[mail]
from = "herald <herald@lists.lustre.example>"
domain = "lists.lustre.example"
smtp_url = "{smtp}"

[delivery]
backoff_initial = "1s"

[http]
listen = "{listen}"
max_body = "{max_body}"
api_token = "{token}"

[[source]]
name = "lu-jira"
kind = "jira-webhook"
path = "/hooks/jira"
secret = "{jira}"

[[source]]
name = "gh"
kind = "github-webhook"
path = "/hooks/github"
secret = "{github}"

[[source]]
name = "gl"
kind = "gitlab-webhook"
path = "/hooks/gitlab"
secret = "{gitlab}"

[[destination]]
name = "developers"
to = ["lustre-devel@lists.lustre.example"]

[[route]]
kinds = ["bug.created", "bug.updated", "bug.resolved"]
to = ["developers"]
"""


def fixture(path):
    with open(os.path.join(harness.FIXTURES, path), "rb") as f:
        return f.read()


def restricted_issue():
    with open(os.path.join(harness.SRC, "tests", "fixtures", "tracker",
                           "jira_restricted_issue.json")) as f:
        return json.load(f)


def sign(secret, body):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Herald:
    """`herald run` with an [http] section, its stderr in a file."""

    def __init__(self, work, smtp, port=None, listen=None, max_body="64KiB"):
        self.work = work
        self.port = port or harness.free_port()
        self.db = work.file("herald.db")
        self.cfg = work.file("herald.toml")
        with open(self.cfg, "w") as f:
            f.write(CONFIG.format(db=self.db, smtp=smtp.url, token=TOKEN,
                                  listen=listen or "127.0.0.1:%d" % self.port,
                                  max_body=max_body, **SECRETS))
        self.log_path = work.file("herald.log")
        self.start()

    def start(self):
        if getattr(self, "log_file", None):
            self.log_file.close()
        self.log_file = open(self.log_path, "ab")
        self.proc = subprocess.Popen([harness.HERALD, "run", "--config", self.cfg],
                                     stderr=self.log_file)
        ok = harness.wait_until(lambda: self.get("/healthz")[0] == 200 or
                                self.proc.poll() is not None, 30)
        if not ok or self.proc.poll() is not None:
            raise RuntimeError("herald did not start:\n" + self.log())

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def curl(self, path, body=None, headers=(), method=None):
        """Returns (status, body) as curl saw them; status 0 when no answer came."""
        cmd = ["curl", "-sS", "--max-time", "20", "-o", "-", "-w", "\n%{http_code}",
               "-H", "Expect:"]
        if method:
            cmd += ["-X", method]
        for h in headers:
            cmd += ["-H", h]
        data = None
        if body is not None:
            cmd += ["-H", "Content-Type: application/json", "--data-binary", "@-"]
            data = body
        cmd.append(self.url(path))
        r = subprocess.run(cmd, input=data, capture_output=True, timeout=30)
        out = r.stdout.decode("utf-8", "replace")
        text, _, code = out.rpartition("\n")
        return int(code or 0), text

    def get(self, path):
        try:
            return self.curl(path)
        except (subprocess.TimeoutExpired, ValueError):
            return 0, ""

    def post(self, kind, body, delivery=None, secret=None, event="issues", sig=True):
        headers = []
        secret = SECRETS[kind] if secret is None else secret
        if kind == "github":
            headers.append("X-GitHub-Event: " + event)
            if sig:
                headers.append("X-Hub-Signature-256: " + sign(secret, body))
            if delivery:
                headers.append("X-GitHub-Delivery: " + delivery)
        elif kind == "jira":
            if sig:
                headers.append("X-Hub-Signature: " + sign(secret, body))
            if delivery:
                headers.append("X-Atlassian-Webhook-Identifier: " + delivery)
        else:
            if sig:
                headers.append("X-Gitlab-Token: " + secret)
            if delivery:
                headers.append("X-Gitlab-Event-UUID: " + delivery)
        return self.curl("/hooks/" + kind, body, headers)

    def sql(self, query):
        r = subprocess.run(["sqlite3", self.db, query], capture_output=True, timeout=30)
        if r.returncode != 0:
            raise RuntimeError(r.stderr.decode())
        return r.stdout.decode().strip()

    def count(self):
        return int(self.sql("SELECT count(*) FROM events"))

    def settled(self):
        """True when every stored event is routed and no delivery is pending: nothing
        more is sent until something new arrives."""
        return self.sql("SELECT (SELECT count(*) FROM events WHERE routed = 0) + "
                        "(SELECT count(*) FROM deliveries WHERE state = 'pending')") == "0"

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()


class WebhookTest(unittest.TestCase):
    def setUp(self):
        self.work = harness.Workdir()
        self.smtp = harness.SmtpServer(self.work.file("smtp"))
        self.herald = Herald(self.work, self.smtp)

    def tearDown(self):
        self.herald.stop()
        self.smtp.stop()
        self.work.cleanup()

    def test_signed_deliveries_are_stored_before_2xx_and_mailed_at_once(self):
        h = self.herald
        code, body = h.post("github", fixture("github/issues_opened.payload.json"), "gh-1")
        self.assertEqual(code, 200, body)
        self.assertEqual(json.loads(body), {"result": "stored", "events": 1})
        self.assertEqual(h.count(), 1)  # in the database when the 200 came
        code, body = h.post("jira", fixture("jira/mobitel_webhooks_issue_created.json"))
        self.assertEqual(code, 200, body)
        code, body = h.post("gitlab", fixture("gitlab/mobitel_webhooks_gitlab_issue_created.json"),
                            "gl-1")
        self.assertEqual(code, 200, body)
        self.assertEqual(h.sql("SELECT source FROM events ORDER BY id"), "gh\nlu-jira\ngl")
        self.assertTrue(h.sql("SELECT key FROM events WHERE source = 'lu-jira'")
                        .startswith("jira:BBCOM-1398:"))
        # No poll is due: the commit itself wakes the router, so mail follows at once.
        self.assertTrue(harness.wait_until(lambda: len(self.smtp.messages()) == 3, 20),
                        h.log()[-3000:])
        log = h.log()
        self.assertIn("inbound /hooks/github source=gh result=stored status=200 delivery=gh-1",
                      log)

    def test_wrong_or_missing_signature_is_401_and_stores_nothing(self):
        h = self.herald
        cases = [("github", "github/issues_opened.payload.json"),
                 ("jira", "jira/mobitel_webhooks_issue_created.json"),
                 ("gitlab", "gitlab/mobitel_webhooks_gitlab_issue_created.json")]
        for kind, path in cases:
            body = fixture(path)
            code, answer = h.post(kind, body, secret="not-the-secret")
            self.assertEqual(code, 401, kind)
            code, answer = h.post(kind, body, sig=False)
            self.assertEqual(code, 401, kind)
            self.assertIn("missing", json.loads(answer)["error"])
        # A signature over other bytes does not carry over to a changed body.
        body = fixture("github/issues_opened.payload.json")
        code, _ = h.curl("/hooks/github", body + b" ",
                         ["X-GitHub-Event: issues",
                          "X-Hub-Signature-256: " + sign(SECRETS["github"], body)])
        self.assertEqual(code, 401)
        self.assertEqual(h.count(), 0)
        log = h.log()
        self.assertEqual(log.count("result=unauthorized status=401"), 7)
        for secret in SECRETS.values():
            self.assertNotIn(secret, log)

    def test_oversized_is_413_and_malformed_is_400_with_the_reason(self):
        h = self.herald
        big = b'{"pad": "' + b"x" * (70 * 1024) + b'"}'
        code, _ = h.post("github", big, "big-1")
        self.assertEqual(code, 413)
        code, body = h.post("jira", b'{"webhookEvent": "jira:issue_created", "issue": ')
        self.assertEqual(code, 400)
        self.assertIn("malformed JSON", json.loads(body)["error"])
        code, body = h.post("jira", b'{"issue": {}}')
        self.assertEqual(code, 400)
        self.assertIn("webhookEvent", json.loads(body)["error"])
        self.assertEqual(h.count(), 0)
        self.assertEqual(h.get("/healthz"), (200, "ok\n"))  # and it goes on serving
        log = h.log()
        self.assertIn("source=gh result=too_large status=413", log)
        self.assertIn("source=lu-jira result=bad_request status=400", log)

    def test_a_repeated_delivery_id_is_stored_once(self):
        h = self.herald
        body = fixture("github/issues_opened.payload.json")
        for _ in range(3):
            code, answer = h.post("github", body, "72d3162e-cc78-11e3-81ab-4c9367dc0958")
            self.assertEqual(code, 200)
        self.assertEqual(h.count(), 1)
        self.assertEqual(int(h.sql("SELECT count(*) FROM inbound_deliveries")), 1)
        self.assertEqual(json.loads(answer)["result"], "duplicate")
        self.assertTrue(harness.wait_until(lambda: len(self.smtp.messages()) == 1, 20))
        self.assertTrue(harness.wait_until(h.settled, 20))
        self.assertEqual(len(self.smtp.messages()), 1)

    def test_an_event_herald_does_not_use_is_202_and_dropped(self):
        h = self.herald
        code, body = h.post("github", b'{"zen": "Design for failure.", "hook_id": 1}', "p-1",
                            event="ping")
        self.assertEqual(code, 202)
        code, body = h.post("jira", json.dumps({"webhookEvent": "jira:worklog_updated",
                                                "timestamp": 1}).encode())
        self.assertEqual(code, 202)
        self.assertEqual(h.count(), 0)

    def test_a_security_level_issue_is_never_published_nor_logged(self):
        h = self.herald
        issue = restricted_issue()
        created = json.dumps({"webhookEvent": "jira:issue_created", "timestamp": 1714649400000,
                              "issue": issue}).encode()
        updated = json.dumps({"webhookEvent": "jira:issue_updated", "timestamp": 1714649400000,
                              "issue": issue,
                              "changelog": issue["changelog"]["histories"][0]}).encode()
        for body, delivery in ((created, "r-1"), (updated, "r-2")):
            code, answer = h.post("jira", body, delivery)
            self.assertEqual(code, 202)
            self.assertNotIn("LU-18999", answer)
        # A public issue afterwards is mailed: the router ran, and had nothing else.
        code, _ = h.post("jira", fixture("jira/mobitel_webhooks_issue_created.json"), "p-1")
        self.assertEqual(code, 200)
        self.assertTrue(harness.wait_until(lambda: len(self.smtp.messages()) == 1, 20))
        self.assertTrue(harness.wait_until(h.settled, 20))
        self.assertEqual(h.count(), 1)
        self.assertEqual(len(self.smtp.messages()), 1)
        code, metrics = h.get("/metrics")
        self.assertIn('herald_restricted_items_total{source="lu-jira"} 2', metrics)
        leaks = ("LU-18999", "EMBARGOED", "84211", "remote crash via crafted ping")
        texts = {"log": h.log(), "metrics": metrics,
                 "events": h.sql("SELECT key || title || body FROM events"),
                 "outbox": h.sql("SELECT subject || payload FROM messages")}
        for path in self.smtp.files():
            with open(path, "rb") as f:
                texts[path] = f.read().decode("utf-8", "replace")
        for name, text in texts.items():
            for leak in leaks:
                self.assertNotIn(leak, text, name)
        self.assertIn("withheld_confidential=1", texts["log"])

    def test_healthz_and_metrics(self):
        h = self.herald
        self.assertEqual(h.get("/healthz"), (200, "ok\n"))
        h.post("github", fixture("github/issues_opened.payload.json"), "m-1")
        h.post("github", fixture("github/issues_opened.payload.json"), "m-1")
        h.post("gitlab", fixture("gitlab/mobitel_webhooks_gitlab_issue_created.json"),
               secret="wrong")
        self.assertTrue(harness.wait_until(lambda: len(self.smtp.messages()) == 1, 20))

        def delivered():
            return 'herald_outbox_depth{state="delivered"} 1' in h.get("/metrics")[1]
        self.assertTrue(harness.wait_until(delivered, 20))
        code, text = h.get("/metrics")
        self.assertEqual(code, 200)
        for line in ['# TYPE herald_webhook_requests_total counter',
                     'herald_webhook_requests_total{source="gh",result="stored"} 1',
                     'herald_webhook_requests_total{source="gh",result="duplicate"} 1',
                     'herald_webhook_requests_total{source="gl",result="unauthorized"} 1',
                     'herald_events{source="gh",kind="bug.created"} 1',
                     'herald_outbox_deliveries{destination="developers",state="delivered"} 1',
                     'herald_outbox_depth{state="pending"} 0',
                     'herald_deliveries_total{sink="smtp",result="delivered"} 1',
                     'herald_source_errors_total{source="gl"} 1',
                     'herald_store_up 1']:
            self.assertIn(line + "\n", text)
        stamp = [l for l in text.splitlines()
                 if l.startswith('herald_source_last_success_timestamp_seconds{source="gh"}')]
        self.assertEqual(len(stamp), 1)
        self.assertLess(abs(int(stamp[0].split()[-1]) - time.time()), 120)
        self.assertEqual(h.curl("/metrics", b"x")[0], 405)
        self.assertEqual(h.get("/nothing")[0], 404)

    def test_event_api_with_bearer_token_is_idempotent_by_key(self):
        h = self.herald
        batch = json.dumps({"events": [
            {"key": "ci:lustre:build:7001", "kind": "bug.created", "source": "ci",
             "title": "build 7001 failed", "severity": "high", "tags": {"branch": "2.15"},
             "time": "2025-06-02T10:00:00Z"},
            {"key": "ci:lustre:build:7002", "kind": "bug.created", "source": "ci",
             "title": "build 7002 failed"}]}).encode()
        auth = ["Authorization: Bearer " + TOKEN]
        self.assertEqual(h.curl("/api/v1/events", batch)[0], 401)
        self.assertEqual(h.curl("/api/v1/events", batch, ["Authorization: Bearer nope"])[0], 401)
        code, body = h.curl("/api/v1/events", batch, auth)
        self.assertEqual((code, json.loads(body)), (200, {"accepted": 2, "new": 2}))
        code, body = h.curl("/api/v1/events", batch, auth)
        self.assertEqual((code, json.loads(body)), (200, {"accepted": 2, "new": 0}))
        self.assertEqual(h.count(), 2)
        self.assertEqual(h.sql("SELECT severity FROM events WHERE key = 'ci:lustre:build:7001'"),
                         "high")
        code, body = h.curl("/api/v1/events", b'[{"key": "k", "kind": "x", "title": "a\\nb"}]',
                            auth)
        self.assertEqual(code, 400)
        self.assertEqual(json.loads(body)["index"], 0)
        self.assertTrue(harness.wait_until(lambda: len(self.smtp.messages()) == 2, 20))
        self.assertNotIn(TOKEN, h.log())

    def test_sighup_restarts_the_server_with_the_new_secret(self):
        h = self.herald
        body = fixture("github/issues_opened.payload.json")
        with open(h.cfg) as f:
            text = f.read()
        with open(h.cfg, "w") as f:
            f.write(text.replace('secret = "gh-secret"', 'secret = "rotated-secret"'))
        h.proc.send_signal(signal.SIGHUP)
        self.assertTrue(harness.wait_until(
            lambda: h.log().count("http: listening on") == 2 and h.get("/healthz")[0] == 200,
            20), h.log()[-2000:])
        self.assertEqual(h.post("github", body, "h-1")[0], 401)
        self.assertEqual(h.post("github", body, "h-1", secret="rotated-secret")[0], 200)
        self.assertEqual(h.count(), 1)

    def test_kill_9_right_after_a_2xx_loses_nothing(self):
        h = self.herald
        template = json.loads(fixture("jira/mobitel_webhooks_issue_created.json"))
        acked = []
        lock = threading.Lock()
        stop = threading.Event()

        def poster(worker):
            n = 0
            while not stop.is_set() and n < 400:
                n += 1
                key = "LU-%d%04d" % (worker + 1, n)
                doc = dict(template)
                doc["issue"] = dict(template["issue"], key=key)
                code, _ = h.post("jira", json.dumps(doc).encode(), "kill-%s" % key)
                if code == 200:
                    with lock:
                        acked.append(key)
                        if len(acked) >= 60:
                            stop.set()

        threads = [threading.Thread(target=poster, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        self.assertTrue(stop.wait(120), "too few answers")
        os.kill(h.proc.pid, signal.SIGKILL)  # right after the 60th 2xx
        for t in threads:
            t.join()
        h.proc.wait()
        stored = set(h.sql("SELECT key FROM events").split())
        with lock:
            lost = [k for k in acked if not any(s.startswith("jira:%s:" % k) for s in stored)]
        self.assertEqual(lost, [], "acknowledged but not in the database")
        self.assertGreaterEqual(len(stored), len(acked))
        # A restart serves again and keeps the deliveries it acknowledged.
        h.start()
        code, body = h.post("jira", json.dumps(dict(template, issue=dict(
            template["issue"], key=acked[0]))).encode(), "kill-%s" % acked[0])
        self.assertEqual((code, json.loads(body)["result"]), (200, "duplicate"))


class ListenDefaultTest(unittest.TestCase):
    def test_a_bare_port_listens_on_loopback_only(self):
        work = harness.Workdir()
        smtp = harness.SmtpServer(work.file("smtp"))
        port = harness.free_port()
        h = None
        try:
            h = Herald(work, smtp, port=port, listen=str(port))
            self.assertEqual(h.get("/healthz"), (200, "ok\n"))
            with open("/proc/net/tcp") as f:
                listening = [l.split()[1] for l in f.readlines()[1:] if l.split()[3] == "0A"]
            self.assertIn("0100007F:%04X" % port, listening)
            self.assertNotIn("00000000:%04X" % port, listening)
        finally:
            if h:
                h.stop()
            smtp.stop()
            work.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
