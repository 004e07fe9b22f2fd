"""The sending pipeline: prepare a send, then send it in claimed batches.

Preparing compiles the content once and snapshots the audience into the
ledger. A batch claims queued messages, then, chunk by chunk, re-checks who
may still get the mail, waits for the shared rate limits, marks the chunk
handed over and gives it to the mail backend, and records what came back in
bulk. Every status change goes through campaigns.ledger; what to queue next
is the tasks' decision (campaigns.tasks), from the outcome returned here.
"""

import logging
import random
import time
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from campaigns import ledger
from campaigns.abtest import campaign_with_variant, send_snapshot_plan
from campaigns.assembly import PreparedMail, campaign_shared_code, prepared_mail_for
from campaigns.audience import ineligible_now
from campaigns.coupons import coupon_codes_assign
from campaigns.models import Campaign, Coupon, Message, Send
from campaigns.personalisation import TemplateProblem, recipient_values
from campaigns.recommendations import picker_for, picks_values
from campaigns.rendering import compile_campaign
from campaigns.throttling import throttle_acquire, throttle_domain_wait, throttle_return
from campaigns.transports import ChunkResult, Stop, TransportDown, transport_for_settings
from contacts.services import contacts_suppress_bounced

logger = logging.getLogger(__name__)
# Waits for a rate limit shorter than this are slept through in the batch;
# longer ones put the batch back and come again later.
MAX_INLINE_WAIT = 2.0
# A batch refreshes its whole claim this often (and at most a quarter of the
# time after which recovery takes a claim for dead).
HEARTBEAT_SECONDS = 10.0


class CampaignNotSendable(Exception):
    pass


@dataclass(frozen=True)
class BatchOutcome:
    """What a batch leaves for the tasks to do next."""

    more: bool = False  # queued messages remain: run another batch now
    retry_in: float | None = None  # come back after this many seconds
    widen: bool = False  # the send recovered from errors: restore parallel batches


def send_prepare(*, send_id: int) -> bool:
    """Freeze the content and the audience of a send. Safe to run again after
    a crash: messages already in the ledger are kept. True when batches may start."""
    return send_id in send_prepare_all(send_id=send_id)


def send_prepare_all(*, send_id: int) -> list[int]:
    """Prepare a send, or all the variant sends of its A/B test together (the
    audience is split in one snapshot). Returns the sends whose batches may start."""
    send = Send.objects.select_related("campaign", "campaign__coupon", "variant").get(pk=send_id)
    plan, sends = send_snapshot_plan(send)
    started = [s for s in sends if ledger.send_start_preparing(send_id=s.pk)]
    if not started:
        return []
    for each in started:
        if not freeze_content(each):
            for other in started:
                ledger.send_fail(send_id=other.pk, error=each.error)
            return []
    already = plan.is_split and Message.objects.filter(send__in=sends).exists()
    if not already:  # a split is made once: a re-run would deal the cards again
        ledger.messages_snapshot(send=sends[0], plan=plan)
    return [s.pk for s in started if ledger.send_mark_sending(send_id=s.pk)]


def freeze_content(send: Send) -> bool:
    """Compile the send's content and record its links; False (with
    `send.error`) when it cannot be rendered."""
    try:
        content = compile_campaign(campaign_with_variant(send.campaign, send.variant))
    except TemplateProblem as problem:  # e.g. a product changed since the check
        send.error = str(problem)
        return False
    send.content = content.to_json()
    send.save(update_fields=["content"])
    send.links.all().delete()
    send.links.bulk_create(
        [
            send.links.model(send=send, index=i, url=url, is_honeypot=i == content.honeypot)
            for i, url in enumerate(content.links)
        ]
    )
    return True


def backoff_seconds(streak: int) -> float:
    """Exponential back-off with jitter, so failing workers do not retry in step."""
    delay = min(settings.SEND_RETRY_MAX_SECONDS, settings.SEND_RETRY_BASE_SECONDS * 2**streak)
    return delay * random.uniform(0.5, 1.0)


def send_batch(*, send_id: int, is_retry: bool = False) -> BatchOutcome:
    """Claim one batch of a send and hand it over, chunk by chunk. `is_retry`:
    this batch is the retry scheduled after a temporary error."""
    batch = ledger.messages_claim(send_id=send_id, limit=settings.SEND_BATCH_SIZE)
    if batch is None:
        return _nothing_to_claim(send_id)
    try:
        stop = _send_batch(send_id, batch)
    except Exception:
        ledger.messages_abandon(batch=batch)
        raise
    if stop is not None:
        send = Send.objects.get(pk=send_id)
        return _stopped(send, batch, stop, is_retry)
    widen = ledger.send_batch_succeeded(send_id=send_id)
    if ledger.send_finish_if_done(send_id=send_id):
        return BatchOutcome()
    return BatchOutcome(more=True, widen=widen)


