// The generated TypeScript types with openapi-fetch against a live API (run by
// scripts/sdk-check). Needs WAPLIFY_BASE_URL and WAPLIFY_API_KEY (the demo account:
// template `welcome` with one body variable) and `schema.d.ts` generated from
// openapi/openapi.json beside this file.

import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

// Node's globals, without a dependency on @types/node.
declare const process: { env: Record<string, string | undefined> };

type ErrorBody = components["schemas"]["ErrorBody"];

let checks = 0;
function check(condition: unknown, what: unknown): asserts condition {
  if (!condition) throw new Error(`check failed: ${JSON.stringify(what)}`);
  checks += 1;
}

const client = createClient<paths>({
  baseUrl: process.env.WAPLIFY_BASE_URL,
  headers: { Authorization: `Bearer ${process.env.WAPLIFY_API_KEY}` },
});

// Create a campaign: phones are normalised, invalid ones listed.
const created = await client.POST("/api/v1/campaigns", {
  body: {
    name: "SDK check",
    template_name: "welcome",
    body_data: { "1": "Ada" },
    contacts: [{ phone: "+1 555 010 0001", name: "Ada" }, { phone: "+1 555-010-0002" }, { phone: "oops" }],
  },
});
check(created.data, created.error);
const campaignId: string = created.data.campaign_id;
check(created.data.status_value === "draft", created.data);
check(created.data.total_contacts === 2 && created.data.invalid_phones[0] === "oops", created.data);

// Send it: 202 with the dispatch job's task id. With an idempotency key, a retry gets
// the same answer, marked as replayed, and the campaign is sent once.
const sendOnce = {
  params: {
    path: { campaign_id: campaignId },
    header: { "Idempotency-Key": `sdk-send-${campaignId}` },
  },
};
const sent = await client.POST("/api/v1/campaigns/{campaign_id}/send", sendOnce);
check(sent.response.status === 202 && sent.data, sent.error);
check(sent.data.status === "accepted" && sent.data.task_id.length > 0, sent.data);
check(Number(sent.response.headers.get("X-RateLimit-Remaining")) >= 0, "rate-limit headers");
check(sent.response.headers.get("Idempotent-Replayed") === null, "a first answer");
const replayed = await client.POST("/api/v1/campaigns/{campaign_id}/send", sendOnce);
check(replayed.response.status === 202 && replayed.data, replayed.error);
check(replayed.data.task_id === sent.data.task_id, replayed.data);
check(replayed.response.headers.get("Idempotent-Replayed") === "true", "a replayed answer");

// Read its stats.
const stats = await client.GET("/api/v1/campaigns/{campaign_id}/stats", {
  params: { path: { campaign_id: campaignId } },
});
check(stats.data, stats.error);
check(stats.data.campaign_id === campaignId && stats.data.total_contacts === 2, stats.data);
check(stats.data.campaign_status !== "draft", stats.data);

// Errors are typed: 404 for an unknown campaign...
const missing = await client.GET("/api/v1/campaigns/{campaign_id}/stats", {
  params: { path: { campaign_id: "0123456789abcdef01234567" } },
});
check(missing.response.status === 404 && missing.error, missing.data);
const notFound: ErrorBody = missing.error;
check(notFound.error === "not_found" && notFound.message === "Campaign not found", notFound);

// ...and 400 for a malformed id or a refused body.
const badId = await client.GET("/api/v1/campaigns/{campaign_id}/stats", {
  params: { path: { campaign_id: "not-an-id" } },
});
check(badId.response.status === 400 && badId.error, badId.data);
check(badId.error.message === "Invalid campaign_id", badId.error);
const refused = await client.POST("/api/v1/campaigns", {
  body: { name: "Missing variables", template_name: "welcome", contacts: [{ phone: "+15550100003" }] },
});
check(refused.response.status === 400 && refused.error, refused.data);
const badRequest: ErrorBody = refused.error;
check(badRequest.error === "bad_request", badRequest);

