"""A contact's personal data in tracking: the client address and browser of
each of their events. The events stay, so reports keep their counts.
Registered with contacts.privacy by TrackingConfig.ready."""

from django.db.models import Q

from tracking.models import Event


def events_erase_contact(contact_id: int) -> int:
    return Event.objects.filter(
        Q(contact_id=contact_id) | Q(message__contact_id=contact_id)
    ).update(ip=None, user_agent="")


def events_export_contact(contact_id: int) -> list[dict]:
    """Every open, click and other event of the contact, for their data export."""
    return list(
        Event.objects.filter(Q(contact_id=contact_id) | Q(message__contact_id=contact_id))
        .order_by("created_at", "id")
        .values("kind", "created_at", "message_id", "url", "ip", "user_agent", "is_machine")
    )
