"""The send ledger: every change of a Message's status, and of its Send's.

A message moves queued -> sending -> sent | failed | in_doubt, or is skipped
with a reason. Nothing outside this module writes `Message.status`, so the
rules that keep every recipient accounted for live in one place:

- a worker claims queued messages with SKIP LOCKED under a random batch id and
  afterwards writes only rows that still carry that id;
- right before a chunk is handed to the mail backend its rows get `handed_at`:
  from then on a crash makes them in doubt, never queued, so nothing that may
  have left is sent twice;
- a temporary error puts the unsent rest back to queued; a message refused for
  good fails alone.
"""

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, CharField, Count, Exists, F, OuterRef, Q, Value, When
from django.db.models.functions import Cast, Concat
from django.utils import timezone

from campaigns.audience import audience_sql
from campaigns.models import Campaign, Message, Send

Status = Message.Status
ACTIVE = [Status.QUEUED, Status.SENDING]
# A send counts as failed when more than this share of its mails failed.
FAILED_SHARE = 0.5
PREPARE_PATIENCE = 10
_CAMPAIGN_STATUS = {
    Send.Status.QUEUED: Campaign.Status.SENDING,
    Send.Status.PREPARING: Campaign.Status.SENDING,
    Send.Status.SENDING: Campaign.Status.SENDING,
    Send.Status.PAUSED: Campaign.Status.PAUSED,
    Send.Status.DONE: Campaign.Status.SENT,
    Send.Status.FAILED: Campaign.Status.FAILED,
    Send.Status.CANCELLED: Campaign.Status.CANCELLED,
}


# --- Sends -------------------------------------------------------------------


def _send_set_status(send_id: int, status: str, *, only_from: list[str], **fields) -> bool:
    """Move a send (and its campaign) to `status` if it is in one of `only_from`."""
    changed = Send.objects.filter(pk=send_id, status__in=only_from).update(status=status, **fields)
    if changed:
        # An automation's mail stays a draft to edit while its sends come and go.
        Campaign.objects.filter(sends__pk=send_id, automation_step__isnull=True).update(
            status=_CAMPAIGN_STATUS[status], updated_at=timezone.now()
        )
    return bool(changed)


def send_start_preparing(*, send_id: int) -> bool:
    return _send_set_status(
        send_id,
        Send.Status.PREPARING,
        only_from=[Send.Status.QUEUED, Send.Status.PREPARING],
        started_at=timezone.now(),
    )


def send_mark_sending(*, send_id: int) -> bool:
    """The audience is in the ledger: batches may start. A send paused or
    cancelled while it was being prepared stays so."""
    started = _send_set_status(
        send_id,
        Send.Status.SENDING,
        only_from=[Send.Status.PREPARING],
        last_activity_at=timezone.now(),
    )
    if Send.objects.filter(pk=send_id, status=Send.Status.CANCELLED).exists():
        messages_skip_cancelled(send_id=send_id)
    return started


def send_reopen(*, send_id: int) -> bool:
    """An automation's send takes new mails after it ran dry (and closed)."""
    return _send_set_status(
        send_id,
        Send.Status.SENDING,
        only_from=[Send.Status.DONE, Send.Status.FAILED],
        finished_at=None,
        error="",
    )


def send_fail(*, send_id: int, error: str) -> None:
    _send_set_status(
        send_id,
        Send.Status.FAILED,
        only_from=[Send.Status.QUEUED, Send.Status.PREPARING, Send.Status.SENDING],
        error=error,
        finished_at=timezone.now(),
    )


def send_pause(*, send_id: int, reason: str) -> bool:
    """Stop handing out batches; batches in flight stop at their next chunk
    and put their unsent messages back."""
    return _send_set_status(
        send_id,
        Send.Status.PAUSED,
        only_from=[Send.Status.QUEUED, Send.Status.PREPARING, Send.Status.SENDING],
        pause_reason=reason[:1000],
    )


def send_resume(*, send_id: int) -> bool:
    return _send_set_status(
        send_id,
        Send.Status.SENDING,
        only_from=[Send.Status.PAUSED],
        pause_reason="",
        retry_streak=0,
        retry_at=None,
        last_activity_at=timezone.now(),
    )


