"""The ESP's delivery, bounce and complaint webhooks, through django-anymail.

anymail authenticates each request (WEBHOOK_SECRET basic auth, and the ESP's
signature where it has one: Mailgun's), answers 400 to a bad one, and sends
each event, normalised, through its `tracking` signal: the one signal we use.
Its receiver hands the event to `esp_event_apply`.

anymail's normalisation hides what we need in places, so the ESP's own event
is read: soft bounces of Postmark, SendGrid ("blocked") and SES ("Transient")
arrive as "bounced" like hard ones; SES delivery delays arrive as "unknown";
Postmark sends delivery events without an id, so they are keyed by content.
"""

import hashlib
import logging
import re
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone

from campaigns.models import Message
from contacts.services import (
    contact_record_complaint,
    contact_unsubscribe,
    contacts_suppress_bounced,
)
from tracking import facts, guard
from tracking.models import Event

logger = logging.getLogger(__name__)

IGNORED = "ignored"
DUPLICATE = "duplicate"
UNKNOWN_MESSAGE = "unknown"
APPLIED = "applied"

_KINDS = {
    "delivered": Event.Kind.DELIVERED,
    "bounced": Event.Kind.BOUNCED,
    "complained": Event.Kind.COMPLAINED,
    "unsubscribed": Event.Kind.UNSUBSCRIBED,
    "deferred": Event.Kind.DEFERRED,
    "rejected": Event.Kind.REJECTED,
}
_POLICY_BLOCK = re.compile(r"\b5\.7\.\d{1,3}\b")
_STATUS = re.compile(r"\b([245])\.\d{1,3}\.\d{1,3}\b")
POLICY_PREFIX = "[policy] "
_POSTMARK_HARD = {"HardBounce", "BadEmailAddress", "ManuallyDeactivated", "SpamNotification"}


def anymail_tracking_receiver(sender, event, esp_name: str, **kwargs) -> None:
    esp_event_apply(esp_name=esp_name, event=event)


def _kind(esp_name: str, event) -> str | None:
    raw = event.esp_event if isinstance(event.esp_event, dict) else {}
    if event.event_type == "unknown" and raw.get("eventType") == "DeliveryDelay":
        return Event.Kind.DEFERRED  # SES
    if event.event_type == "rejected" and event.reject_reason in ("invalid", "bounced"):
        # The ESP refuses an address it knows is bad (Postmark's BadEmailAddress,
        # SendGrid's "Bounced Address"): as final as a hard bounce.
        return Event.Kind.BOUNCED
    return _KINDS.get(event.event_type)


def bounce_of(esp_name: str, event) -> tuple[str, str, bool]:
    """(hard or soft, reason, is a policy block) of a bounce, read from the
    ESP's own event where anymail's normalisation drops it."""
    raw = event.esp_event if isinstance(event.esp_event, dict) else {}
    reason = " ".join(str(part) for part in (event.mta_response, event.description) if part).strip()
    status = ""
    if event.event_type == "rejected":
        hard = True
    elif esp_name == "Postmark":
        hard = raw.get("Type") in _POSTMARK_HARD
    elif esp_name == "SendGrid":
        hard = raw.get("type", "bounce") == "bounce"
        status = str(raw.get("status", ""))
    elif esp_name == "Amazon SES":
        bounce = raw.get("bounce", {})
        hard = bounce.get("bounceType") == "Permanent"
        statuses = [r.get("status", "") for r in bounce.get("bouncedRecipients", [])]
        status = " ".join(s for s in statuses if s)
    elif esp_name == "Mailgun":
        hard = raw.get("event-data", {}).get("severity", "permanent") == "permanent"
    else:
        code = _STATUS.search(reason)
        hard = code is None or code[1] == "5"
    policy = bool(_POLICY_BLOCK.search(f"{status} {reason}"))
    if policy:
        hard = False
    return ("hard" if hard else "soft"), reason or str(event.reject_reason or ""), policy


