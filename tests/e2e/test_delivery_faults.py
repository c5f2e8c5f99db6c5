"""End to end: delivery under faults, against the real binary and the real
SMTP server of tests/tools/smtp_server.py.

- A full disk while mail is being sent (the database on a small tmpfs): no
  mail storm. Sending stops while outcomes cannot be recorded, /healthz and
  /metrics say so, and once there is room again every message arrives exactly
  once; `run --once` exits non-zero.
- A destination whose server never answers the end of the data holds up only
  itself: polls and the other destination go on.
- kill -9, twenty times, during 1,000 deliveries: every message arrives, and
  each kill repeats at most the sends in flight (one per lane).
- Two herald processes on one database: each message is sent once.

Time is never slept away: every wait is for an event, with a deadline. The
server holds a message's end-of-data answer until the test creates a file
(--hold-data), which is how a send is caught in flight.
"""
import collections
import os
import signal
import sqlite3
import subprocess
import sys
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

CONFIG = """
[herald]
database = "{db}"
log_level = "info"

[mail]
from = "Lustre announcements <announce@lists.lustre.example>"
domain = "lists.lustre.example"
smtp_url = "{smtp}"
max_connections = {conns}

[delivery]
backoff_initial = "1s"
backoff_max = "2s"

[http]
listen = "{http_port}"

[[source]]
name = "tags"
kind = "feed"
url = "{feed}"
release_model = "generic"
interval = "10s"

[[destination]]
name = "list"
to = ["list@lists.lustre.example"]
{extra_destinations}
[[route]]
to = [{route_to}]
"""


def write_config(work, feed, smtp_url, db=None, conns=2, extra="", route_to='"list"'):
    port = harness.free_port()
    text = CONFIG.format(db=db or work.file("herald.db"), smtp=smtp_url, conns=conns,
                         http_port=port, feed=feed, extra_destinations=extra,
                         route_to=route_to)
    path = work.file("herald-%d.toml" % port)
    with open(path, "w") as f:
        f.write(text)
    return path, port


def entries(n, prefix="Announcement"):
    return [{"id": "urn:herald-test:%s:%d" % (prefix, i), "title": "%s %04d" % (prefix, i),
             "updated": "2025-12-01T00:00:00Z", "link": "https://example.org/a/%d" % i}
            for i in range(n)]


def get(port, path):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return None, ""


def ids(smtp):
    return [m["message_id"] for m in smtp.messages()]


class Tmpfs:
    """A small tmpfs of its own, so that the test can fill it."""

    def __init__(self, path, size):
        os.makedirs(path)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size, "tmpfs", path],
                           capture_output=True)
        if r.returncode != 0:
            raise RuntimeError("cannot mount a tmpfs (the test runs as root): %s" %
                               r.stderr.decode())
        self.path = path

    def fill(self):
        """Writes until the file system is full; returns the filler's path."""
        filler = os.path.join(self.path, "filler")
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            for size in (65536, 4096, 512, 1):
                while True:
                    try:
                        if os.write(fd, b"\0" * size) < size:
                            break
                    except OSError:
                        break
        finally:
            os.close(fd)
        return filler

    def close(self):
        subprocess.run(["umount", "-l", self.path], capture_output=True)


def truncate_wal(db):
    """Checkpoints the database and empties its WAL, so that the next write must grow it."""
    def truncated():
        con = sqlite3.connect(db, timeout=10)
        try:
            busy = con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()[0][0]
        finally:
            con.close()
        return busy == 0 and os.path.getsize(db + "-wal") == 0
    if not harness.wait_until(truncated, 20):
        raise AssertionError("could not empty the WAL of %s" % db)


