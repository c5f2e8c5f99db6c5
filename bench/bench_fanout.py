#!/usr/bin/python3
"""Benchmark: one announcement to N confirmed subscribers (personal mail each)
delivered to postfix's smtp-sink, beside smtp-source sending N messages over
the same number of sessions, in the same run.

- smtp-source (postfix): -s CONNECTIONS sessions, -m N messages in all, -d
  (each session sends message after message), to its own smtp-sink. This is
  the machine's ceiling for SMTP on loopback.
- herald (build/herald run): [web] with one topic, one route sending
  release.published to "topic:releases", [mail] smtp_url to smtp-sink with
  max_connections = CONNECTIONS. N confirmed subscribers are imported with
  `herald subscribers import` before the daemon starts; the announcement is
  one event posted to POST /api/v1/events.

Messages are counted at the receiver: smtp-sink -c prints a running count of
completed DATA commands. Afterwards herald's database must hold N deliveries
in state delivered, each to a different address. Time for herald: from the
POST to the N-th message at smtp-sink (routing, rendering once, N personal
copies, N deliveries). CPU: user + system from /proc/PID/stat over the same
span, checked against wall time x cores. Peak memory: VmHWM at the end.

Usage: bench/bench_fanout.py [--herald build/herald] [--subscribers 10000] [--connections 4]
Targets (reported, not asserted): >= 12,000 messages/s on 4 connections, at least half of
smtp-source's rate, <= 40 MiB peak RSS. GNU Mailman 3 delivers personalised list mail at
about 125 messages/s on this kind of machine.
Exit status: 0 when both runs delivered exactly N messages; 1 otherwise.
"""
import argparse
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SRC, "tests", "e2e"))
import harness  # noqa: E402

TOKEN = "bench-api-token"
CONFIG = """
[herald]
database = "{db}"
log_level = "warn"

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

[[topic]]
name = "releases"
title = "Lustre releases"
kinds = ["release.published"]

[[route]]
kinds = ["release.published"]
to = ["topic:releases"]
"""


