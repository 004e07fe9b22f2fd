"""Orders credited to the mail that brought them.

An order is credited once, when it is placed: to the message of the click
token the shop passed back from the landing page (`order.click_token`), or
else to the contact's message that a person clicked most recently within
ATTRIBUTION_WINDOW_DAYS before the order. A machine's click (a link scanner)
never earns an order: Message.clicked_at is the first human click. The
credit is written onto the message (orders, revenue) and into its send's
report tallies, so reports read it without scanning orders.
"""

from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.db.models import F

from campaigns import tokens
from campaigns.models import Message
from contacts.models import Order, ShopEvent
from tracking.facts import order_tallies, tallies_add
from tracking.models import Attribution


def orders_attribute(events: list[ShopEvent]) -> int:
    """Credit the orders these new events placed; the number credited."""
    placed = [e for e in events if e.type == ShopEvent.Type.ORDER_CREATED and e.contact_id]
    if not placed:
        return 0
    orders = {
        o.external_id: o
        for o in Order.objects.filter(external_id__in=[e.subject_id for e in placed])
    }
    done = set(
        Attribution.objects.filter(order__in=orders.values()).values_list("order_id", flat=True)
    )
    deltas: Counter = Counter()
    credited = 0
    for event in placed:
        order = orders.get(event.subject_id)
        if order is None or order.pk in done:
            continue
        found = _by_token(event.payload["order"].get("click_token", ""), event.contact_id)
        by = "token"
        if found is None:
            found, by = _last_clicked(event.contact_id, order.placed_at), "click"
        if found is None:
            continue
        message_id, send_id = found
        Attribution.objects.create(
            order=order, message_id=message_id, send_id=send_id, revenue=order.total, by=by
        )
        Message.objects.filter(pk=message_id).update(
            orders=F("orders") + 1, revenue=F("revenue") + order.total
        )
        deltas.update(order_tallies(send_id, order.placed_at, order.total))
        done.add(order.pk)
        credited += 1
    tallies_add(deltas)
    return credited


def _by_token(token: str, contact_id: int) -> tuple[int, int] | None:
    """The message of a genuine click token that was sent to this contact."""
    found = tokens.click_from_token(token) if token else None
    if found is None:
        return None
    return (
        Message.objects.filter(pk=found[0], contact_id=contact_id)
        .values_list("pk", "send_id")
        .first()
    )


def _last_clicked(contact_id: int, placed_at) -> tuple[int, int] | None:
    window = timedelta(days=settings.ATTRIBUTION_WINDOW_DAYS)
    return (
        Message.objects.filter(
            contact_id=contact_id,
            clicked_at__gte=placed_at - window,
            clicked_at__lte=placed_at,
        )
        .order_by("-clicked_at", "-pk")
        .values_list("pk", "send_id")
        .first()
    )


def contact_orders(contact) -> dict:
    """The contact page's orders panel: the latest orders, each with the mail
    it was credited to."""
    orders = list(
        Order.objects.filter(contact=contact)
        .select_related("attribution__message__send__campaign")
        .prefetch_related("lines")
        .order_by("-placed_at")[:10]
    )
    return {
        "orders": orders,
        "count": contact.order_count,
        "spent": contact.total_spent,
        "last": contact.last_order_at,
    }
