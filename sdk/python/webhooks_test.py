"""The official Standard Webhooks library for Python (PyPI `standardwebhooks`) verifies
real deliveries of the worker, captured by webhook_receiver.py (scripts/webhook-check).

    WEBHOOK_SECRET=... python3 webhooks_test.py DIR

For every captured delivery: the library accepts it with the secret given either way
docs/webhooks.md says (its UTF-8 bytes, or "whsec_" + base64 of them) and returns the
body; it refuses the body with one byte changed, another secret, and the same untouched
delivery once its timestamp is more than five minutes old (or ahead). Captures of any
age work: the library's clock is set relative to each delivery's own timestamp; a
capture less than four minutes old is also accepted on the real clock.
"""

import base64
import glob
import json
import os
import sys
import time
from datetime import datetime, timedelta, timezone
from unittest import mock

import standardwebhooks.webhooks as sw
from standardwebhooks import Webhook, WebhookVerificationError


def at(ts: int, offset: int):
    """The library's clock at `ts + offset` seconds."""
    frozen = datetime.fromtimestamp(ts + offset, tz=timezone.utc)

    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[override]
            return frozen

    return mock.patch.object(sw, "datetime", Clock)


def refused(hook: Webhook, body: bytes, headers: dict, why: str) -> None:
    try:
        hook.verify(body, headers)
    except WebhookVerificationError as e:
        assert why in str(e), f"refused for {e!r}, expected {why!r}"
        return
    raise AssertionError(f"accepted, expected a refusal: {why}")


def check(path: str, secret: str) -> str:
    body = open(path, "rb").read()
    headers = json.load(open(path[: -len(".body")] + ".headers.json"))
    lower = {k.lower(): v for k, v in headers.items()}
    ts = int(lower["webhook-timestamp"])
    raw = Webhook(secret.encode("utf-8"))
    whsec = Webhook("whsec_" + base64.b64encode(secret.encode("utf-8")).decode())
    expected = json.loads(body)

    if time.time() - ts < 240:
        assert raw.verify(body, headers) == expected
    for hook in (raw, whsec):
        with at(ts, 299):
            assert hook.verify(body, headers) == expected
        with at(ts, 10):
            tampered = body.replace(b'"event":"', b'"event":"x', 1)
            assert tampered != body
            refused(hook, tampered, headers, "No matching signature")
            refused(hook, body + b" ", headers, "No matching signature")
        with at(ts, 301):
            refused(hook, body, headers, "too old")
        with at(ts, -301):
            refused(hook, body, headers, "too new")
    with at(ts, 10):
        refused(Webhook(b"another-secret"), body, headers, "No matching signature")
        # The pitfall docs/webhooks.md warns of: a plain string is read as base64
        # (without "whsec_" too), so the raw secret as a str does not verify (or, with
        # characters outside ASCII, is not taken at all).
        try:
            naive = Webhook(secret)
        except ValueError:
            naive = None
        if naive is not None:
            refused(naive, body, headers, "No matching signature")
    return expected["event"]


def main() -> None:
    secret = os.environ["WEBHOOK_SECRET"]
    paths = sorted(glob.glob(os.path.join(sys.argv[1], "*.body")))
    assert paths, f"no captured delivery in {sys.argv[1]}"
    events = [check(p, secret) for p in paths]
    print(f"standardwebhooks (Python): {len(events)} deliveries verified, "
          f"tampered, foreign-secret and stale copies refused: {', '.join(sorted(set(events)))}")


if __name__ == "__main__":
    main()