def send_cancel(*, send_id: int) -> bool:
    """Nothing more goes out; every message not yet handed over is skipped."""
    cancelled = _send_set_status(
        send_id,
        Send.Status.CANCELLED,
        only_from=[
            Send.Status.QUEUED,
            Send.Status.PREPARING,
            Send.Status.SENDING,
            Send.Status.PAUSED,
        ],
        finished_at=timezone.now(),
    )
    if cancelled:
        messages_skip_cancelled(send_id=send_id)
    return cancelled


def messages_skip_cancelled(*, send_id: int) -> int:
    return Message.objects.filter(send_id=send_id, status=Status.QUEUED).update(
        status=Status.SKIPPED, skip_reason=Message.SkipReason.CANCELLED
    )


def send_resend_in_doubt(*, send_id: int) -> int:
    """Staff decided: send the in-doubt messages again (some may arrive twice)."""
    with transaction.atomic():
        send = Send.objects.select_for_update().get(pk=send_id)
        if send.status not in (
            Send.Status.SENDING,
            Send.Status.DONE,
            Send.Status.FAILED,
            Send.Status.PAUSED,
        ):
            return 0  # a cancelled send stays cancelled
        count = Message.objects.filter(send_id=send_id, status=Status.IN_DOUBT).update(
            status=Status.QUEUED, handed_at=None, claimed_at=None, batch=""
        )
        if count and send.status != Send.Status.SENDING:
            _send_set_status(
                send_id,
                Send.Status.SENDING,
                only_from=[Send.Status.DONE, Send.Status.FAILED, Send.Status.PAUSED],
                finished_at=None,
                pause_reason="",
                retry_streak=0,
                retry_at=None,
                last_activity_at=timezone.now(),
            )
    return count


def send_finish_if_done(*, send_id: int) -> bool:
    """Close the send once no message is queued or in flight: done, or failed
    when most of its mails failed. The send row stays locked while it looks,
    so mails put back in the queue meanwhile (a re-send) are never missed."""
    with transaction.atomic():
        if (
            not Send.objects.select_for_update()
            .filter(pk=send_id, status=Send.Status.SENDING)
            .exists()
        ):
            return False
        if Message.objects.filter(send_id=send_id, status__in=ACTIVE).exists():
            return False
        counts = dict(
            Message.objects.filter(send_id=send_id, status__in=[Status.SENT, Status.FAILED])
            .order_by()
            .values_list("status")
            .annotate(n=Count("id"))
        )
        sent, failed = counts.get(Status.SENT, 0), counts.get(Status.FAILED, 0)
        if failed and failed > (sent + failed) * FAILED_SHARE:
            status, error = Send.Status.FAILED, f"{failed} of {sent + failed} mails failed."
        else:
            status, error = Send.Status.DONE, ""
        return _send_set_status(
            send_id,
            status,
            only_from=[Send.Status.SENDING],
            error=error,
            finished_at=timezone.now(),
        )


def send_retry_after_failure(
    *, send_id: int, delay: float, is_retry: bool, error: str
) -> int | None:
    """Record a batch that hit a temporary error. Returns the failing streak
    when this batch is the one to schedule the retry, None when a retry of
    the send is already scheduled (the caller just stops). The scheduled
    retry itself (`is_retry`) always goes on."""
    now = timezone.now()
    with transaction.atomic():
        send = Send.objects.select_for_update().get(pk=send_id)
        if not is_retry and send.retry_at and send.retry_at > now:
            return None
        send.retry_streak += 1
        send.retry_at = now + timedelta(seconds=delay)
        send.error = error[:1000]  # shown on the send page while it retries
        send.save(update_fields=["retry_streak", "retry_at", "error"])
    return send.retry_streak


def send_batch_succeeded(*, send_id: int) -> bool:
    """A batch got through: the back-off starts over. True when the send was
    recovering from a failure (the caller restores parallel batches)."""
    return bool(
        Send.objects.filter(pk=send_id)
        .filter(Q(retry_streak__gt=0) | Q(retry_at__isnull=False))
        .update(retry_streak=0, retry_at=None, error="")
    )


