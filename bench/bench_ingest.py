#!/usr/bin/python3
"""Benchmark (a), ingest: wrk posts signed Jira webhooks to `herald run` over
keep-alive connections; every answer is given only after the event is
committed (group commit, synchronous=FULL).

The throughput is timed from the database, not from wrk: the stored events
are counted every --sample seconds while wrk runs, and the figure is the
events stored per second between the first count that saw the load and the
last one before wrk ended (wrk's clock starts while its second thread is
still loading its script). herald's CPU time (/proc/PID/stat) over the same
window gives the CPU per event, and is checked against what the cores can
give in that time. The latency percentiles are wrk's (--latency: from
writing a request to reading its answer). At the end the database must hold
an event for every 2xx answer.

Each request carries a distinct issue key, so each is a new event: the body
is the real Jira webhook of tests/fixtures/jira/mobitel_webhooks_issue_created.json
(from mobitel-ltd/jira-to-matrix @ 78962a92, test/fixtures; compacted) with
the key replaced, signed beforehand with HMAC-SHA256 (X-Hub-Signature);
wrk's Lua script cycles through them, each thread through its own share.

Usage: bench/bench_ingest.py [--herald build/herald] [--duration 10] [--connections 50]
                             [--threads 2] [--pool 400000] [--payload full|compact]
                             [--sample 0.5]
Target on the 2-core machine: >= 10,000 events/s stored with p99 <= 20 ms at 32
connections, every 2xx durable.
"""
import argparse
import hashlib
import hmac
import json
import os
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SRC, "tests", "e2e"))
import harness  # noqa: E402

SECRET = "bench-jira-secret"
FIXTURE = os.path.join(SRC, "tests", "fixtures", "jira", "mobitel_webhooks_issue_created.json")

CONFIG = """
[herald]
database = "{db}"
log_level = "info"

[mail]
maildir = "{maildir}"

[http]
listen = "127.0.0.1:{port}"
threads = {http_threads}
max_connections_per_ip = {per_ip}

[[source]]
name = "lu-jira"
kind = "jira-webhook"
path = "/hooks/jira"
secret = "{secret}"
"""

LUA = r"""
-- Each wrk thread sends its own share of the signed bodies, in turn. Only the
-- signatures are loaded (a few MB; loading 7.7 KB bodies took seconds, and the
-- second thread was still loading while the first one sent); each body is put
-- together from the fixture's parts around its issue key.
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  parts = {}
  for line in io.lines(args[1] .. ".template") do parts[#parts + 1] = line end
  sigs, keys = {}, {}
  for line in io.lines(args[1] .. "." .. id) do
    local sig, key = line:match("^(%S+) (%S+)$")
    sigs[#sigs + 1] = sig
    keys[#keys + 1] = key
  end
  next_request = 1
end

function request()
  local i = next_request
  next_request = next_request + 1
  if next_request > #sigs then next_request = 1 end
  return wrk.format("POST", "/hooks/jira",
    {["Content-Type"] = "application/json", ["X-Hub-Signature"] = sigs[i]},
    table.concat(parts, keys[i]))
end
"""


