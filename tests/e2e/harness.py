"""Shared pieces of herald's end-to-end tests: the real herald binary, a real
HTTP server serving feeds from fixtures (with ETag / Last-Modified and 304),
the real SMTP server of tests/tools/smtp_server.py (aiosmtpd), and the
independent MIME checker tests/tools/check_mime.py (Python's email package).

Environment: HERALD_BIN (the binary), HERALD_SOURCE_DIR (the repository).
"""
import email.utils
import hashlib
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERALD = os.environ.get("HERALD_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "herald")
SRC = os.environ.get("HERALD_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
PY = "/usr/bin/python3"
FIXTURES = os.path.join(SRC, "tests", "fixtures")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FeedServer:
    """Serves named documents over real HTTP on 127.0.0.1 with conditional GET."""

    def __init__(self):
        self.docs = {}      # path -> (bytes, content type)
        self.requests = []  # (path, status)
        self.status_override = {}  # path -> status code to answer instead
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                path = self.path.split("?")[0]
                if path in outer.status_override:
                    code = outer.status_override[path]
                    self.send_response(code)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    outer.requests.append((path, code))
                    return
                if path not in outer.docs:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    outer.requests.append((path, 404))
                    return
                body, ctype = outer.docs[path]
                etag = '"%s"' % hashlib.sha256(body).hexdigest()[:16]
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.end_headers()
                    outer.requests.append((path, 304))
                    return
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", etag)
                self.send_header("Last-Modified", email.utils.formatdate(1764700000, usegmt=True))
                self.end_headers()
                self.wfile.write(body)
                outer.requests.append((path, 200))

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def put(self, path, body, ctype="application/atom+xml"):
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.docs[path] = (body, ctype)
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def statuses(self, path):
        return [s for p, s in self.requests if p == path]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class SmtpServer:
    """tests/tools/smtp_server.py in a child process."""

    def __init__(self, out_dir, *args, port=0):
        self.out = out_dir
        cmd = [PY, os.path.join(SRC, "tests", "tools", "smtp_server.py"), "--out", out_dir,
               "--port", str(port)] + list(args)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=sys.stderr)
        line = self.proc.stdout.readline().decode()
        if not line.startswith("PORT "):
            raise RuntimeError("smtp_server.py did not start: %r" % line)
        self.port = int(line.split()[1])
        self.url = "smtp://127.0.0.1:%d" % self.port

    def log(self):
        path = os.path.join(self.out, "log.jsonl")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            # A line without its newline is still being written: it is read next time.
            return [json.loads(l) for l in f if l.endswith("\n") and l.strip()]

    def messages(self):
        return [e for e in self.log() if e["event"] == "message" and e["answer"].startswith("2")]

    def files(self):
        return sorted(os.path.join(self.out, f) for f in os.listdir(self.out) if f.endswith(".eml"))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class HttpReceiver:
    """tests/tools/http_receiver.py in a child process: a webhook or chat endpoint
    that records every request and answers by its mode (see that file)."""

    def __init__(self, log_path, mode="200"):
        self.log_path = log_path
        self.control = log_path + ".mode"
        cmd = [PY, os.path.join(SRC, "tests", "tools", "http_receiver.py"), "--log", log_path,
               "--mode", mode, "--control", self.control]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=sys.stderr)
        line = self.proc.stdout.readline().decode()
        if not line.startswith("PORT "):
            raise RuntimeError("http_receiver.py did not start: %r" % line)
        self.port = int(line.split()[1])
        self.url = "http://127.0.0.1:%d" % self.port

    def set_mode(self, mode):
        with open(self.control + ".tmp", "w") as f:
            f.write(mode + "\n")
        os.replace(self.control + ".tmp", self.control)

    def requests(self):
        if not os.path.exists(self.log_path):
            return []
        with open(self.log_path) as f:
            return [json.loads(l) for l in f if l.endswith("\n") and l.strip()]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Daemon:
    """`herald run` in the background, its log in a file."""

    def __init__(self, cfg, log_path):
        self.log_path = log_path
        self.out = open(log_path, "ab")
        self.proc = subprocess.Popen([HERALD, "run", "--config", cfg], stdout=self.out,
                                     stderr=subprocess.STDOUT)

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.close()
        return self.proc.returncode


def check_mime(paths):
    """Runs the independent checker; returns its JSON objects (with decoded text)."""
    r = subprocess.run([PY, os.path.join(SRC, "tests", "tools", "check_mime.py"), "--text"] +
                       list(paths), capture_output=True)
    out = [json.loads(l) for l in r.stdout.decode("utf-8").splitlines() if l.strip()]
    return r.returncode, out, r.stderr.decode("utf-8", "replace")


