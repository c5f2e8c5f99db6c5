#!/usr/bin/python3
"""A local bug tracker speaking Jira's and GitHub's search protocols, for tests.

Serves, on 127.0.0.1 (port 0 = any; prints "PORT n" when ready):

  Jira REST v2   GET /rest/api/2/search?jql=&startAt=&maxResults=&fields=&expand=
                 -> {startAt, maxResults, total, issues}
  Jira Cloud v3  GET /rest/api/3/search/jql?jql=&nextPageToken=&maxResults=&fields=&expand=
                 -> {issues, nextPageToken?, isLast}
  GitHub         GET /repos/O/R/issues?state=&since=&sort=updated&direction=asc&per_page=&page=
                 -> a JSON array, Link rel="next"/"last", ETag, 304 on If-None-Match

Issues come from JSON files in --jira DIR and --github DIR, read again on every
request (tests change them between polls). A file holds one issue, a webhook
payload with an "issue", a search page with "issues", or (GitHub) an array.

Jira semantics as on a real server: JQL dates are read in the user's time zone
(--tz, e.g. +0300) at minute precision, and every date in the answer is written
in that zone without a colon in the offset. Supported JQL: `updated >= "yyyy/MM/dd
HH:mm"` (or yyyy-MM-dd), `project = X`, `project in (X, Y)`, `fixVersion = "Name"`
(any of the issue's fixVersions), AND, parentheses, ORDER BY updated (then key) or
ORDER BY key (project, then number), unless --ignore-order. Anything else in the JQL
is a 400 with errorMessages. maxResults is capped at --max-results. Without
expand=changelog the changelog is left out; with fields= only those fields are
sent. GitHub: `since` is inclusive; state defaults to open as on GitHub.

Other options:
  --fail-requests 1,3  answer these request numbers (1-based, all APIs) with
                       --fail-status (429) and a Retry-After of --retry-after s
  --require-auth VALUE the exact Authorization header required (else 401)
  --mutate-after N:KEY:TIME  after request N, issue KEY (Jira key or GitHub
                       number) reads as updated at TIME (for page-shift tests)
  --ignore-order       answer in the order the files hold the issues, as a server
                       that ignores ORDER BY (Jira) or sort= (GitHub) does
  --hang [TEXT]        accept requests and never answer them (a tracker that
                       hangs): all of them, or those whose jql contains TEXT; the
                       request is logged when it arrives
  --log FILE           one JSON line per request: n, path, query, status,
                       authorization (whether one was sent)
"""
import argparse
import base64
import datetime
import hashlib
import http.server
import json
import os
import re
import sys
import threading
import time
import urllib.parse

ARGS = None
LOCK = threading.Lock()
COUNT = [0]
MUTATIONS = {}  # key -> updated text (applied)
PENDING = []    # (after request n, key, time)


def parse_time(text):
    text = text.strip()
    m = re.fullmatch(r"(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(\.\d+)?\s*(Z|UTC|[+-]\d\d:?\d\d)",
                     text)
    if not m:
        raise ValueError("bad time %r" % text)
    frac = (m.group(3) or ".0")[1:]
    micro = int((frac + "000000")[:6])
    zone = m.group(4)
    if zone in ("Z", "UTC"):
        tz = datetime.timezone.utc
    else:
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        tz = datetime.timezone(sign * datetime.timedelta(hours=int(digits[:2]),
                                                         minutes=int(digits[2:])))
    d = datetime.datetime.strptime(m.group(1) + "T" + m.group(2), "%Y-%m-%dT%H:%M:%S")
    return d.replace(microsecond=micro, tzinfo=tz)


def zone():
    z = ARGS.tz
    sign = -1 if z[0] == "-" else 1
    return datetime.timezone(sign * datetime.timedelta(hours=int(z[1:3]), minutes=int(z[3:5])))


