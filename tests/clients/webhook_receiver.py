"""A webhook receiver for composed's tests, with its own signature check (Python's hmac, not
composed's code). Usage: webhook_receiver.py PORT SECRET FAIL_FIRST OUT.json

Answers the first FAIL_FIRST POSTs with 500 (before looking at them), then checks each POST's
X-Composed-Signature-256 against HMAC-SHA256(SECRET, body): a wrong or missing signature is
answered 401 and recorded as refused; a valid one is answered 200 and recorded as accepted
(with its X-Composed-Delivery id and the parsed body). OUT.json is rewritten after every
request: {"failed_first": n, "accepted": [...], "refused": [...]}."""

import hashlib
import hmac
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, secret, fail_first, out = int(sys.argv[1]), sys.argv[2].encode(), int(sys.argv[3]), sys.argv[4]
state = {"failed_first": 0, "accepted": [], "refused": []}


def save():
    with open(out + ".tmp", "w") as f:
        json.dump(state, f)
    import os
    os.replace(out + ".tmp", out)


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if state["failed_first"] < fail_first:
            state["failed_first"] += 1
            save()
            self.send_response(500)
            self.end_headers()
            return
        want = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        got = self.headers.get("X-Composed-Signature-256", "")
        record = {"delivery": self.headers.get("X-Composed-Delivery"), "event": self.headers.get("X-Composed-Event")}
        if hmac.compare_digest(want, got):
            record["body"] = json.loads(body)
            state["accepted"].append(record)
            code = 200
        else:
            state["refused"].append(record)
            code = 401
        save()
        self.send_response(code)
        self.end_headers()

    def log_message(self, *args):
        pass


save()
ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