@unittest.skipUnless(os.geteuid() == 0, "mounting a tmpfs needs root")
class FullDisk(unittest.TestCase):
    N = 20

    def setUp(self):
        self.work = harness.Workdir()
        self.http = harness.FeedServer()
        self.disk = Tmpfs(self.work.file("db"), "8m")
        self.release = self.work.file("release")
        self.smtp = harness.SmtpServer(self.work.file("smtp"), "--hold-data", self.release)
        self.feed = self.http.put("/tags.atom", harness.atom_feed(entries(self.N)))
        self.db = os.path.join(self.disk.path, "herald.db")

    def tearDown(self):
        self.smtp.stop()
        self.http.close()
        self.disk.close()
        self.work.cleanup()

    def held(self):
        return [e for e in self.smtp.log() if e["event"] == "held"]

    def test_daemon_stops_sending_and_loses_nothing(self):
        cfg, port = write_config(self.work, self.feed, self.smtp.url, db=self.db)
        log = open(self.work.file("herald.log"), "wb")
        p = subprocess.Popen([harness.HERALD, "run", "--config", cfg], stderr=log)
        try:
            # Both lanes are in the middle of a send: the server has the data.
            self.assertTrue(harness.wait_until(lambda: len(self.held()) >= 2, 30))
            truncate_wal(self.db)
            filler = self.disk.fill()
            open(self.release, "w").close()  # the server answers 250 to both
            self.assertTrue(harness.wait_until(lambda: get(port, "/healthz")[0] == 503, 30),
                            get(port, "/healthz"))
            status, text = get(port, "/healthz")
            self.assertIn("cannot record delivery outcomes", text)
            self.assertIn("herald_delivery_recording_failed 1", get(port, "/metrics")[1])
            # A lane sends at most k_unrecorded_per_lane (8, daemon/deliver.hpp) more
            # before it learns that a commit failed; then time passes (another poll of
            # the feed, due every 10 s) and nothing more is sent.
            sent = len(self.smtp.messages())
            self.assertLessEqual(sent, 2 + 2 * 8)
            polls = len(self.http.statuses("/tags.atom"))
            self.assertTrue(harness.wait_until(
                lambda: len(self.http.statuses("/tags.atom")) >= polls + 1, 30))
            self.assertEqual(len(self.smtp.messages()), sent)
            # Room again: the two outcomes are recorded, the rest is sent, once each.
            os.unlink(filler)
            self.assertTrue(harness.wait_until(lambda: len(set(ids(self.smtp))) >= self.N, 60))
            self.assertTrue(harness.wait_until(lambda: get(port, "/healthz")[0] == 200, 30))
            self.assertEqual(len(ids(self.smtp)), self.N, "a message was sent twice")
            self.assertIn("herald_delivery_recording_failed 0", get(port, "/metrics")[1])
        finally:
            p.send_signal(signal.SIGTERM)
            p.wait(60)
            log.close()
        text = open(self.work.file("herald.log"), encoding="utf-8", errors="replace").read()
        self.assertIn("every destination stops sending", text)
        self.assertIn("outcomes are recorded again", text)

    def test_once_exits_nonzero_and_repeats_only_what_was_in_flight(self):
        cfg, _ = write_config(self.work, self.feed, self.smtp.url, db=self.db, conns=1)
        p = subprocess.Popen([harness.HERALD, "run", "--once", "--config", cfg],
                             stderr=subprocess.PIPE)
        self.assertTrue(harness.wait_until(lambda: len(self.held()) >= 1, 30))
        truncate_wal(self.db)
        filler = self.disk.fill()
        open(self.release, "w").close()
        _, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 1, err.decode()[-2000:])
        self.assertIn(b"could not be recorded", err)
        # Sending stopped at the first failed commit, within k_unrecorded_per_lane (8)
        # sends of the one lane; none of them is recorded.
        unrecorded = len(self.smtp.messages())
        self.assertLessEqual(unrecorded, 1 + 8)
        self.assertLess(unrecorded, self.N)
        os.unlink(filler)
        r = harness.herald("run", "--once", "--config", cfg, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr.decode()[-2000:])
        got = ids(self.smtp)
        self.assertEqual(len(set(got)), self.N)
        self.assertEqual(len(got), self.N + unrecorded)  # only the unrecorded came twice


