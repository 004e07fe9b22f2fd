"""Campaign reports, read from the tallies tracking keeps as facts arrive and
from the ledger's status counts: a handful of indexed reads whatever the size
of the send, never a scan of the events. Rates are defined here once."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db.models import Count, Q, QuerySet, Sum

from campaigns.models import Campaign, Link, Message, Send
from campaigns.personalisation import TemplateProblem, field_value, parse, recipient_values
from contacts.models import Contact
from tracking.models import Event, Tally

M = Tally.Metric
# The time line shows hours for the first two days of a send, then days.
HOURLY_SPAN = timedelta(hours=48)

_STATUS_COUNTS = ["recipients", "skipped", "queued", "failed", "in_doubt", "sent"]
_TALLIES = [
    "delivered_reported", "bounced_hard", "bounced_soft", "complained", "unsubscribed",
    "opened", "clicked", "opens", "clicks", "machine_opens", "machine_clicks", "orders",
    "revenue_cents",
]  # fmt: skip


def rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True)
class CampaignReport:
    recipients: int = 0
    skipped: int = 0
    queued: int = 0
    failed: int = 0
    in_doubt: int = 0
    sent: int = 0
    delivered_reported: int = 0
    bounced_hard: int = 0
    bounced_soft: int = 0
    complained: int = 0
    unsubscribed: int = 0
    opened: int = 0
    clicked: int = 0
    opens: int = 0
    clicks: int = 0
    machine_opens: int = 0
    machine_clicks: int = 0
    orders: int = 0
    revenue_cents: int = 0

    @property
    def bounced(self) -> int:
        return self.bounced_hard + self.bounced_soft

    @property
    def has_delivery_reports(self) -> bool:
        """An ESP's webhooks report deliveries; plain SMTP and the outbox do not."""
        return self.delivered_reported > 0

    @property
    def delivered(self) -> int:
        if self.has_delivery_reports:
            return self.delivered_reported
        # Without delivery reports, a sent mail that did not bounce arrived.
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

    @property
    def revenue(self) -> float:
        return self.revenue_cents / 100

    @property
    def revenue_per_recipient(self) -> float | None:
        return self.revenue / self.delivered if self.delivered else None


def _tally_field(metric: str) -> str:
    return {M.DELIVERED: "delivered_reported", M.REVENUE: "revenue_cents"}.get(metric, metric)


def campaign_reports(*, campaign_ids: list[int]) -> dict[int, CampaignReport]:
    """The reports of many campaigns in a few grouped queries: message counts
    by status and the sends' total tallies."""
    counts = {pk: dict.fromkeys(_STATUS_COUNTS + _TALLIES, 0) for pk in campaign_ids}
    for campaign_id, status, n in _status_counts(campaign_ids):
        numbers = counts[campaign_id]
        numbers["recipients"] += n
        numbers["queued" if status == Message.Status.SENDING else status] += n
    tallies = (
        Tally.objects.filter(send__campaign_id__in=campaign_ids, dimension="total")
        .order_by()
        .values("send__campaign_id", "metric")
        .annotate(total=Sum("value"))
    )
    for row in tallies:
        counts[row["send__campaign_id"]][_tally_field(row["metric"])] += row["total"]
    return {pk: CampaignReport(**numbers) for pk, numbers in counts.items()}


def _status_counts(campaign_ids: list[int]) -> list[tuple[int, str, int]]:
    """(campaign, status, messages) of the campaigns' sends. A finished send's
    counts no longer move: they are counted once and kept as tallies keyed by
    the time it finished (a re-send of mails in doubt finishes it again), so a
    report of a million mails does not count them on every view."""
    sends = list(
        Send.objects.filter(campaign_id__in=campaign_ids).values_list(
            "pk", "campaign_id", "status", "finished_at"
        )
    )
    finished = {
        pk: f"{at:%Y-%m-%dT%H:%M:%S.%f}"
        for pk, _, status, at in sends
        if status == Send.Status.DONE and at
    }
    campaign_of = {pk: campaign_id for pk, campaign_id, _, _ in sends}
    kept: dict[int, list[tuple[str, int]]] = {}
    for send_id, key, metric, value in Tally.objects.filter(
        send_id__in=list(finished), dimension="status"
    ).values_list("send_id", "key", "metric", "value"):
        if finished[send_id] == key:
            kept.setdefault(send_id, []).append((metric, value))
    to_count = [pk for pk in campaign_of if pk not in kept]
    counted: dict[int, list[tuple[str, int]]] = {pk: [] for pk in to_count}
    if to_count:
        for send_id, status, n in (
            Message.objects.filter(send_id__in=to_count)
            .order_by()
            .values_list("send_id", "status")
            .annotate(n=Count("id"))
        ):
            counted[send_id].append((status, n))
    for send_id in set(to_count) & set(finished):
        Tally.objects.filter(send_id=send_id, dimension="status").delete()
        Tally.objects.bulk_create(
            [
                Tally(send_id=send_id, dimension="status", key=finished[send_id], metric=m, value=n)
                for m, n in counted[send_id] or [("sent", 0)]
            ],
            ignore_conflicts=True,
        )
    return [
        (campaign_of[send_id], status, n)
        for source in (kept, counted)
        for send_id, rows in source.items()
        for status, n in rows
    ]