def make_bodies(path, count, payload, files):
    """Writes the parts of the body around its issue key to path.template, one a
    line, and the keys with their signatures round-robin into path.0 ...
    path.<files-1>."""
    with open(FIXTURE) as f:
        doc = json.load(f)
    if payload == "compact":
        # The same event with only the members herald reads, each cut to its name.
        def named(v, *keys):
            return {k: v[k] for k in keys if isinstance(v, dict) and k in v} if v else v
        f = doc["issue"]["fields"]
        doc = {"webhookEvent": doc["webhookEvent"], "timestamp": doc["timestamp"],
               "issue_event_type_name": doc.get("issue_event_type_name"),
               "user": named(doc.get("user"), "name", "displayName"),
               "issue": {"id": doc["issue"]["id"], "self": doc["issue"]["self"],
                         "key": doc["issue"]["key"], "fields": {
                             "summary": f["summary"], "created": f["created"],
                             "updated": f["updated"], "security": None,
                             "priority": named(f.get("priority"), "name"),
                             "status": named(f.get("status"), "name"),
                             "issuetype": named(f.get("issuetype"), "name"),
                             "project": named(f.get("project"), "key", "name"),
                             "resolution": named(f.get("resolution"), "name"),
                             "components": [named(c, "name") for c in f.get("components", [])],
                             "labels": f.get("labels", []),
                             "fixVersions": [named(v, "name") for v in f.get("fixVersions", [])],
                             "reporter": named(f.get("reporter"), "name", "displayName"),
                             "assignee": named(f.get("assignee"), "name", "displayName")}}}
    template = json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
    old_key = doc["issue"]["key"]
    assert old_key in template and "\n" not in template
    parts = template.split(old_key)
    with open(path + ".template", "w") as out:
        out.write("".join(p + "\n" for p in parts))
    key = SECRET.encode()
    outs = [open("%s.%d" % (path, n), "w") for n in range(files)]
    for i in range(count):
        issue = "LU-%d" % (100000 + i)
        body = issue.join(parts).encode()
        sig = hmac.new(key, body, hashlib.sha256).hexdigest()
        outs[i % files].write("sha256=%s %s\n" % (sig, issue))
    for out in outs:
        out.close()
    return len(template)


