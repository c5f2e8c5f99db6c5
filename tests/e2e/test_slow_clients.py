"""End to end: slow clients against the real `herald run`.

A flood of 1,100 connections from 127.0.0.2-127.0.0.9, each sending its
request a byte a second, must neither shut out /healthz nor a signed Jira
webhook from 127.0.0.1 ([http] max_connections_per_ip keeps room for other
clients), and herald must close every slow connection once its request has
taken longer than [http] read_timeout (a trickling client is never idle, so
the idle timeout alone would keep it). A kept-alive connection that sends
nothing is idle, not slow, and stays open; one whose next request trickles in
is cut off like the rest.

Fixture: tests/fixtures/jira/mobitel_webhooks_issue_created.json (a real Jira
webhook, from mobitel-ltd/jira-to-matrix @ 78962a92, test/fixtures).
"""
import errno
import hashlib
import hmac
import http.client
import os
import resource
import selectors
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402

SECRET = "jira-secret"
READ_TIMEOUT = 5.0  # seconds, as configured below
PER_IP = 64         # the default of max_connections_per_ip
FLOOD = 1100
FLOOD_ADDRESSES = ["127.0.0.%d" % n for n in range(2, 10)]

CONFIG = """
[herald]
database = "{db}"
log_level = "info"

[mail]
maildir = "{maildir}"

[http]
listen = "127.0.0.1:{port}"
read_timeout = "5s"

[[source]]
name = "lu-jira"
kind = "jira-webhook"
path = "/hooks/jira"
secret = "{secret}"
"""

# A request that would take minutes at a byte a second.
SLOW_REQUEST = (b"POST /hooks/jira HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/json\r\nContent-Length: 64\r\n\r\n" + b"{" * 64)


def jira_body():
    path = os.path.join(harness.SRC, "tests", "fixtures", "jira",
                        "mobitel_webhooks_issue_created.json")
    with open(path, "rb") as f:
        return f.read()


class Flood:
    """Slow connections: each sends the next byte of SLOW_REQUEST once a second
    and records when the server closed it."""

    def __init__(self, port, count, addresses):
        self.sel = selectors.DefaultSelector()
        self.socks = []  # dicts: sock, opened, closed (None while open), sent
        for i in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((addresses[i % len(addresses)], 0))
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            c = {"sock": s, "opened": time.monotonic(), "closed": None, "sent": 0}
            self.socks.append(c)
            self.sel.register(s, selectors.EVENT_READ, c)
        self.next_trickle = time.monotonic()

    def open(self):
        return [c for c in self.socks if c["closed"] is None]

    def _close(self, c):
        if c["closed"] is None:
            c["closed"] = time.monotonic()
            self.sel.unregister(c["sock"])
            c["sock"].close()

    def pump(self, seconds):
        """Trickles and watches for closes for about `seconds`."""
        end = time.monotonic() + seconds
        while True:
            now = time.monotonic()
            if now >= self.next_trickle:
                self.next_trickle = now + 1.0
                for c in self.open():
                    if c["sent"] >= len(SLOW_REQUEST):
                        continue
                    try:
                        c["sent"] += c["sock"].send(SLOW_REQUEST[c["sent"]:c["sent"] + 1])
                    except BlockingIOError:
                        pass  # still connecting, or the buffer is full: next round
                    except OSError as e:
                        if e.errno in (errno.ENOTCONN,):
                            continue
                        self._close(c)
            left = min(end, self.next_trickle) - time.monotonic()
            for key, _ in self.sel.select(max(0.0, min(left, 0.1))):
                c = key.data
                try:
                    if not c["sock"].recv(4096):
                        self._close(c)
                except BlockingIOError:
                    pass
                except OSError:
                    self._close(c)
            if time.monotonic() >= end:
                return

    def close(self):
        for c in self.open():
            self._close(c)
        self.sel.close()