class Sink:
    """smtp-sink -c on a free port; count() is the number of messages it took."""

    def __init__(self):
        self.port = harness.free_port()
        self.proc = subprocess.Popen(
            ["smtp-sink", "-c", "-u", "nobody", "127.0.0.1:%d" % self.port, "512"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.n = 0
        self.times = {}  # count -> perf_counter when seen
        threading.Thread(target=self._read, daemon=True).start()
        harness.wait_until(lambda: self._connect(), 10)

    def _connect(self):
        import socket
        try:
            socket.create_connection(("127.0.0.1", self.port), 0.2).close()
            return True
        except OSError:
            return False

    def _read(self):
        buf = b""
        while True:
            c = self.proc.stdout.read1(4096)
            if not c:
                return
            buf += c
            nums = re.findall(rb"(\d+)\s", buf)
            if nums:
                self.n = int(nums[-1])
                self.times.setdefault(self.n, time.perf_counter())
            buf = buf[-32:]

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def process_cpu(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def vm_hwm(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def wait_count(sink, n, limit):
    end = time.perf_counter() + limit
    while sink.n < n and time.perf_counter() < end:
        time.sleep(0.002)
    return sink.n >= n


def bench_smtp_source(a):
    sink = Sink()
    try:
        t = time.perf_counter()
        r = subprocess.run(["smtp-source", "-s", str(a.connections), "-m", str(a.subscribers),
                            "-d", "-l", "2048", "-f", "announce@lists.lustre.example",
                            "-t", "member@example.org", "127.0.0.1:%d" % sink.port],
                           capture_output=True)
        ok = wait_count(sink, a.subscribers, 60)
        wall = sink.times.get(a.subscribers, time.perf_counter()) - t
        time.sleep(0.5)
        return {"name": "smtp-source", "wall": wall, "received": sink.n,
                "ok": ok and r.returncode == 0 and sink.n == a.subscribers}
    finally:
        sink.stop()


def bench_herald(a, work):
    sink = Sink()
    port = harness.free_port()
    db = os.path.join(work, "herald.db")
    cfg = os.path.join(work, "herald.toml")
    with open(cfg, "w") as f:
        f.write(CONFIG.format(db=db, smtp=sink.port, conns=a.connections, port=port,
                              token=TOKEN))
    csv = os.path.join(work, "members.csv")
    with open(csv, "w") as f:
        f.write("address,topics,branches,mode\n")
        for i in range(a.subscribers):
            f.write("member%d@example.org,releases,,immediate\n" % i)
    r = subprocess.run([a.herald, "subscribers", "import", csv, "--config", cfg],
                       capture_output=True)
    if r.returncode != 0:
        raise RuntimeError("import failed: %s" % r.stderr.decode())
    log = open(os.path.join(work, "herald.log"), "wb")
    proc = subprocess.Popen([a.herald, "run", "--config", cfg], stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        harness.wait_until(lambda: harness.healthy(port), 30)
        event = {"events": [{"key": "release:lustre:2.15.8", "kind": "release.published",
                             "title": "Lustre 2.15.8 released",
                             "url": "https://www.lustre.org/", "tags": {"branch": "2.15"},
                             "summary": "The Lustre team announces 2.15.8."}]}
        req = urllib.request.Request("http://127.0.0.1:%d/api/v1/events" % port,
                                     data=json.dumps(event).encode(),
                                     headers={"Authorization": "Bearer " + TOKEN,
                                              "Content-Type": "application/json"})
        cpu0 = process_cpu(proc.pid)
        t = time.perf_counter()
        with urllib.request.urlopen(req, timeout=30) as resp:
            resp.read()
        ok = wait_count(sink, a.subscribers, 300)
        wall = sink.times.get(a.subscribers, time.perf_counter()) - t
        cpu = process_cpu(proc.pid) - cpu0
        time.sleep(1.0)  # a message beyond N would be a duplicate
        hwm = vm_hwm(proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
        sink.stop()
    con = sqlite3.connect(db)
    delivered, distinct = con.execute(
        "SELECT count(*), count(DISTINCT recipient) FROM deliveries "
        "WHERE destination = 'subscribers' AND state = 'delivered'").fetchone()
    con.close()
    return {"name": "herald", "wall": wall, "received": sink.n, "cpu": cpu, "hwm_kib": hwm,
            "delivered": delivered, "distinct": distinct,
            "ok": ok and sink.n == a.subscribers and delivered == a.subscribers
            and distinct == a.subscribers}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--herald", default=os.path.join(SRC, "build", "herald"))
    ap.add_argument("--subscribers", type=int, default=10000)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    for tool in ("smtp-sink", "smtp-source"):
        if not shutil.which(tool):
            sys.exit("%s is missing: apt-get install postfix" % tool)
    work = tempfile.mkdtemp(prefix="herald-bench-fanout-")
    try:
        src = bench_smtp_source(a)
        her = bench_herald(a, work)
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    n = a.subscribers
    print("%d messages, %d connections, %d cores" % (n, a.connections, os.cpu_count()))
    print("%-12s %9s %11s %9s %9s %9s" % ("", "wall s", "msg/s", "received", "CPU s", "peak MiB"))
    print("%-12s %9.3f %11.0f %9d %9s %9s" % ("smtp-source", src["wall"], n / src["wall"],
                                             src["received"], "-", "-"))
    print("%-12s %9.3f %11.0f %9d %9.2f %9.1f" % ("herald", her["wall"], n / her["wall"],
                                                 her["received"], her["cpu"],
                                                 her["hwm_kib"] / 1024))
    print("herald database: %d delivered to %d distinct subscribers" % (her["delivered"],
                                                                        her["distinct"]))
    print("ratio herald / smtp-source rate: %.2f" % (src["wall"] / her["wall"]))
    print("CPU check: herald used %.2f s CPU in %.3f s wall (at most %.2f on %d cores)" % (
        her["cpu"], her["wall"], her["wall"] * os.cpu_count(), os.cpu_count()))
    return 0 if src["ok"] and her["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