class HungDestination(unittest.TestCase):
    def test_polls_and_other_destinations_go_on(self):
        work = harness.Workdir()
        http = harness.FeedServer()
        release = work.file("release")
        # Messages to hung@ never get their end-of-data answer (until the end of the test).
        smtp = harness.SmtpServer(work.file("smtp"), "--hold-data", release,
                                  "--hold-rcpt", "hung@lists.lustre.example")
        try:
            feed = http.put("/tags.atom", harness.atom_feed(entries(10)))
            extra = '[[destination]]\nname = "hung"\nto = ["hung@lists.lustre.example"]\n'
            cfg, port = write_config(work, feed, smtp.url, extra=extra,
                                     route_to='"list", "hung"')
            p = subprocess.Popen([harness.HERALD, "run", "--config", cfg],
                                 stderr=subprocess.DEVNULL)
            try:
                held = lambda: [e for e in smtp.log() if e["event"] == "held"]  # noqa: E731
                self.assertTrue(harness.wait_until(lambda: len(held()) >= 1, 30))
                # The other destination gets all ten while hung@ waits.
                to_list = lambda: [m for m in smtp.messages()  # noqa: E731
                                   if m["rcpt"] == ["list@lists.lustre.example"]]
                self.assertTrue(harness.wait_until(lambda: len(to_list()) == 10, 30))
                # The feed (due every 10 s) is polled on, and the HTTP side answers.
                polls = len(http.statuses("/tags.atom"))
                self.assertTrue(harness.wait_until(
                    lambda: len(http.statuses("/tags.atom")) >= polls + 2, 40))
                self.assertEqual(get(port, "/healthz")[0], 200)
                self.assertEqual([m for m in smtp.messages() if "hung" in m["rcpt"][0]], [])
                open(release, "w").close()
                hung = lambda: [m for m in smtp.messages()  # noqa: E731
                                if m["rcpt"] == ["hung@lists.lustre.example"]]
                self.assertTrue(harness.wait_until(lambda: len(hung()) == 10, 60))
            finally:
                p.send_signal(signal.SIGTERM)
                p.wait(60)
        finally:
            smtp.stop()
            http.close()
            work.cleanup()


class StopWhileHung(unittest.TestCase):
    def test_sigterm_abandons_a_send_that_has_not_handed_the_message_over(self):
        work = harness.Workdir()
        http = harness.FeedServer()
        release = work.file("release")
        # The server never answers RCPT: the message is not with it.
        smtp = harness.SmtpServer(work.file("smtp"), "--hold-data", release,
                                  "--hold-stage", "rcpt")
        try:
            feed = http.put("/tags.atom", harness.atom_feed(entries(3)))
            cfg, _ = write_config(work, feed, smtp.url, conns=1)
            p = subprocess.Popen([harness.HERALD, "run", "--config", cfg],
                                 stderr=subprocess.PIPE)
            held = lambda: [e for e in smtp.log() if e["event"] == "held"]  # noqa: E731
            self.assertTrue(harness.wait_until(lambda: len(held()) >= 1, 30))
            p.send_signal(signal.SIGTERM)
            # Stops at once, not after the 60 s timeout.
            _, err = p.communicate(timeout=10)
            self.assertEqual(p.returncode, 0, err.decode()[-2000:])
            self.assertIn(b"interrupted before the end of the message data", err)
            r = harness.herald("outbox", "list", "--state", "pending", "--config", cfg)
            self.assertEqual(len(r.stdout.decode().splitlines()), 3, r.stdout.decode())
            # Later, with the server well, each arrives once.
            open(release, "w").close()
            r = harness.herald("run", "--once", "--config", cfg, timeout=120)
            # The interrupted one was deferred by the backoff (1 s): wait for it.
            self.assertTrue(harness.wait_until(
                lambda: harness.herald("run", "--once", "--config", cfg).returncode == 0 and
                len(ids(smtp)) == 3, 30))
            self.assertEqual(sorted(set(ids(smtp))), sorted(ids(smtp)))
        finally:
            smtp.stop()
            http.close()
            work.cleanup()


