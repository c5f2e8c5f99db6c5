#!/usr/bin/python3
"""Checks composed mail messages independently of herald's composer.

Usage:
    /usr/bin/python3 tests/tools/check_mime.py [--text] PATH...

Each PATH is a message file (.eml, the raw RFC 5322 bytes) or a directory.
A directory with new/ or cur/ is read as a Maildir (the files in new/ then
cur/, each sorted by name); any other directory contributes its regular
files, sorted by name. Messages are parsed with Python's `email` package,
policy=email.policy.default.

Checks, each failure reported as a problem:
  - every line ends in CRLF (no bare CR or LF) and is at most 998 octets
    without its CRLF; the message ends with CRLF;
  - the header block is 7-bit; the body is too unless a part declares
    Content-Transfer-Encoding 8bit or binary;
  - every RFC 2047 encoded-word in the headers is at most 75 characters;
  - the parser found no defects (in the message or any part);
  - Subject, From, To, Date and Message-ID are present and the Subject
    decodes; Message-ID has the form <left@right>;
  - every text/* part decodes (transfer encoding, then its charset, default
    us-ascii) and its charset is UTF-8 or US-ASCII.

Output (stdout, UTF-8): one JSON object per message, one per line, in input
order, with these keys:
    "path"        the file read
    "subject"     decoded Subject (str) or null
    "from"        decoded From (str) or null
    "to"          list of decoded addresses in To (may be empty)
    "message_id"  Message-ID as it is, or null
    "list_id"     List-Id decoded, or null
    "headers"     list of header names in order, as written
    "parts"       one object per leaf part, depth first:
                    {"content_type": "text/plain", "charset": "utf-8" or null,
                     "transfer_encoding": "base64" or null,
                     "text_length": decoded characters (null if not text),
                     "text": the decoded text (only with --text)}
    "problems"    list of strings; empty when the message passed
Problems are also written to stderr as "PATH: problem" lines.

Exit status: 0 when every message passed, 1 when any had a problem, 2 on a
usage error (no message found, or a path that cannot be read).
"""

import email
import email.policy
import json
import os
import re
import sys

MAX_LINE = 998
ENCODED_WORD = re.compile(rb"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")


def message_files(path):
    if os.path.isfile(path):
        return [path]
    if not os.path.isdir(path):
        raise OSError(f"{path}: no such file or directory")
    subdirs = [os.path.join(path, d) for d in ("new", "cur")]
    dirs = [d for d in subdirs if os.path.isdir(d)] or [path]
    files = []
    for d in dirs:
        names = sorted(n for n in os.listdir(d) if not n.startswith("."))
        files += [os.path.join(d, n) for n in names if os.path.isfile(os.path.join(d, n))]
    return files


def line_problems(raw):
    """Line-end and length problems, one entry per kind with the first line."""
    found = {}  # kind -> [count, first line number]

    def note(kind, number):
        entry = found.setdefault(kind, [0, number])
        entry[0] += 1

    lines = raw.split(b"\n")
    for number, line in enumerate(lines, start=1):
        last = number == len(lines)
        if last and not line:
            break
        content = line[:-1] if line.endswith(b"\r") and not last else line
        if last:
            note("no CRLF at the end of the message", number)
        elif not line.endswith(b"\r"):
            note("bare LF", number)
        if b"\r" in content:
            note("bare CR", number)
        if len(content) > MAX_LINE:
            note(f"line longer than {MAX_LINE} octets", number)
    return [f"{kind}: {count} line(s), first line {first}" for kind, (count, first) in found.items()]


def header_problems(header_block):
    problems = []
    if any(b >= 0x80 for b in header_block):
        problems.append("8-bit octet in the header block")
    unfolded = re.sub(rb"\r\n([ \t])", rb"\1", header_block)
    for word in ENCODED_WORD.findall(unfolded):
        if len(word) > 75:
            problems.append(f"encoded-word of {len(word)} characters, more than 75")
    return problems


def split_header_block(raw):
    end = raw.find(b"\r\n\r\n")
    if end < 0:
        end = raw.find(b"\n\n")
    return (raw, b"") if end < 0 else (raw[: end + 2], raw[end + 2 :])


def text_of(header):
    return None if header is None else str(header)


def check_message(path, raw, with_text):
    problems = line_problems(raw)
    header_block, body = split_header_block(raw)
    problems += header_problems(header_block)

    msg = email.message_from_bytes(raw, policy=email.policy.default)
    summary = {
        "path": path,
        "subject": None,
        "from": None,
        "to": [],
        "message_id": None,
        "list_id": None,
        "headers": list(msg.keys()),
        "parts": [],
        "problems": problems,
    }
    for name in ("Subject", "From", "To", "Date", "Message-ID"):
        if msg.get(name) is None:
            problems.append(f"no {name} header")
    try:
        summary["subject"] = text_of(msg.get("Subject"))
        summary["from"] = text_of(msg.get("From"))
        to = msg.get("To")
        summary["to"] = [str(a) for a in to.addresses] if to is not None else []
        summary["list_id"] = text_of(msg.get("List-Id"))
    except Exception as e:  # a header the parser cannot decode
        problems.append(f"header does not decode: {e}")
    message_id = msg.get("Message-ID")
    if message_id is not None:
        summary["message_id"] = str(message_id)
        if not re.fullmatch(r"<[^<>@\s]+@[^<>@\s]+>", str(message_id).strip()):
            problems.append(f"malformed Message-ID {str(message_id)!r}")

    eight_bit_declared = False
    for part in msg.walk():
        for defect in part.defects:
            problems.append(f"parser defect: {type(defect).__name__}: {defect}")
        if part.is_multipart():
            continue
        cte = part.get("Content-Transfer-Encoding")
        cte = str(cte).strip().lower() if cte is not None else None
        eight_bit_declared |= cte in ("8bit", "binary")
        charset = part.get_param("charset")
        info = {
            "content_type": part.get_content_type(),
            "charset": str(charset) if charset is not None else None,
            "transfer_encoding": cte,
            "text_length": None,
        }
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True) or b""
            name = (info["charset"] or "us-ascii").lower()
            if name not in ("utf-8", "utf8", "us-ascii"):
                problems.append(f"{info['content_type']} part in charset {name}, not UTF-8")
            try:
                text = payload.decode("utf-8" if name != "us-ascii" else "ascii")
                info["text_length"] = len(text)
                if with_text:
                    info["text"] = text
            except UnicodeDecodeError as e:
                problems.append(f"{info['content_type']} part does not decode as {name}: {e}")
        summary["parts"].append(info)

    if not eight_bit_declared and any(b >= 0x80 for b in body):
        problems.append("8-bit octet in the body without an 8bit transfer encoding")
    return summary


def main(argv):
    args = argv[1:]
    with_text = "--text" in args
    paths = [a for a in args if a != "--text"]
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        files = [f for p in paths for f in message_files(p)]
    except OSError as e:
        print(e, file=sys.stderr)
        return 2
    if not files:
        print("no message found", file=sys.stderr)
        return 2
    failed = False
    for path in files:
        try:
            with open(path, "rb") as f:
                raw = f.read()
        except OSError as e:
            print(e, file=sys.stderr)
            return 2
        summary = check_message(path, raw, with_text)
        for problem in summary["problems"]:
            print(f"{path}: {problem}", file=sys.stderr)
        failed |= bool(summary["problems"])
        line = json.dumps(summary, ensure_ascii=False) + "\n"
        sys.stdout.buffer.write(line.encode("utf-8"))
    sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
