#!/usr/bin/python3
"""A real SMTP server for herald's tests (unit and end-to-end), built on aiosmtpd.

Run it with the system interpreter (/usr/bin/python3, package python3-aiosmtpd):

    smtp_server.py --out DIR [--port N] [--host 127.0.0.1] [behaviour options]

Start-up: the server listens on HOST:PORT (default 127.0.0.1, port 0 = pick a free
port) and prints exactly "PORT <n>" as the first line of stdout, flushed, once it
accepts connections. Nothing else is written to stdout. Diagnostics go to stderr.
If aiosmtpd cannot be imported it prints why on stderr and exits with status 3, so
a test that waits for the PORT line fails loudly instead of skipping.

What it records in --out DIR (created when missing):
  - msg-NNNN-R.eml   one file per accepted message and recipient (NNNN counts
                     DATA transactions from 1, R is the recipient's index from 1);
                     the raw bytes as received after the SMTP transparency dots are
                     removed: CRLF line ends kept, no header added.
  - log.jsonl        one JSON object per line, written and flushed before the
                     answer is sent, so a client that got its answer can read it:
      {"event": "connect", "connection": c, "peer": "127.0.0.1:p"}
      {"event": "ehlo", "connection": c, "hostname": h, "answer": "250 ..."}
      {"event": "auth", "connection": c, "mechanism": m, "username": u, "success": b}
      {"event": "mail", "connection": c, "mail_from": a, "answer": "250 OK"}
      {"event": "rcpt", "connection": c, "rcpt": a, "answer": "250 OK" or refusal}
      {"event": "message", "connection": c, "seq": n, "mail_from": a, "rcpt": [...],
       "message_id": "<...>" or null, "size": bytes, "answer": "250 ...", "files": [...]}
      {"event": "disconnect", "connection": c}
    The password of an AUTH attempt is never logged. A null sender is logged as "".

Behaviour options:
  --script "451,250,550 5.7.1 No thanks"  answers the DATA of successive messages
        with these codes in order (an item may carry its own text after the code),
        then 250 for every later message. Only 2xx answers store the message.
  --reject-rcpt CODE            refuse every RCPT with CODE.
  --reject-rcpt ADDR=CODE       refuse RCPT of ADDR (case-insensitive) with CODE;
        repeatable, combines with the form above (the specific address wins).
  --reject-mail CODE            refuse every MAIL FROM with CODE.
  --expect-ehlo NAME            answer EHLO/HELO with another name by 550
                                (alias --ehlo-check).
  --auth USER:PASSWORD          offer AUTH PLAIN and LOGIN (cleartext allowed) and
        require it before MAIL; a wrong password gets 535.
  --delay-data SECONDS          wait this long before answering DATA.
  --hold-data FILE              do not answer the end of a message's data until FILE
        exists (logged as {"event": "held", "connection": c, "rcpt": [...]} first).
  --hold-rcpt ADDR              hold only messages to ADDR (case-insensitive;
        repeatable); without it --hold-data holds every message.
  --hold-stage rcpt|data        where --hold-data holds: the answer to RCPT (before
        the message is sent) or, by default, the answer to the end of the data.
  --idle-timeout SECONDS        close a connection idle this long (default 300).
  --max-messages N              exit (status 0) shortly after the N-th DATA answer.

It stops cleanly on SIGTERM or SIGINT.
"""

import argparse
import asyncio
import json
import os
import re
import signal
import sys

try:
    from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword
except ImportError as e:  # pragma: no cover - environment problem
    sys.stderr.write("smtp_server.py: cannot import aiosmtpd (install python3-aiosmtpd and "
                     "run with /usr/bin/python3): %s\n" % e)
    sys.exit(3)

ANSWER_TEXT = {
    2: "2.0.0 OK: queued",
    4: "4.3.0 Temporary failure, try again later",
    5: "5.7.1 Message rejected",
}
RCPT_TEXT = {4: "4.2.1 <{addr}>: Mailbox temporarily unavailable",
             5: "5.1.1 <{addr}>: Recipient address rejected: User unknown"}
MESSAGE_ID_RE = re.compile(rb"^message-id:[ \t]*(<[^>\r\n]*>)", re.IGNORECASE | re.MULTILINE)