// Schedule a campaign in local time: kept in UTC with the zone it was given in.
const scheduled = await client.POST("/api/v1/campaigns", {
  body: {
    name: "SDK schedule",
    template_name: "welcome",
    body_data: { "1": "Ada" },
    contacts: [{ phone: "+15550100004" }],
    scheduled_at: "2031-12-24T09:00:00",
    scheduled_timezone: "America/Sao_Paulo",
  },
});
check(scheduled.data && scheduled.data.status_value === "scheduled", scheduled.error);
const lifecycle = { params: { path: { campaign_id: scheduled.data.campaign_id } } };
const got = await client.GET("/api/v1/campaigns/{campaign_id}", lifecycle);
check(got.data && Date.parse(got.data.scheduled_at ?? "") === Date.parse("2031-12-24T12:00:00Z"), got.data);

// Back to a draft with a sending window; then send, pause, resume and cancel it.
const changed = await client.PATCH("/api/v1/campaigns/{campaign_id}", {
  ...lifecycle,
  body: { scheduled_at: null, send_window: { start: "09:00", end: "18:00", timezone: "Europe/Berlin" } },
});
check(changed.data && changed.data.campaign_status === "draft", changed.error);
check(changed.data.send_window?.timezone === "Europe/Berlin", changed.data);
const queued = await client.POST("/api/v1/campaigns/{campaign_id}/send", lifecycle);
check(queued.response.status === 202, queued.error);
const paused = await client.POST("/api/v1/campaigns/{campaign_id}/pause", lifecycle);
check(paused.data && paused.data.campaign_status === "paused", paused.error);
const resumed = await client.POST("/api/v1/campaigns/{campaign_id}/resume", lifecycle);
check(resumed.data && resumed.data.campaign_status !== "paused", resumed.error);
const cancelled = await client.POST("/api/v1/campaigns/{campaign_id}/cancel", lifecycle);
check(cancelled.data && cancelled.data.campaign_status === "cancelled", cancelled.error);
const again = await client.POST("/api/v1/campaigns/{campaign_id}/cancel", lifecycle);
check(again.response.status === 409 && again.error, again.data);
const conflict: ErrorBody = again.error;
check(conflict.error === "conflict", conflict);

// Retrying failed recipients: only a completed or failed campaign (no worker runs here,
// so none finishes); with or without a pick by error code.
const retried = await client.POST("/api/v1/campaigns/{campaign_id}/retry-failed", {
  ...lifecycle,
  body: { error_codes: [131049, 131026] },
});
check(retried.response.status === 409 && retried.error, retried.data);
check(
  retried.error.message === "Campaign is cancelled; only a completed or failed campaign can be retried",
  retried.error,
);
const retriedAll = await client.POST("/api/v1/campaigns/{campaign_id}/retry-failed", {
  params: { path: { campaign_id: campaignId } },
});
check(retriedAll.response.status === 409 && retriedAll.error, retriedAll.data);
// Its 202 (compiled only if the schema has these fields).
const acceptedFields: (keyof components["schemas"]["RetryFailedResponse"])[] = ["count", "task_id", "campaign_id"];
check(acceptedFields.length === 3, acceptedFields);
// Page through a campaign's recipients one at a time, then read one's history.
const listPage = (after?: string) =>
  client.GET("/api/v1/campaigns/{campaign_id}/messages", {
    params: { path: { campaign_id: campaignId }, query: { limit: 1, after } },
  });
const phones: string[] = [];
let cursor: string | undefined = undefined;
for (;;) {
  const page = await listPage(cursor);
  check(page.data && typeof page.data !== "string", page.error);
  check(page.data.items.length <= 1, page.data);
  phones.push(...page.data.items.map((r) => r.phone));
  if (!page.data.next_cursor) break;
  cursor = page.data.next_cursor;
}
check(phones.sort().join() === "15550100001,15550100002", phones);
const gone = await client.GET("/api/v1/campaigns/{campaign_id}/messages", {
  params: { path: lifecycle.params.path, query: { status: ["cancelled"] } },
});
check(gone.data && typeof gone.data !== "string" && gone.data.items.length === 1, gone.error);
const first = gone.data.items[0];
check(first, gone.data);
const one = await client.GET("/api/v1/campaigns/{campaign_id}/messages/{message_id}", {
  params: { path: { ...lifecycle.params.path, message_id: first.message_id } },
});
check(one.data && one.data.message.status === "cancelled", one.error);
const lastStep = one.data.message.history[one.data.message.history.length - 1];
check(lastStep && lastStep.to === "cancelled" && lastStep.source === "operator", one.data.message.history);

console.log(`typescript client: all ${checks} checks passed`);
