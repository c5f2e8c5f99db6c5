#!/usr/bin/python3
"""Benchmark (a), ingest: wrk posts signed Jira webhooks to `herald run` over
keep-alive connections; every answer is given only after the event is
committed (group commit, synchronous=FULL). Prints requests/s and the latency
percentiles from wrk --latency, then checks that the database holds an
event for every 2xx answer.

Each request carries a distinct issue key, so each is a new event: the
bodies are made beforehand from the real Jira fixture
(tests/fixtures/jira/mobitel_webhooks_issue_created.json, compacted) with
the key replaced, and signed with HMAC-SHA256 (X-Hub-Signature); wrk's Lua
script cycles through them, each thread through its own share.

Usage: bench/bench_ingest.py [--herald build/herald] [--duration 10] [--connections 50]
                             [--threads 2] [--pool 400000] [--payload full|compact]
Target on the 2-core machine: >= 15,000 events/s with p99 <= 10 ms.
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
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SRC, "tests", "e2e"))
import harness  # noqa: E402

SECRET = "bench-jira-secret"
FIXTURE = os.path.join(SRC, "tests", "fixtures", "jira",
                       "mobitel_webhooks_issue_created.json")

CONFIG = """
[herald]
database = "{db}"
log_level = "info"

[mail]
maildir = "{maildir}"

[http]
listen = "127.0.0.1:{port}"
threads = {http_threads}

[[source]]
name = "lu-jira"
kind = "jira-webhook"
path = "/hooks/jira"
secret = "{secret}"
"""

LUA = r"""
-- Each wrk thread sends its own share of the pre-signed requests, in turn.
local counter = 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

function init(args)
  requests = {}
  for line in io.lines(args[1] .. "." .. id) do
    local sig, body = line:match("^(%S+) (.*)$")
    requests[#requests + 1] = wrk.format("POST", "/hooks/jira",
      {["Content-Type"] = "application/json", ["X-Hub-Signature"] = sig}, body)
  end
  next_request = 1
end

function request()
  local r = requests[next_request]
  next_request = next_request + 1
  if next_request > #requests then next_request = 1 end
  return r
end
"""


def make_bodies(path, count, payload, files):
    """Writes the signed bodies round-robin into path.0 ... path.<files-1>."""
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
    assert old_key in template
    parts = template.split(old_key)
    key = SECRET.encode()
    outs = [open("%s.%d" % (path, n), "w") for n in range(files)]
    for i in range(count):
        body = ("LU-%d" % (100000 + i)).join(parts).encode()
        sig = hmac.new(key, body, hashlib.sha256).hexdigest()
        outs[i % files].write("sha256=%s %s\n" % (sig, body.decode()))
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
                                  secret=SECRET, http_threads=a.http_threads))
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
        print("$ " + " ".join(cmd))
        cpu_before = process_cpu(herald.pid)
        wrk_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        r = subprocess.run(cmd, capture_output=True, text=True)
        wrk_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        herald_cpu = process_cpu(herald.pid) - cpu_before
        wrk_cpu = (wrk_after.ru_utime + wrk_after.ru_stime -
                   wrk_before.ru_utime - wrk_before.ru_stime)
        print(r.stdout)
        if r.returncode != 0:
            sys.exit("wrk failed: " + r.stderr)
        res = parse_wrk(r.stdout)
        if res["requests"] >= a.pool:
            sys.exit("more requests (%d) than distinct bodies (%d): raise --pool" %
                     (res["requests"], a.pool))
        ok = res["requests"] - res["non2xx"]
        # Requests still in flight when wrk stopped may be stored but not counted as answered.
        time.sleep(1)
        stored = int(subprocess.run(["sqlite3", db, "SELECT count(*) FROM events"],
                                    capture_output=True, text=True).stdout.strip())
        herald.send_signal(signal.SIGTERM)
        herald.wait(60)
        herald = None
        print("2xx answers: %d, non-2xx: %d, socket errors: %d" %
              (ok, res["non2xx"], res["socket_errors"]))
        print("events in the database: %d (in flight at the end, stored but unanswered: %d)" %
              (stored, stored - ok))
        print("CPU: herald %.1f s (%.0f us per event), wrk %.1f s, in %d s on %d cores" %
              (herald_cpu, 1e6 * herald_cpu / max(ok, 1), wrk_cpu, a.duration,
               os.cpu_count()))
        print("RESULT ingest: %.0f events/s, p50 %.2f ms, p90 %.2f ms, p99 %.2f ms "
              "(target >= 15000/s, p99 <= 10 ms)" %
              (res["rps"], res.get("p50", -1), res.get("p90", -1), res.get("p99", -1)))
        good = res["non2xx"] == 0 and ok <= stored <= ok + a.connections
        print("durability check: %s" % ("OK, every 2xx answer has its event" if good else
                                        "FAILED"))
        return 0 if good else 1
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