def parse_code(text, what):
    text = text.strip()
    m = re.match(r"^([2-5][0-9][0-9])(?:[ ](.*))?$", text)
    if not m:
        raise argparse.ArgumentTypeError(
            "%s: expected an SMTP code like 451, got %r" % (what, text))
    return int(m.group(1)), (m.group(2) or "").strip()


def answer(code, text, table, **fmt):
    return ("%d %s" % (code, text or table.get(code // 100, "").format(**fmt))).rstrip()


class Recorder:
    """Owns the output directory, the log and the counters shared by all connections."""

    def __init__(self, args, loop):
        self.args = args
        self.loop = loop
        self.out = args.out
        os.makedirs(self.out, exist_ok=True)
        self.log_file = open(os.path.join(self.out, "log.jsonl"), "a", encoding="utf-8")
        self.connections = 0
        self.messages = 0
        self.script = [parse_code(s, "--script") for s in args.script.split(",")
                       if s.strip()] if args.script else []
        self.reject_all_rcpt = None
        self.reject_rcpt = {}
        for spec in args.reject_rcpt or []:
            if "=" in spec:
                addr, code = spec.rsplit("=", 1)
                self.reject_rcpt[addr.strip().lower()] = parse_code(code, "--reject-rcpt")
            else:
                self.reject_all_rcpt = parse_code(spec, "--reject-rcpt")
        self.reject_mail = parse_code(args.reject_mail, "--reject-mail") \
            if args.reject_mail else None
        self.auth = None
        if args.auth:
            user, sep, password = args.auth.partition(":")
            if not sep:
                raise SystemExit("smtp_server.py: --auth wants USER:PASSWORD")
            self.auth = (user, password)
        self.stopping = False

    def log(self, **record):
        self.log_file.write(json.dumps(record, sort_keys=True) + "\n")
        self.log_file.flush()

    def next_data_answer(self):
        if self.messages <= len(self.script):
            code, text = self.script[self.messages - 1]
            return code, answer(code, text, ANSWER_TEXT)
        return 250, "250 " + ANSWER_TEXT[2]

    def message_done(self):
        if self.args.max_messages and self.messages >= self.args.max_messages \
                and not self.stopping:
            self.stopping = True
            self.loop.call_later(0.2, self.loop.stop)


class Handler:
    def __init__(self, rec):
        self.rec = rec

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        expected = self.rec.args.expect_ehlo
        if expected and hostname != expected:
            responses = ["550 5.7.1 EHLO %s is not %s" % (hostname, expected)]
        else:
            session.host_name = hostname
        self.rec.log(event="ehlo", connection=server.connection_no, hostname=hostname,
                     answer=responses[-1])
        return responses

    async def handle_HELO(self, server, session, envelope, hostname):
        expected = self.rec.args.expect_ehlo
        status = "250 %s" % server.hostname
        if expected and hostname != expected:
            status = "550 5.7.1 HELO %s is not %s" % (hostname, expected)
        else:
            session.host_name = hostname
        self.rec.log(event="ehlo", connection=server.connection_no, hostname=hostname,
                     answer=status)
        return status

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.rec.reject_mail:
            status = answer(*self.rec.reject_mail, {4: "4.3.0 Try later",
                                                    5: "5.7.1 Sender rejected"})
        else:
            # aiosmtpd treats an empty mail_from as "no MAIL yet": keep "<>" internally.
            envelope.mail_from = address or "<>"
            envelope.mail_options.extend(mail_options)
            status = "250 OK"
        self.rec.log(event="mail", connection=server.connection_no, mail_from=address,
                     answer=status)
        return status

    async def hold(self, server, stage, rcpt):
        args = self.rec.args
        holds = [a.lower() for a in args.hold_rcpt or []]
        if not args.hold_data or args.hold_stage != stage or \
                (holds and not any(r.lower() in holds for r in rcpt)):
            return
        self.rec.log(event="held", connection=server.connection_no, rcpt=list(rcpt))
        while not os.path.exists(args.hold_data):
            await asyncio.sleep(0.05)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        await self.hold(server, "rcpt", [address])
        refusal = self.rec.reject_rcpt.get(address.lower(), self.rec.reject_all_rcpt)
        if refusal:
            status = answer(refusal[0], refusal[1], RCPT_TEXT, addr=address)
        else:
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(rcpt_options)
            status = "250 OK"
        self.rec.log(event="rcpt", connection=server.connection_no, rcpt=address,
                     answer=status)
        return status

    async def handle_DATA(self, server, session, envelope):
        rec = self.rec
        rec.messages += 1
        seq = rec.messages
        if rec.args.delay_data:
            await asyncio.sleep(rec.args.delay_data)
        await self.hold(server, "data", envelope.rcpt_tos)
        content = envelope.original_content or b""
        code, status = rec.next_data_answer()
        files = []
        if 200 <= code < 300:
            for i, _ in enumerate(envelope.rcpt_tos, start=1):
                name = "msg-%04d-%d.eml" % (seq, i)
                tmp = os.path.join(rec.out, "." + name + ".tmp")
                with open(tmp, "wb") as f:
                    f.write(content)
                os.rename(tmp, os.path.join(rec.out, name))
                files.append(name)
        headers = content.split(b"\r\n\r\n", 1)[0]
        m = MESSAGE_ID_RE.search(headers)
        mail_from = "" if envelope.mail_from == "<>" else envelope.mail_from
        rec.log(event="message", connection=server.connection_no, seq=seq,
                mail_from=mail_from, rcpt=list(envelope.rcpt_tos),
                message_id=m.group(1).decode("ascii", "replace") if m else None,
                size=len(content), answer=status, files=files)
        rec.message_done()
        return status


class RecordingSMTP(SMTP):
    """An aiosmtpd SMTP session that numbers its connection and logs its life."""

    def __init__(self, rec, handler, **kwargs):
        super().__init__(handler, **kwargs)
        self.rec = rec
        self.connection_no = 0

    def connection_made(self, transport):
        first = self.connection_no == 0
        super().connection_made(transport)
        if first:  # not again after STARTTLS
            self.rec.connections += 1
            self.connection_no = self.rec.connections
            peer = transport.get_extra_info("peername")
            self.rec.log(event="connect", connection=self.connection_no,
                         peer="%s:%s" % (peer[0], peer[1]) if peer else None)

    def connection_lost(self, error):
        self.rec.log(event="disconnect", connection=self.connection_no)
        super().connection_lost(error)


def make_authenticator(rec):
    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = False
        user = None
        if isinstance(auth_data, LoginPassword):
            user = auth_data.login.decode("utf-8", "replace")
            ok = (auth_data.login.decode("utf-8", "replace"),
                  auth_data.password.decode("utf-8", "replace")) == rec.auth
        rec.log(event="auth", connection=server.connection_no, mechanism=mechanism,
                username=user, success=ok)
        return AuthResult(success=ok, handled=False)
    return authenticator


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", required=True, help="directory for messages and log.jsonl")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 = pick a free port")
    p.add_argument("--script", default="")
    p.add_argument("--reject-rcpt", action="append")
    p.add_argument("--reject-mail")
    p.add_argument("--expect-ehlo", "--ehlo-check", dest="expect_ehlo")
    p.add_argument("--auth")
    p.add_argument("--delay-data", type=float, default=0.0)
    p.add_argument("--hold-data")
    p.add_argument("--hold-rcpt", action="append")
    p.add_argument("--hold-stage", choices=["rcpt", "data"], default="data")
    p.add_argument("--idle-timeout", type=float, default=300.0)
    p.add_argument("--max-messages", type=int, default=0)
    args = p.parse_args()

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        rec = Recorder(args, loop)
    except argparse.ArgumentTypeError as e:
        p.error(str(e))
    handler = Handler(rec)
    kwargs = dict(decode_data=False, hostname="smtp-test.invalid", timeout=args.idle_timeout,
                  enable_SMTPUTF8=True, data_size_limit=64 * 1024 * 1024, loop=loop)
    if rec.auth:
        kwargs.update(authenticator=make_authenticator(rec), auth_required=True,
                      auth_require_tls=False)

    import warnings
    import logging
    warnings.simplefilter("ignore")  # the cleartext-AUTH warning is intended here
    logging.getLogger("mail.log").setLevel(logging.ERROR)

    server = loop.run_until_complete(loop.create_server(
        lambda: RecordingSMTP(rec, handler, **kwargs), host=args.host, port=args.port))
    port = server.sockets[0].getsockname()[1]
    sys.stdout.write("PORT %d\n" % port)
    sys.stdout.flush()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, loop.stop)
    try:
        loop.run_forever()
    finally:
        server.close()
        rec.log_file.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
