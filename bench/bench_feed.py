#!/usr/bin/python3
"""Benchmark: herald and rss2email side by side on the same 1,000-entry Atom
feed, one mail per entry, delivered to postfix's smtp-sink on loopback.

Both tools run as fresh processes on the same workload (first run: every
entry is new and mailed; second run: the feed is unchanged). For each run
it reports wall time, CPU time (user + system of the process and its
children) and peak RSS, measured with getrusage on the child, and prints
the ratios rss2email / herald.

Usage: bench/bench_feed.py [--herald build/herald] [--entries 1000] [--repeat 3]
"""
import argparse
import http.server
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SRC, "tests", "e2e"))
import harness  # noqa: E402


def measure_isolated(cmd, env=None):
    """Runs cmd under a wrapper process so that getrusage of the wrapper's
    children is cmd's alone; returns (wall s, CPU s, peak RSS KiB)."""
    code = ("import resource,subprocess,sys,time,json\n"
            "t=time.perf_counter();r=subprocess.run(sys.argv[1:],capture_output=True)\n"
            "w=time.perf_counter()-t;u=resource.getrusage(resource.RUSAGE_CHILDREN)\n"
            "sys.stderr.buffer.write(r.stderr[-3000:])\n"
            "print(json.dumps([w,u.ru_utime+u.ru_stime,u.ru_maxrss,r.returncode]))")
    r = subprocess.run([sys.executable, "-c", code] + cmd, capture_output=True, env=env)
    import json
    wall, cpu, rss, rc = json.loads(r.stdout.decode().strip().splitlines()[-1])
    if rc != 0:
        raise RuntimeError("%s failed (%d): %s" % (cmd[0], rc, r.stderr.decode()[-2000:]))
    return wall, cpu, rss


class Sink:
    """postfix's smtp-sink on a free loopback port."""

    def __init__(self):
        self.port = harness.free_port()
        self.proc = subprocess.Popen(["smtp-sink", "-u", "nobody", "127.0.0.1:%d" % self.port,
                                      "256"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("smtp-sink did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def herald_run(herald, work, feed_url, smtp_port):
    cfg = work.config(feed_url, "smtp://127.0.0.1:%d" % smtp_port, model="generic")
    with open(cfg) as f:
        text = f.read().replace('log_level = "info"', 'log_level = "warn"')
    with open(cfg, "w") as f:
        f.write(text)
    return measure_isolated([herald, "run", "--once", "--config", cfg])


def r2e_setup(tmp, feed_url, smtp_port):
    cfg = os.path.join(tmp, "r2e.cfg")
    data = os.path.join(tmp, "r2e.json")
    env = dict(os.environ, HOME=tmp)
    subprocess.run(["r2e", "-c", cfg, "-d", data, "new", "bench@example.org"], check=True,
                   capture_output=True, env=env)
    import configparser
    cp = configparser.ConfigParser(interpolation=None)
    cp.read(cfg)
    cp["DEFAULT"].update({"from": "herald-bench@example.org", "email-protocol": "smtp",
                          "smtp-server": "127.0.0.1:%d" % smtp_port, "smtp-auth": "False",
                          "smtp-ssl": "False", "use-8bit": "False"})
    with open(cfg, "w") as f:
        cp.write(f)
    subprocess.run(["r2e", "-c", cfg, "-d", data, "add", "bench", feed_url], check=True,
                   capture_output=True, env=env)
    return ["r2e", "-c", cfg, "-d", data, "run"], env


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--herald", default=os.path.join(SRC, "build", "herald"))
    ap.add_argument("--entries", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    http = harness.FeedServer()
    entries = [{"id": "urn:bench:%d" % i, "title": "Lustre announcement %04d" % i,
                "updated": "2025-12-%02dT%02d:%02d:00Z" % (1 + i % 28, i % 24, i % 60),
                "link": "https://example.org/a/%d" % i} for i in range(args.entries)]
    feed_url = http.put("/bench.atom", harness.atom_feed(entries))
    sink = Sink()
    rows = {"herald": [], "rss2email": []}
    try:
        for _ in range(args.repeat):
            work = harness.Workdir()
            try:
                first = herald_run(args.herald, work, feed_url, sink.port)
                second = herald_run(args.herald, work, feed_url, sink.port)
                rows["herald"].append((first, second))
            finally:
                work.cleanup()
            tmp = tempfile.mkdtemp(prefix="r2e-bench-")
            try:
                cmd, env = r2e_setup(tmp, feed_url, sink.port)
                first = measure_isolated(cmd, env)
                second = measure_isolated(cmd, env)
                rows["rss2email"].append((first, second))
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    finally:
        sink.stop()
        http.close()

    def med(tool, run, field):
        vals = sorted(r[run][field] for r in rows[tool])
        return vals[len(vals) // 2]

    print("workload: %d-entry Atom feed over HTTP, one mail per entry to smtp-sink; "
          "median of %d runs" % (args.entries, args.repeat))
    print("%-34s %12s %12s %10s" % ("", "herald", "rss2email", "ratio"))
    for label, run, field, unit, scale in (
            ("first run: wall", 0, 0, "s", 1), ("first run: CPU", 0, 1, "s", 1),
            ("first run: peak RSS", 0, 2, "MiB", 1 / 1024),
            ("unchanged feed: wall", 1, 0, "ms", 1000), ("unchanged feed: CPU", 1, 1, "ms", 1000),
            ("unchanged feed: peak RSS", 1, 2, "MiB", 1 / 1024)):
        h = med("herald", run, field) * scale
        r = med("rss2email", run, field) * scale
        print("%-34s %9.3f %-2s %9.3f %-2s %9.1fx" % (label, h, unit, r, unit,
                                                   r / h if h else float("inf")))


if __name__ == "__main__":
    main()