def _event_key(esp_name: str, event, kind: str) -> str:
    if event.event_id:
        basis = f"{esp_name}|{event.event_id}|{event.recipient}|{kind}"
    else:  # Postmark's deliveries: the same content is the same event
        basis = f"{esp_name}|{event.message_id}|{event.recipient}|{kind}|{event.timestamp}"
    return hashlib.sha256(basis.encode()).hexdigest()


def message_for_esp_event(event) -> dict | None:
    """The message an ESP event is about: by the ESP's message id, or by the
    metadata the send attached; the recipient must match."""
    fields = ("id", "send_id", "contact_id", "email")
    recipient = (event.recipient or "").strip().lower()
    if event.message_id:
        found = list(Message.objects.filter(esp_message_id=event.message_id).values(*fields)[:50])
        if len(found) > 1:
            found = [m for m in found if m["email"].lower() == recipient]
        if len(found) == 1:
            return found[0]
    metadata = event.metadata if isinstance(event.metadata, dict) else {}
    message_id = str(metadata.get("message_id", ""))
    if message_id.isdecimal():
        message = Message.objects.filter(pk=int(message_id)).values(*fields).first()
        if message and (not recipient or message["email"].lower() == recipient):
            return message
    return None


def esp_event_apply(*, esp_name: str, event) -> str:
    """Apply one normalised anymail event; what became of it. Never raises for
    an event about a message we do not know: the ESP would retry for hours."""
    kind = _kind(esp_name, event)
    if kind is None:
        return IGNORED
    message = message_for_esp_event(event)
    if message is None:
        logger.info("%s %s event for an unknown message %s", esp_name, kind, event.message_id)
        return UNKNOWN_MESSAGE
    at = event.timestamp or timezone.now()
    if isinstance(at, datetime) and timezone.is_naive(at):
        at = timezone.make_aware(at, timezone.get_current_timezone())
    bounce_type, reason, policy = ("", "", False)
    if kind == Event.Kind.BOUNCED:
        bounce_type, reason, policy = bounce_of(esp_name, event)
        reason = (POLICY_PREFIX if policy else "") + reason
    with transaction.atomic():
        try:
            with transaction.atomic():
                Event.objects.create(
                    message_id=message["id"],
                    contact_id=message["contact_id"],
                    kind=kind,
                    url="",
                    user_agent=(event.user_agent or "")[:500],
                    esp_event_key=_event_key(esp_name, event, kind),
                    machine_reason="",
                )
        except IntegrityError:
            return DUPLICATE
        before = facts.message_fact_apply(
            message_id=message["id"], kind=kind, at=at, bounce_type=bounce_type, reason=reason
        )
        if message["contact_id"]:
            _contact_effects(message, kind, bounce_type, policy)
    if before is not None and kind in (Event.Kind.BOUNCED, Event.Kind.COMPLAINED):
        guard.send_guard_check(send_id=message["send_id"])
    return APPLIED


def _contact_effects(message: dict, kind: str, bounce_type: str, policy: bool) -> None:
    if kind == Event.Kind.COMPLAINED:
        contact_record_complaint(contact_id=message["contact_id"])
    elif kind == Event.Kind.UNSUBSCRIBED:
        contact_unsubscribe(contact_id=message["contact_id"])
    elif kind == Event.Kind.BOUNCED and bounce_type == "hard":
        contacts_suppress_bounced(emails=[message["email"]])
    elif kind == Event.Kind.BOUNCED and not policy:
        in_a_row = soft_bounces_in_a_row(contact_id=message["contact_id"])
        if in_a_row >= settings.SOFT_BOUNCE_LIMIT:
            contacts_suppress_bounced(emails=[message["email"]])


def soft_bounces_in_a_row(*, contact_id: int) -> int:
    """The contact's soft bounces since their last delivered mail (policy
    blocks left out: they say nothing of the address)."""
    messages = Message.objects.filter(contact_id=contact_id)
    last_delivered = messages.aggregate(at=Max("delivered_at"))["at"]
    soft = messages.filter(bounce_type=Message.BounceType.SOFT).exclude(
        bounce_reason__startswith=POLICY_PREFIX
    )
    if last_delivered:
        soft = soft.filter(Q(bounced_at__gt=last_delivered))
    return soft.count()
