#!/usr/bin/python3
"""Benchmark: webhook delivery, herald beside Prometheus Alertmanager, on the
same workload in the same run, received by a local nginx.

Workload: 10,000 distinct alerts / events (a unique label or key each),
posted in batches (--batch, 100 per POST) over one keep-alive connection;
each must come out as one webhook POST to nginx (127.0.0.1, `return 200`,
keep-alive; run as user nobody when started as root). Deliveries are counted
from nginx's access log (the receiver), never from the senders: one line per
request with $msec, $request_length, the status, the webhook-id and the
webhook-signature.

- Alertmanager (/usr/bin/prometheus-alertmanager, its own --storage.path,
  no cluster): one webhook receiver, group_by ['...'] (every alert its own
  group), group_wait 0s, group_interval and repeat_interval 24h. Alerts go to
  POST /api/v2/alerts.
- herald (build/herald): [http] with an api_token and no polled source, one
  webhook destination with a whsec_ secret (so every POST is signed per
  Standard Webhooks: signing is in the measured path), one route taking every
  event to it. Events go to POST /api/v1/events; each answer comes after the
  events are committed. Afterwards herald's database must hold 10,000 events
  and 10,000 deliveries in state delivered (table `deliveries` if it exists,
  else `outbox`: the schema is read at run time), and nginx must have seen
  10,000 distinct webhook-ids.

Time: from the first POST to the $msec of the N-th delivery line in nginx's log
(the same clock). CPU: user + system of the process from /proc/PID/stat, from
just before the first POST to the moment the N-th line was seen, checked
against wall time x cores. Peak memory: VmHWM from /proc/PID/status at the end.
After the N-th line the log is watched --settle seconds more: a line beyond N
is a duplicated delivery.

Idle footprint: herald with five polled sources (four feeds from the
repository's fixtures as file://, one Jira source against
tests/tools/tracker_server.py, every interval --idle-interval) and one mail
destination; after --idle-settle s, VmRSS and the context switches
(voluntary_ctxt_switches summed over /proc/PID/task/*/status, the wake-ups)
counted over --idle-window s. Alertmanager with the benchmark's configuration
is measured the same way at the same time.

Usage: bench/bench_webhook.py [--herald build/herald] [--alerts 10000] [--batch 100]
                              [--only herald|alertmanager] [--no-idle | --no-load]
                              [--connections N] [--wrap 'valgrind --tool=callgrind ...'] [--keep]
Targets (reported, not asserted): herald <= 0.5 s and <= 30 MiB peak for the
10,000; idle <= 10 MiB RSS and no wake-up more often than the nearest due time.
Exit status: 0 when every run completed with its counts; 1 when a count does not
match (lost or duplicated deliveries) or a process failed.
"""
import argparse
import datetime
import glob
import http.client
import json
import os
import pwd
import shlex
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

NGINX = "/usr/sbin/nginx"
ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
API_TOKEN = "bench-api-token"
# Standard Webhooks' own test secret (shared/REFERENCE.md, "Webhooks out and in").
WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
IDLE_FEEDS = ["feeds/public/feedrs_atom_spec_1.xml", "feeds/public/feedrs_rss_2.0_spec_1.xml",
              "feeds/koi8-r_atom.xml", "feeds/latin1_rss.xml"]

NGINX_CONF = """
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 16000; }}
http {{
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  # One line per request, written as it completes (no buffer): the time the
  # answer went out, the request's size, and what identifies a webhook.
  log_format bench '$msec $request_length $status $request_method '
                   '"$http_webhook_id" "$http_webhook_signature" "$http_user_agent"';
  access_log {dir}/other.log bench;
  keepalive_timeout 75s;
  keepalive_requests 1000000;
  server {{
    listen 127.0.0.1:{port};
    location /alertmanager {{ access_log {dir}/alertmanager.log bench; return 200; }}
    location /herald {{ access_log {dir}/herald.log bench; return 200; }}
    location / {{ access_log {dir}/other.log bench; return 404; }}
  }}
}}
"""

ALERTMANAGER_CONF = """
route:
  receiver: nginx
  group_by: ['...']
  group_wait: 0s
  group_interval: 24h
  repeat_interval: 24h
receivers:
  - name: nginx
    webhook_configs:
      - url: "{url}"
        send_resolved: false
"""

