#!/usr/bin/python3
"""Takes an OpenPGP-signed mail message apart, independently of herald.

Usage:
    /usr/bin/python3 tests/tools/check_signed_mail.py MESSAGE.eml OUTDIR

The message is parsed with Python's `email` package (policy=default). What
gpg needs to verify it is written to OUTDIR:
  - inline form (a single text/plain part): OUTDIR/inline.txt, the decoded
    text/plain body (the clear-signed message);
  - PGP/MIME (multipart/signed, RFC 3156): OUTDIR/signed_part.bin, the raw
    bytes of the first part exactly as they stand in the message (from after
    the first delimiter line to before the CRLF of the next delimiter), and
    OUTDIR/signature.asc, the decoded application/pgp-signature part.

Output (stdout): one JSON object with "form" ("inline" or "pgp_mime"),
"content_type", "transfer_encoding", "micalg" and "protocol" (or null),
"first_part_type", "second_part_type" (or null) and "problems" (strings).
Exit status: 0 when there are no problems, 1 otherwise.
"""

import email
import email.policy
import json
import os
import sys


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    raw = open(sys.argv[1], "rb").read()
    outdir = sys.argv[2]
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    problems = []
    result = {
        "content_type": msg.get_content_type(),
        "transfer_encoding": msg.get("Content-Transfer-Encoding"),
        "micalg": msg.get_param("micalg"),
        "protocol": msg.get_param("protocol"),
        "first_part_type": None,
        "second_part_type": None,
    }
    for defect in msg.defects:
        problems.append("defect: " + type(defect).__name__)
    if b"\n" in raw.replace(b"\r\n", b""):
        problems.append("bare LF in the message")
    if msg.get_content_type() == "text/plain":
        result["form"] = "inline"
        with open(os.path.join(outdir, "inline.txt"), "wb") as f:
            f.write(msg.get_payload(decode=True))
    elif msg.get_content_type() == "multipart/signed":
        result["form"] = "pgp_mime"
        parts = msg.get_payload()
        if len(parts) != 2:
            problems.append("multipart/signed with %d parts" % len(parts))
        else:
            result["first_part_type"] = parts[0].get_content_type()
            result["second_part_type"] = parts[1].get_content_type()
            for part in parts:
                for defect in part.defects:
                    problems.append("part defect: " + type(defect).__name__)
            with open(os.path.join(outdir, "signature.asc"), "wb") as f:
                f.write(parts[1].get_payload(decode=True))
        delimiter = b"\r\n--" + msg.get_boundary().encode() + b"\r\n"
        start = raw.find(delimiter)
        end = raw.find(b"\r\n--" + msg.get_boundary().encode(), start + len(delimiter))
        if start < 0 or end < 0:
            problems.append("boundary delimiters not found in the raw message")
        else:
            with open(os.path.join(outdir, "signed_part.bin"), "wb") as f:
                f.write(raw[start + len(delimiter):end])
    else:
        result["form"] = None
        problems.append("unexpected content type " + msg.get_content_type())
    result["problems"] = problems
    print(json.dumps(result))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
