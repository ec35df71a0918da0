// The official Standard Webhooks library for TypeScript (npm `standardwebhooks`)
// verifies real deliveries of the worker, captured by sdk/python/webhook_receiver.py
// (scripts/webhook-check).
//
//   WEBHOOK_SECRET=... node dist/webhooks_test.js DIR
//
// For every captured delivery: the library accepts it with the secret given either way
// docs/webhooks.md says (its UTF-8 bytes with { format: "raw" }, or "whsec_" + base64
// of them) and returns the body; it refuses the body with one byte changed, another
// secret, and the same untouched delivery once its timestamp is more than five minutes
// old (or ahead). The library reads Date.now(), which is set relative to each
// delivery's own timestamp, so captures of any age work.
import { readFileSync, readdirSync } from "node:fs";
import { Webhook, WebhookVerificationError } from "standardwebhooks";

const realNow = Date.now;

function at<T>(ts: number, offset: number, f: () => T): T {
  Date.now = () => (ts + offset) * 1000;
  try {
    return f();
  } finally {
    Date.now = realNow;
  }
}

const utf8 = new TextEncoder();
const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function refused(hook: Webhook, body: Uint8Array, headers: Record<string, string>, why: string): void {
  try {
    hook.verify(body, headers);
  } catch (e) {
    if (!(e instanceof WebhookVerificationError)) throw e;
    if (!e.message.includes(why)) throw new Error(`refused for "${e.message}", expected "${why}"`);
    return;
  }
  throw new Error(`accepted, expected a refusal: ${why}`);
}

function same(a: unknown, b: unknown, what: string): void {
  if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`${what}: ${JSON.stringify(a)}`);
}

function check(dir: string, name: string, secret: string): string {
  const body = readFileSync(`${dir}/${name}`);
  const headers = JSON.parse(
    text(readFileSync(`${dir}/${name.replace(/\.body$/, ".headers.json")}`)),
  ) as Record<string, string>;
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const ts = Number.parseInt(lower["webhook-timestamp"] ?? "", 10);
  const key = utf8.encode(secret);
  const raw = new Webhook(key, { format: "raw" });
  const whsec = new Webhook("whsec_" + btoa(String.fromCharCode(...key)));
  const expected = JSON.parse(text(body)) as { event: string };

  if (Date.now() / 1000 - ts < 240) same(raw.verify(body, headers), expected, "real clock");
  for (const hook of [raw, whsec]) {
    at(ts, 299, () => same(hook.verify(body, headers), expected, "at +299 s"));
    at(ts, 10, () => {
      const tampered = utf8.encode(text(body).replace('"event":"', '"event":"x'));
      if (tampered.length === body.length) throw new Error("could not tamper with the body");
      refused(hook, tampered, headers, "No matching signature");
      refused(hook, concat(body, utf8.encode(" ")), headers, "No matching signature");
    });
    at(ts, 301, () => refused(hook, body, headers, "too old"));
    at(ts, -301, () => refused(hook, body, headers, "too new"));
  }
  at(ts, 10, () => {
    refused(new Webhook(utf8.encode("another-secret"), { format: "raw" }), body, headers, "No matching signature");
    // The pitfall docs/webhooks.md warns of: { format: "raw" } with a string takes one
    // byte per UTF-16 unit, not UTF-8, so a secret with characters outside ASCII fails.
    if (/[^\x00-\x7f]/.test(secret)) {
      refused(new Webhook(secret, { format: "raw" }), body, headers, "No matching signature");
    }
  });
  return expected.event;
}

const dir = process.argv[2];
const secret = process.env.WEBHOOK_SECRET;
if (!dir || !secret) throw new Error("usage: WEBHOOK_SECRET=... node webhooks_test.js DIR");
const names = readdirSync(dir).filter((n) => n.endsWith(".body")).sort();
if (names.length === 0) throw new Error(`no captured delivery in ${dir}`);
const events = names.map((n) => check(dir, n, secret));
console.log(
  `standardwebhooks (TypeScript): ${events.length} deliveries verified, tampered, foreign-secret and stale copies refused: ${[...new Set(events)].sort().join(", ")}`,
);