def campaign_report(*, campaign: Campaign) -> CampaignReport:
    return campaign_reports(campaign_ids=[campaign.pk])[campaign.pk]


# --- Breakdowns ------------------------------------------------------------------------


def _campaign_tallies(campaign: Campaign, dimension: str) -> QuerySet:
    return (
        Tally.objects.filter(send__campaign=campaign, dimension=dimension)
        .order_by()
        .values("key", "metric")
        .annotate(total=Sum("value"))
    )


def _by_key(campaign: Campaign, dimension: str) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for row in _campaign_tallies(campaign, dimension):
        out.setdefault(row["key"], {})[row["metric"]] = row["total"]
    return out


@dataclass(frozen=True)
class TimePoint:
    label: str
    start: datetime
    values: dict[str, int] = field(default_factory=dict)


def report_timeline(
    *, campaign: Campaign, metrics: list[str], now: datetime | None = None
) -> list[TimePoint]:
    """Counts per hour for the first 48 hours of the campaign's first send,
    then per day, up to now (at most 60 days), zeros included."""
    first = (
        Send.objects.filter(campaign=campaign, started_at__isnull=False)
        .order_by("started_at")
        .values_list("started_at", flat=True)
        .first()
    )
    if first is None:
        return []
    now = (now or datetime.now(UTC)).astimezone(UTC)
    start = first.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    hours, days = _by_key(campaign, "hour"), _by_key(campaign, "day")
    points = []
    at = start
    while at <= now and at < start + HOURLY_SPAN:
        values = _pick(hours.get(at.strftime("%Y-%m-%dT%H"), {}), metrics)
        points.append(TimePoint(at.strftime("%b %-d %H:00"), at, values))
        at += timedelta(hours=1)
    if at < start + HOURLY_SPAN:
        return points
    # Then days; the day the hours end in shows only what its hours did not.
    day = at.replace(hour=0)
    while day <= now and day < start + timedelta(days=60):
        values = _pick(days.get(day.strftime("%Y-%m-%d"), {}), metrics)
        hour = day
        while hour < at:
            for metric, value in _pick(
                hours.get(hour.strftime("%Y-%m-%dT%H"), {}), metrics
            ).items():
                values[metric] -= value
            hour += timedelta(hours=1)
        points.append(TimePoint(day.strftime("%b %-d"), day, values))
        day += timedelta(days=1)
    return points


def _pick(values: dict[str, int], metrics: list[str]) -> dict[str, int]:
    return {metric: values.get(metric, 0) for metric in metrics}


@dataclass(frozen=True)
class LinkRow:
    index: int
    url: str
    clicks: int
    machine_clicks: int


def report_links(*, campaign: Campaign) -> list[LinkRow]:
    """Clicks per link of the campaign's mails, most clicked first; the hidden
    honeypot link is left out."""
    counts = _by_key(campaign, "link")
    urls = {}
    for index, url in (
        Link.objects.filter(send__campaign=campaign, is_honeypot=False)
        .order_by("send_id")
        .values_list("index", "url")
    ):
        urls.setdefault(index, url)
    rows = [
        LinkRow(
            index,
            url,
            counts.get(str(index), {}).get(M.CLICKS, 0),
            counts.get(str(index), {}).get(M.MACHINE_CLICKS, 0),
        )
        for index, url in urls.items()
    ]
    return sorted(rows, key=lambda row: (-row.clicks, row.index))


@dataclass(frozen=True)
class BreakdownRow:
    key: str
    values: dict[str, int]

    def rate(self, part: str, whole: str) -> float | None:
        return rate(self.values.get(part, 0), self.values.get(whole, 0))

    @property
    def bounced(self) -> int:
        return self.values.get(M.BOUNCED_HARD, 0) + self.values.get(M.BOUNCED_SOFT, 0)


def report_breakdown(*, campaign: Campaign, dimension: str, limit: int = 10) -> list[BreakdownRow]:
    """The biggest keys of a breakdown ("domain", "client", "device")."""
    rows = [
        BreakdownRow(key or "unknown", values)
        for key, values in _by_key(campaign, dimension).items()
    ]
    weight = M.OPENED if dimension in ("client", "device") else M.DELIVERED
    rows.sort(key=lambda row: (-row.values.get(weight, 0), -sum(row.values.values()), row.key))
    return rows[:limit]


