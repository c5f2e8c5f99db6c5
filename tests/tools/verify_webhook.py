#!/usr/bin/python3
"""Verifies Standard Webhooks signatures of requests recorded by http_receiver.py.

    verify_webhook.py LOG SECRET [--max-skew S] [--now T]

Reads the JSON lines LOG and checks every recorded request independently of herald
(Python's hmac): webhook-id, webhook-timestamp and webhook-signature are present; the
timestamp is within S seconds (default 300) of --now (default: the time the request was
recorded); and one of the space-separated "v1,<base64>" signatures is the HMAC-SHA256,
keyed with SECRET's base64 after "whsec_", of "id.timestamp.body".

Prints one line per request ("ok seq=N id=..." or "BAD seq=N: why") and exits 0 when
there was at least one request and all were good, 1 otherwise, 2 on bad arguments.
"""

import argparse
import base64
import hashlib
import hmac
import json
import sys


def verify(entry, key, max_skew, now):
    h = entry.get("headers", {})
    msg_id, ts, sigs = h.get("webhook-id"), h.get("webhook-timestamp"), h.get("webhook-signature")
    if not msg_id or not ts or not sigs:
        return "missing webhook-id, webhook-timestamp or webhook-signature"
    try:
        ts_i = int(ts)
    except ValueError:
        return "webhook-timestamp is not an integer: %r" % ts
    ref = now if now is not None else entry.get("time", ts_i)
    if abs(ref - ts_i) > max_skew:
        return "webhook-timestamp %d is %d s off" % (ts_i, ref - ts_i)
    # The body as sent: http_receiver records it as text (herald's bodies are UTF-8).
    content = ("%s.%s.%s" % (msg_id, ts, entry.get("body", ""))).encode("utf-8")
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    for sig in sigs.split(" "):
        version, _, value = sig.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return None
    return "no signature matches (got %r)" % sigs


def main():
    p = argparse.ArgumentParser()
    p.add_argument("log")
    p.add_argument("secret")
    p.add_argument("--max-skew", type=int, default=300)
    p.add_argument("--now", type=int, default=None)
    args = p.parse_args()
    if not args.secret.startswith("whsec_"):
        sys.stderr.write("the secret must start with whsec_\n")
        return 2
    key = base64.b64decode(args.secret[len("whsec_"):])
    count, bad = 0, 0
    with open(args.log, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            entry = json.loads(line)
            count += 1
            why = verify(entry, key, args.max_skew, args.now)
            if why:
                bad += 1
                print("BAD seq=%s: %s" % (entry.get("seq"), why))
            else:
                print("ok seq=%s id=%s" % (entry.get("seq"), entry["headers"]["webhook-id"]))
    if count == 0:
        print("no requests recorded")
        return 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
