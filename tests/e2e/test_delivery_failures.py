"""End to end: SMTP answers 451, 550, or nothing at all; herald retries,
gives up or recovers as configured, and `herald outbox` shows why."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402


def one_release_feed():
    return harness.atom_feed([{"id": "t:2.15.8", "title": "2.15.8",
                               "updated": "2025-12-02T18:19:20Z",
                               "link": "https://example.org/tag/2.15.8"}])


class DeliveryFailures(unittest.TestCase):
    def setUp(self):
        self.work = harness.Workdir()
        self.http = harness.FeedServer()
        self.feed = self.http.put("/tags.atom", one_release_feed())
        self.smtp = None

    def tearDown(self):
        if self.smtp:
            self.smtp.stop()
        self.http.close()
        self.work.cleanup()

    def outbox(self, cfg, state):
        r = harness.herald("outbox", "list", "--state", state, "--config", cfg)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        return [l.split("\t") for l in r.stdout.decode().splitlines()]

    def test_451_then_250_is_retried_and_delivered(self):
        self.smtp = harness.SmtpServer(self.work.file("smtp"), "--script", "451")
        # 4 s (3.2-4.8 s with jitter): a run --once slowed by a sanitizer must
        # not find the retry due before it ends, which 1 s allowed.
        cfg = self.work.config(self.feed, self.smtp.url, backoff="4s")
        r = harness.herald("run", "--once", "--config", cfg)
        self.assertEqual(r.returncode, 1)  # something is left to retry
        self.assertIn("retry at", r.stderr.decode())
        self.assertIn("451", r.stderr.decode())
        pending = self.outbox(cfg, "pending")
        self.assertEqual(len(pending), 1)
        self.assertIn("attempts=1", pending[0])
        self.assertEqual(len(self.smtp.messages()), 0)
        harness.wait_until_due(self.work.file("herald.db"), limit=6)  # backoff 4 s +-20%
        r = harness.herald("run", "--once", "--config", cfg)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        msgs = self.smtp.messages()
        self.assertEqual(len(msgs), 1)
        answers = [e["answer"][:3] for e in self.smtp.log() if e["event"] == "message"]
        self.assertEqual(answers, ["451", "250"])
        self.assertEqual(len(self.outbox(cfg, "delivered")), 1)

    def test_550_is_dead_at_once_with_the_answer_visible(self):
        self.smtp = harness.SmtpServer(self.work.file("smtp"), "--script",
                                       "550 5.7.1 Announcements not accepted here")
        cfg = self.work.config(self.feed, self.smtp.url)
        r = harness.herald("run", "--once", "--config", cfg)
        self.assertEqual(r.returncode, 1)
        dead = self.outbox(cfg, "dead")
        self.assertEqual(len(dead), 1)
        self.assertIn("550", dead[0][-1])
        self.assertIn("Announcements not accepted here", dead[0][-1])
        self.assertEqual(self.outbox(cfg, "pending"), [])
        # A second run does not try again; an admin's retry does.
        harness.herald("run", "--once", "--config", cfg)
        self.assertEqual(len([e for e in self.smtp.log() if e["event"] == "message"]), 1)
        r = harness.herald("outbox", "retry", "--all", "--config", cfg)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        r = harness.herald("run", "--once", "--config", cfg)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(len(self.smtp.messages()), 1)

    def test_server_down_is_retried_with_backoff_then_delivered(self):
        port = harness.free_port()
        cfg = self.work.config(self.feed, "smtp://127.0.0.1:%d" % port, backoff="1s")
        r = harness.herald("run", "--once", "--config", cfg)
        self.assertEqual(r.returncode, 1)
        self.assertIn("retry at", r.stderr.decode())
        harness.wait_until_due(self.work.file("herald.db"), limit=2)
        r = harness.herald("run", "--once", "--config", cfg)  # still down: second attempt
        self.assertEqual(r.returncode, 1)
        pending = self.outbox(cfg, "pending")
        self.assertEqual(len(pending), 1)
        self.assertIn("attempts=2", pending[0])
        self.smtp = harness.SmtpServer(self.work.file("smtp"), port=port)
        harness.wait_until_due(self.work.file("herald.db"), limit=3)  # second backoff: 2 s +-20%
        r = harness.herald("run", "--once", "--config", cfg)
        self.assertEqual(r.returncode, 0, r.stderr.decode())
        self.assertEqual(len(self.smtp.messages()), 1)

    def test_sigterm_stops_the_daemon_gracefully(self):
        self.smtp = harness.SmtpServer(self.work.file("smtp"))
        cfg = self.work.config(self.feed, self.smtp.url)
        import subprocess
        p = subprocess.Popen([harness.HERALD, "run", "--config", cfg], stderr=subprocess.PIPE)
        self.assertTrue(harness.wait_until(lambda: len(self.smtp.messages()) == 1, 20))
        p.terminate()
        _, err = p.communicate(timeout=20)
        self.assertEqual(p.returncode, 0, err.decode())
        self.assertIn("stopping", err.decode())


if __name__ == "__main__":
    unittest.main(verbosity=2)
