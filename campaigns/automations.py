"""Automations: mails triggered by shop events or time rules.

A trigger puts one PendingStep row per step of the automation, each with its
due time (the trigger's time plus the step's delay). The rows are the only
record of a mail owed: unique per step, contact and trigger, so a repeated
event schedules nothing twice, and no broker ETA holds them. A periodic run
(`pending_run_due`) claims the due rows with SKIP LOCKED and, in the same
transaction, turns each into a Message of the step's send, so a worker that
dies leaves the row waiting and a flushed broker loses nothing; from there the
send ledger takes over (no duplicate, no lost mail).

An exit event (the order got paid, the contact ordered) ends the waiting
steps when it arrives, and the run checks the event log again before making a
mail, so an event that came late or out of order still counts.

The shop API (tracking.shop_api) stores each event as a contacts.ShopEvent and
then calls `on_shop_events` in the same transaction, so a pending step exists
exactly when its event does.
"""

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, Max, OuterRef, Q, Sum
from django.db.models.fields.json import KeyTextTransform
from django.utils import timezone

from campaigns import ledger
from campaigns.audience import contacts_reasons
from campaigns.models import Automation, AutomationStep, Message, PendingStep, Send
from campaigns.personalisation import TemplateProblem
from campaigns.sending import campaign_check_content, freeze_content
from contacts import segments
from contacts.models import Contact, ShopEvent

logger = logging.getLogger(__name__)
T = Automation.Trigger
ORDER_TRIGGERS = {T.ORDER_CREATED, T.ORDER_PAID, T.ORDER_SHIPPED, T.ORDER_DELIVERED,
                  T.ORDER_CANCELLED}  # fmt: skip
EVENT_TRIGGERS = {*ORDER_TRIGGERS, T.CUSTOMER_REGISTERED, T.CART_UPDATED, T.PRODUCT_VIEWED}
TIME_TRIGGERS = {T.NO_ORDER, T.DATE, T.ON_DATE}
WAITING = PendingStep.Status.WAITING
# Steps a periodic run makes mails of, at most, per transaction.
RUN_BATCH = 500


# --- Scheduling ----------------------------------------------------------------


def _trigger_key(automation: Automation, event: ShopEvent) -> str:
    """Once per order, cart or product for those triggers; once per contact
    for a registration (a shop that registers someone twice greets them once)."""
    if automation.trigger == T.CUSTOMER_REGISTERED:
        return T.CUSTOMER_REGISTERED
    return f"{automation.trigger}:{event.subject_id}"


def _context(event: ShopEvent) -> dict:
    """What the mail may show of the event."""
    payload = event.payload or {}
    return {key: payload[key] for key in ("order", "cart", "product") if key in payload}


def _quiet_hours() -> tuple[int, int] | None:
    start, end = settings.AUTOMATION_QUIET_HOURS
    return None if start == end else (start, end)


def due_time(automation: Automation, when: datetime, time_zone: str) -> datetime:
    """A marketing mail due in the contact's quiet hours waits for the morning."""
    quiet = _quiet_hours()
    if quiet is None or not automation.is_marketing:
        return when
    try:
        zone = ZoneInfo(time_zone or settings.AUTOMATION_DEFAULT_TIME_ZONE)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = when.astimezone(zone)
    start, end = quiet
    hour = local.hour
    in_quiet = (start <= hour or hour < end) if start > end else (start <= hour < end)
    if not in_quiet:
        return when
    morning = local.replace(hour=end, minute=0, second=0, microsecond=0)
    if morning <= local:
        morning += timedelta(days=1)
    return morning.astimezone(ZoneInfo("UTC"))


def _rows(automation, steps, contact: Contact, key, subject, at, context) -> list[PendingStep]:
    now = timezone.now()
    late = now - timedelta(hours=settings.AUTOMATION_LATE_HOURS)
    rows = []
    for step in steps:
        due = at + timedelta(minutes=step.delay_minutes)
        if due < late:  # an old event replayed: its mails would come far too late
            continue
        rows.append(
            PendingStep(
                automation=automation,
                step=step,
                contact_id=contact.pk,
                trigger_key=key[:150],
                subject_id=subject[:100],
                triggered_at=at,
                context=context,
                due_at=due_time(automation, due, contact.time_zone),
            )
        )
    return rows