class SlowClientTest(unittest.TestCase):
    def setUp(self):
        # The flood needs more descriptors than the usual soft limit of 1024.
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        need = FLOOD + 256
        if soft != resource.RLIM_INFINITY and soft < need:
            if hard != resource.RLIM_INFINITY and hard < need:
                self.skipTest("RLIMIT_NOFILE hard limit %d is below %d" % (hard, need))
            resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
        self.work = harness.Workdir()
        self.port = harness.free_port()
        cfg = self.work.file("herald.toml")
        with open(cfg, "w") as f:
            f.write(CONFIG.format(db=self.work.file("herald.db"),
                                  maildir=self.work.file("Maildir"), port=self.port,
                                  secret=SECRET))
        self.log_path = self.work.file("herald.log")
        self.log_file = open(self.log_path, "wb")
        self.proc = subprocess.Popen([harness.HERALD, "run", "--config", cfg],
                                     stderr=self.log_file)
        ok = harness.wait_until(lambda: self.healthz(timeout=2)[0] == 200 or
                                self.proc.poll() is not None, 30)
        if not ok or self.proc.poll() is not None:
            raise RuntimeError("herald did not start:\n" + self.log())
        self.flood = None

    def tearDown(self):
        if self.flood:
            self.flood.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log_file.close()
        self.work.cleanup()

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def request(self, method, path, body=None, headers=None, timeout=10):
        """(status, seconds it took); status 0 when no answer came."""
        start = time.monotonic()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            r = conn.getresponse()
            r.read()
            return r.status, time.monotonic() - start
        except OSError:
            return 0, time.monotonic() - start
        finally:
            conn.close()

    def healthz(self, timeout=10):
        return self.request("GET", "/healthz", timeout=timeout)

    def webhook(self):
        body = jira_body()
        sig = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        return self.request("POST", "/hooks/jira", body,
                            {"Content-Type": "application/json", "X-Hub-Signature": sig})

    def test_a_slow_flood_leaves_room_and_each_slow_connection_is_closed_after_read_timeout(self):
        self.flood = Flood(self.port, FLOOD, FLOOD_ADDRESSES)
        self.flood.pump(1.5)  # connected, and a byte or two sent on each

        # While the flood is connected, real clients from another address are answered.
        held = self.flood.open()
        self.assertGreater(len(held), 0)
        self.assertLessEqual(len(held), PER_IP * len(FLOOD_ADDRESSES))
        # (Well inside read_timeout, so not because herald closed slow connections.)
        status, took = self.healthz()
        self.assertEqual(status, 200)
        self.assertLess(took, 3.0)
        status, took = self.webhook()
        self.assertEqual(status, 200)
        self.assertLess(took, 3.0)

        # Every held connection is closed by herald after read_timeout, though it kept sending
        # (the idle timeout is 30 s; the deadline here is well below it).
        end = time.monotonic() + 25
        while self.flood.open() and time.monotonic() < end:
            self.flood.pump(0.5)
        self.assertEqual([c for c in held if c["closed"] is None], [])
        lifetimes = sorted(c["closed"] - c["opened"] for c in held)
        self.assertGreaterEqual(lifetimes[0], READ_TIMEOUT - 0.05)
        self.assertLess(lifetimes[-1], 28.0)  # below the idle timeout of 30 s
        self.assertTrue(all(c["sent"] >= 2 for c in held))  # they were not idle
        self.assertIn("whose request took longer than 5000 ms to arrive", self.log())
        # The real webhook was stored, nothing of the flood.
        r = subprocess.run(["sqlite3", self.work.file("herald.db"), "SELECT count(*) FROM events"],
                           capture_output=True, timeout=30)
        self.assertEqual(r.stdout.strip(), b"1")

    def test_a_kept_alive_connection_is_idle_not_slow_until_its_next_request_trickles(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            first = s.recv(4096)
            self.assertTrue(first.startswith(b"HTTP/1.1 200"), first)
            # Silent for longer than read_timeout: idle, so still open.
            time.sleep(READ_TIMEOUT + 1.0)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            second = s.recv(4096)
            self.assertTrue(second.startswith(b"HTTP/1.1 200"), second)
            # The next request trickles: cut off once it has taken longer than read_timeout.
            started = time.monotonic()
            closed = None
            for i in range(len(SLOW_REQUEST)):
                try:
                    s.sendall(SLOW_REQUEST[i:i + 1])
                    s.settimeout(0.5)
                    if s.recv(4096) == b"":
                        closed = time.monotonic()
                        break
                except socket.timeout:
                    continue
                except OSError:
                    closed = time.monotonic()
                    break
                if time.monotonic() - started > 25:
                    break
            self.assertIsNotNone(closed, "herald kept a trickling connection open for 25 s")
            self.assertGreaterEqual(closed - started, READ_TIMEOUT - 0.05)
        finally:
            s.close()


if __name__ == "__main__":
    unittest.main()