def report_domains(*, campaign: Campaign, limit: int = 10) -> list[BreakdownRow]:
    """Results by recipient domain. Without delivery reports, a domain's
    delivered is its mails that did not bounce: sent per domain is counted
    from the ledger once, when the send has finished, and kept as a tally."""
    rows = report_breakdown(campaign=campaign, dimension="domain", limit=1000)
    sent = _domain_sent(campaign)
    for row in rows:
        row.values["sent"] = sent.get(row.key, 0)
    for domain, count in sent.items():
        if all(row.key != domain for row in rows):
            rows.append(BreakdownRow(domain, {"sent": count}))
    for row in rows:
        if not row.values.get(M.DELIVERED) and row.values.get("sent"):
            bounced = row.values.get(M.BOUNCED_HARD, 0) + row.values.get(M.BOUNCED_SOFT, 0)
            row.values["delivered"] = max(row.values["sent"] - bounced, 0)
    rows.sort(key=lambda row: (-row.values.get("sent", 0), -row.values.get("delivered", 0)))
    return rows[:limit]


def _domain_sent(campaign: Campaign) -> dict[str, int]:
    sent: dict[str, int] = {}
    for send in Send.objects.filter(campaign=campaign).only("pk", "status", "finished_at"):
        cached = Tally.objects.filter(send=send, dimension="domain_sent")
        if not cached.exists() and send.finished_at is not None:
            _domain_sent_store(send)
        for key, value in cached.values_list("key", "value"):
            sent[key] = sent.get(key, 0) + value
    return sent


def _domain_sent_store(send: Send) -> None:
    """Count a finished send's sent mails per domain once (one grouped scan of
    its messages) and keep the counts as tallies."""
    rows = (
        Message.objects.filter(send=send, status=Message.Status.SENT)
        .order_by()
        .values_list("email", flat=True)
    )
    counts: dict[str, int] = {}
    for email in rows.iterator(chunk_size=20000):
        key = email.rpartition("@")[2].lower()
        counts[key] = counts.get(key, 0) + 1
    Tally.objects.bulk_create(
        [
            Tally(send=send, dimension="domain_sent", key=key, metric=M.SENT, value=value)
            for key, value in counts.items()
        ]
        or [Tally(send=send, dimension="domain_sent", key="", metric=M.SENT, value=0)],
        ignore_conflicts=True,
    )


# --- The subject as sent, messages and events --------------------------------------------


def campaign_example_subject(*, campaign: Campaign) -> tuple[str, str]:
    """The subject filled in for one recipient who got it (or the first
    contact of the audience), and that recipient's address."""
    message = (
        Message.objects.filter(send__campaign=campaign, status=Message.Status.SENT)
        .select_related("contact")
        .order_by("id")
        .first()
    )
    contact = message.contact if message and message.contact else None
    if contact is None:
        contact = Contact(email=message.email if message else "someone@example.com")
    try:
        parts = parse(campaign.subject, "subject")
    except TemplateProblem:
        return campaign.subject, contact.email
    values = recipient_values(contact, coupon_code=message.coupon_code if message else "")
    filled = "".join(part if isinstance(part, str) else field_value(part, values) for part in parts)
    return filled, contact.email


# What happened to a message, strongest first; each is a filter of the list.
OUTCOMES = [
    ("complained", "Complained", Q(complained_at__isnull=False)),
    ("bounced", "Bounced", Q(bounced_at__isnull=False)),
    ("unsubscribed", "Unsubscribed", Q(unsubscribed_at__isnull=False)),
    ("clicked", "Clicked", Q(clicked_at__isnull=False)),
    ("opened", "Opened", Q(opened_at__isnull=False)),
    ("not_opened", "Not opened", Q(status=Message.Status.SENT, opened_at__isnull=True)),
    ("failed", "Failed", Q(status=Message.Status.FAILED)),
    ("in_doubt", "In doubt", Q(status=Message.Status.IN_DOUBT)),
    ("skipped", "Skipped", Q(status=Message.Status.SKIPPED)),
    ("queued", "Queued", Q(status__in=[Message.Status.QUEUED, Message.Status.SENDING])),
]
OUTCOME_FILTERS = {key: condition for key, _, condition in OUTCOMES}


