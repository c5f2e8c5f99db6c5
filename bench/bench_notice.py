#!/usr/bin/python3
"""Benchmark: a security notice published while an announcement to N
subscribers is being delivered: how long from the publish call to the
notice's first SMTP transaction, and to its first copy on the busy lane.

- herald (build/herald run) with [web], topics "releases" and "security",
  [[admin]] and [security] to = ["list"]. N confirmed subscribers of both
  topics are imported with `herald subscribers import`. One release event
  (POST /api/v1/events) makes N personal mails on the "subscribers" lane.
- The notice is drafted and approved beforehand through the admin API; it is
  published (POST .../notices/ID {"action": "publish"}) once the receiver has
  taken the first CONNECTIONS*20 release mails, so that thousands are still
  queued on the lane its subscriber copies share.
- The receiver is an aiosmtpd server in this process that records when each
  message arrives and its Subject; counts are what it received. The outbox
  is read afterwards for what was still pending when the notice went out.

Usage: bench/bench_notice.py [--herald build/herald] [--subscribers 10000] [--connections 4]
Target (reported, not asserted): <= 1 s from publish to the first SMTP
transaction of the notice with N queued.
Exit status: 0 when every release mail and every notice copy arrived once; 1 otherwise.
"""
import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from email.parser import BytesHeaderParser

from aiosmtpd.controller import Controller

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SRC, "tests", "e2e"))
import harness  # noqa: E402

API_TOKEN = "bench-api-token"
ADMIN_TOKEN = "b" * 48
CONFIG = """
[herald]
database = "{db}"
log_level = "{log_level}"

[mail]
from = "Lustre announcements <announce@lists.lustre.example>"
domain = "lists.lustre.example"
smtp_url = "smtp://127.0.0.1:{smtp}"
max_connections = {conns}

[http]
listen = "127.0.0.1:{port}"
api_token = "{token}"

[web]
base_url = "https://announce.lustre.example"

[[destination]]
name = "list"
to = ["lustre-announce@lists.lustre.example"]

[[topic]]
name = "releases"
kinds = ["release.published"]

[[topic]]
name = "security"
kinds = ["security.notice"]

[[route]]
kinds = ["release.published"]
to = ["topic:releases"]

[[admin]]
name = "alice"
token_file = "{admin_token}"

[security]
to = ["list"]
"""


class Receiver:
    """aiosmtpd in a thread: (time, subject, rcpt) of every message."""

    def __init__(self):
        self.arrivals = []
        self.lock = threading.Lock()
        receiver = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                subject = BytesHeaderParser().parsebytes(envelope.content).get("Subject", "")
                with receiver.lock:
                    receiver.arrivals.append((time.perf_counter(), subject,
                                              tuple(envelope.rcpt_tos)))
                return "250 OK"

        self.port = harness.free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def count(self, pred=lambda a: True):
        with self.lock:
            return sum(1 for a in self.arrivals if pred(a))

    def first(self, pred):
        with self.lock:
            return next((a for a in self.arrivals if pred(a)), None)

    def stop(self):
        self.controller.stop()


