"""Reads of campaigns for the staff pages, and the preview of a campaign's mail."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Count, Max, Min, Q, QuerySet
from django.utils import timezone

from campaigns.audience import audience_sql
from campaigns.event_content import SAMPLE_CONTEXT, event_values, uses_event_fields
from campaigns.models import Campaign, Coupon, Message, Send
from campaigns.personalisation import recipient_values
from campaigns.recommendations import picker_for, picks_values
from campaigns.rendering import PreviewUrls, RenderedMail, compile_campaign, personalise
from contacts.models import Contact, Group, Segment
from contacts.segments import segment_filter

# Unique codes are handed out at send time; a preview shows where one goes.
PREVIEW_UNIQUE_CODE = "YOUR-CODE"


def campaign_list() -> QuerySet:
    return (
        Campaign.objects.filter(automation_step__isnull=True)
        .select_related("created_by")
        .prefetch_related("groups")
    )


def campaign_audience(*, campaign: Campaign) -> QuerySet:
    """The contacts in any of the campaign's groups or segments and in none
    of its exclusions, each once (campaigns.audience decides the same in SQL)."""
    members = Contact.groups.through.objects
    included = Q(pk__in=members.filter(group__campaigns=campaign).values("contact_id"))
    for segment in campaign.segments.all():
        included |= segment_filter(segment.rules)
    contacts = Contact.objects.filter(included)
    excluded = members.filter(group__excluding_campaigns=campaign).values("contact_id")
    contacts = contacts.exclude(pk__in=excluded)
    for segment in campaign.excluded_segments.all():
        contacts = contacts.exclude(segment_filter(segment.rules))
    return contacts


def campaign_segments(*, campaign: Campaign) -> QuerySet:
    return Segment.objects.filter(campaigns=campaign)


def campaign_groups(*, campaign: Campaign) -> QuerySet:
    return Group.objects.filter(campaigns=campaign).annotate(contact_count=Count("contacts"))


def campaign_preview_contacts(*, campaign: Campaign, limit: int = 50) -> list[Contact]:
    return list(campaign_audience(campaign=campaign).order_by("email")[:limit])


def campaign_preview_contact(
    *, campaign: Campaign, contact_id: int | None = None, email: str = ""
) -> Contact | None:
    """The contact a preview is personalised for: the one asked for, else the
    first of the audience, else None (a nameless sample is used)."""
    if email:
        return Contact.objects.filter(email=email).first()  # the field normalises it
    if contact_id:
        return Contact.objects.filter(pk=contact_id).first()
    return (
        _first_recipient(campaign) or campaign_audience(campaign=campaign).order_by("email").first()
    )


def _first_recipient(campaign: Campaign) -> Contact | None:
    """The first contact (by email) who will get the mail, skipped ones aside."""
    select, params = audience_sql(campaign=campaign)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT a.contact_id FROM ({select}) a WHERE a.reason = '' ORDER BY a.email LIMIT 1",
            params,
        )
        row = cursor.fetchone()
    return Contact.objects.filter(pk=row[0]).first() if row else None


def sample_contact() -> Contact:
    """An unsaved contact with no name, so previews show the fallbacks."""
    return Contact(email="sample@example.com")


def campaign_preview(*, campaign: Campaign, contact: Contact) -> RenderedMail:
    """The mail as `contact` would get it, with untracked links. Raises
    TemplateProblem when the content cannot be rendered."""
    content = compile_campaign(campaign)
    return personalise(content, preview_values(campaign, content, contact), PreviewUrls())


def preview_values(campaign: Campaign, content, contact: Contact) -> dict[str, str]:
    """What a preview's merge fields show for `contact`, products picked for them."""
    expires_at = campaign.coupon.expires_at if campaign.coupon else None
    values = recipient_values(contact, _preview_code(campaign), expires_at)
    values.update(picks_values(picker_for(content.picks), contact))
    every = [content, *content.locales.values()]
    if uses_event_fields(part for c in every for part in (c.subject, c.html, c.text)):
        values.update(event_values(SAMPLE_CONTEXT))  # an automation's mail: a sample event
    values["contact.preferences_url"] = PreviewUrls().slot("preferences")  # staff change nothing
    return values


def _preview_code(campaign: Campaign) -> str:
    coupon = campaign.coupon
    if coupon is None:
        return ""
    return coupon.code if coupon.kind == Coupon.Kind.SHARED else PREVIEW_UNIQUE_CODE


# --- A send's progress ---------------------------------------------------------

# The rate is read over this last stretch of the send, so it follows slowdowns.
RATE_WINDOW = timedelta(minutes=1)
ACTIVE_SEND_STATUSES = {Send.Status.QUEUED, Send.Status.PREPARING, Send.Status.SENDING}