# What the mail needs of a recipient, and nothing more.
_RECIPIENT_FIELDS = [
    "id", "email", "coupon_code", "contact_id", "contact__email", "contact__first_name",
    "contact__last_name", "contact__locale", "contact__attributes",
]  # fmt: skip


def _send_batch(send_id: int, batch: str) -> Stop | None:
    send = Send.objects.select_related("campaign__coupon").get(pk=send_id)
    messages = _with_coupon_codes(send, batch, _claimed_messages(batch))
    transport = transport_for_settings()
    try:
        transport.open()
    except TransportDown as down:
        return down.stop
    try:
        return _send_chunks(send, batch, transport, prepared_mail_for(send_id), messages)
    finally:
        transport.close()


def _nothing_to_claim(send_id: int) -> BatchOutcome:
    """Done, or only deferred messages wait: come back when the first may go."""
    if ledger.send_finish_if_done(send_id=send_id):
        return BatchOutcome()
    retry_after = ledger.messages_next_retry(send_id=send_id)
    if (
        retry_after is None
        or not Send.objects.filter(pk=send_id, status=Send.Status.SENDING).exists()
    ):
        return BatchOutcome()
    return BatchOutcome(retry_in=max(0.05, (retry_after - timezone.now()).total_seconds()))


def _claimed_messages(batch: str) -> list[Message]:
    return list(
        Message.objects.filter(batch=batch, status=Message.Status.SENDING)
        .select_related("contact")
        .only(*_RECIPIENT_FIELDS)
        .order_by("id")
    )


def _with_coupon_codes(send: Send, batch: str, messages: list[Message]) -> list[Message]:
    """Give each recipient of a unique-code coupon its code, per batch; those
    left without one (the pool ran dry) are skipped with the reason."""
    coupon = send.campaign.coupon
    if coupon is None or coupon.kind != Coupon.Kind.UNIQUE:
        return messages
    waiting = [m for m in messages if not m.coupon_code and m.contact_id]
    codes = coupon_codes_assign(coupon=coupon, contact_ids=[m.contact_id for m in waiting])
    found = {m.pk: codes[m.contact_id] for m in waiting if m.contact_id in codes}
    ledger.messages_set_coupon_codes(batch=batch, codes=found)
    missing = {m.pk: Message.SkipReason.NO_COUPON_CODE for m in waiting if m.pk not in found}
    ledger.messages_skip(batch=batch, reasons=missing)
    for message in messages:
        message.coupon_code = found.get(message.pk, message.coupon_code)
    return [m for m in messages if m.pk not in missing]


def _send_chunks(send, batch, transport, prepared: PreparedMail, messages) -> Stop | None:
    size = settings.SEND_CHUNK_SIZE
    waiting = list(messages)
    prepared.batch_prepare(waiting)
    beat = _Heartbeat()
    while waiting:
        status = Send.objects.filter(pk=send.pk).values_list("status", flat=True).get()
        if status != Send.Status.SENDING:  # paused or cancelled meanwhile
            ledger.messages_release(batch=batch, cancelled=status == Send.Status.CANCELLED)
            return None
        chunk, waiting = waiting[:size], waiting[size:]
        chunk = _still_eligible(send, batch, chunk)
        while chunk:
            grant = throttle_acquire(want=len(chunk))
            if grant.quota_exhausted:
                return Stop(
                    Message.ErrorClass.CONFIGURATION,
                    "This month's sending quota is used up.",
                    pause=True,
                )
            if not grant.granted:
                if grant.wait > MAX_INLINE_WAIT:
                    return Stop(
                        Message.ErrorClass.THROTTLED, "Sending limit reached.", retry=grant.wait
                    )
                time.sleep(grant.wait)
                continue
            stop = _hand_over(send, batch, transport, prepared, chunk[: grant.granted], beat)
            if stop is not None:
                return stop
            chunk = chunk[grant.granted :]
    return None


def _still_eligible(send: Send, batch: str, chunk: list[Message]) -> list[Message]:
    reasons = ineligible_now(message_ids=[m.pk for m in chunk], is_marketing=send.is_marketing)
    if reasons:
        ledger.messages_skip(batch=batch, reasons=reasons)
    return [m for m in chunk if m.pk not in reasons]


class _Heartbeat:
    """Says when a batch should refresh its whole claim: at its first chunk,
    then every few seconds, well inside SEND_CLAIM_STALE_SECONDS."""

    def __init__(self):
        self.last = None
        self.every = min(HEARTBEAT_SECONDS, settings.SEND_CLAIM_STALE_SECONDS / 4)

    def due(self) -> bool:
        now = time.monotonic()
        if self.last is None or now - self.last >= self.every:
            self.last = now
            return True
        return False