HERALD_CONF = """
[herald]
database = "{db}"
log_level = "warn"

[mail]
maildir = "{maildir}"

[http]
listen = "127.0.0.1:{port}"
api_token = "{token}"

[[destination]]
name = "nginx"
kind = "webhook"
url = "{url}"
secrets = ["{secret}"]
{connections}
[[route]]
to = ["nginx"]
"""

HERALD_IDLE_CONF = """
[herald]
database = "{db}"
log_level = "info"

[mail]
from = "Lustre announcements <announce@lists.lustre.example>"
domain = "lists.lustre.example"
maildir = "{maildir}"

{sources}
[[destination]]
name = "list"
to = ["lustre-discuss@lists.lustre.example"]

[[route]]
to = ["list"]
"""


def process_cpu(pid):
    """User + system CPU seconds of a process, all its threads."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_kib(pid, field):
    """A 'kB' line of /proc/PID/status (VmHWM, VmRSS), in KiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError("no %s in /proc/%d/status" % (field, pid))


def wakeups(pid):
    """Voluntary context switches of every thread, {tid: (name, count)}: each is
    a sleep the thread went into, so the difference over a window counts its
    wake-ups."""
    out = {}
    for task in glob.glob("/proc/%d/task/*" % pid):
        try:
            with open(task + "/status") as f:
                text = f.read()
        except OSError:
            continue  # the thread ended meanwhile
        name = count = None
        for line in text.splitlines():
            if line.startswith("Name:"):
                name = line.split(None, 1)[1] if len(line.split()) > 1 else ""
            elif line.startswith("voluntary_ctxt_switches:"):
                count = int(line.split()[1])
        out[int(os.path.basename(task))] = (name, count or 0)
    return out


def mappings(pid, n=6):
    """The n mappings (file, or [heap] and anonymous) holding most of the RSS,
    from /proc/PID/smaps, [(KiB, name)]; and the proportional set size (PSS:
    a library page shared with k processes counts 1/k) in KiB."""
    rss = {}
    name = None
    pss = 0
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            parts = line.split()
            if not parts[0].endswith(":"):
                name = parts[5] if len(parts) > 5 else "[anonymous]"
            elif parts[0] == "Rss:":
                rss[name] = rss.get(name, 0) + int(parts[1])
            elif parts[0] == "Pss:":
                pss += int(parts[1])
    top = sorted(((kib, os.path.basename(m)) for m, kib in rss.items()), reverse=True)[:n]
    return top, pss


def wait_http(url, limit=30):
    def up():
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.status == 200
        except OSError:
            return False
    return harness.wait_until(up, limit)