def _live(triggers) -> dict[str, list[tuple[Automation, list[AutomationStep]]]]:
    by_trigger = defaultdict(list)
    live = Automation.objects.filter(status=Automation.Status.ACTIVE, trigger__in=triggers)
    for automation in live.prefetch_related("steps"):
        steps = list(automation.steps.all())
        if steps:
            by_trigger[automation.trigger].append((automation, steps))
    return by_trigger


def on_shop_events(events: Sequence[ShopEvent]) -> int:
    """Schedule the automation steps the newly stored events start, and end
    the waiting ones they exit (an order paid, a cart ordered). Returns the
    number of steps scheduled."""
    if not events:
        return 0
    steps_exit(events)
    by_trigger = _live({event.type for event in events})
    if not by_trigger:
        return 0
    contacts = Contact.objects.in_bulk({e.contact_id for e in events if e.contact_id})
    rows: list[PendingStep] = []
    carts: dict[str, dict] = {}
    for event in events:
        contact = contacts.get(event.contact_id)
        if contact is None:
            continue
        for automation, steps in by_trigger.get(event.type, []):
            seconds = (event.payload or {}).get("seconds", 0)
            if event.type == T.PRODUCT_VIEWED and seconds < automation.min_seconds:
                continue
            if event.type == T.CART_UPDATED and not event.payload["cart"].get("items"):
                continue  # an emptied cart is nothing to remind of
            key = _trigger_key(automation, event)
            context = _context(event)
            at = event.occurred_at
            rows += _rows(automation, steps, contact, key, event.subject_id, at, context)
            if event.type == T.CART_UPDATED:
                carts[event.subject_id] = context
    PendingStep.objects.bulk_create(rows, ignore_conflicts=True)
    for cart_id, context in carts.items():  # the reminder shows the cart as it is now
        PendingStep.objects.filter(
            automation__trigger=T.CART_UPDATED, subject_id=cart_id, status=WAITING
        ).update(context=context)
    return len(rows)


# --- Exits -------------------------------------------------------------------------


def _exiting(exit_type: str) -> list[int]:
    return [
        automation_id
        for automation_id, exit_on in Automation.objects.exclude(
            status=Automation.Status.DRAFT
        ).values_list("pk", "exit_on")
        if exit_type in (exit_on or [])
    ]


def steps_exit(events: Sequence[ShopEvent]) -> int:
    """End the waiting steps these events exit. An order's payment or
    cancellation ends the steps about that order; any order ends the steps
    of automations that wait for the contact to buy (a cart, a viewed product)."""
    ended = 0
    exit_types = {event.type for event in events} & set(Automation.Exit.values)
    labels = dict(Automation.Exit.choices)
    now = timezone.now()
    for exit_type in exit_types:
        automation_ids = _exiting(exit_type)
        if not automation_ids:
            continue
        waiting = PendingStep.objects.filter(status=WAITING, automation_id__in=automation_ids)
        for event in (e for e in events if e.type == exit_type):
            if exit_type == T.ORDER_CREATED:
                if not event.contact_id:
                    continue
                matched = waiting.filter(
                    contact_id=event.contact_id, triggered_at__lte=event.occurred_at
                )
            else:
                matched = waiting.filter(
                    automation__trigger__in=ORDER_TRIGGERS, subject_id=event.subject_id
                )
            ended += matched.update(
                status=PendingStep.Status.EXITED, outcome=labels[exit_type], done_at=now
            )
    return ended


def _exited_meanwhile(pending: list[PendingStep]) -> dict[int, str]:
    """Steps whose exit event is already in the log (it came before the
    trigger was processed, or in the same batch): {pending id: why}."""
    labels = dict(Automation.Exit.choices)
    out: dict[int, str] = {}
    by_subject = [p for p in pending if p.automation.trigger in ORDER_TRIGGERS]
    subject_exits = {T.ORDER_PAID, T.ORDER_CANCELLED}
    if by_subject:
        found = set(
            ShopEvent.objects.filter(
                type__in=subject_exits, subject_id__in={p.subject_id for p in by_subject}
            ).values_list("type", "subject_id")
        )
        for p in by_subject:
            for exit_type in subject_exits & set(p.automation.exit_on or []):
                if (exit_type, p.subject_id) in found:
                    out[p.pk] = labels[exit_type]
    by_contact = [p for p in pending if T.ORDER_CREATED in (p.automation.exit_on or [])]
    if by_contact:
        last = dict(
            ShopEvent.objects.filter(
                type=T.ORDER_CREATED, contact_id__in={p.contact_id for p in by_contact}
            )
            .values("contact_id")
            .annotate(last=Max("occurred_at"))
            .values_list("contact_id", "last")
        )
        for p in by_contact:
            if (
                p.pk not in out
                and (ordered := last.get(p.contact_id))
                and ordered >= (p.triggered_at)
            ):
                out[p.pk] = labels[T.ORDER_CREATED]
    return out