def jira_text(when):
    local = when.astimezone(zone())
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + "%03d" % (local.microsecond // 1000) + \
        local.strftime("%z")


def load(directory):
    items = []
    for name in sorted(os.listdir(directory)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(directory, name), encoding="utf-8") as f:
            doc = json.load(f)
        if isinstance(doc, list):
            items.extend(doc)
        elif "issues" in doc:
            items.extend(doc["issues"])
        elif "issue" in doc:
            items.append(doc["issue"])
        else:
            items.append(doc)
    return items


# ------------------------------------------------------------------------- Jira

def jira_issues():
    out = []
    for issue in load(ARGS.jira):
        key = issue.get("key")
        if key in MUTATIONS:
            issue["fields"]["updated"] = MUTATIONS[key]
        out.append(issue)
    return out


def rewrite_dates(obj):
    """Every Jira date in the issue, written in the server's zone (as Jira does)."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            if isinstance(v, str) and k in ("created", "updated", "resolutiondate"):
                try:
                    obj[k] = jira_text(parse_time(v))
                except ValueError:
                    pass
            else:
                rewrite_dates(v)
    elif isinstance(obj, list):
        for v in obj:
            rewrite_dates(v)


def parse_jql(jql):
    """-> (since datetime or None, set of projects or None, fix version or None, order
    "updated" or "key"). Raises ValueError."""
    rest = jql
    order_by = "updated"
    order = re.search(r"\border\s+by\b.*$", rest, re.I | re.S)
    if order:
        if re.fullmatch(r"order\s+by\s+key(\s+asc)?", order.group(0).strip(), re.I):
            order_by = "key"
        elif not re.fullmatch(r"order\s+by\s+updated(\s+asc)?(\s*,\s*key(\s+asc)?)?",
                              order.group(0).strip(), re.I):
            raise ValueError("unsupported ORDER BY: " + order.group(0))
        rest = rest[:order.start()]
    since = None
    projects = None
    fix_version = None
    for clause in re.split(r"\s+AND\s+", rest.replace("(", " ").replace(")", " ").strip(),
                           flags=re.I):
        clause = clause.strip()
        if not clause:
            continue
        m = re.fullmatch(r'updated\s*>=\s*"(\d{4})[/-](\d\d)[/-](\d\d) (\d\d):(\d\d)"', clause)
        if m:
            y, mo, d, h, mi = map(int, m.groups())
            since = datetime.datetime(y, mo, d, h, mi, tzinfo=zone())
            continue
        m = re.fullmatch(r"project\s*=\s*\"?([A-Za-z0-9_]+)\"?", clause)
        if m:
            projects = {m.group(1).upper()}
            continue
        m = re.fullmatch(r"project\s+in\s+(.+)", clause, re.I)
        if m:
            projects = {p.strip().strip('"').upper() for p in m.group(1).split(",")}
            continue
        m = re.fullmatch(r'fixVersion\s*=\s*(?:"([^"]*)"|([A-Za-z0-9_.-]+))', clause, re.I)
        if m:
            fix_version = m.group(1) if m.group(1) is not None else m.group(2)
            continue
        raise ValueError("unsupported JQL clause: " + clause)
    return since, projects, fix_version, order_by


def key_order(key):
    project, _, number = key.rpartition("-")
    return (project, int(number) if number.isdigit() else 0)


def jira_search(query, v3):
    try:
        since, projects, fix_version, order_by = parse_jql(query.get("jql", ""))
    except ValueError as e:
        return 400, {"errorMessages": [str(e)], "errors": {}}
    found = []
    for issue in jira_issues():
        try:
            updated = parse_time(issue["fields"]["updated"])
        except (KeyError, TypeError, ValueError):  # a bad issue matches no date condition
            if since is not None:
                continue
            updated = datetime.datetime.min.replace(tzinfo=datetime.timezone.utc)
        if since is not None and updated < since:
            continue
        if projects is not None and issue["key"].rsplit("-", 1)[0] not in projects:
            continue
        if fix_version is not None and fix_version.lower() not in [
                (v.get("name") or "").lower() for v in issue["fields"].get("fixVersions") or []]:
            continue
        found.append((updated, issue["key"], issue))
    if ARGS.ignore_order:
        pass
    elif order_by == "key":
        found.sort(key=lambda t: key_order(t[1]))
    else:
        found.sort(key=lambda t: (t[0], t[1]))
    limit = min(int(query.get("maxResults", "50")), ARGS.max_results)
    if v3:
        token = query.get("nextPageToken")
        start = 0
        if token:
            start_s, digest = base64.urlsafe_b64decode(token.encode()).decode().split(":")
            if digest != hashlib.sha256(query.get("jql", "").encode()).hexdigest()[:12]:
                return 400, {"errorMessages": ["nextPageToken does not belong to this query"]}
            start = int(start_s)
    else:
        start = int(query.get("startAt", "0"))
    page = [t[2] for t in found[start:start + limit]]
    wanted = query.get("fields")
    expand = query.get("expand", "").split(",")
    issues = []
    for issue in page:
        issue = json.loads(json.dumps(issue))
        if "changelog" not in expand:
            issue.pop("changelog", None)
        if wanted:
            keep = set(wanted.split(","))
            issue["fields"] = {k: v for k, v in issue["fields"].items() if k in keep}
        rewrite_dates(issue)
        issues.append(issue)
    if v3:
        body = {"issues": issues, "isLast": start + limit >= len(found)}
        if not body["isLast"]:
            digest = hashlib.sha256(query.get("jql", "").encode()).hexdigest()[:12]
            body["nextPageToken"] = base64.urlsafe_b64encode(
                ("%d:%s" % (start + limit, digest)).encode()).decode()
        return 200, body
    return 200, {"expand": "names,schema", "startAt": start, "maxResults": limit,
                 "total": len(found), "issues": issues}


# ----------------------------------------------------------------------- GitHub

def github_issues(owner_repo, query):
    items = []
    for item in load(ARGS.github):
        if not item.get("repository_url", "").endswith("/repos/" + owner_repo):
            continue
        if str(item.get("number")) in MUTATIONS:
            item["updated_at"] = MUTATIONS[str(item["number"])]
        items.append(item)
    state = query.get("state", "open")
    if state != "all":
        items = [i for i in items if i.get("state") == state]
    if "since" in query:
        since = parse_time(query["since"])
        items = [i for i in items if parse_time(i["updated_at"]) >= since]
    if not ARGS.ignore_order:
        items.sort(key=lambda i: (parse_time(i["updated_at"]), i["number"]))
        if query.get("direction", "desc") != "asc":
            items.reverse()
    per_page = min(int(query.get("per_page", "30")), 100)
    page = int(query.get("page", "1"))
    chunk = items[(page - 1) * per_page:page * per_page]
    last = max(1, (len(items) + per_page - 1) // per_page)
    return chunk, page, last


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        with LOCK:
            COUNT[0] += 1
            n = COUNT[0]
        if ARGS.hang is not None and ARGS.hang in query.get("jql", ""):
            with LOCK:
                if ARGS.log:
                    with open(ARGS.log, "a") as f:
                        f.write(json.dumps({"n": n, "path": url.path, "query": query,
                                            "status": None, "authorization":
                                            "Authorization" in self.headers}) + "\n")
            time.sleep(3600)
            return
        status, body, headers = self.serve(n, url, query)
        data = b"" if body is None else json.dumps(body).encode("utf-8")
        with LOCK:
            for p in [p for p in PENDING if p[0] == n]:
                MUTATIONS[p[1]] = p[2]
            if ARGS.log:  # before the answer: a client holding it finds the line
                with open(ARGS.log, "a") as f:
                    f.write(json.dumps({"n": n, "path": url.path, "query": query,
                                        "status": status,
                                        "authorization": "Authorization" in self.headers})
                            + "\n")
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if body is not None:
            self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def serve(self, n, url, query):
        """-> (status, JSON body or None, headers)."""
        if n in ARGS.fail_requests:
            return ARGS.fail_status, {"message": "slow down"}, [("Retry-After",
                                                                 str(ARGS.retry_after))]
        if ARGS.require_auth and self.headers.get("Authorization") != ARGS.require_auth:
            return 401, {"errorMessages": ["You are not authenticated."]}, []
        if url.path in ("/rest/api/2/search", "/rest/api/3/search/jql") and ARGS.jira:
            status, body = jira_search(query, url.path.endswith("/jql"))
            return status, body, []
        m = re.fullmatch(r"/repos/([^/]+/[^/]+)/issues", url.path)
        if m and ARGS.github:
            chunk, page, last = github_issues(m.group(1), query)
            etag = '"%s"' % hashlib.sha256(json.dumps(chunk).encode()).hexdigest()[:20]
            if self.headers.get("If-None-Match") == etag:
                return 304, None, [("ETag", etag)]
            links = []
            base = "http://127.0.0.1:%d%s?" % (self.server.server_address[1], url.path)
            for rel, p in (("next", page + 1), ("last", last)):
                if rel == "next" and page >= last:
                    continue
                q = dict(query, page=str(p))
                links.append('<%s%s>; rel="%s"' % (base, urllib.parse.urlencode(q), rel))
            headers = [("ETag", etag)]
            if links:
                headers.append(("Link", ", ".join(links)))
            return 200, chunk, headers
        return 404, {"message": "Not Found"}, []


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--jira")
    p.add_argument("--github")
    p.add_argument("--tz", default="+0000")
    p.add_argument("--max-results", type=int, default=1000)
    p.add_argument("--fail-requests", default="")
    p.add_argument("--fail-status", type=int, default=429)
    p.add_argument("--retry-after", type=int, default=120)
    p.add_argument("--require-auth", default="")
    p.add_argument("--mutate-after", action="append", default=[])
    p.add_argument("--ignore-order", action="store_true")
    p.add_argument("--hang", nargs="?", const="", default=None)
    p.add_argument("--log")
    ARGS = p.parse_args()
    ARGS.fail_requests = {int(x) for x in ARGS.fail_requests.split(",") if x}
    for m in ARGS.mutate_after:
        n, key, when = m.split(":", 2)
        PENDING.append((int(n), key, when))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    print("PORT %d" % httpd.server_address[1], flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