def process_cpu(pid):
    """User + system CPU seconds of a process, all its threads."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def parse_wrk(text):
    out = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    out["rps"] = float(m.group(1)) if m else 0.0
    m = re.search(r"(\d+) requests in ([\d.]+)(\w+)", text)
    out["requests"] = int(m.group(1)) if m else 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    out["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    out["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    for pct in ("50", "75", "90", "99"):
        m = re.search(r"\s%s(?:\.000)?%%\s+([\d.]+)(us|ms|s)\b" % pct, text)
        if m:
            v = float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]
            out["p" + pct] = v
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--herald", default=os.path.join(SRC, "build", "herald"))
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--http-threads", type=int, default=2)
    ap.add_argument("--pool", type=int, default=400000,
                    help="distinct requests made beforehand (must exceed the requests sent)")
    ap.add_argument("--payload", choices=("full", "compact"), default="full")
    ap.add_argument("--sample", type=float, default=0.5,
                    help="seconds between two counts of the stored events")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    a = ap.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (Debian package wrk)")
    if not shutil.which("sqlite3"):
        sys.exit("sqlite3 is not installed (Debian package sqlite3)")

    work = tempfile.mkdtemp(prefix="herald-bench-ingest-")
    herald = None
    try:
        bodies = os.path.join(work, "requests.txt")
        t = time.time()
        size = make_bodies(bodies, a.pool, a.payload, a.threads)
        print("made %d signed Jira webhook bodies of %d bytes (%s) in %.1f s" %
              (a.pool, size, a.payload, time.time() - t))
        script = os.path.join(work, "post.lua")
        with open(script, "w") as f:
            f.write(LUA)
        port = harness.free_port()
        db = os.path.join(work, "herald.db")
        cfg = os.path.join(work, "herald.toml")
        with open(cfg, "w") as f:
            f.write(CONFIG.format(db=db, maildir=os.path.join(work, "Maildir"), port=port,
                                  secret=SECRET, http_threads=a.http_threads,
                                  # every wrk connection comes from 127.0.0.1
                                  per_ip=max(64, a.connections)))
        log = open(os.path.join(work, "herald.log"), "wb")
        herald = subprocess.Popen([a.herald, "run", "--config", cfg], stderr=log)
        url = "http://127.0.0.1:%d" % port

        def healthy():
            r = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                url + "/healthz"], capture_output=True)
            return r.stdout == b"200"
        if not harness.wait_until(healthy, 30):
            sys.exit("herald did not start")

        cmd = ["wrk", "-t%d" % a.threads, "-c%d" % a.connections, "-d%ds" % a.duration,
               "--latency", "--timeout", "10s", "-s", script, url + "/hooks/jira", "--",
               bodies]
        print("herald pid %d; $ %s" % (herald.pid, " ".join(cmd)), flush=True)
        # Timed from the database: wrk's own clock starts before its threads have
        # loaded their scripts, so its requests/s and herald's CPU per wrk second
        # are not what was stored per second.
        reader = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)

        def stored_now():
            return reader.execute("SELECT count(*) FROM events").fetchone()[0]
        samples = []  # (wall seconds, events stored, herald CPU seconds)

        def sample():
            samples.append((time.monotonic(), stored_now(), process_cpu(herald.pid)))
        wrk_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        sample()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        while proc.poll() is None:
            time.sleep(a.sample)
            if proc.poll() is None:
                sample()
        out, err = proc.communicate()
        wrk_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        wrk_cpu = (wrk_after.ru_utime + wrk_after.ru_stime -
                   wrk_before.ru_utime - wrk_before.ru_stime)
        print(out)
        if proc.returncode != 0:
            sys.exit("wrk failed: " + err)
        res = parse_wrk(out)
        if res["requests"] >= a.pool:
            sys.exit("more requests (%d) than distinct bodies (%d): raise --pool" %
                     (res["requests"], a.pool))
        ok = res["requests"] - res["non2xx"]
        # The load window: from the first sample that saw stored events to the last
        # one taken while wrk still ran (both ends inside the load).
        first = next((i for i in range(1, len(samples)) if samples[i][1] > samples[0][1]), None)
        if first is None or first + 2 >= len(samples):
            sys.exit("too few samples while the load ran: raise --duration")
        t0, n0, c0 = samples[first]
        t1, n1, c1 = samples[-1]
        window = t1 - t0
        rate = (n1 - n0) / window
        cpu = c1 - c0
        steps = sorted((samples[i][1] - samples[i - 1][1]) / (samples[i][0] - samples[i - 1][0])
                       for i in range(first + 1, len(samples)))
        # Requests still in flight when wrk stopped may be stored but not counted as answered.
        time.sleep(1)
        stored = stored_now()
        with urllib.request.urlopen(url + "/metrics", timeout=10) as m:
            found = re.search(r"^herald_ingest_commits_total(?:\{\})? (\d+)", m.read().decode(),
                              re.M)
        commits = int(found.group(1)) if found else 0
        reader.close()
        herald.send_signal(signal.SIGTERM)
        herald.wait(60)
        herald = None
        print("2xx answers: %d, non-2xx: %d, socket errors: %d" %
              (ok, res["non2xx"], res["socket_errors"]))
        print("events in the database: %d (in flight at the end, stored but unanswered: %d)" %
              (stored, stored - ok))
        print("group commits: %d, %.1f events each" % (commits, stored / max(commits, 1)))
        print("load window (from the database, %d samples every %.1f s): %d events in %.2f s; "
              "per sample interval %.0f-%.0f events/s, median %.0f" %
              (len(samples) - first, a.sample, n1 - n0, window, steps[0], steps[-1],
               steps[len(steps) // 2]))
        cores = os.cpu_count()
        print("CPU in the window: herald %.2f s (%.0f us per event, %.2f of %d cores), "
              "wrk %.1f s over its whole run" %
              (cpu, 1e6 * cpu / max(n1 - n0, 1), cpu / window, cores, wrk_cpu))
        fits = cpu <= window * cores * 1.02
        if not fits:
            print("CPU check FAILED: herald used more CPU than %d cores give in the window" % cores)
        print("(wrk's own figure: %.0f requests/s, not used)" % res["rps"])
        print("RESULT ingest: %.0f events/s stored, p50 %.2f ms, p90 %.2f ms, p99 %.2f ms "
              "(wrk's latency: request written to answer read), %.0f us herald CPU per event "
              "(target >= 10000/s, p99 <= 20 ms)" %
              (rate, res.get("p50", -1), res.get("p90", -1), res.get("p99", -1),
               1e6 * cpu / max(n1 - n0, 1)))
        good = res["non2xx"] == 0 and ok <= stored <= ok + a.connections
        print("durability check: %s" % ("OK, every 2xx answer has its event" if good else
                                        "FAILED"))
        return 0 if good and fits else 1
    finally:
        if herald is not None:
            herald.kill()
            herald.wait()
        if a.keep:
            print("work directory kept: " + work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
