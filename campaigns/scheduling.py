"""When a campaign goes: now, at a moment, at a local time in each
recipient's zone, or every week.

The plan is a durable row (SendPlan). A periodic task (run by beat,
django-celery-beat's scheduler) starts the plans that are due; each is
claimed with a conditional UPDATE on its status and due time, so however
often the task runs, and however late after beat was down, a due plan
starts once. Nothing waits in a broker ETA.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from campaigns import localtime
from campaigns.abtest import ab_test_of, audience_time_zones
from campaigns.checklist import checklist_require
from campaigns.models import Campaign, Message, Send, SendPlan
from campaigns.personalisation import TemplateProblem
from campaigns.sending import CampaignNotSendable
from contacts.audit import Action, audit_record

Mode, Status = SendPlan.Mode, SendPlan.Status
WAITING = [Status.SCHEDULED, Status.PAUSED]


class ScheduleProblem(CampaignNotSendable):
    """A schedule that cannot be kept; the message is for staff."""


@dataclass(frozen=True)
class ScheduleInput:
    mode: str
    local_date: date
    local_time: time
    time_zone: str = "UTC"


def first_run_at(*, campaign: Campaign, given: ScheduleInput, now: datetime) -> datetime:
    """When the plan first starts a send (UTC)."""
    if given.mode == Mode.AT:
        return localtime.local_to_utc(given.local_date, given.local_time, given.time_zone)
    if given.mode == Mode.LOCAL:
        zones = audience_time_zones(campaign=campaign)
        return localtime.earliest_local(given.local_date, given.local_time, zones)
    return localtime.next_weekly(given.local_date, given.local_time, given.time_zone, now)


def campaign_schedule(*, campaign: Campaign, given: ScheduleInput, user=None) -> SendPlan:
    """Schedule a draft (or re-schedule a scheduled) campaign whose checklist passes."""
    if given.mode not in (Mode.AT, Mode.LOCAL, Mode.WEEKLY):
        raise ScheduleProblem("Choose when to send it.")
    if given.mode != Mode.LOCAL and not localtime.is_known_zone(given.time_zone):
        raise ScheduleProblem(f"“{given.time_zone}” is not a time zone.")
    if given.mode == Mode.WEEKLY and ab_test_of(campaign):
        raise ScheduleProblem("A weekly campaign cannot be an A/B test; remove the variants.")
    now = timezone.now()
    run_at = first_run_at(campaign=campaign, given=given, now=now)
    last = run_at
    if given.mode == Mode.LOCAL:  # the last zone to reach the time
        last = localtime.local_to_utc(given.local_date, given.local_time, "Etc/GMT+12")
    if last <= now:
        raise ScheduleProblem("That time has passed: choose a time in the future.")
    checklist_require(campaign=campaign)
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.status not in (Campaign.Status.DRAFT, Campaign.Status.SCHEDULED):
            raise ScheduleProblem("This campaign has already been sent.")
        plan, _ = SendPlan.objects.update_or_create(
            campaign=locked,
            defaults={
                "mode": given.mode,
                "local_date": given.local_date,
                "local_time": given.local_time,
                "time_zone": given.time_zone,
                "next_run_at": run_at,
                "status": Status.SCHEDULED,
                "error": "",
                "runs": 0,
            },
        )
        locked.status = Campaign.Status.SCHEDULED
        locked.save(update_fields=["status", "updated_at"])
        audit_record(
            actor=user,
            action=Action.CAMPAIGN_EDITED,
            target=locked,
            details={"scheduled": plan.get_mode_display(), "first_run": run_at.isoformat()},
        )
    campaign.status = locked.status
    return plan


def plan_pause(*, campaign: Campaign, user=None) -> bool:
    return _plan_move(campaign, user, Status.SCHEDULED, Status.PAUSED, "schedule paused")


def plan_resume(*, campaign: Campaign, user=None) -> bool:
    """Go on; a one-off time that passed meanwhile starts at the next tick
    (once). A weekly plan skips the weeks it was paused."""
    plan = SendPlan.objects.filter(campaign=campaign).first()
    if plan and plan.mode == Mode.WEEKLY and plan.status == Status.PAUSED:
        plan.next_run_at = localtime.next_weekly(
            plan.local_date, plan.local_time, plan.time_zone, timezone.now()
        )
        plan.save(update_fields=["next_run_at", "updated_at"])
    return _plan_move(campaign, user, Status.PAUSED, Status.SCHEDULED, "schedule resumed")


def plan_cancel(*, campaign: Campaign, user=None) -> bool:
    """Unschedule; the campaign is a draft again (a weekly one that ran stays sent)."""
    with transaction.atomic():
        cancelled = _plan_move(campaign, user, WAITING, Status.CANCELLED, "schedule cancelled")
        if cancelled:
            Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.SCHEDULED).update(
                status=Campaign.Status.DRAFT, updated_at=timezone.now()
            )
    return cancelled


def _plan_move(campaign, user, from_status, to_status, what: str) -> bool:
    from_statuses = from_status if isinstance(from_status, list) else [from_status]
    with transaction.atomic():
        moved = SendPlan.objects.filter(campaign=campaign, status__in=from_statuses).update(
            status=to_status, updated_at=timezone.now()
        )
        if moved:
            audit_record(
                actor=user, action=Action.CAMPAIGN_EDITED, target=campaign, details={"plan": what}
            )
    return bool(moved)


def plan_set_holdout(*, campaign: Campaign, percent: int) -> SendPlan:
    if not 0 <= percent <= 50:
        raise ScheduleProblem("Keep between 0% and 50% of the audience as the holdout.")
    plan, _ = SendPlan.objects.get_or_create(campaign=campaign)
    plan.holdout_percent = percent
    plan.save(update_fields=["holdout_percent", "updated_at"])
    return plan


# --- Running what is due -------------------------------------------------------------


def plans_run_due(*, now: datetime | None = None) -> list[Send]:
    """Start every plan whose time has come; each at most once per due time."""
    now = now or timezone.now()
    due = SendPlan.objects.filter(status=Status.SCHEDULED, next_run_at__lte=now)
    started = []
    for plan_id, due_at in due.order_by("next_run_at").values_list("pk", "next_run_at"):
        send = plan_run(plan_id=plan_id, due_at=due_at, now=now)
        if send is not None:
            started.append(send)
    return started


def plan_run(*, plan_id: int, due_at: datetime, now: datetime) -> Send | None:
    """Claim one due plan and start its send, in one transaction: a crash
    before the commit leaves the plan due, a commit leaves it claimed."""
    from campaigns.services import campaign_send  # services start the tasks

    with transaction.atomic():
        plan = SendPlan.objects.select_related("campaign").get(pk=plan_id)
        claimed = SendPlan.objects.filter(
            pk=plan_id, status=Status.SCHEDULED, next_run_at=due_at
        ).update(**_claim_fields(plan, now))
        if not claimed:
            return None  # another run of the task got it first
        plan.refresh_from_db()
        try:
            with transaction.atomic():
                return campaign_send(campaign=plan.campaign, from_plan=plan)
        except (CampaignNotSendable, TemplateProblem) as problem:
            _record_failure(plan, str(problem))
            return None


def _claim_fields(plan: SendPlan, now: datetime) -> dict:
    fields = {"last_run_at": now, "runs": F("runs") + 1, "error": "", "updated_at": now}
    if plan.mode == Mode.WEEKLY:
        # The next week after now: missed weeks collapse into this one run.
        fields["next_run_at"] = localtime.next_weekly(
            plan.local_date, plan.local_time, plan.time_zone, now
        )
    else:
        fields["status"] = Status.STARTED
    return fields


def _record_failure(plan: SendPlan, error: str) -> None:
    plan.error = f"Could not start on {timezone.now():%Y-%m-%d %H:%M} UTC: {error}"[:1000]
    fields = ["error", "updated_at"]
    if plan.mode != Mode.WEEKLY:
        plan.status = Status.FAILED
        fields.append("status")
        Campaign.objects.filter(pk=plan.campaign_id, status=Campaign.Status.SCHEDULED).update(
            status=Campaign.Status.DRAFT
        )
    plan.save(update_fields=fields)


def plan_describe(plan: SendPlan | None) -> str:
    """The schedule in words, for the campaign page."""
    if plan is None or plan.status == Status.DRAFT or not plan.local_time:
        return ""
    at = plan.local_time.strftime("%H:%M")
    if plan.mode == Mode.LOCAL:
        return f"{plan.local_date:%a %b %d, %Y} at {at} in each recipient's time zone"
    if plan.mode == Mode.WEEKLY:
        return (
            f"Every {plan.local_date:%A} at {at} ({plan.time_zone}), from {plan.local_date:%b %d}"
        )
    return f"{plan.local_date:%a %b %d, %Y} at {at} ({plan.time_zone})"


def sends_with_messages_due(*, now: datetime | None = None, idle_seconds: int = 30) -> list[int]:
    """Sending sends, idle for a while, with queued messages whose due time has
    come (a recipient's local time, a variant's later send time): the periodic
    task starts their batches, so no batch waits hours on a broker ETA."""
    now = now or timezone.now()
    due = Message.objects.filter(send=OuterRef("pk"), status=Message.Status.QUEUED, due_at__lte=now)
    return list(
        Send.objects.filter(status=Send.Status.SENDING)
        .filter(
            Q(last_activity_at__isnull=True)
            | Q(last_activity_at__lt=now - timedelta(seconds=idle_seconds))
        )
        .filter(Exists(due))
        .values_list("pk", flat=True)
    )
