#!/usr/bin/python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""A scripted HTTP collector for tests/integration/test_http.c.

It plays a Splunk HEC endpoint, an Elasticsearch _bulk endpoint or a plain
NDJSON receiver on 127.0.0.1, and misbehaves on cue: the --script is a
list of what the next requests get, in order, e.g. "503*2,stall*2,reset*2":

  NNN           answer status NNN (503, 429, 401, 413, ...) with the body the
                real product sends, and index nothing
  stall         read the request, index nothing, answer nothing for
                --stall-s (past the client's timeout), then close
  stall_accept  index the request, then stall: the server processed it but
                the client never hears so (at-least-once at the HTTP level)
  reset         read the request, index nothing, close with a TCP RST
  ok            behave (what every request after the script gets)
  items:I=S     (_bulk) behave, but the I-th new document of the request
                (counting from 0, among those not indexed yet) fails with
                status S: 429 (retryable; the other items are indexed) or
                400 (a mapping error: never indexed). With too few new
                documents the cue waits for the next request (logged as
                "items:I=S (deferred)")
  recover       a marker: SIGUSR1 drops the script up to and including it
                (no marker: the whole script), e.g. "503*99999,recover,..."
                stays down until the test says so

In _bulk mode the collector keeps an index by _id the way Elasticsearch
does: a second `create` of an _id answers 409.

Files (all appended, one write per record):
  --out   what was indexed: NDJSON bodies as they came, HEC bodies each
          followed by '\\n', _bulk action+document line pairs of created docs
  --log   one JSON line per request: n, action, status, path, auth (the
          Authorization header was right), content_type, bytes, peer_port
          (the same on two requests: one kept-alive connection), and for
          _bulk the item counts and rejected _ids, written once the
          request is over; before that a line {"begin": n, "action", "t"}
          as it arrives; TLS handshakes that failed are lines
          {"tls_error": ...}
The port (--port 0: any free one) is written to --port-file once listening.
Runs until SIGTERM, SIGINT or --max-s seconds.
"""
import argparse
import json
import os
import signal
import socket
import ssl
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Reset(Exception):
    """The handler closed the connection with an RST on purpose."""


class State:
    def __init__(self, a):
        self.a = a
        self.lock = threading.Lock()
        self.n = 0
        self.script = []
        for part in filter(None, a.script.split(",")):
            what, _, count = part.partition("*")
            self.script += [what.strip()] * int(count or 1)
        self.stop = threading.Event()
        self.ids = set()
        self.expected_auth = None
        if a.token_file:
            with open(a.token_file, encoding="ascii") as f:
                self.expected_auth = (a.scheme + " " + f.read().strip()).strip()
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
        self.out = os.open(a.out, flags, 0o600)
        self.log = os.open(a.log, flags, 0o600)

    def next_action(self):
        with self.lock:
            self.n += 1
            while self.script and self.script[0] == "recover":
                self.script.pop(0)
            return self.n, (self.script.pop(0) if self.script else "ok")

    def recover(self):
        with self.lock:
            cut = self.script.index("recover") + 1 if "recover" in self.script else len(self.script)
            del self.script[:cut]

    def write_log(self, rec):
        os.write(self.log, (json.dumps(rec, sort_keys=True) + "\n").encode())


HEC_ERRORS = {
    400: {"text": "Invalid data format", "code": 6},
    401: {"text": "Invalid authorization", "code": 3},
    403: {"text": "Invalid token", "code": 4},
    503: {"text": "Server is busy", "code": 9},
}


def hec_events(body):
    """The concatenated HEC event objects, or None when the body is not that."""
    dec, text, pos, events = json.JSONDecoder(), body.decode("utf-8"), 0, []
    while True:
        while pos < len(text) and text[pos] in " \t\r\n":
            pos += 1
        if pos == len(text):
            return events
        ev, pos = dec.raw_decode(text, pos)
        if not isinstance(ev, dict) or not isinstance(ev.get("event"), dict):
            return None
        events.append(ev)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real collectors
    server_version = "twinguard-test-collector"

    def log_message(self, fmt, *args):  # the --log file is the record
        pass

    def handle(self):
        try:
            super().handle()
        except ssl.SSLError as e:
            self.server.st.write_log({"tls_error": str(e)})
        except (Reset, OSError, ValueError):
            pass

    def finish(self):
        try:
            super().finish()
        except (OSError, ValueError):
            pass

    def reply(self, status, obj=None, headers=()):
        data = json.dumps(obj).encode() if obj is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def error_body(self, status):
        fmt = self.server.st.a.format
        if fmt == "splunk_hec":
            return HEC_ERRORS.get(status, {"text": "Error", "code": 8})
        if fmt == "elastic_bulk":
            return {"error": {"type": "test_error", "reason": "scripted %d" % status},
                    "status": status}
        return {"error": "scripted %d" % status}

    def do_POST(self):
        st, a = self.server.st, self.server.st.a
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        n, action = st.next_action()
        st.write_log({"begin": n, "action": action, "t": round(time.time(), 3)})
        rec = {"n": n, "action": action, "path": self.path, "bytes": len(body),
               "peer_port": self.client_address[1], "t": round(time.time(), 3),
               "content_type": self.headers.get("Content-Type"),
               "auth": self.headers.get("Authorization") == st.expected_auth
               if st.expected_auth else "Authorization" not in self.headers}
        try:
            self.serve(st, a, action, body, rec)
        finally:
            st.write_log(rec)

    def serve(self, st, a, action, body, rec):
        if action == "reset":
            rec["status"] = None
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()
            raise Reset()
        if action.isdigit():
            status = int(action)
            ra = [("Retry-After", str(a.retry_after))] if a.retry_after and status in (429, 503) else []
            rec["status"] = status
            self.reply(status, self.error_body(status), ra)
            return
        if not rec["auth"]:
            rec["status"] = 401
            self.reply(401, self.error_body(401))
            return
        if a.max_body and len(body) > a.max_body:
            rec["status"] = 413
            self.reply(413, self.error_body(413))
            return
        if action == "stall":
            rec["status"] = None
            self.stall()
        fail = None
        if action.startswith("items:"):
            pos, _, status = action[len("items:"):].partition("=")
            fail = (int(pos), int(status))
        status, answer = self.index(st, a, body, rec, fail)
        rec["status"] = status
        if action == "stall_accept":
            rec["status"] = None
            self.stall()
        self.reply(status, answer)

    def stall(self):
        self.server.st.stop.wait(self.server.st.a.stall_s)
        self.close_connection = True
        raise Reset()

    def index(self, st, a, body, rec, fail):
        if a.format == "elastic_bulk":
            return self.index_bulk(st, body, rec, fail)
        if a.format == "splunk_hec":
            try:
                events = hec_events(body)
            except (ValueError, UnicodeDecodeError):
                events = None
            if events is None:
                return 400, HEC_ERRORS[400]
            rec["events"] = len(events)
            os.write(st.out, body + b"\n")
            return 200, {"text": "Success", "code": 0}
        os.write(st.out, body)
        return 200, {"ok": True}

    def index_bulk(self, st, body, rec, fail):
        lines = body.split(b"\n")
        if len(lines) % 2 != 1 or lines[-1] != b"":
            return 400, {"error": {"type": "illegal_argument_exception",
                                   "reason": "The bulk request must be terminated by a newline"},
                         "status": 400}
        items, out, rejected = [], [], []
        counts = {"created": 0, "conflict": 0, "rejected": 0, "failed": 0}
        with st.lock:
            docs = [(json.loads(lines[2 * k])["create"], json.loads(lines[2 * k + 1]))
                    for k in range(len(lines) // 2)]
            new = [op.get("_id") for op, _ in docs if op.get("_id") not in st.ids]
            if fail and len(new) <= fail[0]:
                # not enough new documents to fail one: keep the cue for
                # the next request
                st.script.insert(0, rec["action"])
                rec["action"] += " (deferred)"
                fail = None
            target = new[fail[0]] if fail else None
            for k, (op, _) in enumerate(docs):
                doc_id = op.get("_id")
                if doc_id in st.ids:
                    item = {"status": 409, "error": {"type": "version_conflict_engine_exception",
                                                     "reason": "[%s]: document already exists" % doc_id}}
                    counts["conflict"] += 1
                elif fail and doc_id == target and fail[1] == 400:
                    item = {"status": 400, "error": {"type": "document_parsing_exception",
                                                     "reason": "failed to parse (test)"}}
                    counts["rejected"] += 1
                    rejected.append(doc_id)
                elif fail and doc_id == target:
                    item = {"status": fail[1], "error": {"type": "es_rejected_execution_exception",
                                                         "reason": "rejected execution (test)"}}
                    counts["failed"] += 1
                else:
                    st.ids.add(doc_id)
                    item = {"status": 201, "result": "created"}
                    counts["created"] += 1
                    out.append(lines[2 * k] + b"\n" + lines[2 * k + 1] + b"\n")
                item.update({"_index": op.get("_index", "from-url"), "_id": doc_id})
                items.append({"create": item})
            if out:
                os.write(st.out, b"".join(out))
        rec["items"] = counts
        rec["rejected_ids"] = rejected
        return 200, {"took": 1, "errors": any(c["create"]["status"] >= 300 for c in items),
                     "items": items}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--format", choices=["ndjson", "splunk_hec", "elastic_bulk"], default="ndjson")
    p.add_argument("--token-file", help="the expected token (the header is SCHEME TOKEN)")
    p.add_argument("--scheme", default="", help="Splunk, ApiKey, Bearer")
    p.add_argument("--script", default="")
    p.add_argument("--stall-s", type=float, default=5.0)
    p.add_argument("--retry-after", type=int, default=0)
    p.add_argument("--max-body", type=int, default=0)
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--max-s", type=float, default=300.0)
    a = p.parse_args()

    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.daemon_threads = True
    srv.handle_error = lambda request, addr: None
    srv.st = State(a)
    if a.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
        # handshake in the handler's thread: a client that refuses the
        # certificate must not stall the accept loop
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)

    def stop(*_):
        srv.st.stop.set()
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGUSR1, lambda *_: srv.st.recover())
    timer = threading.Timer(a.max_s, stop)
    timer.daemon = True
    timer.start()
    tmp = a.port_file + ".tmp"
    with open(tmp, "w", encoding="ascii") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, a.port_file)
    srv.serve_forever(poll_interval=0.1)
    srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
