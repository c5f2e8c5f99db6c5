#!/usr/bin/python3
"""A local HTTP/1.1 server for the transport's tests (keep-alive, as real servers do).

Listens on 127.0.0.1 (port 0 = any; prints "PORT n" when ready) and counts the
TCP connections it accepts. Every answer carries "X-Connection: k" (which
accepted connection served it, from 1) and "X-Connections: n" (how many were
accepted so far).

  /echo...           200, JSON {method, path, query, headers (lower-case names), body}
  /status/N          status N with a small body; ?retry_after=V sends "Retry-After: V",
                     ?retry_after_date=S an HTTP date S seconds from now
  /big/N             200 with an N byte body and its Content-Length
  /endless           200 without a length, bytes until the client gives up
  /redirect?to=PATH  302 to PATH; without to=, to itself (a loop)
  /hang              reads the request and never answers
"""
import argparse
import email.utils
import http.server
import json
import sys
import threading
import time
import urllib.parse

LOCK = threading.Lock()
ACCEPTED = [0]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        with LOCK:
            ACCEPTED[0] += 1
            self.connection_number = ACCEPTED[0]

    def answer(self, status, body, headers=()):
        self.send_response(status)
        self.send_header("X-Connection", str(self.connection_number))
        with LOCK:
            self.send_header("X-Connections", str(ACCEPTED[0]))
        for name, value in headers:
            self.send_header(name, value)
        if body is not None:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def handle_any(self):
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if url.path == "/hang":
            time.sleep(3600)
            return
        if url.path.startswith("/echo"):
            echo = {"method": self.command, "path": url.path, "query": query,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body.decode("utf-8", "replace")}
            return self.answer(200, json.dumps(echo).encode("utf-8"),
                               [("Content-Type", "application/json")])
        if url.path.startswith("/status/"):
            headers = []
            if "retry_after" in query:
                headers.append(("Retry-After", query["retry_after"]))
            if "retry_after_date" in query:
                when = time.time() + int(query["retry_after_date"])
                headers.append(("Retry-After", email.utils.formatdate(when, usegmt=True)))
            status = int(url.path[8:])
            # 304 and 204 have no body (one would be read as the next answer).
            body = None if status in (204, 304) else b"status body"
            return self.answer(status, body, headers)
        if url.path.startswith("/big/"):
            return self.answer(200, b"x" * int(url.path[5:]))
        if url.path == "/endless":
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            try:
                while True:
                    self.wfile.write(b"y" * 65536)
            except OSError:
                return
        if url.path == "/redirect":
            return self.answer(302, b"", [("Location", query.get("to", "/redirect"))])
        return self.answer(404, b"not found")

    do_GET = handle_any
    do_POST = handle_any
    do_PUT = handle_any


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    args = p.parse_args()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    httpd.daemon_threads = True
    print("PORT %d" % httpd.server_address[1], flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
