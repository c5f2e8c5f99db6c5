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
    OUTDIR/signature.asc, the decoded application/pgp-signature part, and
    OUTDIR/signed_text.txt, the first part decoded;
  - a personal copy: the inline body may go on after the "-----END PGP
    SIGNATURE-----" line (the copy's own footer, not signed), written to
    OUTDIR/unsigned.txt; a PGP/MIME copy is a multipart/mixed whose first
    part is the multipart/signed above and whose second, a text/plain
    footer, is written decoded to OUTDIR/unsigned.txt.

Output (stdout): one JSON object with "form" ("inline" or "pgp_mime"),
"footer" (true when there is unsigned text after the signed data),
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
    signed = msg
    result["footer"] = False
    if msg.get_content_type() == "multipart/mixed":
        parts = msg.get_payload()
        if len(parts) != 2 or parts[1].get_content_type() != "text/plain":
            problems.append("multipart/mixed that is not a signed part and a footer")
        else:
            signed = parts[0]
            result["footer"] = True
            with open(os.path.join(outdir, "unsigned.txt"), "wb") as f:
                f.write(parts[1].get_payload(decode=True))
            for defect in parts[1].defects:
                problems.append("footer defect: " + type(defect).__name__)
        result["micalg"] = signed.get_param("micalg")
        result["protocol"] = signed.get_param("protocol")
    if signed.get_content_type() == "text/plain":
        result["form"] = "inline"
        body = signed.get_payload(decode=True)
        end = b"-----END PGP SIGNATURE-----\r\n"
        at = body.find(end)
        if at >= 0 and at + len(end) < len(body):
            result["footer"] = True
            with open(os.path.join(outdir, "unsigned.txt"), "wb") as f:
                f.write(body[at + len(end):])
        with open(os.path.join(outdir, "inline.txt"), "wb") as f:
            f.write(body)
    elif signed.get_content_type() == "multipart/signed":
        result["form"] = "pgp_mime"
        parts = signed.get_payload()
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
            with open(os.path.join(outdir, "signed_text.txt"), "wb") as f:
                f.write(parts[0].get_payload(decode=True))
        # The boundary is unique in the message, so its delimiters are found
        # in the raw bytes whether the signed part is the message or within it.
        delimiter = b"\r\n--" + signed.get_boundary().encode() + b"\r\n"
        start = raw.find(delimiter)
        end = raw.find(b"\r\n--" + signed.get_boundary().encode(), start + len(delimiter))
        if start < 0 or end < 0:
            problems.append("boundary delimiters not found in the raw message")
        else:
            with open(os.path.join(outdir, "signed_part.bin"), "wb") as f:
                f.write(raw[start + len(delimiter):end])
    else:
        result["form"] = None
        problems.append("unexpected content type " + signed.get_content_type())
    result["problems"] = problems
    print(json.dumps(result))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