CONFIG = """
[herald]
database = "{db}"
log_level = "info"

[mail]
from = "Lustre announcements <announce@lists.lustre.example>"
domain = "lists.lustre.example"
{smtp}
maildir = "{maildir}"
max_connections = {conns}

[delivery]
backoff_initial = "{backoff}"
backoff_max = "1m"
max_age = "{max_age}"

[lustre]
lts_branches = ["2.15"]

[[source]]
name = "tags"
kind = "feed"
url = "{feed}"
release_model = "{model}"
max_size = "{max_size}"
timeout = "10s"
{changelog}

[[destination]]
name = "lustre-discuss"
to = ["lustre-discuss@lists.lustre.example"]
list_id = "Lustre discussion <lustre-discuss.lists.lustre.example>"
list_post = "<mailto:lustre-discuss@lists.lustre.example>"

[[destination]]
name = "testers"
to = ["lustre-testing@lists.lustre.example"]
subject_prefix = "[testing]"

[[route]]
tags = {{ audience = "release" }}
to = ["lustre-discuss"]

[[route]]
tags = {{ audience = "testing" }}
to = ["testers"]
"""


class Workdir:
    """A temporary directory with a herald configuration in it."""

    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="herald-e2e-")

    def config(self, feed, smtp_url="", model="lustre", changelog=None, backoff="1s",
               max_age="5d", max_size="5MiB", conns=2):
        cl = ""
        if changelog:
            cl = "changelog = [%s]" % ", ".join('"%s"' % c for c in changelog)
        text = CONFIG.format(db=os.path.join(self.path, "herald.db"),
                             smtp=('smtp_url = "%s"' % smtp_url) if smtp_url else "",
                             maildir=os.path.join(self.path, "Maildir"), feed=feed, model=model,
                             changelog=cl, backoff=backoff, max_age=max_age, max_size=max_size,
                             conns=conns)
        path = os.path.join(self.path, "herald.toml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def file(self, name):
        return os.path.join(self.path, name)

    def cleanup(self):
        shutil.rmtree(self.path, ignore_errors=True)


def herald(*args, timeout=120, env=None):
    return subprocess.run([HERALD] + list(args), capture_output=True, timeout=timeout, env=env)


def atom_feed(entries, base=None):
    """entries: list of dicts with id, title, updated, link (any may be None)."""
    from xml.sax.saxutils import escape
    out = ['<?xml version="1.0" encoding="utf-8"?>',
           '<feed xmlns="http://www.w3.org/2005/Atom"%s>' %
           (' xml:base="%s"' % base if base else ""),
           "<id>tag:test,2025:feed</id><title>test feed</title>",
           "<updated>2025-12-01T00:00:00Z</updated>"]
    for e in entries:
        out.append("<entry>")
        if e.get("id"):
            out.append("<id>%s</id>" % escape(e["id"]))
        out.append("<title>%s</title>" % escape(e["title"]))
        if e.get("updated"):
            out.append("<updated>%s</updated>" % e["updated"])
        if e.get("link"):
            out.append('<link rel="alternate" href="%s"/>' % escape(e["link"]))
        out.append("</entry>")
    out.append("</feed>")
    return "\n".join(out)


def wait_until_due(db, limit=10):
    """Waits until the earliest pending delivery in the database at `db` is due
    by herald's clock (next_attempt_at, whole Unix seconds, due when now >= it)
    and returns that time: a retry run started after this finds it due, however
    loaded the machine. Fails if nothing is pending or the wait exceeds `limit`
    seconds (the backoff would not be the one configured)."""
    import sqlite3
    con = sqlite3.connect(db)
    try:
        [(due,)] = con.execute(
            "SELECT MIN(next_attempt_at) FROM deliveries WHERE state = 'pending'").fetchall()
    finally:
        con.close()
    if due is None:
        raise AssertionError("no pending delivery in %s" % db)
    if due - time.time() > limit:
        raise AssertionError("the next attempt is %.1f s away, more than %d s" %
                             (due - time.time(), limit))
    while time.time() < due:
        time.sleep(min(0.05, max(0.0, due - time.time())))
    return due


def wait_until(pred, timeout, step=0.05):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


def healthy(port):
    """Whether herald's GET /healthz on 127.0.0.1:port answers 200."""
    import urllib.request
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port, timeout=1) as r:
            return r.status == 200
    except OSError:
        return False