# --- Messages ----------------------------------------------------------------


@dataclass(frozen=True)
class SnapshotPlan:
    """How a snapshot divides its audience (built by campaigns.abtest and
    campaigns.scheduling). Those who may get the mail are put in a random
    order (md5 of the seed and the contact id, so a re-run agrees); the
    first `holdout_percent` of them are skipped as the control group, or the
    first `test_percent` are dealt in turn to the variant sends of an A/B test
    (the rest then waits for the winner)."""

    seed: str = ""
    variant_send_ids: tuple[int, ...] = ()
    test_percent: int = 0
    holdout_percent: int = 0
    # The send after an A/B test: leave out who was in the test sends.
    after_test_of_campaign: int | None = None
    # Per variant (or one for the whole send): SQL over `a.time_zone` and its
    # parameters, giving each message's due time; None: due at once.
    due: tuple[tuple[str, list], ...] = ()

    @property
    def is_split(self) -> bool:
        return bool(self.variant_send_ids)

    @property
    def needs_order(self) -> bool:
        return self.is_split or self.holdout_percent > 0


# The message's facts start empty (written later by tracking).
_FACTS = "bounce_type, bounce_reason, opens, clicks, machine_opens, machine_clicks"
_EMPTY_FACTS = "'', '', 0, 0, 0, 0"
_COLUMNS = (
    "send_id, contact_id, email, status, skip_reason, coupon_code, esp_message_id, "
    f"error, error_class, attempts, batch, created_at, due_at, {_FACTS}"
)


def messages_snapshot(*, send: Send, plan: SnapshotPlan | None = None) -> int:
    """Freeze the audience: one message per contact, queued or skipped with
    its reason, in one INSERT ... SELECT. Running it again adds nothing."""
    plan = plan or SnapshotPlan()
    select, params = audience_sql(campaign=send.campaign, exclude_send_id=send.pk)
    # On PostgreSQL, OFFSET 0 keeps the subquery whole, so each row's reason
    # is computed once, not once per use.
    fence = " OFFSET 0" if connection.vendor == "postgresql" else ""
    source, source_params = f"({select}{fence})", params
    if plan.needs_order or plan.after_test_of_campaign:
        source, source_params = _ranked(source, params, plan)
    if plan.is_split:
        sql, sql_params = _split_insert(source, plan)
    else:
        sql, sql_params = _plain_insert(source, send, plan)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The cap's grouping and the joins of a big audience fit in memory.
            cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(sql, [*sql_params[0], *source_params, *sql_params[1]])
        return cursor.rowcount


def _ranked(source: str, params: list, plan: SnapshotPlan) -> tuple[str, list]:
    """The audience with `rn`, a random rank among those who may get the mail,
    and `eligible`, how many they are."""
    where, where_params = "", []
    if plan.after_test_of_campaign:
        where = (
            f" WHERE NOT EXISTS (SELECT 1 FROM {Message._meta.db_table} m "
            f"JOIN {Send._meta.db_table} s ON s.id = m.send_id "
            f"WHERE s.campaign_id = %s AND s.is_ab_test AND m.contact_id = r.contact_id)"
        )
        where_params = [plan.after_test_of_campaign]
    ranked = (
        "(SELECT a.contact_id, a.email, a.reason, a.time_zone, "
        "ROW_NUMBER() OVER (PARTITION BY a.reason "
        "ORDER BY md5(CAST(%s AS TEXT) || CAST(a.contact_id AS TEXT)), a.contact_id) AS rn, "
        "SUM(CASE WHEN a.reason = '' THEN 1 ELSE 0 END) OVER () AS eligible "
        f"FROM (SELECT r.* FROM {source} r{where}) a)"
    )
    return ranked, [plan.seed, *params, *where_params]


# No due time: typed, or PostgreSQL reads a CASE of NULLs as text.
NOT_DUE = "CAST(NULL AS TIMESTAMP WITH TIME ZONE)"


def _due(plan: SnapshotPlan, index: int) -> tuple[str, list]:
    if not plan.due:
        return NOT_DUE, []
    return plan.due[min(index, len(plan.due) - 1)]