def call(port, path, token, body=None):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path),
                                 data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": "Bearer " + token,
                                          "Content-Type": "application/json"},
                                 method="GET" if body is None else "POST")
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"null")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--herald", default=os.path.join(SRC, "build", "herald"))
    ap.add_argument("--subscribers", type=int, default=10000)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--log-level", default="warn")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (and its log)")
    a = ap.parse_args()
    n = a.subscribers
    work = tempfile.mkdtemp(prefix="herald-bench-notice-")
    rx = Receiver()
    proc = None
    try:
        db = os.path.join(work, "herald.db")
        cfg = os.path.join(work, "herald.toml")
        token_file = os.path.join(work, "alice.token")
        with open(token_file, "w") as f:
            f.write(ADMIN_TOKEN)
        port = harness.free_port()
        with open(cfg, "w") as f:
            f.write(CONFIG.format(db=db, smtp=rx.port, conns=a.connections, port=port,
                                  token=API_TOKEN, admin_token=token_file,
                                  log_level=a.log_level))
        csv = os.path.join(work, "members.csv")
        with open(csv, "w") as f:
            f.write("address,topics,branches,mode\n")
            for i in range(n):
                f.write("member%d@example.org,releases security,,immediate\n" % i)
        r = subprocess.run([a.herald, "subscribers", "import", csv, "--config", cfg],
                           capture_output=True)
        if r.returncode != 0:
            sys.exit("import failed: %s" % r.stderr.decode())
        log = open(os.path.join(work, "herald.log"), "wb")
        proc = subprocess.Popen([a.herald, "run", "--config", cfg], stdout=log,
                                stderr=subprocess.STDOUT)
        harness.wait_until(lambda: harness.healthy(port), 30)
        notice = call(port, "/api/v1/admin/notices", ADMIN_TOKEN, {"notice": {
            "severity": "critical", "title": "Remote crash in the LNet router",
            "summary": "A crafted LNet message crashes a router.",
            "affected_branches": ["2.15"],
            "fixed": [{"branch": "2.15", "version": "2.15.8"}]}})
        nid = notice["id"]
        call(port, "/api/v1/admin/notices/" + nid, ADMIN_TOKEN, {"action": "approve"})

        event = {"events": [{"key": "release:lustre:2.15.8", "kind": "release.published",
                             "title": "Lustre 2.15.8 released", "url": "https://www.lustre.org/",
                             "tags": {"branch": "2.15"}, "summary": "2.15.8 is out."}]}
        call(port, "/api/v1/events", API_TOKEN, event)
        # Every release mail is in the outbox, and few are sent yet.
        con = sqlite3.connect(db)
        harness.wait_until(lambda: con.execute(
            "SELECT count(*) FROM deliveries WHERE destination = 'subscribers'").fetchone()[0]
            >= n, 120)
        queued = con.execute("SELECT count(*) FROM deliveries WHERE state = 'pending'").fetchone()[0]
        con.close()
        t0 = time.perf_counter()
        call(port, "/api/v1/admin/notices/" + nid, ADMIN_TOKEN, {"action": "publish"})
        is_notice = lambda a: "[SECURITY]" in a[1] or nid in a[1]  # noqa: E731
        harness.wait_until(lambda: rx.first(is_notice), 60)
        first = rx.first(is_notice)
        harness.wait_until(lambda: rx.first(lambda a: is_notice(a) and
                                            a[2][0].startswith("member")), 60)
        first_busy = rx.first(lambda a: is_notice(a) and a[2][0].startswith("member"))
        before_busy = rx.count(lambda a: not is_notice(a) and t0 <= a[0] < first_busy[0])
        ok = harness.wait_until(lambda: rx.count() >= 2 * n + 1, 600)
        time.sleep(1.0)  # a message beyond these would be a duplicate
    finally:
        if proc:
            proc.terminate()
            proc.wait(30)
        rx.stop()
    con = sqlite3.connect(db)
    pending = con.execute("SELECT count(*) FROM deliveries WHERE state != 'delivered'").fetchone()[0]
    con.close()
    if a.keep:
        print("work directory: %s" % work)
    else:
        shutil.rmtree(work, ignore_errors=True)
    releases = rx.count(lambda a: not is_notice(a))
    notices = rx.count(is_notice)
    print("%d subscribers, %d connections, %d cores" % (n, a.connections, os.cpu_count()))
    print("release mails pending when the notice was published: %d" % queued)
    print("publish -> first SMTP transaction of the notice:   %.3f s (%s)" %
          (first[0] - t0, first[2][0]))
    print("publish -> its first copy on the busy lane:         %.3f s "
          "(%d release mails were taken in between, of %d pending)" %
          (first_busy[0] - t0, before_busy, queued))
    print("received: %d release mails, %d notice copies; undelivered in the outbox: %d" %
          (releases, notices, pending))
    print("target: <= 1 s to the first transaction with %d queued: %s" %
          (n, "met" if first[0] - t0 <= 1.0 else "NOT met"))
    good = ok and releases == n and notices == n + 1 and pending == 0
    sys.exit(0 if good else 1)


if __name__ == "__main__":
    main()
