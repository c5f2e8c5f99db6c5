#!/usr/bin/python3
"""A real HTTP server for herald's tests of webhook and chat destinations (stdlib only).

Run it with the system interpreter:

    http_receiver.py --log FILE [--mode MODE] [--control FILE] [--port N] [--host 127.0.0.1]

Start-up: the server listens on HOST:PORT (default 127.0.0.1, port 0 = pick a free
port) and prints exactly "PORT <n>" as the first line of stdout, flushed, once it
accepts connections. Nothing else is written to stdout. Diagnostics go to stderr.

What it records: every request (any method, any path, except POST /_control) as one
JSON object per line in --log FILE, written and flushed before the answer is sent:
    {"seq": n, "time": unix_seconds_float, "method": "POST", "path": "/hook?x=1",
     "headers": {"lower-case-name": "value", ...}, "body": "text (UTF-8, invalid bytes
     replaced)", "body_size": bytes, "answer": status or "hang"}

Modes (what every request is answered with):
    200, 202, 204   success, body "ok" (204: none)
    429[:N]         429 Too Many Requests with "Retry-After: N" (default 1)
    500[:N]         500, with "Retry-After: N" when N is given
    410, 404, 400   that status, body {"message": "..."}
    302             a redirect to /elsewhere on this server
    hang            read the request, never answer (until the server stops)
    STATUS          any other number: that status, body "status STATUS"
A comma-separated list ("500,500,200") answers successive requests in order; the
last mode then stays.

Changing the mode at run time, either:
    POST /_control with {"mode": "429:30"} (answered 200, not logged), or
    --control FILE: when the file exists, its first line is the mode, read at every
    request (it replaces the list).
"""

import argparse
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class State:
    def __init__(self, log_path, modes, control):
        self.lock = threading.Lock()
        self.log_path = log_path
        self.modes = modes
        self.control = control
        self.seq = 0
        self.stopping = threading.Event()

    def next_mode(self):
        with self.lock:
            if self.control and os.path.exists(self.control):
                with open(self.control, encoding="utf-8") as f:
                    line = f.readline().strip()
                if line:
                    return line
            mode = self.modes[0]
            if len(self.modes) > 1:
                self.modes.pop(0)
            return mode

    def set_modes(self, text):
        with self.lock:
            self.modes = parse_modes(text)

    def record(self, entry):
        with self.lock:
            self.seq += 1
            entry["seq"] = self.seq
            # One write(2) of the whole line on an O_APPEND descriptor: a
            # reader polling the log never sees a line in pieces.
            data = (json.dumps(entry) + "\n").encode("utf-8")
            fd = os.open(self.log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)


def parse_modes(text):
    modes = [m.strip() for m in text.split(",") if m.strip()]
    for m in modes:
        status = m.split(":", 1)[0]
        if status != "hang" and not status.isdigit():
            raise ValueError("bad mode: " + m)
    return modes or ["200"]


def make_handler(state):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: herald reuses its connection

        def log_message(self, fmt, *args):
            sys.stderr.write("http_receiver: " + (fmt % args) + "\n")

        def read_body(self):
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length > 0 else b""

        def answer(self, status, body=b"", headers=None):
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            if status != 204:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if status != 204 and body:
                self.wfile.write(body)

        def handle_any(self):
            body = self.read_body()
            if self.command == "POST" and self.path == "/_control":
                try:
                    state.set_modes(json.loads(body.decode("utf-8"))["mode"])
                except (ValueError, KeyError, TypeError) as e:
                    self.answer(400, str(e).encode())
                    return
                self.answer(200, b"ok")
                return
            mode = state.next_mode()
            status, _, arg = mode.partition(":")
            entry = {
                "time": time.time(),
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", errors="replace"),
                "body_size": len(body),
                "answer": "hang" if status == "hang" else int(status),
            }
            state.record(entry)
            if status == "hang":
                state.stopping.wait()
                self.close_connection = True
                return
            code = int(status)
            if code in (200, 202):
                self.answer(code, b"ok", {"Content-Type": "text/plain"})
            elif code == 204:
                self.answer(204)
            elif code == 429:
                self.answer(429, b'{"message": "rate limited"}',
                            {"Retry-After": arg or "1", "Content-Type": "application/json"})
            elif code == 302:
                port = self.server.server_address[1]
                self.answer(302, b"", {"Location": "http://127.0.0.1:%d/elsewhere" % port})
            elif code >= 500:
                headers = {"Content-Type": "text/plain"}
                if arg:
                    headers["Retry-After"] = arg
                self.answer(code, b"internal error", headers)
            elif code >= 400:
                self.answer(code, json.dumps({"message": "status %d" % code}).encode(),
                            {"Content-Type": "application/json"})
            else:
                self.answer(code, ("status %d" % code).encode())

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = handle_any

    return Handler


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--log", required=True, help="JSON lines file of the requests")
    p.add_argument("--mode", default="200")
    p.add_argument("--control", default="", help="file whose first line is the mode")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--host", default="127.0.0.1")
    args = p.parse_args()
    try:
        modes = parse_modes(args.mode)
    except ValueError as e:
        sys.stderr.write("http_receiver: %s\n" % e)
        return 2
    open(args.log, "a").close()
    state = State(args.log, modes, args.control)
    server = ThreadingHTTPServer((args.host, args.port), make_handler(state))
    server.daemon_threads = True
    sys.stdout.write("PORT %d\n" % server.server_address[1])
    sys.stdout.flush()

    import signal

    def stop(_sig, _frame):
        state.stopping.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        state.stopping.set()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