# --- Time rules ------------------------------------------------------------------


def time_rules_run(*, now: datetime | None = None, limit: int = 5000) -> int:
    """Schedule the steps of time-rule automations (no order for N days, a
    date attribute, a one-off date). Each contact enters once per rule and
    occasion; returns the steps scheduled."""
    now = now or timezone.now()
    scheduled = 0
    for trigger, pairs in _live(TIME_TRIGGERS).items():
        for automation, steps in pairs:
            if trigger == T.NO_ORDER:
                scheduled += _no_order(automation, steps, now, limit)
            elif trigger == T.DATE:
                scheduled += _date_attribute(automation, steps, now, limit)
            else:
                scheduled += _on_date(automation, steps, now, limit)
    return scheduled


def _schedule(automation, steps, found: list[tuple[Contact, str, datetime]]) -> int:
    rows = []
    for contact, key, at in found:
        rows += _rows(automation, steps, contact, key, "", at, {})
    PendingStep.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def _entered(automation: Automation, **since) -> Exists:
    return Exists(
        PendingStep.objects.filter(automation=automation, contact_id=OuterRef("pk"), **since)
    )


def _no_order(automation, steps, now, limit) -> int:
    """Once per last order: a customer who buys again and lapses again comes back."""
    cutoff = now - timedelta(days=automation.days)
    candidates = (
        Contact.objects.filter(last_order_at__lte=cutoff)
        .exclude(_entered(automation, triggered_at__gte=OuterRef("last_order_at")))
        .only("pk", "time_zone", "last_order_at")[:limit]
    )
    return _schedule(
        automation,
        steps,
        [(c, f"no_order:{c.last_order_at.isoformat()}", now) for c in candidates],
    )


def _date_attribute(automation, steps, now, limit) -> int:
    """A yearly date (YYYY-MM-DD or MM-DD in an attribute), `days` ahead."""
    if not automation.date_attribute:
        return 0
    day = (now + timedelta(days=automation.days)).date()
    key = f"date:{day.year}"
    candidates = (
        Contact.objects.annotate(date=KeyTextTransform(automation.date_attribute, "attributes"))
        .filter(date__endswith=f"{day:%m-%d}")
        .exclude(_entered(automation, trigger_key=key))
        .only("pk", "time_zone")[:limit]
    )
    return _schedule(automation, steps, [(c, key, now) for c in candidates])


def _on_date(automation, steps, now, limit) -> int:
    """Everyone in the segment once, on the day (a holiday promotion)."""
    if automation.run_on is None or automation.run_on > now.date():
        return 0
    key = f"on:{automation.run_on.isoformat()}"
    contacts = Contact.objects.all()
    if automation.segment_id:
        contacts = segments.segment_contacts(rules=automation.segment.rules)
    candidates = contacts.exclude(_entered(automation, trigger_key=key)).only("pk", "time_zone")
    return _schedule(automation, steps, [(c, key, now) for c in candidates[:limit]])


# --- Running due steps ---------------------------------------------------------


@dataclass
class RunResult:
    mailed: int = 0  # messages queued
    skipped: int = 0  # messages skipped with a reason (consent, cap, ...)
    exited: int = 0
    not_in_segment: int = 0
    send_ids: set[int] | None = None


def pending_run_due(*, now: datetime | None = None, limit: int = RUN_BATCH) -> RunResult:
    """Turn due steps into mails, at most `limit`, in one transaction: the
    claim, the messages and the steps' new status commit together."""
    now = now or timezone.now()
    result = RunResult(send_ids=set())
    with transaction.atomic():
        due = list(
            PendingStep.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=WAITING, due_at__lte=now, automation__status=Automation.Status.ACTIVE)
            .select_related("automation", "automation__segment", "step", "step__campaign")
            .order_by("due_at", "pk")[:limit]
        )
        if not due:
            return result
        exited = _exited_meanwhile(due)
        _finish(exited, PendingStep.Status.EXITED, now)
        result.exited = len(exited)
        by_step: dict[int, list[PendingStep]] = defaultdict(list)
        for pending in due:
            if pending.pk not in exited:
                by_step[pending.step_id].append(pending)
        for pendings in by_step.values():
            _run_step(pendings, now, result)
    return result