def _plain_insert(source: str, send: Send, plan: SnapshotPlan) -> tuple[str, tuple[list, list]]:
    held = "a.rn * 100 <= a.eligible * %s" if plan.holdout_percent else "1 = 0"
    held_params = [plan.holdout_percent] * 2 if plan.holdout_percent else []
    due, due_params = _due(plan, 0)
    sql = (
        f"INSERT INTO {Message._meta.db_table} ({_COLUMNS}) "
        f"SELECT %s, a.contact_id, a.email, "
        f"CASE WHEN a.reason <> '' OR ({held}) THEN 'skipped' ELSE 'queued' END, "
        f"CASE WHEN a.reason <> '' THEN a.reason "
        f"WHEN {held} THEN '{Message.SkipReason.HOLDOUT}' ELSE '' END, "
        f"'', '', '', '', 0, '', %s, {due}, {_EMPTY_FACTS} FROM {source} a WHERE 1 = 1 "
        f"ON CONFLICT DO NOTHING"
    )
    before = [send.pk, *held_params, timezone.now(), *due_params]
    return sql, (before, [])


def _split_insert(source: str, plan: SnapshotPlan) -> tuple[str, tuple[list, list]]:
    count = len(plan.variant_send_ids)
    turn = f"((a.rn - 1) %% {count})"  # %% : a literal % beside the parameters
    send_case = " ".join(f"WHEN {i} THEN %s" for i in range(count))
    due_case, due_params = [], []
    for i in range(count):
        due, params = _due(plan, i)
        due_case.append(f"WHEN {i} THEN {due}")
        due_params += params
    sql = (
        f"INSERT INTO {Message._meta.db_table} ({_COLUMNS}) "
        f"SELECT CASE {turn} {send_case} END, a.contact_id, a.email, 'queued', '', "
        f"'', '', '', '', 0, '', %s, CASE {turn} {' '.join(due_case)} END, {_EMPTY_FACTS} "
        f"FROM {source} a WHERE a.reason = '' AND a.rn * 100 <= a.eligible * %s "
        f"ON CONFLICT DO NOTHING"
    )
    before = [*plan.variant_send_ids, timezone.now(), *due_params]
    return sql, (before, [plan.test_percent])


def messages_add_for_steps(*, send_id: int, rows: list[tuple[int, int, str, str]]) -> int:
    """An automation's mails, one per due step: (pending step id, contact id,
    email, reason), queued or skipped with the reason. A step that already
    has its mail gets none (unique per pending step). Returns those queued."""
    messages = [
        Message(
            send_id=send_id,
            pending_id=pending_id,
            contact_id=contact_id,
            email=email,
            status=Status.SKIPPED if reason else Status.QUEUED,
            skip_reason=reason,
        )
        for pending_id, contact_id, email, reason in rows
    ]
    Message.objects.bulk_create(messages, ignore_conflicts=True)
    return sum(1 for m in messages if m.status == Status.QUEUED)


def messages_claim(*, send_id: int, limit: int) -> str | None:
    """Claim up to `limit` queued messages of a sending send. Returns the
    batch id, or None when there is nothing to claim."""
    batch = secrets.token_hex(8)
    now = timezone.now()
    with transaction.atomic():
        if not Send.objects.filter(pk=send_id, status=Send.Status.SENDING).exists():
            return None
        ids = list(
            Message.objects.select_for_update(skip_locked=True)
            .filter(send_id=send_id, status=Status.QUEUED)
            .filter(Q(retry_after__isnull=True) | Q(retry_after__lte=now))
            .filter(Q(due_at__isnull=True) | Q(due_at__lte=now))
            .order_by("id")
            .values_list("id", flat=True)[:limit]
        )
        if not ids:
            return None
        Message.objects.filter(id__in=ids).update(
            status=Status.SENDING, claimed_at=now, batch=batch, handed_at=None
        )
        Send.objects.filter(pk=send_id).update(last_activity_at=now)
    return batch