@dataclass(frozen=True)
class SendProgress:
    """Where every recipient of a send stands, read at `measured_at`."""

    measured_at: datetime
    queued: int = 0
    sending: int = 0
    sent: int = 0
    failed: int = 0
    in_doubt: int = 0
    skipped: int = 0
    rate_per_minute: float | None = None  # None: too few mails to tell
    rate_is_recent: bool = False  # over the last minute, else the average so far

    @property
    def recipients(self) -> int:
        return self.sent + self.failed + self.in_doubt + self.skipped + self.remaining

    @property
    def remaining(self) -> int:
        return self.queued + self.sending

    @property
    def settled(self) -> int:
        return self.recipients - self.remaining

    @property
    def percent_settled(self) -> int:
        if not self.recipients:
            return 0
        # Floor, so 100% means truly nothing left.
        return self.settled * 100 // self.recipients

    @property
    def bar(self) -> list[tuple[str, str, int, str]]:
        """The progress bar's segments: (key, label, count, width in % as text)."""
        whole = self.recipients or 1
        segments = [
            ("sent", "Sent", self.sent),
            ("failed", "Failed", self.failed),
            ("in_doubt", "In doubt", self.in_doubt),
            ("skipped", "Skipped", self.skipped),
        ]
        # Formatted here: a localised decimal comma would break the CSS width.
        return [(key, label, n, f"{n * 100 / whole:.2f}") for key, label, n in segments if n]

    @property
    def eta(self) -> timedelta | None:
        if not self.remaining or not self.rate_per_minute:
            return None
        return timedelta(minutes=self.remaining / self.rate_per_minute)

    @property
    def finish_at(self) -> datetime | None:
        eta = self.eta
        return None if eta is None else self.measured_at + eta


def campaign_latest_send(*, campaign: Campaign) -> Send | None:
    return (
        Send.objects.filter(campaign=campaign)
        .select_related("created_by")
        .order_by("-created_at", "-pk")
        .first()
    )


def send_is_active(*, send: Send, progress: SendProgress) -> bool:
    """True while the numbers may still move on their own: the send runs, or
    it was paused and its batches in flight have not yet put their mails back."""
    return send.status in ACTIVE_SEND_STATUSES or progress.sending > 0


def send_progress(*, send: Send, now: datetime | None = None) -> SendProgress:
    """Counts by status and the sending rate, in one grouped query on the
    (send, status) index."""
    now = now or timezone.now()
    rows = (
        Message.objects.filter(send=send)
        .order_by()
        .values("status")
        .annotate(
            n=Count("id"),
            first=Min("sent_at"),
            last=Max("sent_at"),
            recent=Count("id", filter=Q(sent_at__gte=now - RATE_WINDOW)),
        )
    )
    by_status = {row["status"]: row for row in rows}
    counts = {status: by_status.get(status, {}).get("n", 0) for status in Message.Status.values}
    rate, recent = _rate(by_status.get(Message.Status.SENT), now, send.status)
    return SendProgress(
        measured_at=now,
        queued=counts[Message.Status.QUEUED],
        sending=counts[Message.Status.SENDING],
        sent=counts[Message.Status.SENT],
        failed=counts[Message.Status.FAILED],
        in_doubt=counts[Message.Status.IN_DOUBT],
        skipped=counts[Message.Status.SKIPPED],
        rate_per_minute=rate,
        rate_is_recent=recent,
    )


def _rate(sent: dict | None, now: datetime, send_status: str) -> tuple[float | None, bool]:
    """Mails per minute: over the last minute while sending, else on average
    from the first mail to the last."""
    if not sent or sent["first"] is None:
        return None, False
    if send_status == Send.Status.SENDING:
        window = min(RATE_WINDOW, now - sent["first"]).total_seconds()
        return sent["recent"] * 60 / max(window, 1.0), True
    span = (sent["last"] - sent["first"]).total_seconds()
    if span < 1:
        return None, False
    return sent["n"] * 60 / span, False


@dataclass(frozen=True)
class FailureGroup:
    error_class: str
    label: str
    error: str
    count: int


def send_failures(*, send: Send, limit: int = 20) -> list[FailureGroup]:
    """Failed messages grouped by what went wrong, most common first."""
    labels = dict(Message.ErrorClass.choices)
    rows = (
        Message.objects.filter(send=send, status=Message.Status.FAILED)
        .order_by()
        .values_list("error_class", "error")
        .annotate(n=Count("id"))
        .order_by("-n", "error_class", "error")[:limit]
    )
    return [
        FailureGroup(error_class, labels.get(error_class, "Unknown"), error, n)
        for error_class, error, n in rows
    ]


def send_skip_reasons(*, send: Send) -> list[tuple[str, str, int]]:
    """(reason, label, count) of the skipped messages, most first."""
    labels = dict(Message.SkipReason.choices)
    rows = (
        Message.objects.filter(send=send, status=Message.Status.SKIPPED)
        .order_by()
        .values_list("skip_reason")
        .annotate(n=Count("id"))
    )
    reasons = [(reason, labels.get(reason, reason or "Unknown"), n) for reason, n in rows]
    return sorted(reasons, key=lambda item: (-item[2], item[1]))


def send_in_doubt_emails(*, send: Send, limit: int = 50) -> list[str]:
    return list(
        Message.objects.filter(send=send, status=Message.Status.IN_DOUBT)
        .order_by("email")
        .values_list("email", flat=True)[:limit]
    )
