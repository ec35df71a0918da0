"""The generated Python client against a live API (run by scripts/sdk-check).

Needs WAPLIFY_BASE_URL and WAPLIFY_API_KEY (the demo account: template `welcome` with
one body variable) and the package `waplify_send_client` generated from
openapi/openapi.json on the import path.
"""

import os
import uuid
from http import HTTPStatus

from waplify_send_client import AuthenticatedClient
from waplify_send_client.api.campaigns import (
    cancel_campaign,
    create_campaign,
    get_campaign,
    get_campaign_message,
    get_campaign_stats,
    list_campaign_messages,
    pause_campaign,
    resume_campaign,
    retry_failed_messages,
    send_campaign,
    update_campaign,
)
from waplify_send_client.models import (
    CampaignState,
    CampaignStatsResponse,
    ContactInput,
    CreateCampaignRequest,
    CreateCampaignRequestBodyData,
    CreateCampaignResponse,
    ErrorBody,
    GetCampaignResponse,
    RetryFailedRequest,
    GetMessageResponse,
    ListMessagesResponse,
    MessageState,
    StepSource,
    SendAcceptedResponse,
    SendWindowInput,
    UpdateCampaignRequest,
)
from waplify_send_client.types import UNSET

checks = 0


def check(condition: bool, what: object) -> None:
    global checks
    if not condition:
        raise AssertionError(what)
    checks += 1


client = AuthenticatedClient(
    base_url=os.environ["WAPLIFY_BASE_URL"],
    token=os.environ["WAPLIFY_API_KEY"],
    raise_on_unexpected_status=True,  # an undocumented status is an error
)