def messages_skip(*, batch: str, reasons: dict[int, str]) -> int:
    """Skip claimed messages that became ineligible, each with its reason."""
    by_reason: dict[str, list[int]] = {}
    for message_id, reason in reasons.items():
        by_reason.setdefault(reason, []).append(message_id)
    skipped = 0
    for reason, ids in by_reason.items():
        skipped += Message.objects.filter(id__in=ids, batch=batch, status=Status.SENDING).update(
            status=Status.SKIPPED, skip_reason=reason
        )
    return skipped


def messages_set_coupon_codes(*, batch: str, codes: dict[int, str]) -> int:
    if not codes:
        return 0
    return Message.objects.filter(id__in=list(codes), batch=batch).update(
        coupon_code=Case(*[When(id=pk, then=Value(code)) for pk, code in codes.items()])
    )


def messages_untried(*, batch: str, ids: list[int]) -> int:
    """Handed over but never offered (a stop came first): the try does not count."""
    return Message.objects.filter(id__in=ids, batch=batch, attempts__gt=0).update(
        attempts=F("attempts") - 1, handed_at=None
    )


def messages_hand_over(*, send_id: int, batch: str, ids: list[int], heartbeat: bool) -> list[int]:
    """Mark a chunk as handed to the backend. Returns the ids still held, the
    only ones to send. `heartbeat` also refreshes the rest of the claim, so
    recovery knows the worker lives (callers do it every few seconds, not
    per chunk: every row rewritten costs)."""
    now = timezone.now()
    held = Message.objects.filter(id__in=ids, batch=batch, status=Status.SENDING)
    count = held.update(claimed_at=now, handed_at=now, attempts=F("attempts") + 1)
    if heartbeat:
        Message.objects.filter(send_id=send_id, batch=batch, status=Status.SENDING).update(
            claimed_at=now
        )
        Send.objects.filter(pk=send_id).update(last_activity_at=now)
    if count == len(ids):
        return ids
    return list(held.values_list("id", flat=True))


def messages_record_sent(
    *, batch: str, esp_ids: dict[int, str], own_message_id: tuple[str, str] | None = None
) -> int:
    """Mark messages sent with the id the backend knows them by. With
    `own_message_id` (prefix, suffix), every id is our own Message-ID, prefix +
    message id + suffix, written by the database instead of a CASE per row."""
    if not esp_ids:
        return 0
    if own_message_id:
        prefix, suffix = own_message_id
        esp = Concat(
            Value(prefix), Cast("id", CharField()), Value(suffix), output_field=CharField()
        )
    else:
        esp = Case(*[When(id=pk, then=Value(value)) for pk, value in esp_ids.items()])
    return Message.objects.filter(id__in=list(esp_ids), batch=batch, status=Status.SENDING).update(
        status=Status.SENT, sent_at=timezone.now(), error="", error_class="", esp_message_id=esp
    )


def messages_record_failed(*, batch: str, failures: dict[int, tuple[str, str]]) -> int:
    """Fail messages refused for good: {id: (error class, error)}."""
    failed = 0
    for message_id, (error_class, error) in failures.items():
        failed += Message.objects.filter(id=message_id, batch=batch, status=Status.SENDING).update(
            status=Status.FAILED, error_class=error_class, error=error[:1000]
        )
    return failed


def messages_mark_in_doubt(*, batch: str, ids: list[int], error: str) -> int:
    """The backend may or may not have taken these (e.g. the connection broke
    after the data went out): never re-sent without a person deciding."""
    return Message.objects.filter(id__in=ids, batch=batch, status=Status.SENDING).update(
        status=Status.IN_DOUBT, error_class=Message.ErrorClass.UNKNOWN, error=error[:1000]
    )


def messages_release(*, batch: str, cancelled: bool = False) -> int:
    """Put every still-held message of a batch back to queued, or skip them
    when the send was cancelled meanwhile."""
    held = Message.objects.filter(batch=batch, status=Status.SENDING)
    if cancelled:
        return held.update(
            status=Status.SKIPPED, skip_reason=Message.SkipReason.CANCELLED, batch=""
        )
    return held.update(status=Status.QUEUED, batch="", claimed_at=None, handed_at=None)