def _finish(outcomes: dict[int, str], status: str, now: datetime) -> None:
    by_outcome: dict[str, list[int]] = defaultdict(list)
    for pk, outcome in outcomes.items():
        by_outcome[outcome].append(pk)
    for outcome, ids in by_outcome.items():
        PendingStep.objects.filter(pk__in=ids).update(status=status, outcome=outcome, done_at=now)


def _in_segment(automation: Automation, contact_ids: list[int]) -> set[int]:
    if automation.segment is None:
        return set(contact_ids)
    members = segments.segment_contacts(rules=automation.segment.rules).filter(pk__in=contact_ids)
    return set(members.values_list("pk", flat=True))


def _run_step(pendings: list[PendingStep], now: datetime, result: RunResult) -> None:
    step, automation = pendings[0].step, pendings[0].automation
    members = _in_segment(automation, [p.contact_id for p in pendings])
    outside = {
        p.pk: f"Not in “{automation.segment}”" for p in pendings if p.contact_id not in members
    }
    _finish(outside, PendingStep.Status.SKIPPED, now)
    result.not_in_segment += len(outside)
    pendings = [p for p in pendings if p.pk not in outside]
    if not pendings:
        return
    try:
        send = step_send(step)
    except TemplateProblem as problem:
        # The steps keep waiting; staff fix the mail and turn it on again.
        automation_pause(automation=automation, error=f"Step {step.position}: {problem}")
        return
    series = list(
        Send.objects.filter(campaign__automation_step__automation=automation).values_list(
            "pk", flat=True
        )
    )
    reasons = contacts_reasons(
        campaign=step.campaign,
        contact_ids=[p.contact_id for p in pendings],
        series_send_ids=series,
    )
    labels = dict(Message.SkipReason.choices)
    rows, outcomes = [], {}
    for pending in pendings:
        email, reason = reasons.get(pending.contact_id, ("", Message.SkipReason.CONTACT_DELETED))
        rows.append((pending.pk, pending.contact_id, email, reason))
        outcomes[pending.pk] = f"Skipped: {labels.get(reason, reason)}" if reason else "Mail queued"
    queued = ledger.messages_add_for_steps(send_id=send.pk, rows=rows)
    _finish(outcomes, PendingStep.Status.DONE, now)
    result.mailed += queued
    result.skipped += len(rows) - queued
    if queued:
        result.send_ids.add(send.pk)


def step_send(step: AutomationStep) -> Send:
    """The send that carries the step's mails: the current one, reopened if
    it ran dry, or a new one when the mail was edited since it was frozen."""
    step = (
        AutomationStep.objects.select_for_update(of=("self",))
        .select_related("automation", "campaign", "send")
        .get(pk=step.pk)
    )
    campaign, send = step.campaign, step.send
    fresh = send is not None and step.content_at == campaign.updated_at
    if fresh and send.status == Send.Status.SENDING:
        return send
    if fresh and send.status in (Send.Status.DONE, Send.Status.FAILED):
        ledger.send_reopen(send_id=send.pk)
        return send
    automation = step.automation
    lane = Send.Lane.AUTOMATION if automation.is_marketing else Send.Lane.TRANSACTIONAL
    if campaign.kind != automation.kind:
        campaign.kind = automation.kind
        campaign.save(update_fields=["kind"])  # keeps updated_at: the mail did not change
    new = Send.objects.create(campaign=campaign, lane=lane, is_marketing=automation.is_marketing)
    ledger.send_start_preparing(send_id=new.pk)
    if not freeze_content(new):
        ledger.send_fail(send_id=new.pk, error=new.error)
        raise TemplateProblem(new.error)
    ledger.send_mark_sending(send_id=new.pk)
    if send is not None:
        ledger.send_finish_if_done(send_id=send.pk)  # the old version closes once drained
    AutomationStep.objects.filter(pk=step.pk).update(send=new, content_at=campaign.updated_at)
    return new