class Nginx:
    """Debian's nginx as an unprivileged foreground process (user nobody when
    started as root) with its own prefix, configuration and logs."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="herald-bench-nginx-")
        self.port = harness.free_port()
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(dir=self.dir, port=self.port))
        kw = {}
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(self.dir, nobody.pw_uid, nobody.pw_gid)
            kw = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}
        self.proc = subprocess.Popen(
            [NGINX, "-p", self.dir, "-c", conf, "-e", os.path.join(self.dir, "error.log"),
             "-g", "daemon off; master_process off;"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)
        if not harness.wait_until(self._listening, 10) or self.proc.poll() is not None:
            self.stop()
            raise RuntimeError("nginx did not start: " + self.errors())

    def _listening(self):
        if self.proc.poll() is not None:
            return True
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
            conn.request("GET", "/")
            conn.getresponse().read()
            conn.close()
            return True
        except OSError:
            return False

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def log(self, name):
        return os.path.join(self.dir, name + ".log")

    def errors(self):
        try:
            with open(os.path.join(self.dir, "error.log")) as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def cleanup(self, keep):
        if keep:
            print("nginx directory kept: " + self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


class LogTail:
    """Counts an nginx access log's complete lines as they are written."""

    def __init__(self, path):
        self.path = path
        self.offset = 0
        self.partial = b""
        self.lines = []

    def poll(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return len(self.lines)
        self.offset += len(data)
        data = self.partial + data
        *complete, self.partial = data.split(b"\n")
        for raw in complete:
            # $msec $request_length $status $method "id" "signature" "agent"
            head, _, rest = raw.decode("utf-8", "replace").partition(' "')
            msec, length, status, method = head.split()
            quoted = ('"' + rest).split('" "')
            self.lines.append({"msec": float(msec), "length": int(length), "status": int(status),
                               "method": method, "id": quoted[0].strip('"'),
                               "signature": quoted[1] if len(quoted) > 1 else "",
                               "agent": quoted[2].strip('"') if len(quoted) > 2 else ""})
        return len(self.lines)


def post_batches(port, path, bodies, headers, check):
    """POSTs each body in turn over one keep-alive connection; check(status,
    answer) says whether the answer is the expected one. Returns the wall
    clock (time.time, nginx's $msec clock) just before the first POST and
    the seconds until the last answer."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.connect()
    t0 = time.time()
    for body in bodies:
        conn.request("POST", path, body=body, headers=headers)
        r = conn.getresponse()
        answer = r.read()
        if not check(r.status, answer):
            raise RuntimeError("POST %s answered %d: %s" % (path, r.status, answer[:300]))
    posting = time.time() - t0
    conn.close()
    return t0, posting


def watch_deliveries(tail, expected, pid, limit):
    """Waits for `expected` lines; returns the CPU seconds of pid when the
    N-th was seen, or None after `limit` seconds."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if tail.poll() >= expected:
            return process_cpu(pid)
        time.sleep(0.002)
    return None


def run_load(name, proc, tail, bodies, post, expected, a, cpu_before):
    """The measured part common to both systems; returns a result dict."""
    t0, posted = post()
    cpu_end = watch_deliveries(tail, expected, proc.pid, a.timeout)
    res = {"name": name, "complete": cpu_end is not None}
    if cpu_end is None:
        cpu_end = process_cpu(proc.pid)
        print("%s: only %d of %d deliveries at nginx after %d s" %
              (name, tail.poll(), expected, a.timeout))
    time.sleep(a.settle)
    tail.poll()
    lines = tail.lines
    ok_lines = [l for l in lines if l["status"] == 200 and l["method"] == "POST"]
    res["lines"] = len(lines)
    res["delivered"] = len(ok_lines)
    res["seconds"] = (ok_lines[expected - 1]["msec"] - t0) if len(ok_lines) >= expected else None
    res["first"] = (ok_lines[0]["msec"] - t0) if ok_lines else None
    res["posting"] = posted
    res["cpu"] = cpu_end - cpu_before
    res["peak_kib"] = status_kib(proc.pid, "VmHWM")
    res["rss_kib"] = status_kib(proc.pid, "VmRSS")
    res["bytes"] = sum(l["length"] for l in ok_lines)
    res["ids"] = len({l["id"] for l in ok_lines if l["id"] not in ("", "-")})
    res["signed"] = sum(1 for l in ok_lines if l["signature"].startswith("v1,"))
    res["agent"] = ok_lines[0]["agent"] if ok_lines else ""
    return res


def bench_alertmanager(a, nginx, work):
    conf = os.path.join(work, "alertmanager.yml")
    with open(conf, "w") as f:
        f.write(ALERTMANAGER_CONF.format(url=nginx.url("/alertmanager")))
    port = harness.free_port()
    storage = os.path.join(work, "am-data")
    os.mkdir(storage)
    log = open(os.path.join(work, "alertmanager.log"), "wb")
    proc = subprocess.Popen([ALERTMANAGER, "--config.file=" + conf, "--storage.path=" + storage,
                             "--web.listen-address=127.0.0.1:%d" % port,
                             "--cluster.listen-address=", "--log.level=warn"],
                            stdout=log, stderr=log)
    try:
        if not wait_http("http://127.0.0.1:%d/-/ready" % port):
            raise RuntimeError("alertmanager did not start")
        starts = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        bodies = []
        for first in range(0, a.alerts, a.batch):
            bodies.append(json.dumps([
                {"labels": {"alertname": "HeraldBench", "severity": "warning",
                            "instance": "oss%05d.lustre.example" % i},
                 "annotations": {"summary": "bench alert %d" % i},
                 "startsAt": starts}
                for i in range(first, min(first + a.batch, a.alerts))]).encode())
        tail = LogTail(nginx.log("alertmanager"))
        cpu0 = process_cpu(proc.pid)
        res = run_load("alertmanager", proc, tail, bodies,
                       lambda: post_batches(port, "/api/v2/alerts", bodies,
                                            {"Content-Type": "application/json"},
                                            lambda s, _: s == 200),
                       a.alerts, a, cpu0)
        res["pid"] = proc.pid
        # Every alert in its own group: what the dispatcher holds must match.
        with urllib.request.urlopen("http://127.0.0.1:%d/api/v2/alerts/groups" % port,
                                    timeout=30) as r:
            res["groups"] = len(json.load(r))
        res["good"] = res["complete"] and res["delivered"] == a.alerts
        return res
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


def sql_count(db, sql):
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def delivered_count(db):
    """Deliveries in state delivered: the outbox schema is changing (outbox ->
    messages + deliveries), so the table is chosen from what the file has."""
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        table = "deliveries" if "deliveries" in tables else "outbox"
        n = con.execute("SELECT count(*) FROM %s WHERE state = 'delivered'" % table).fetchone()[0]
        return table, n
    finally:
        con.close()


def bench_herald(a, nginx, work):
    port = harness.free_port()
    db = os.path.join(work, "herald.db")
    cfg = os.path.join(work, "herald.toml")
    with open(cfg, "w") as f:
        f.write(HERALD_CONF.format(db=db, maildir=os.path.join(work, "Maildir"), port=port,
                                   token=API_TOKEN, url=nginx.url("/herald"),
                                   secret=WEBHOOK_SECRET,
                                   connections=("max_connections = %d\n" % a.connections
                                                if a.connections else "")))
    check = subprocess.run([a.herald, "check-config", "--config", cfg], capture_output=True)
    if check.returncode != 0:
        raise RuntimeError("herald check-config: " + check.stderr.decode()[-2000:])
    log = open(os.path.join(work, "herald.log"), "wb")
    proc = subprocess.Popen(shlex.split(a.wrap) + [a.herald, "run", "--config", cfg],
                            stdout=log, stderr=log)
    try:
        if not wait_http("http://127.0.0.1:%d/healthz" % port, 120 if a.wrap else 30):
            raise RuntimeError("herald did not start")
        bodies = []
        for first in range(0, a.alerts, a.batch):
            bodies.append(json.dumps({"events": [
                {"key": "bench:oss%05d" % i, "kind": "bug.created", "source": "bench",
                 "title": "bench event %d on oss%05d.lustre.example" % (i, i),
                 "severity": "medium", "tags": {"instance": "oss%05d.lustre.example" % i}}
                for i in range(first, min(first + a.batch, a.alerts))]}).encode())
        accepted = []

        def answered(status, body):
            if status != 200:
                return False
            accepted.append(json.loads(body).get("new", 0))
            return True
        tail = LogTail(nginx.log("herald"))
        cpu0 = process_cpu(proc.pid)
        res = run_load("herald", proc, tail, bodies,
                       lambda: post_batches(port, "/api/v1/events", bodies,
                                            {"Content-Type": "application/json",
                                             "Authorization": "Bearer " + API_TOKEN},
                                            answered),
                       a.alerts, a, cpu0)
        res["pid"] = proc.pid
        res["new"] = sum(accepted)
        res["events"] = sql_count(db, "SELECT count(*) FROM events")
        # The outcome is recorded after nginx's answer: give the last ones a moment.
        harness.wait_until(lambda: delivered_count(db)[1] >= a.alerts, 10)
        res["table"], res["db_delivered"] = delivered_count(db)
        res["good"] = (res["complete"] and res["delivered"] == a.alerts and
                       res["ids"] == a.alerts and res["events"] == a.alerts and
                       res["db_delivered"] == a.alerts and res["new"] == a.alerts)
        return res
    finally:
        proc.terminate()
        try:
            proc.wait(300 if a.wrap else 30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def idle(a, nginx, work):
    """herald with five polled sources and alertmanager with the benchmark's
    configuration, both started at once and left alone; returns their figures."""
    jira_dir = os.path.join(work, "jira")
    os.mkdir(jira_dir)
    shutil.copy(os.path.join(harness.FIXTURES, "tracker", "jira_search_page_v2.json"), jira_dir)
    tracker = subprocess.Popen([harness.PY, os.path.join(SRC, "tests", "tools",
                                                         "tracker_server.py"),
                                "--jira", jira_dir, "--log", os.path.join(work, "jira.jsonl")],
                               stdout=subprocess.PIPE)
    line = tracker.stdout.readline().decode()
    if not line.startswith("PORT "):
        raise RuntimeError("tracker_server.py did not start: %r" % line)
    jira_url = "http://127.0.0.1:%d" % int(line.split()[1])
    sources = []
    for n, feed in enumerate(IDLE_FEEDS):
        sources.append('[[source]]\nname = "feed-%d"\nkind = "feed"\nurl = "file://%s"\n'
                       'release_model = "generic"\ninterval = "%s"\n' %
                       (n + 1, os.path.join(harness.FIXTURES, feed), a.idle_interval))
    sources.append('[[source]]\nname = "jira"\nkind = "jira"\nbase_url = "%s"\n'
                   'jql = "project = LU"\nmax_age = "1000d"\ninterval = "%s"\n' %
                   (jira_url, a.idle_interval))
    cfg = os.path.join(work, "herald-idle.toml")
    with open(cfg, "w") as f:
        f.write(HERALD_IDLE_CONF.format(db=os.path.join(work, "herald-idle.db"),
                                        maildir=os.path.join(work, "Maildir-idle"),
                                        sources="\n".join(sources)))
    check = subprocess.run([a.herald, "check-config", "--config", cfg], capture_output=True)
    if check.returncode != 0:
        raise RuntimeError("herald check-config (idle): " + check.stderr.decode()[-2000:])
    am_conf = os.path.join(work, "alertmanager-idle.yml")
    with open(am_conf, "w") as f:
        f.write(ALERTMANAGER_CONF.format(url=nginx.url("/alertmanager")))
    am_storage = os.path.join(work, "am-idle")
    os.mkdir(am_storage)
    hlog = open(os.path.join(work, "herald-idle.log"), "wb")
    alog = open(os.path.join(work, "alertmanager-idle.log"), "wb")
    procs = {"herald": subprocess.Popen([a.herald, "run", "--config", cfg],
                                        stdout=hlog, stderr=hlog)}
    if a.only != "herald":
        procs["alertmanager"] = subprocess.Popen(
            [ALERTMANAGER, "--config.file=" + am_conf, "--storage.path=" + am_storage,
             "--web.listen-address=127.0.0.1:%d" % harness.free_port(),
             "--cluster.listen-address=", "--log.level=warn"], stdout=alog, stderr=alog)
    out = {}
    try:
        time.sleep(a.idle_settle)
        for name, p in procs.items():
            if p.poll() is not None:
                raise RuntimeError("%s ended while idle (%d)" % (name, p.returncode))
            out[name] = {"rss_kib": status_kib(p.pid, "VmRSS"),
                         "anon_kib": status_kib(p.pid, "RssAnon"),
                         "file_kib": status_kib(p.pid, "RssFile"),
                         "peak_kib": status_kib(p.pid, "VmHWM"),
                         "mappings": mappings(p.pid),
                         "before": wakeups(p.pid), "cpu0": process_cpu(p.pid)}
        t0 = time.monotonic()
        time.sleep(a.idle_window)
        window = time.monotonic() - t0
        for name, p in procs.items():
            after = wakeups(p.pid)
            o = out[name]
            per_thread = {}
            for tid, (tname, count) in after.items():
                was = o["before"].get(tid, (tname, 0))[1]
                if count - was:
                    per_thread["%s/%d" % (tname, tid)] = count - was
            o["wakeups"] = sum(per_thread.values())
            o["per_thread"] = per_thread
            o["threads"] = len(after)
            o["window"] = window
            o["cpu"] = process_cpu(p.pid) - o["cpu0"]
            o["rss_end_kib"] = status_kib(p.pid, "VmRSS")
        with open(os.path.join(work, "jira.jsonl")) as f:
            out["herald"]["jira_requests"] = sum(1 for l in f if l.strip())
        db = os.path.join(work, "herald-idle.db")
        out["herald"]["events"] = sql_count(db, "SELECT count(*) FROM events")
        out["herald"]["sources_ok"] = sql_count(
            db, "SELECT count(*) FROM source_state WHERE last_success > 0 AND last_error = ''")
        # The nearest due time herald knows of: the earliest next poll.
        out["herald"]["next_due"] = sql_count(
            db, "SELECT min(next_poll_at) FROM source_state") - int(time.time())
        return out
    finally:
        for p in procs.values():
            p.terminate()
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        hlog.close()
        alog.close()
        tracker.terminate()
        tracker.wait(10)
        tracker.stdout.close()


def loadavg():
    """The machine's load average (1, 5, 15 min): these figures are only as
    good as the machine was quiet."""
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def mib(kib):
    return kib / 1024.0


def report(results, idle_res, a):
    print()
    print("workload: %d distinct alerts/events, %d per POST over one keep-alive connection; "
          "deliveries counted in nginx's access log" % (a.alerts, a.batch))
    for r in results:
        print("%s: %d lines at nginx (%d POST 200), %d distinct webhook-ids, %d signed, "
              "%.1f KiB received, first delivery after %.3f s, posting took %.3f s, agent %r" %
              (r["name"], r["lines"], r["delivered"], r["ids"], r["signed"], r["bytes"] / 1024.0,
               r["first"] if r["first"] is not None else -1, r["posting"], r["agent"]))
        if r["name"] == "herald":
            print("herald: %d new events answered, %d events stored, %d deliveries delivered "
                  "(table %s)" % (r["new"], r["events"], r["db_delivered"], r["table"]))
        if r["name"] == "alertmanager":
            print("alertmanager: %d alert groups held" % r["groups"])
        cores = os.cpu_count()
        if r["seconds"] and r["cpu"] > r["seconds"] * cores * 1.02 + 0.02:
            print("CPU check FAILED for %s: %.2f s of CPU in %.2f s on %d cores" %
                  (r["name"], r["cpu"], r["seconds"], cores))
            r["good"] = False
    rows = {r["name"]: r for r in results}
    print()
    print("%-28s %14s %14s %10s" % ("", "herald", "alertmanager", "h/am"))

    def row(label, key, fmt, scale=1.0, src=rows):
        h = src.get("herald", {}).get(key)
        m = src.get("alertmanager", {}).get(key)
        hs = (fmt % (h * scale)) if h is not None else "-"
        ms = (fmt % (m * scale)) if m is not None else "-"
        ratio = ("%.2fx" % (h / m)) if h is not None and m else "-"
        print("%-28s %14s %14s %10s" % (label, hs, ms, ratio))
    row("seconds to N-th delivery", "seconds", "%.3f")
    row("seconds posting (answered)", "posting", "%.3f")
    row("peak RSS MiB (VmHWM)", "peak_kib", "%.1f", 1 / 1024.0)
    row("CPU s", "cpu", "%.2f")
    row("deliveries at nginx", "delivered", "%d")
    if idle_res:
        row("idle RSS MiB (after %ds)" % a.idle_settle, "rss_kib", "%.1f", 1 / 1024.0, idle_res)
        row("idle wake-ups in %ds" % a.idle_window, "wakeups", "%d", 1.0, idle_res)
        row("idle CPU s in %ds" % a.idle_window, "cpu", "%.3f", 1.0, idle_res)
    print()
    if idle_res:
        for name, o in idle_res.items():
            top = sorted(o["per_thread"].items(), key=lambda kv: -kv[1])[:6]
            print("idle %s: %d threads, %.1f wake-ups/s over %.1f s, RSS %.1f MiB (anonymous "
                  "%.1f, files and libraries %.1f) -> %.1f MiB; busiest: %s" %
                  (name, o["threads"], o["wakeups"] / o["window"], o["window"],
                   mib(o["rss_kib"]), mib(o["anon_kib"]), mib(o["file_kib"]),
                   mib(o["rss_end_kib"]), ", ".join("%s %d" % kv for kv in top) or "none"))
            top_maps, pss = o["mappings"]
            print("idle %s: PSS %.1f MiB; largest resident mappings: %s" %
                  (name, mib(pss), ", ".join("%s %.1f MiB" % (m, mib(k)) for k, m in top_maps)))
        h = idle_res["herald"]
        print("idle herald: %d of 5 sources polled without error, %d events stored, %d Jira "
              "requests; nearest due time: the next poll, %d s away (interval %s)" %
              (h["sources_ok"], h["events"], h["jira_requests"], h["next_due"], a.idle_interval))
    h = rows.get("herald")
    if h and h.get("seconds") is not None:
        print("RESULT webhook: herald %.3f s for %d deliveries (%.0f/s), peak %.1f MiB, CPU "
              "%.2f s (targets <= 0.5 s, <= 30 MiB)" %
              (h["seconds"], a.alerts, a.alerts / h["seconds"], mib(h["peak_kib"]), h["cpu"]))
    m = rows.get("alertmanager")
    if m and m.get("seconds") is not None:
        print("RESULT webhook: alertmanager %.3f s for %d deliveries (%.0f/s), peak %.1f MiB, "
              "CPU %.2f s" % (m["seconds"], a.alerts, a.alerts / m["seconds"],
                               mib(m["peak_kib"]), m["cpu"]))
    if idle_res:
        h = idle_res["herald"]
        print("RESULT idle: herald %.1f MiB RSS, %.2f wake-ups/s (targets <= 10 MiB, none more "
              "often than the nearest due time, %s)" %
              (mib(h["rss_kib"]), h["wakeups"] / h["window"], a.idle_interval))
    good = all(r["good"] for r in results)
    if results:
        print("count check: %s" % ("OK, every alert/event delivered exactly once" if good else
                                   "FAILED (lost or duplicated deliveries)"))
    return good


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--herald", default=os.path.join(SRC, "build", "herald"))
    ap.add_argument("--alerts", type=int, default=10000)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--only", choices=("herald", "alertmanager"))
    ap.add_argument("--connections", type=int, default=0,
                    help="herald's max_connections for the destination (default: the kind's)")
    ap.add_argument("--timeout", type=int, default=120,
                    help="seconds to wait for the N-th delivery")
    ap.add_argument("--settle", type=float, default=2.0,
                    help="seconds to watch for duplicates after the N-th delivery")
    ap.add_argument("--no-idle", action="store_true", help="skip the idle footprint")
    ap.add_argument("--no-load", action="store_true", help="only the idle footprint")
    ap.add_argument("--idle-settle", type=int, default=10)
    ap.add_argument("--idle-window", type=int, default=30)
    ap.add_argument("--idle-interval", default="1h")
    ap.add_argument("--keep", action="store_true", help="keep the work directories")
    ap.add_argument("--wrap", default="",
                    help="command put before herald in the load run, for a profile: e.g. "
                         "'valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.out'")
    a = ap.parse_args()
    for path in (NGINX, ALERTMANAGER):
        if not os.access(path, os.X_OK):
            sys.exit("%s is not installed (Debian packages nginx, prometheus-alertmanager)" % path)
    if a.only != "alertmanager" and not os.access(a.herald, os.X_OK):
        sys.exit("no herald binary at %s (--herald)" % a.herald)

    work = tempfile.mkdtemp(prefix="herald-bench-webhook-")
    nginx = Nginx()
    results = []
    idle_res = None
    try:
        print("nginx %d on 127.0.0.1:%d; work directory %s" % (nginx.proc.pid, nginx.port, work),
              flush=True)
        print("load average before: " + loadavg(), flush=True)
        if a.only != "herald" and not a.no_load:
            results.append(bench_alertmanager(a, nginx, work))
            print("alertmanager done", flush=True)
        if a.only != "alertmanager" and not a.no_load:
            results.append(bench_herald(a, nginx, work))
            print("herald done", flush=True)
        if not a.no_idle and a.only != "alertmanager":
            idle_res = idle(a, nginx, work)
        print("load average after: " + loadavg(), flush=True)
        errors = nginx.errors()
        if "[alert]" in errors or "[emerg]" in errors or "[crit]" in errors:
            print("nginx error log:\n" + errors)
        good = report(results, idle_res, a)
        return 0 if good else 1
    finally:
        nginx.stop()
        nginx.cleanup(a.keep)
        if a.keep:
            print("work directory kept: " + work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
