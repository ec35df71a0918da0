"""A webhook endpoint that keeps what it receives, byte for byte (scripts/webhook-check).

    python3 webhook_receiver.py PORT DIR

Each POST is answered 200 and stored as DIR/NNNN.body (the raw body) and
DIR/NNNN.headers.json (the request headers as received), so the Standard Webhooks
libraries can be run on real deliveries afterwards (webhooks_test.py, webhooks_test.ts).
"""

import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()


class Keep(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        with LOCK:
            n = len([f for f in os.listdir(DIR) if f.endswith(".body")]) + 1
            base = os.path.join(DIR, f"{n:04d}")
            with open(base + ".headers.json", "w") as f:
                json.dump(dict(self.headers.items()), f, indent=1)
            # The body last: a reader that sees it sees its headers too.
            with open(base + ".body.tmp", "wb") as f:
                f.write(body)
            os.rename(base + ".body.tmp", base + ".body")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


if __name__ == "__main__":
    PORT, DIR = int(sys.argv[1]), sys.argv[2]
    os.makedirs(DIR, exist_ok=True)
    ThreadingHTTPServer(("127.0.0.1", PORT), Keep).serve_forever()
