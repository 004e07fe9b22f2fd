"""The lift of a campaign over its holdout: did the mailed buy more than
those kept from the mail? Orders are the shop's (contacts.Order), counted
per contact over the same window after the first send began."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Sum
from django.utils import timezone

from campaigns.models import Campaign, Message, Send
from contacts.models import Order


@dataclass(frozen=True)
class GroupOutcome:
    contacts: int
    buyers: int
    orders: int
    revenue: Decimal

    @property
    def buyer_rate(self) -> float | None:
        return self.buyers / self.contacts if self.contacts else None

    @property
    def revenue_per_contact(self) -> Decimal | None:
        return self.revenue / self.contacts if self.contacts else None


@dataclass(frozen=True)
class Lift:
    mailed: GroupOutcome
    holdout: GroupOutcome
    window_days: int

    @property
    def has_orders(self) -> bool:
        return bool(self.mailed.orders or self.holdout.orders)

    @property
    def buyer_lift(self) -> float | None:
        return _lift(self.mailed.buyer_rate, self.holdout.buyer_rate)

    @property
    def revenue_lift(self) -> float | None:
        return _lift(self.mailed.revenue_per_contact, self.holdout.revenue_per_contact)

    @property
    def extra_revenue(self) -> Decimal | None:
        """Revenue the mail brought beyond what the mailed would have spent anyway."""
        mailed, held = self.mailed.revenue_per_contact, self.holdout.revenue_per_contact
        if mailed is None or held is None:
            return None
        return (mailed - held) * self.mailed.contacts


def _lift(mailed, held) -> float | None:
    if mailed is None or held is None or not held:
        return None
    return float(mailed) / float(held) - 1


def campaign_lift(*, campaign: Campaign) -> Lift | None:
    """None when the campaign held nobody out."""
    sends = Send.objects.filter(campaign=campaign)
    start = sends.order_by("created_at").values_list("started_at", "created_at").first()
    held = Message.objects.filter(
        send__campaign=campaign,
        status=Message.Status.SKIPPED,
        skip_reason=Message.SkipReason.HOLDOUT,
    )
    if start is None or not held.exists():
        return None
    since = start[0] or start[1]
    until = min(timezone.now(), since + timedelta(days=settings.HOLDOUT_WINDOW_DAYS))
    mailed = Message.objects.filter(send__campaign=campaign, status=Message.Status.SENT)
    return Lift(
        mailed=_outcome(mailed, since, until),
        holdout=_outcome(held, since, until),
        window_days=settings.HOLDOUT_WINDOW_DAYS,
    )


def _outcome(messages, since, until) -> GroupOutcome:
    contact_ids = messages.exclude(contact=None).values("contact_id")
    orders = Order.objects.filter(
        contact_id__in=contact_ids, placed_at__gte=since, placed_at__lt=until
    ).exclude(status=Order.Status.CANCELLED)
    totals = orders.aggregate(
        orders=Count("id"), revenue=Sum("total"), buyers=Count("contact_id", distinct=True)
    )
    return GroupOutcome(
        contacts=messages.exclude(contact=None).values("contact_id").distinct().count(),
        buyers=totals["buyers"] or 0,
        orders=totals["orders"] or 0,
        revenue=totals["revenue"] or Decimal(0),
    )