with client as client:
    # Create a campaign: phones are normalised, invalid ones listed.
    created = create_campaign.sync(
        client=client,
        body=CreateCampaignRequest(
            name="SDK check",
            template_name="welcome",
            body_data=CreateCampaignRequestBodyData.from_dict({"1": "Ada"}),
            contacts=[
                ContactInput(phone="+1 555 010 0001", name="Ada"),
                ContactInput(phone="+1 555-010-0002"),
                ContactInput(phone="oops"),
            ],
        ),
    )
    check(isinstance(created, CreateCampaignResponse), created)
    check(created.status_value == CampaignState.DRAFT, created)
    check(created.total_contacts == 2 and created.invalid_phones == ["oops"], created)

    # Send it: 202 with the dispatch job's task id. With an idempotency key, a retry
    # gets the same answer, marked as replayed, and the campaign is sent once.
    key = f"sdk-send-{uuid.uuid4()}"
    sent = send_campaign.sync_detailed(created.campaign_id, client=client, idempotency_key=key)
    check(sent.status_code == HTTPStatus.ACCEPTED, sent)
    check(isinstance(sent.parsed, SendAcceptedResponse) and sent.parsed.task_id, sent)
    check(int(sent.headers["X-RateLimit-Remaining"]) >= 0, sent.headers)
    check("Idempotent-Replayed" not in sent.headers, sent.headers)
    again = send_campaign.sync_detailed(created.campaign_id, client=client, idempotency_key=key)
    check(again.status_code == HTTPStatus.ACCEPTED, again)
    check(isinstance(again.parsed, SendAcceptedResponse), again)
    check(again.parsed.task_id == sent.parsed.task_id, again.parsed)
    check(again.headers.get("Idempotent-Replayed") == "true", again.headers)

    # Read its stats.
    stats = get_campaign_stats.sync(created.campaign_id, client=client)
    check(isinstance(stats, CampaignStatsResponse), stats)
    check(stats.campaign_id == created.campaign_id and stats.total_contacts == 2, stats)
    check(stats.campaign_status != CampaignState.DRAFT, stats)

    # Errors are typed: 404 for an unknown campaign...
    missing = get_campaign_stats.sync_detailed("0123456789abcdef01234567", client=client)
    check(missing.status_code == HTTPStatus.NOT_FOUND, missing)
    check(isinstance(missing.parsed, ErrorBody), missing)
    check(missing.parsed.error == "not_found", missing.parsed)
    check(missing.parsed.message == "Campaign not found", missing.parsed)

    # ...and 400 for a malformed id or a refused body.
    bad_id = get_campaign_stats.sync_detailed("not-an-id", client=client)
    check(bad_id.status_code == HTTPStatus.BAD_REQUEST, bad_id)
    check(isinstance(bad_id.parsed, ErrorBody), bad_id)
    check(bad_id.parsed.message == "Invalid campaign_id", bad_id.parsed)
    refused = create_campaign.sync_detailed(
        client=client,
        body=CreateCampaignRequest(
            name="Missing variables",
            template_name="welcome",
            contacts=[ContactInput(phone="+15550100003")],
        ),
    )
    check(refused.status_code == HTTPStatus.BAD_REQUEST, refused)
    check(isinstance(refused.parsed, ErrorBody), refused)
    check(refused.parsed.error == "bad_request", refused.parsed)

    # Schedule a campaign in local time: it is kept in UTC with the zone it was given in.
    scheduled = create_campaign.sync(
        client=client,
        body=CreateCampaignRequest(
            name="SDK schedule",
            template_name="welcome",
            body_data=CreateCampaignRequestBodyData.from_dict({"1": "Ada"}),
            contacts=[ContactInput(phone="+15550100004")],
            scheduled_at="2031-12-24T09:00:00",
            scheduled_timezone="America/Sao_Paulo",
        ),
    )
    check(scheduled.status_value == CampaignState.SCHEDULED, scheduled)
    got = get_campaign.sync(scheduled.campaign_id, client=client)
    check(isinstance(got, GetCampaignResponse), got)
    check(got.scheduled_at.isoformat() == "2031-12-24T12:00:00+00:00", got.scheduled_at)
    check(got.scheduled_timezone == "America/Sao_Paulo", got)

    # Change it back to a draft with a sending window, then send, pause, resume, cancel.
    changed = update_campaign.sync(
        scheduled.campaign_id,
        client=client,
        body=UpdateCampaignRequest(
            name="SDK lifecycle",
            scheduled_at=None,
            send_window=SendWindowInput(start="09:00", end="18:00", days=["mon", "fri"]),
        ),
    )
    check(isinstance(changed, GetCampaignResponse), changed)
    check(changed.campaign_status == CampaignState.DRAFT and changed.name == "SDK lifecycle", changed)
    check(changed.send_window.days == ["mon", "fri"], changed.send_window)
    sent = send_campaign.sync_detailed(scheduled.campaign_id, client=client)
    check(sent.status_code == HTTPStatus.ACCEPTED, sent)
    paused = pause_campaign.sync(scheduled.campaign_id, client=client)
    check(paused.campaign_status == CampaignState.PAUSED, paused)
    resumed = resume_campaign.sync(scheduled.campaign_id, client=client)
    check(resumed.campaign_status in (CampaignState.QUEUED, CampaignState.RUNNING), resumed)
    cancelled = cancel_campaign.sync(scheduled.campaign_id, client=client)
    check(cancelled.campaign_status == CampaignState.CANCELLED, cancelled)
    again = cancel_campaign.sync_detailed(scheduled.campaign_id, client=client)
    check(again.status_code == HTTPStatus.CONFLICT and isinstance(again.parsed, ErrorBody), again)
    check(again.parsed.message.startswith("Campaign is cancelled"), again.parsed)
    # Retrying failed recipients: only a completed or failed campaign (no worker runs
    # here, so none finishes); with or without a pick by error code.
    retried = retry_failed_messages.sync_detailed(
        scheduled.campaign_id,
        client=client,
        body=RetryFailedRequest(error_codes=[131049, 131026]),
        idempotency_key=f"sdk-retry-{uuid.uuid4()}",
    )
    check(retried.status_code == HTTPStatus.CONFLICT and isinstance(retried.parsed, ErrorBody), retried)
    check(
        retried.parsed.message == "Campaign is cancelled; only a completed or failed campaign can be retried",
        retried.parsed,
    )
    retried = retry_failed_messages.sync_detailed(created.campaign_id, client=client)
    check(retried.status_code == HTTPStatus.CONFLICT and isinstance(retried.parsed, ErrorBody), retried)
    check(retried.parsed.error == "conflict", retried.parsed)
    gap = update_campaign.sync_detailed(
        created.campaign_id,
        client=client,
        body=UpdateCampaignRequest(scheduled_at="2031-03-09T02:30:00", scheduled_timezone="America/New_York"),
    )
    check(gap.status_code == HTTPStatus.CONFLICT, gap)  # already sent: only drafts change

    # Page through a campaign's recipients one at a time, then read one's history.
    rows = []
    after = UNSET
    while True:
        page = list_campaign_messages.sync(created.campaign_id, client=client, limit=1, after=after)
        check(isinstance(page, ListMessagesResponse) and len(page.items) <= 1, page)
        rows.extend(page.items)
        if not page.next_cursor:
            break
        after = page.next_cursor
    check(sorted(r.phone for r in rows) == ["15550100001", "15550100002"], rows)
    check(len({r.message_id for r in rows}) == 2, rows)
    bad_cursor = list_campaign_messages.sync_detailed(created.campaign_id, client=client, after="nope")
    check(bad_cursor.status_code == HTTPStatus.BAD_REQUEST and isinstance(bad_cursor.parsed, ErrorBody), bad_cursor)
    gone = list_campaign_messages.sync(scheduled.campaign_id, client=client, status=[MessageState.CANCELLED])
    check(isinstance(gone, ListMessagesResponse) and len(gone.items) == 1, gone)
    one = get_campaign_message.sync(scheduled.campaign_id, gone.items[0].message_id, client=client)
    check(isinstance(one, GetMessageResponse), one)
    check(one.message.status == MessageState.CANCELLED and one.message.phone == "15550100004", one)
    last = one.message.history[-1]
    check(last.to == MessageState.CANCELLED and last.source == StepSource.OPERATOR, one.message.history)

print(f"python client: all {checks} checks passed")