def message_outcome(message: Message) -> tuple[str, str]:
    """(key, label) of what happened to one message, the strongest fact first."""
    if message.complained_at:
        return "complained", "Complained"
    if message.bounced_at:
        return "bounced", f"Bounced ({message.bounce_type or 'hard'})"
    if message.unsubscribed_at:
        return "unsubscribed", "Unsubscribed"
    if message.clicked_at:
        return "clicked", "Clicked"
    if message.opened_at:
        return "opened", "Opened"
    if message.status == Message.Status.SENT:
        return "delivered" if message.delivered_at else "sent", (
            "Delivered" if message.delivered_at else "Sent"
        )
    return message.status, message.get_status_display()


def campaign_messages(*, campaign: Campaign, outcome: str = "", search: str = "") -> QuerySet:
    send_ids = list(Send.objects.filter(campaign=campaign).values_list("pk", flat=True))
    messages = Message.objects.filter(send_id__in=send_ids).only(
        "email", "status", "skip_reason", "sent_at", "delivered_at", "bounced_at",
        "bounce_type", "bounce_reason", "complained_at", "unsubscribed_at", "opened_at",
        "clicked_at", "opens", "clicks", "machine_opens", "machine_clicks", "error",
    )  # fmt: skip
    if outcome in OUTCOME_FILTERS:
        messages = messages.filter(OUTCOME_FILTERS[outcome])
    if search:
        messages = messages.filter(email__icontains=search.strip())
    return messages.order_by("id")


def campaign_recent_events(*, campaign: Campaign, limit: int = 50):
    """The latest events of the campaign's messages, on the events' own index
    of each message (no scan of all events)."""
    latest_sends = Send.objects.filter(campaign=campaign).values_list("pk", flat=True)
    return (
        Event.objects.filter(message__send_id__in=list(latest_sends))
        .select_related("message")
        .order_by("-created_at")[:limit]
    )


# --- The dashboard ------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignRow:
    campaign: Campaign
    report: CampaignReport


def campaigns_since(*, since: datetime) -> list[CampaignRow]:
    """Campaigns with a send started since then, with their reports."""
    campaigns = list(
        Campaign.objects.filter(sends__started_at__gte=since).distinct().order_by("-created_at")
    )
    found = campaign_reports(campaign_ids=[c.pk for c in campaigns])
    return [CampaignRow(campaign, found[campaign.pk]) for campaign in campaigns]


def reports_total(rows: list[CampaignRow]) -> CampaignReport:
    """The sum of many reports: rates over the period, not an average of rates."""
    names = _STATUS_COUNTS + _TALLIES
    return CampaignReport(**{name: sum(getattr(r.report, name) for r in rows) for name in names})


def best_campaigns(rows: list[CampaignRow], limit: int = 5) -> list[CampaignRow]:
    """The best-read campaigns: by open rate, then click rate, among those
    delivered to enough people to judge (at least 10)."""
    judged = [row for row in rows if row.report.delivered >= 10 and row.report.open_rate]
    judged.sort(key=lambda r: (-(r.report.open_rate or 0), -(r.report.click_rate or 0)))
    return judged[:limit]


def list_growth(*, since: datetime, now: datetime) -> list[tuple[str, int, int]]:
    """(day, new contacts, unsubscribes from mails) per day since then."""
    from django.db.models.functions import TruncDate

    joined = dict(
        Contact.objects.filter(created_at__gte=since)
        .annotate(day=TruncDate("created_at", tzinfo=UTC))
        .order_by()
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    left = dict(
        Tally.objects.filter(
            dimension="day", metric=M.UNSUBSCRIBED, key__gte=since.strftime("%Y-%m-%d")
        )
        .order_by()
        .values("key")
        .annotate(n=Sum("value"))
        .values_list("key", "n")
    )
    days = []
    day = since.astimezone(UTC).date()
    while day <= now.astimezone(UTC).date():
        days.append((day.strftime("%b %-d"), joined.get(day, 0), left.get(day.isoformat(), 0)))
        day += timedelta(days=1)
    return days


# --- A contact's engagement ------------------------------------------------------------


def contact_engagement(contact: Contact, limit: int = 20) -> dict:
    """A contact's mails, newest first, with what it did with each, and its
    totals: the same facts the reports count (people only; a click is an open)."""
    messages = Message.objects.filter(contact=contact)
    totals = messages.aggregate(
        received=Count("id", filter=Q(status=Message.Status.SENT)),
        opened=Count("id", filter=Q(opened_at__isnull=False)),
        clicked=Count("id", filter=Q(clicked_at__isnull=False)),
        opens=Sum("opens"),
        clicks=Sum("clicks"),
    )
    recent = (
        messages.exclude(status=Message.Status.SKIPPED)
        .select_related("send__campaign")
        .order_by("-created_at", "-id")[:limit]
    )
    return {
        "totals": {key: value or 0 for key, value in totals.items()},
        "timeline": [(message, *message_outcome(message)) for message in recent],
        "skipped": messages.filter(status=Message.Status.SKIPPED).count(),
    }
