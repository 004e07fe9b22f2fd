"""What happens when a recipient opens, clicks or unsubscribes."""

from campaigns.models import Link, Message
from contacts.services import contact_record_engagement, contact_unsubscribe
from tracking.machine import is_machine_agent
from tracking.models import Event


def _event(message_id: int, contact_id: int, kind: str, ip, user_agent: str, url: str = ""):
    return Event.objects.create(
        message_id=message_id,
        contact_id=contact_id,
        kind=kind,
        ip=ip,
        user_agent=user_agent[:500],
        url=url,
        is_machine=kind in (Event.Kind.OPENED, Event.Kind.CLICKED) and is_machine_agent(user_agent),
    )


def _contact_of(message_id: int) -> int | None:
    return Message.objects.filter(pk=message_id).values_list("contact_id", flat=True).first()


def message_record_open(*, message_id: int, ip: str | None, user_agent: str) -> bool:
    contact_id = _contact_of(message_id)
    if contact_id is None:
        return False
    event = _event(message_id, contact_id, Event.Kind.OPENED, ip, user_agent)
    if not event.is_machine:
        contact_record_engagement(contact_id=contact_id, opened_at=event.created_at)
    return True


def message_record_click(
    *, message_id: int, link_index: int, ip: str | None, user_agent: str
) -> str | None:
    """The URL to redirect to, recorded at send time; None for an unknown link."""
    row = (
        Link.objects.filter(send__messages__pk=message_id, index=link_index)
        .values_list("url", "send__messages__contact_id")
        .first()
    )
    if row is None:
        return None
    url, contact_id = row
    event = _event(message_id, contact_id, Event.Kind.CLICKED, ip, user_agent, url)
    if not event.is_machine:
        contact_record_engagement(contact_id=contact_id, clicked_at=event.created_at)
    return url


def message_unsubscribe(*, message_id: int, ip: str | None, user_agent: str) -> bool:
    """Unsubscribe the message's contact; one event however often it is asked."""
    contact_id = _contact_of(message_id)
    if contact_id is None:
        return False
    if contact_unsubscribe(contact_id=contact_id):
        _event(message_id, contact_id, Event.Kind.UNSUBSCRIBED, ip, user_agent)
    return True
