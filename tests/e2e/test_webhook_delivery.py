"""End to end: herald delivers to webhook and chat destinations over real HTTP
(tests/tools/http_receiver.py), beside mail over real SMTP.

- A signed webhook, a Slack webhook and a Matrix room get every event pushed to
  the event API; each signature verifies in Python's hmac with either of two
  rotating keys (tests/tools/verify_webhook.py), the payloads match
  docs/webhook-payload.schema.json, and no secret shows in herald's log.
- A retry carries the same webhook-id; a 410 disables the destination (log,
  /metrics, `herald destination list`) until it is enabled again.
- A hung SMTP server does not delay webhook deliveries, and the reverse.
- Two `herald run` processes on one database deliver 1,000 webhooks, each
  exactly once at the receiver.
- kill -9 during 1,000 webhook deliveries: after a restart every one arrives,
  and a repeat carries the same webhook-id.
"""
import base64
import json
import os
import signal
import subprocess
import sys
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

TOKEN = "api-token-5d1c"
OLD_KEY = "whsec_" + base64.b64encode(b"old signing key for herald tests").decode()
NEW_KEY = "whsec_" + base64.b64encode(b"new signing key for herald tests").decode()
SLACK_PATH = "/services/T0001/B0001/slackpathsecret42"
MATRIX_TOKEN = "syt_matrix_token_secret_77"
QUERY_SECRET = "querysecret99"
VERIFY = os.path.join(harness.SRC, "tests", "tools", "verify_webhook.py")
SCHEMA = os.path.join(harness.SRC, "docs", "webhook-payload.schema.json")


def webhook_destination(name, url, schedule='["1s", "1s", "1s", "1s", "1s"]', conns=2):
    return """
[[destination]]
name = "{name}"
kind = "webhook"
url = "{url}"
secrets = ["{old}", "{new}"]
retry_schedule = {schedule}
max_connections = {conns}
""".format(name=name, url=url, old=OLD_KEY, new=NEW_KEY, schedule=schedule, conns=conns)


def base_config(work, body, listen=True, smtp_url="", source=""):
    text = """
[herald]
database = "{db}"
[mail]
from = "herald <herald@lists.example.org>"
domain = "lists.example.org"
maildir = "{maildir}"
{smtp}
""".format(db=work.file("herald.db"), maildir=work.file("Maildir"),
           smtp=('smtp_url = "%s"' % smtp_url) if smtp_url else "")
    if listen:
        text += '[http]\nlisten = "127.0.0.1:%d"\napi_token = "%s"\n' % (harness.free_port(), TOKEN)
    return text + source + body


def write(work, name, text):
    path = work.file(name)
    with open(path, "w") as f:
        f.write(text)
    return path


def listen_of(cfg):
    with open(cfg) as f:
        for line in f:
            if line.startswith("listen"):
                return line.split('"')[1]
    raise AssertionError("no listen in " + cfg)


