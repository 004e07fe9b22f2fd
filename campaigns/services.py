"""What staff do to a campaign's send: start, pause, resume, cancel, re-send
the messages in doubt. Each changes the ledger, then queues the work after
the transaction commits."""

from django.conf import settings
from django.db import transaction

from campaigns import ledger, tasks
from campaigns.abtest import ab_test_create_sends, ab_test_of
from campaigns.checklist import checklist_require
from campaigns.models import Campaign, Send, SendPlan
from campaigns.sending import CampaignNotSendable, campaign_check_sendable, lane_of
from contacts.audit import Action, audit_record

__all__ = ["CampaignNotSendable", "campaign_send"]


def campaign_send(*, campaign: Campaign, user=None, from_plan: SendPlan | None = None) -> Send:
    """Start sending a draft campaign (or a scheduled one, when its plan is
    due). Raises TemplateProblem for content that cannot be rendered and
    CampaignNotSendable otherwise, e.g. when the checklist fails."""
    campaign_check_sendable(campaign)  # fail now, in front of the user, not in a worker
    _check_may_start(campaign, from_plan)
    checklist_require(campaign=campaign)
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        _check_may_start(locked, from_plan)
        lane, is_marketing = lane_of(locked), locked.kind == Campaign.Kind.MARKETING
        if ab_test_of(locked) and not (from_plan and from_plan.runs > 1):
            sends = ab_test_create_sends(
                campaign=locked, user=user, lane=lane, is_marketing=is_marketing
            )
        else:
            sends = [
                Send.objects.create(
                    campaign=locked, created_by=user, lane=lane, is_marketing=is_marketing
                )
            ]
        send = sends[0]
        locked.status = Campaign.Status.SENDING
        locked.save(update_fields=["status", "updated_at"])
        audit_record(
            actor=user, action=Action.CAMPAIGN_SENT, target=locked, details={"send": send.pk}
        )
        transaction.on_commit(lambda: tasks.send_enqueue_prepare(send.pk, send.lane))
    campaign.status = locked.status
    return send


def _check_may_start(campaign: Campaign, plan: SendPlan | None) -> None:
    waiting = [SendPlan.Status.SCHEDULED, SendPlan.Status.PAUSED]
    if plan is None:
        if SendPlan.objects.filter(campaign=campaign, status__in=waiting).exists():
            raise CampaignNotSendable("It is scheduled: cancel the schedule to send it now.")
        if campaign.status != Campaign.Status.DRAFT:
            raise CampaignNotSendable("This campaign has already been sent.")
        return
    if plan.mode != SendPlan.Mode.WEEKLY:
        if campaign.status not in (Campaign.Status.DRAFT, Campaign.Status.SCHEDULED):
            raise CampaignNotSendable("This campaign has already been sent.")
        return
    running = [Send.Status.QUEUED, Send.Status.PREPARING, Send.Status.SENDING, Send.Status.PAUSED]
    if campaign.sends.filter(status__in=running).exists():
        raise CampaignNotSendable("Its previous send has not finished yet.")


def send_pause(*, send: Send, user=None, reason: str = "") -> bool:
    who = f" by {user.get_username()}" if user else ""
    with transaction.atomic():
        paused = ledger.send_pause(send_id=send.pk, reason=reason or f"Paused{who}.")
        if paused:
            _audit(user, Action.SEND_PAUSED, send)
    return paused


def send_resume(*, send: Send, user=None) -> bool:
    with transaction.atomic():
        resumed = ledger.send_resume(send_id=send.pk)
        if resumed:
            _audit(user, Action.SEND_RESUMED, send)
            transaction.on_commit(lambda: _start(send.pk))
    return resumed


def send_cancel(*, send: Send, user=None) -> bool:
    with transaction.atomic():
        cancelled = ledger.send_cancel(send_id=send.pk)
        if cancelled:
            _audit(user, Action.SEND_CANCELLED, send)
    return cancelled


def send_resend_in_doubt(*, send: Send, user=None) -> int:
    """Send the messages in doubt again, on purpose: some may arrive twice."""
    with transaction.atomic():
        count = ledger.send_resend_in_doubt(send_id=send.pk)
        if count:
            _audit(user, Action.SEND_RESENT_IN_DOUBT, send, messages=count)
            transaction.on_commit(lambda: _start(send.pk))
    return count


def _audit(user, action: str, send: Send, **details) -> None:
    """The ledger change and its audit entry commit together."""
    audit_record(
        actor=user, action=action, target=send.campaign, details={"send": send.pk, **details}
    )


def _start(send_id: int) -> None:
    tasks.send_enqueue_batches(send_id, settings.SEND_PARALLEL_BATCHES)
