"""What staff do to a campaign's send: start, pause, resume, cancel, re-send
the messages in doubt. Each changes the ledger, then queues the work after
the transaction commits."""

from django.conf import settings
from django.db import transaction

from campaigns import ledger, tasks
from campaigns.models import Campaign, Send
from campaigns.sending import CampaignNotSendable, campaign_check_sendable, lane_of
from contacts.audit import Action, audit_record

__all__ = ["CampaignNotSendable", "campaign_send"]


def campaign_send(*, campaign: Campaign, user=None) -> Send:
    """Start sending a draft campaign. Raises TemplateProblem for content that
    cannot be rendered and CampaignNotSendable otherwise."""
    campaign_check_sendable(campaign)  # fail now, in front of the user, not in a worker
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.status != Campaign.Status.DRAFT:
            raise CampaignNotSendable("This campaign has already been sent.")
        send = Send.objects.create(
            campaign=locked,
            created_by=user,
            lane=lane_of(locked),
            is_marketing=locked.kind == Campaign.Kind.MARKETING,
        )
        locked.status = Campaign.Status.SENDING
        locked.save(update_fields=["status", "updated_at"])
        audit_record(
            actor=user, action=Action.CAMPAIGN_SENT, target=locked, details={"send": send.pk}
        )
        transaction.on_commit(lambda: tasks.send_enqueue_prepare(send.pk, send.lane))
    campaign.status = locked.status
    return send


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