def post_events(cfg, events):
    req = urllib.request.Request("http://%s/api/v1/events" % listen_of(cfg),
                                 data=json.dumps({"events": events}).encode(), method="POST",
                                 headers={"Authorization": "Bearer " + TOKEN,
                                          "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status, json.loads(r.read())


def wait_healthy(cfg, daemon, limit=20):
    def up():
        try:
            with urllib.request.urlopen("http://%s/healthz" % listen_of(cfg), timeout=2) as r:
                return r.status == 200
        except OSError:
            return False
    if not harness.wait_until(up, limit):
        raise AssertionError("herald did not come up:\n" + daemon.log()[-3000:])


def get(cfg, path):
    with urllib.request.urlopen("http://%s%s" % (listen_of(cfg), path), timeout=5) as r:
        return r.read().decode()


def event(n, kind="bug.created"):
    return {"key": "ci:lustre:build:%d" % n, "kind": kind, "source": "ci",
            "title": "build %d failed" % n, "url": "https://ci.example.org/build/%d" % n,
            "summary": "sanity test %d failed on el9" % n, "severity": "high"}


def feed_of(n):
    now = time.time()
    return harness.atom_feed([
        {"id": "tag:test,2026:entry-%d" % i, "title": "entry %d" % i,
         "updated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - i)),
         "link": "https://example.org/entry/%d" % i} for i in range(n)])


FEED_SOURCE = """
[[source]]
name = "entries"
kind = "feed"
url = "{url}"
release_model = "generic"
interval = "1h"
"""


class Channels(unittest.TestCase):
    def setUp(self):
        self.work = harness.Workdir()
        self.procs = []

    def tearDown(self):
        for p in reversed(self.procs):
            (getattr(p, "stop", None) or p.close)()
        self.work.cleanup()

    def receiver(self, name, mode="200"):
        r = harness.HttpReceiver(self.work.file(name + ".jsonl"), mode)
        self.procs.append(r)
        return r

    def daemon(self, cfg, name="herald"):
        d = harness.Daemon(cfg, self.work.file(name + ".log"))
        self.procs.append(d)
        return d

    def herald(self, cfg, *args):
        r = harness.herald(*args, "--config", cfg)
        return r.returncode, r.stdout.decode() + r.stderr.decode()

    def test_signed_webhook_slack_and_matrix_get_every_event(self):
        hook, chat, matrix = self.receiver("hook"), self.receiver("chat"), self.receiver("matrix")
        body = webhook_destination("hook", hook.url + "/in?token=" + QUERY_SECRET) + """
[[destination]]
name = "chat"
kind = "slack"
url = "{chat}{path}"
rate = 50
[[destination]]
name = "room"
kind = "matrix"
homeserver = "{matrix}"
room = "!lustre:example.org"
access_token = "{token}"
rate = 50
[[route]]
to = ["hook", "chat", "room"]
""".format(chat=chat.url, path=SLACK_PATH, matrix=matrix.url, token=MATRIX_TOKEN)
        cfg = write(self.work, "herald.toml", base_config(self.work, body))
        d = self.daemon(cfg)
        wait_healthy(cfg, d)
        self.assertEqual(post_events(cfg, [event(1), event(2), event(3, "bug.resolved")]),
                         (200, {"accepted": 3, "new": 3}))
        for r in (hook, chat, matrix):
            self.assertTrue(harness.wait_until(lambda: len(r.requests()) >= 3, 30),
                            d.log()[-3000:])
        # Signatures, checked by Python's hmac with each key of the rotation.
        for key in (OLD_KEY, NEW_KEY):
            v = subprocess.run([harness.PY, VERIFY, hook.log_path, key], capture_output=True)
            self.assertEqual(v.returncode, 0, v.stdout.decode() + v.stderr.decode())
        wrong = "whsec_" + base64.b64encode(b"not the key at all, not at all").decode()
        self.assertNotEqual(subprocess.run([harness.PY, VERIFY, hook.log_path, wrong],
                                           capture_output=True).returncode, 0)
        # The documented payload.
        import jsonschema
        with open(SCHEMA) as f:
            schema = json.load(f)
        docs = [json.loads(r["body"]) for r in hook.requests()]
        for doc in docs:
            jsonschema.validate(doc, schema)
        self.assertEqual(sorted(doc["event"]["key"] for doc in docs),
                         ["ci:lustre:build:1", "ci:lustre:build:2", "ci:lustre:build:3"])
        self.assertEqual(len({r["headers"]["webhook-id"] for r in hook.requests()}), 3)
        # Slack: a JSON text per event, at the configured path.
        for r in chat.requests():
            self.assertEqual((r["method"], r["path"]), ("POST", SLACK_PATH))
            self.assertIn("build", json.loads(r["body"])["text"])
        # Matrix: a PUT per event with its own transaction id, the bearer token.
        paths = [r["path"] for r in matrix.requests()]
        for r in matrix.requests():
            self.assertEqual(r["method"], "PUT")
            self.assertTrue(r["path"].startswith(
                "/_matrix/client/v3/rooms/%21lustre%3Aexample.org/send/m.room.message/"),
                r["path"])
            self.assertEqual(r["headers"]["authorization"], "Bearer " + MATRIX_TOKEN)
            self.assertEqual(json.loads(r["body"])["msgtype"], "m.notice")
        self.assertEqual(len(set(paths)), 3)
        # No secret in the log or the metrics.
        metrics = get(cfg, "/metrics")
        for secret in (OLD_KEY, NEW_KEY, SLACK_PATH, "slackpathsecret42", MATRIX_TOKEN,
                       QUERY_SECRET, TOKEN):
            self.assertNotIn(secret, d.log())
            self.assertNotIn(secret, metrics)
        self.assertIn('herald_deliveries_total{sink="webhook",result="delivered"} 3', metrics)

    def test_a_retry_keeps_its_webhook_id_and_a_410_disables_the_destination(self):
        hook = self.receiver("hook", "500,200")
        body = webhook_destination("hook", hook.url + "/in") + '[[route]]\nto = ["hook"]\n'
        cfg = write(self.work, "herald.toml", base_config(self.work, body))
        d = self.daemon(cfg)
        wait_healthy(cfg, d)
        post_events(cfg, [event(1)])
        self.assertTrue(harness.wait_until(lambda: len(hook.requests()) == 2, 30), d.log()[-3000:])
        first, second = hook.requests()
        self.assertEqual((first["answer"], second["answer"]), (500, 200))
        self.assertEqual(first["headers"]["webhook-id"], second["headers"]["webhook-id"])
        self.assertEqual(first["body"], second["body"])
        # Gone: disabled at the first 410, nothing more is sent until it is enabled.
        hook.set_mode("410")
        post_events(cfg, [event(2)])
        self.assertTrue(harness.wait_until(lambda: len(hook.requests()) == 3, 30))
        self.assertTrue(harness.wait_until(lambda: "destination hook is disabled" in d.log(), 10))
        post_events(cfg, [event(3)])
        self.assertTrue(harness.wait_until(
            lambda: 'herald_destination_disabled{destination="hook"} 1' in get(cfg, "/metrics"),
            10), get(cfg, "/metrics"))
        time.sleep(2)
        self.assertEqual(len(hook.requests()), 3)
        code, out = self.herald(cfg, "destination", "list")
        self.assertEqual(code, 0, out)
        self.assertIn("hook", out)
        self.assertIn("410", out)
        code, out = self.herald(cfg, "outbox", "list", "--state", "pending")
        self.assertEqual(code, 0, out)
        self.assertEqual(out.count("webhook:hook:"), 2, out)
        hook.set_mode("200")
        code, out = self.herald(cfg, "destination", "enable", "hook")
        self.assertEqual(code, 0, out)
        # The running herald notices the enable by itself: no reload, no restart.
        self.assertTrue(harness.wait_until(
            lambda: sum(1 for r in hook.requests() if r["answer"] == 200) == 3, 15),
            d.log()[-3000:])
        self.assertIn("destination hook was enabled again", d.log())
        self.assertIn('herald_destination_disabled{destination="hook"} 0', get(cfg, "/metrics"))

    def test_a_hung_smtp_server_does_not_delay_webhooks_and_the_reverse(self):
        hold = self.work.file("release-smtp")
        smtp = harness.SmtpServer(self.work.file("smtp"), "--hold-data", hold)
        self.procs.append(smtp)
        hook = self.receiver("hook")
        body = webhook_destination("hook", hook.url + "/in") + """
[[destination]]
name = "list"
to = ["list@lists.example.org"]
[[route]]
to = ["hook", "list"]
"""
        cfg = write(self.work, "herald.toml", base_config(self.work, body, smtp_url=smtp.url))
        d = self.daemon(cfg)
        wait_healthy(cfg, d)
        post_events(cfg, [event(1)])
        # The mail waits in its DATA phase; the webhook goes at once.
        self.assertTrue(harness.wait_until(lambda: len(hook.requests()) == 1, 10), d.log()[-2000:])
        self.assertEqual(smtp.messages(), [])
        open(hold, "w").close()
        self.assertTrue(harness.wait_until(lambda: len(smtp.messages()) == 1, 20))
        # Now the webhook endpoint hangs: mail still goes.
        hook.set_mode("hang")
        post_events(cfg, [event(2)])
        self.assertTrue(harness.wait_until(lambda: len(smtp.messages()) == 2, 10), d.log()[-2000:])

    def test_two_processes_on_one_database_deliver_each_webhook_once(self):
        feed = harness.FeedServer()
        self.procs.append(feed)
        url = feed.put("/entries.atom", feed_of(1000))
        source = FEED_SOURCE.format(url=url)
        closed = "http://127.0.0.1:%d/in" % harness.free_port()  # nothing listens
        route = '[[route]]\nto = ["hook"]\n'
        # First the outbox: 1,000 deliveries, each refused once by a closed port (a wait
        # longer than the whole run, so that --once does not try them again).
        prefill = write(self.work, "prefill.toml", base_config(
            self.work, webhook_destination("hook", closed, '["4s"]') + route, listen=False,
            source=source))
        code, out = self.herald(prefill, "run", "--once")
        self.assertEqual(code, 1, out)  # deliveries to retry
        hook = self.receiver("hook")
        cfg = write(self.work, "herald.toml", base_config(
            self.work, webhook_destination("hook", hook.url + "/in") + route, listen=False,
            source=source))
        time.sleep(5)  # the retries are due (4 s +-20%)
        a, b = self.daemon(cfg, "a"), self.daemon(cfg, "b")
        self.assertTrue(harness.wait_until(lambda: len(hook.requests()) >= 1000, 200),
                        a.log()[-2000:] + b.log()[-2000:])
        time.sleep(1)
        ids = [r["headers"]["webhook-id"] for r in hook.requests()]
        self.assertEqual(len(ids), 1000)
        self.assertEqual(len(set(ids)), 1000)
        # Both took part.
        self.assertGreater(a.log().count("delivered: HTTP 200"), 0)
        self.assertGreater(b.log().count("delivered: HTTP 200"), 0)

    def test_kill_9_during_1000_webhooks_loses_none(self):
        feed = harness.FeedServer()
        self.procs.append(feed)
        url = feed.put("/entries.atom", feed_of(1000))
        hook = self.receiver("hook")
        cfg = write(self.work, "herald.toml", base_config(
            self.work, webhook_destination("hook", hook.url + "/in", conns=1) +
            '[[route]]\nto = ["hook"]\n', listen=False, source=FEED_SOURCE.format(url=url)))
        d = self.daemon(cfg, "first")
        self.assertTrue(harness.wait_until(lambda: len(hook.requests()) >= 150, 60), d.log()[-2000:])
        d.stop(signal.SIGKILL)
        before = len(hook.requests())
        self.assertLess(before, 1000, "all were sent before the kill; nothing was tested")
        d = self.daemon(cfg, "second")
        by_event = {}
        def all_there():
            by_event.clear()
            for r in hook.requests():
                by_event.setdefault(json.loads(r["body"])["id"], set()).add(
                    r["headers"]["webhook-id"])
            return len(by_event) == 1000
        self.assertTrue(harness.wait_until(all_there, 200), d.log()[-2000:])
        # A repeat (a send whose outcome was not committed at the kill) carries the
        # webhook-id of the first.
        self.assertTrue(all(len(ids) == 1 for ids in by_event.values()))
        # At most k_unrecorded_per_lane (8, daemon/deliver.hpp) sends of the one lane
        # were in flight or uncommitted at the kill.
        self.assertLessEqual(len(hook.requests()), 1000 + 8)


if __name__ == "__main__":
    unittest.main()