def messages_defer(*, batch: str, deferred: dict[int, tuple[str, str]]) -> int:
    """Recipients whose server said "later": each waits with its own back-off
    while the rest of the send goes on, and fails once its tries are used up."""
    now = timezone.now()
    for message_id, (error_class, error) in deferred.items():
        held = Message.objects.filter(id=message_id, batch=batch, status=Status.SENDING)
        attempts = held.values_list("attempts", flat=True).first()
        if attempts is None:
            continue
        if attempts >= settings.SEND_MESSAGE_MAX_ATTEMPTS:
            held.update(
                status=Status.FAILED,
                error_class=error_class,
                error=f"Gave up after {attempts} tries: {error}"[:1000],
            )
            continue
        delay = min(
            settings.SEND_RETRY_MAX_SECONDS, settings.SEND_RETRY_BASE_SECONDS * 2 ** (attempts - 1)
        )
        held.update(
            status=Status.QUEUED,
            batch="",
            claimed_at=None,
            handed_at=None,
            error_class=error_class,
            error=error[:1000],
            retry_after=now + timedelta(seconds=delay),
        )
    return len(deferred)


def messages_next_retry(*, send_id: int):
    """When the earliest deferred message of a send may go, if any waits."""
    return (
        Message.objects.filter(send_id=send_id, status=Status.QUEUED, retry_after__isnull=False)
        .order_by("retry_after")
        .values_list("retry_after", flat=True)
        .first()
    )


@dataclass(frozen=True)
class Recovery:
    requeued: int
    in_doubt: int
    restart_send_ids: list[int]
    prepare_again: list[tuple[int, str]]  # (send id, lane) whose preparing died


def messages_abandon(*, batch: str) -> None:
    """A batch broke off on an unexpected error: reconcile it at once, as
    recovery would (what may have left is in doubt, the rest queued)."""
    held = Message.objects.filter(batch=batch, status=Status.SENDING)
    held.filter(handed_at__isnull=False).update(
        status=Status.IN_DOUBT,
        error_class=Message.ErrorClass.UNKNOWN,
        error="Sending broke off after this mail was handed over; it may have been sent.",
        batch="",
    )
    held.update(status=Status.QUEUED, batch="", claimed_at=None)


def messages_recover(*, stale_after: timedelta) -> Recovery:
    """Reconcile claims of workers that died: messages not yet handed over go
    back to the queue, those that may have left become in doubt. Returns the
    sends that have queued messages and nothing in flight, to restart."""
    cutoff = timezone.now() - stale_after
    stale = Message.objects.filter(status=Status.SENDING, claimed_at__lt=cutoff)
    in_doubt = stale.filter(handed_at__isnull=False).update(
        status=Status.IN_DOUBT,
        error_class=Message.ErrorClass.UNKNOWN,
        error="The worker stopped after handing this mail over; it may have been sent.",
        batch="",
    )
    requeued = stale.filter(handed_at__isnull=True).update(
        status=Status.QUEUED, batch="", claimed_at=None
    )
    sending = Send.objects.filter(status=Send.Status.SENDING)
    for send_id in sending.values_list("id", flat=True):
        send_finish_if_done(send_id=send_id)
    restart = list(
        sending.filter(Q(last_activity_at__lt=cutoff) | Q(last_activity_at__isnull=True))
        .filter(Exists(Message.objects.filter(send=OuterRef("pk"), status=Status.QUEUED)))
        .exclude(Exists(Message.objects.filter(send=OuterRef("pk"), status=Status.SENDING)))
        .exclude(retry_at__gt=timezone.now())  # a send waiting for its retry is not stalled
        .values_list("id", flat=True)
    )
    # Preparing a big audience takes a while and refreshes no claim: give it
    # ten times as long before taking its task for dead.
    prepare_cutoff = timezone.now() - stale_after * PREPARE_PATIENCE
    prepare_again = list(
        Send.objects.filter(status__in=[Send.Status.QUEUED, Send.Status.PREPARING])
        .filter(created_at__lt=prepare_cutoff)
        .filter(Q(started_at__lt=prepare_cutoff) | Q(started_at__isnull=True))
        .values_list("id", "lane")
    )
    return Recovery(
        requeued=requeued,
        in_doubt=in_doubt,
        restart_send_ids=restart,
        prepare_again=prepare_again,
    )