class Crashes(unittest.TestCase):
    N = 1000
    KILLS = 20

    def test_twenty_kill_9_repeat_at_most_the_sends_in_flight(self):
        work = harness.Workdir()
        http = harness.FeedServer()
        # A 10 ms answer paces the server, so that each kill lands mid-delivery.
        smtp = harness.SmtpServer(work.file("smtp"), "--delay-data", "0.01")
        conns = 2
        try:
            feed = http.put("/big.atom", harness.atom_feed(entries(self.N)))
            cfg, _ = write_config(work, feed, smtp.url, conns=conns)
            step = self.N // 40
            kills = 0
            for _ in range(self.KILLS):
                before = len(smtp.messages())
                if len(set(ids(smtp))) >= self.N - step:
                    break
                p = subprocess.Popen([harness.HERALD, "run", "--config", cfg],
                                     stderr=subprocess.DEVNULL)
                self.assertTrue(harness.wait_until(
                    lambda: len(smtp.messages()) >= before + step, 60))
                os.kill(p.pid, signal.SIGKILL)
                p.wait()
                kills += 1
            self.assertGreaterEqual(kills, 15, "the kills came too late to test anything")
            r = harness.herald("run", "--once", "--config", cfg, timeout=300)
            self.assertEqual(r.returncode, 0, r.stderr.decode()[-2000:])
            got = ids(smtp)
            by_id = collections.Counter(got)
            self.assertEqual(len(by_id), self.N)  # every announcement arrived
            repeats = len(got) - self.N
            print("kills: %d, received: %d, repeats: %d" % (kills, len(got), repeats))
            self.assertLessEqual(repeats, kills * conns)
        finally:
            smtp.stop()
            http.close()
            work.cleanup()


class TwoProcesses(unittest.TestCase):
    N = 1000

    def test_one_database_two_daemons_send_each_message_once(self):
        work = harness.Workdir()
        http = harness.FeedServer()
        smtp = harness.SmtpServer(work.file("smtp"))
        try:
            feed = http.put("/big.atom", harness.atom_feed(entries(self.N)))
            db = work.file("shared.db")
            # Created first, so that the two daemons do not race to create the schema.
            r = harness.herald("outbox", "list", "--config",
                               write_config(work, feed, smtp.url, db=db)[0])
            self.assertEqual(r.returncode, 0, r.stderr.decode())
            logs = [work.file("a.log"), work.file("b.log")]
            procs = []
            for log in logs:
                cfg, _ = write_config(work, feed, smtp.url, db=db)
                with open(log, "wb") as f:
                    procs.append(subprocess.Popen([harness.HERALD, "run", "--config", cfg],
                                                  stderr=f))
            try:
                self.assertTrue(harness.wait_until(lambda: len(smtp.messages()) >= self.N, 120))
            finally:
                for p in procs:
                    p.send_signal(signal.SIGTERM)
                for p in procs:
                    p.wait(60)
            got = ids(smtp)
            self.assertEqual(len(set(got)), self.N)
            self.assertEqual(len(got), self.N, "a message was sent by both processes")
            sent = []
            for log in logs:
                with open(log, encoding="utf-8", errors="replace") as f:
                    sent.append(sum(1 for line in f if ": delivered: " in line))
            print("delivered by each process: %s" % sent)
            self.assertEqual(sum(sent), self.N)
            self.assertTrue(all(n > 0 for n in sent), sent)  # both took part
        finally:
            smtp.stop()
            http.close()
            work.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
