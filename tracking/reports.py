"""Campaign reports, read with aggregate queries. Rates are defined here once."""

from dataclasses import dataclass

from django.db.models import Count, Q

from campaigns.models import Campaign, Message
from tracking.models import Event

_COUNTS = [
    "recipients", "skipped", "queued", "failed", "in_doubt", "sent",
    "bounced", "opened", "clicked", "unsubscribed", "complained",
]  # fmt: skip


def rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class CampaignReport:
    recipients: int
    skipped: int
    queued: int
    failed: int
    in_doubt: int
    sent: int
    bounced: int
    opened: int
    clicked: int
    unsubscribed: int
    complained: int

    @property
    def delivered(self) -> int:
        # Until an ESP says otherwise, a sent mail that did not bounce arrived.
        return max(self.sent - self.bounced, 0)

    @property
    def delivery_rate(self):
        return rate(self.delivered, self.sent)

    @property
    def bounce_rate(self):
        return rate(self.bounced, self.sent)

    @property
    def open_rate(self):
        return rate(self.opened, self.delivered)

    @property
    def click_rate(self):
        return rate(self.clicked, self.delivered)

    @property
    def click_to_open_rate(self):
        return rate(self.clicked, self.opened)

    @property
    def unsubscribe_rate(self):
        return rate(self.unsubscribed, self.delivered)

    @property
    def complaint_rate(self):
        return rate(self.complained, self.delivered)


def campaign_reports(*, campaign_ids: list[int]) -> dict[int, CampaignReport]:
    """The reports of many campaigns in two grouped queries."""
    statuses = (
        Message.objects.filter(send__campaign_id__in=campaign_ids)
        .order_by()
        .values("send__campaign_id")
        .annotate(
            recipients=Count("id"),
            skipped=Count("id", filter=Q(status=Message.Status.SKIPPED)),
            queued=Count(
                "id", filter=Q(status__in=[Message.Status.QUEUED, Message.Status.SENDING])
            ),
            failed=Count("id", filter=Q(status=Message.Status.FAILED)),
            in_doubt=Count("id", filter=Q(status=Message.Status.IN_DOUBT)),
            sent=Count("id", filter=Q(status=Message.Status.SENT)),
        )
    )
    human = Q(is_machine=False)
    events = (
        Event.objects.filter(message__send__campaign_id__in=campaign_ids)
        .order_by()
        .values("message__send__campaign_id")
        .annotate(
            # A human click proves an open even when the pixel was blocked.
            opened=Count(
                "message",
                distinct=True,
                filter=human & Q(kind__in=[Event.Kind.OPENED, Event.Kind.CLICKED]),
            ),
            clicked=Count("message", distinct=True, filter=human & Q(kind=Event.Kind.CLICKED)),
            bounced=Count("message", distinct=True, filter=Q(kind=Event.Kind.BOUNCED)),
            unsubscribed=Count("message", distinct=True, filter=Q(kind=Event.Kind.UNSUBSCRIBED)),
            complained=Count("message", distinct=True, filter=Q(kind=Event.Kind.COMPLAINED)),
        )
    )
    counts = {pk: dict.fromkeys(_COUNTS, 0) for pk in campaign_ids}
    for row in statuses:
        counts[row.pop("send__campaign_id")].update(row)
    for row in events:
        counts[row.pop("message__send__campaign_id")].update(row)
    return {pk: CampaignReport(**numbers) for pk, numbers in counts.items()}


def campaign_report(*, campaign: Campaign) -> CampaignReport:
    return campaign_reports(campaign_ids=[campaign.pk])[campaign.pk]


def campaign_recent_events(*, campaign: Campaign, limit: int = 50):
    return (
        Event.objects.filter(message__send__campaign=campaign)
        .select_related("message")
        .order_by("-created_at")[:limit]
    )