def _hand_over(send, batch, transport, prepared, chunk: list[Message], beat) -> Stop | None:
    chunk = _domain_paced(chunk)
    held = set(
        ledger.messages_hand_over(
            send_id=send.pk, batch=batch, ids=[m.pk for m in chunk], heartbeat=beat.due()
        )
    )
    result = transport.deliver(prepared, [m for m in chunk if m.pk in held])
    _record(batch, result, prepared)
    # Tokens of mails that did not leave (untried, deferred, or no longer ours).
    unsent = len(chunk) - len(result.sent) - len(result.failed) - len(result.in_doubt)
    if unsent > 0:
        throttle_return(count=unsent)
    return result.stop


def _domain_paced(chunk: list[Message]) -> list[Message]:
    """Wait for the per-domain limits (settings.SEND_DOMAIN_RATES), if any."""
    if not settings.SEND_DOMAIN_RATES:
        return chunk
    for message in chunk:
        while (wait := throttle_domain_wait(domain=message.email.rpartition("@")[2])) > 0:
            time.sleep(min(wait, MAX_INLINE_WAIT))
    return chunk


def _record(batch: str, result: ChunkResult, prepared: PreparedMail) -> None:
    own = all(esp == prepared.message_id(pk) for pk, esp in result.sent.items())
    ledger.messages_record_sent(
        batch=batch, esp_ids=result.sent, own_message_id=prepared.message_id_parts if own else None
    )
    ledger.messages_record_failed(batch=batch, failures=result.failed)
    if result.in_doubt:
        ledger.messages_mark_in_doubt(
            batch=batch, ids=result.in_doubt, error=result.stop.error if result.stop else ""
        )
    if result.suppress:
        contacts_suppress_bounced(emails=result.suppress)
    if result.deferred:
        ledger.messages_defer(batch=batch, deferred=result.deferred)
    if result.untried:
        ledger.messages_untried(batch=batch, ids=result.untried)


def _stopped(send: Send, batch: str, stop: Stop, is_retry: bool) -> BatchOutcome:
    """A chunk met a problem: the unsent rest goes back; pause, or retry later."""
    ledger.messages_release(batch=batch)
    if stop.pause:
        ledger.send_pause(send_id=send.pk, reason=f"Paused: {stop.error}")
        return BatchOutcome()
    if stop.retry is not None:  # our own rate limit: not the backend's fault
        return BatchOutcome(retry_in=stop.retry)
    delay = backoff_seconds(send.retry_streak)
    streak = ledger.send_retry_after_failure(
        send_id=send.pk, delay=delay, is_retry=is_retry, error=stop.error
    )
    if streak is None:
        return BatchOutcome()  # another batch of this send already waits to retry
    if streak > settings.SEND_RETRY_LIMIT:
        ledger.send_pause(
            send_id=send.pk,
            reason=(
                f"Paused after {streak - 1} retries: the mail server kept failing "
                f"({stop.error}). Resume once it is back; nothing is sent twice."
            ),
        )
        return BatchOutcome()
    logger.warning("Send %s: %s; retrying in %.1f s", send.pk, stop.error, delay)
    ledger.send_finish_if_done(send_id=send.pk)
    return BatchOutcome(retry_in=delay)


def campaign_check_sendable(campaign: Campaign) -> None:
    """Raise CampaignNotSendable or TemplateProblem, in front of the user."""
    if not campaign.groups.exists() and not campaign.segments.exists():
        raise CampaignNotSendable("Pick at least one group or segment to send to.")
    campaign_check_content(campaign)


def campaign_check_content(campaign: Campaign) -> None:
    """The mail itself can go: a one-line sender and content that renders."""
    if any(ch in campaign.from_name for ch in "\r\n") or not campaign.from_name.strip():
        raise CampaignNotSendable("The sender name must be one line of text.")
    compile_campaign(campaign)


def lane_of(campaign: Campaign) -> str:
    if campaign.kind == Campaign.Kind.TRANSACTIONAL:
        return Send.Lane.TRANSACTIONAL
    return Send.Lane.BULK


def message_values(campaign: Campaign, message: Message) -> dict[str, str]:
    """What the merge fields of one message show: its contact and its coupon code."""
    coupon = campaign.coupon
    values = recipient_values(
        message.contact,
        message.coupon_code or campaign_shared_code(campaign),
        coupon.expires_at if coupon else None,
    )
    picks = (message.send.content or {}).get("picks")
    values.update(picks_values(picker_for(picks), message.contact))
    return values