# --- Staff actions ---------------------------------------------------------------


def automation_activate(*, automation: Automation) -> None:
    """Turn it on: from now on its trigger schedules steps (past events do not)."""
    if not automation.steps.exists():
        raise ValueError("Add at least one mail first.")
    for step in automation.steps.select_related("campaign"):
        campaign_check_content(step.campaign)
    Automation.objects.filter(pk=automation.pk).update(
        status=Automation.Status.ACTIVE, error="", activated_at=timezone.now()
    )
    automation.status = Automation.Status.ACTIVE


def automation_pause(*, automation: Automation, error: str = "") -> None:
    """Turn it off: nothing new is scheduled, waiting steps wait."""
    Automation.objects.filter(pk=automation.pk).update(
        status=Automation.Status.PAUSED, error=error[:1000]
    )
    automation.status, automation.error = Automation.Status.PAUSED, error
    if error:
        logger.warning("Automation %s paused: %s", automation.pk, error)


# --- What staff see ----------------------------------------------------------------


def waiting_counts(automation_ids: list[int]) -> dict[int, int]:
    """{step id: contacts waiting at it}."""
    return dict(
        PendingStep.objects.filter(automation_id__in=automation_ids, status=WAITING)
        .values_list("step_id")
        .order_by()
        .annotate(n=Count("pk"))
    )


@dataclass
class StepStats:
    waiting: int = 0
    sent: int = 0
    skipped: int = 0
    opened: int = 0
    clicked: int = 0
    orders: int = 0
    revenue: Decimal = Decimal(0)

    @property
    def open_rate(self) -> float | None:
        return self.opened / self.sent if self.sent else None

    @property
    def click_rate(self) -> float | None:
        return self.clicked / self.sent if self.sent else None

    def add(self, other: "StepStats") -> None:
        for name in ("waiting", "sent", "skipped", "opened", "clicked", "orders", "revenue"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def step_stats(automation_ids: list[int]) -> dict[int, StepStats]:
    """{step id: its waiting contacts and its mails' results}: human opens
    and clicks, and the orders credited to its mails (tracking.attribution)."""
    sent = Q(status=Message.Status.SENT) | Q(status=Message.Status.IN_DOUBT)
    rows = (
        Message.objects.filter(pending__automation_id__in=automation_ids)
        .values_list("pending__step_id")
        .order_by()
        .annotate(
            sent=Count("pk", filter=sent),
            skipped=Count("pk", filter=Q(status=Message.Status.SKIPPED)),
            opened=Count("pk", filter=Q(opened_at__isnull=False)),
            clicked=Count("pk", filter=Q(clicked_at__isnull=False)),
            orders=Sum("orders"),
            revenue=Sum("revenue"),
        )
    )
    stats: dict[int, StepStats] = defaultdict(StepStats)
    for step_id, sent_n, skipped, opened, clicked, orders, revenue in rows:
        stats[step_id] = StepStats(0, sent_n, skipped, opened, clicked, orders or 0,
                                   revenue or Decimal(0))  # fmt: skip
    for step_id, waiting in waiting_counts(automation_ids).items():
        stats[step_id].waiting = waiting
    return stats


def automation_stats(automations: list[Automation]) -> dict[int, StepStats]:
    """{automation id: the sum of its steps' stats}."""
    by_step = step_stats([a.pk for a in automations])
    steps = AutomationStep.objects.filter(automation__in=automations).values_list(
        "pk", "automation_id"
    )
    totals: dict[int, StepStats] = {a.pk: StepStats() for a in automations}
    for step_id, automation_id in steps:
        if step_id in by_step:
            totals[automation_id].add(by_step[step_id])
    return totals


def contact_automations(contact: Contact) -> list[dict]:
    """The automations a contact is in or went through, latest first: for the
    contact's page."""
    rows = (
        PendingStep.objects.filter(contact=contact)
        .select_related("automation", "step")
        .order_by("-triggered_at", "step__position")[:50]
    )
    return [
        {
            "automation": p.automation,
            "step": p.step.position,
            "status": p.get_status_display(),
            "waiting": p.status == WAITING,
            "due_at": p.due_at,
            "outcome": p.outcome,
            "subject_id": p.subject_id,
        }
        for p in rows
    ]
