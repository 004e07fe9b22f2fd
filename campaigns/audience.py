"""Who a campaign reaches, and why the others are skipped, decided in SQL.

The same SELECT feeds the send's snapshot (campaigns.ledger.messages_snapshot)
and the summary staff read before sending, so the two always agree. It runs
in the database because an audience can be a million contacts: the rules are
a CASE per contact, the frequency cap one grouped scan of recent mails.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db import connection
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from campaigns.models import Campaign, Coupon, CouponCode, FrequencyPolicy, Message, Send
from contacts import segments
from contacts.models import MAIL_FREQUENCY_DAYS, Contact, DomainSuppression, Suppression

# A cheap syntax check for the snapshot; addresses are validated in full when
# they are imported or typed.
VALID_EMAIL = r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$"
# Mails that count against the cap: everything that went or is about to go.
_CAPPED_STATUSES = [
    Message.Status.QUEUED,
    Message.Status.SENDING,
    Message.Status.SENT,
    Message.Status.IN_DOUBT,
]


def _regex_operator() -> str:
    # Django registers REGEXP for SQLite; PostgreSQL has its own operator.
    return "~" if connection.vendor == "postgresql" else "REGEXP"


def audience_sql(
    *,
    campaign: Campaign,
    exclude_send_id: int | None = None,
    contact_ids: list[int] | None = None,
    series_send_ids: list[int] = (),
) -> tuple[str, list]:
    """SELECT contact_id, email, reason ('' for those who get the mail), time_zone.
    With `contact_ids`, those contacts instead of the campaign's groups and
    segments (an automation's mails: the same rules, one trigger at a time),
    and `series_send_ids`, the automation's own sends, whose earlier mails do
    not count against the cap (a series is paced by its own delays)."""
    contact = Contact._meta.db_table
    reasons = [
        f"WHEN c.status IN ('{Contact.Status.BOUNCED}', '{Contact.Status.COMPLAINED}') "
        "THEN c.status",
        f"WHEN NOT (c.email {_regex_operator()} %s) THEN '{Message.SkipReason.INVALID}'",
        f"WHEN EXISTS (SELECT 1 FROM {Suppression._meta.db_table} s WHERE s.email = c.email) "
        f"THEN '{Message.SkipReason.SUPPRESSED}'",
        f"WHEN EXISTS (SELECT 1 FROM {DomainSuppression._meta.db_table} d "
        f"WHERE c.email LIKE '%%@' || d.domain) THEN '{Message.SkipReason.SUPPRESSED}'",
    ]
    case_params: list = [VALID_EMAIL]
    cap_join, join_params = "", []
    if campaign.kind == Campaign.Kind.MARKETING:
        reasons += [
            f"WHEN c.status = '{Contact.Status.UNSUBSCRIBED}' "
            f"THEN '{Message.SkipReason.UNSUBSCRIBED}'",
            f"WHEN c.status = '{Contact.Status.UNCONFIRMED}' "
            f"THEN '{Message.SkipReason.UNCONFIRMED}'",
            f"WHEN c.status = '{Contact.Status.NOT_SUBSCRIBED}' "
            f"THEN '{Message.SkipReason.NOT_SUBSCRIBED}'",
        ]
        policy = FrequencyPolicy.current()
        # The contacts' own choices (preference centre) count only once someone made one.
        own_choices = Contact.objects.filter(mail_frequency__gt="").exists()
        if policy.enabled or own_choices:
            when, when_params, cap_join, join_params = _frequency_cap(
                policy, [exclude_send_id or 0, *series_send_ids], own_choices
            )
            reasons.append(when)
            case_params += when_params
    case = "CASE " + " ".join(reasons) + " ELSE '' END"
    if contact_ids is not None:
        marks = ", ".join(["%s"] * len(contact_ids)) or "NULL"
        where, where_params = f"c.id IN ({marks})", list(contact_ids)
    else:
        where, where_params = _audience_where(campaign)
    sql = (
        f"SELECT c.id AS contact_id, c.email AS email, {case} AS reason, "
        "c.time_zone AS time_zone "
        f"FROM {contact} c {cap_join} WHERE {where}"
    )
    return sql, [*case_params, *join_params, *where_params]


def _members_sql(group_ids: list[int]) -> tuple[str, list]:
    members = Contact.groups.through._meta.db_table
    marks = ", ".join(["%s"] * len(group_ids))
    return f"SELECT contact_id FROM {members} WHERE group_id IN ({marks})", list(group_ids)


def _audience_where(campaign: Campaign) -> tuple[str, list]:
    """(groups + segments) - (excluded groups + excluded segments), as one
    condition on c.id: each segment is its own compiled SELECT of ids."""
    included: list[tuple[str, list]] = []
    excluded: list[tuple[str, list]] = []
    if group_ids := list(campaign.groups.values_list("id", flat=True)):
        included.append(_members_sql(group_ids))
    for segment in campaign.segments.all():
        included.append(segments.segment_ids_sql(rules=segment.rules))
    if group_ids := list(campaign.excluded_groups.values_list("id", flat=True)):
        excluded.append(_members_sql(group_ids))
    for segment in campaign.excluded_segments.all():
        excluded.append(segments.segment_ids_sql(rules=segment.rules))
    if not included:
        return "1 = 0", []
    where = "(" + " OR ".join(f"c.id IN ({sql})" for sql, _ in included) + ")"
    where += "".join(f" AND c.id NOT IN ({sql})" for sql, _ in excluded)
    return where, [param for _, params in [*included, *excluded] for param in params]


def _frequency_cap(policy: FrequencyPolicy, exclude_send_ids: list[int], own_choices: bool):
    """The CASE branch and the join of recent marketing mails, each with its
    parameters. The stricter of the policy and a contact's own choice wins."""
    message, send = Message._meta.db_table, Send._meta.db_table
    now = timezone.now()
    window_start = now - timedelta(days=policy.window_days)
    lookback = [policy.window_days] if policy.enabled else []
    if own_choices:
        lookback += MAIL_FREQUENCY_DAYS.values()
    statuses = ", ".join(f"'{status}'" for status in _CAPPED_STATUSES)
    join = (
        f"LEFT JOIN (SELECT m.contact_id, "
        f"SUM(CASE WHEN m.created_at >= %s THEN 1 ELSE 0 END) AS n, MAX(m.created_at) AS last "
        f"FROM {message} m JOIN {send} s ON s.id = m.send_id "
        f"WHERE s.is_marketing AND m.status IN ({statuses}) AND m.created_at >= %s "
        f"AND m.send_id NOT IN ({', '.join(['%s'] * len(exclude_send_ids))}) "
        "GROUP BY m.contact_id) cap ON cap.contact_id = c.id"
    )
    conditions, when_params = [], []
    if policy.enabled:
        conditions += ["cap.n >= %s", "(%s > 0 AND cap.last > %s)"]
        gap_start = now - timedelta(days=policy.min_gap_days)
        when_params += [policy.max_messages, policy.min_gap_days, gap_start]
    if own_choices:
        for choice, days in MAIL_FREQUENCY_DAYS.items():
            conditions.append(f"(c.mail_frequency = '{choice}' AND cap.last > %s)")
            when_params.append(now - timedelta(days=days))
    when = f"WHEN {' OR '.join(conditions)} THEN '{Message.SkipReason.FREQUENCY_CAP}'"
    join_params = [window_start, now - timedelta(days=max(lookback)), *exclude_send_ids]
    return when, when_params, join, join_params


@dataclass(frozen=True)
class AudienceSummary:
    """What staff read before sending: who gets the mail, who not and why."""

    total: int
    recipients: int
    skipped: list[tuple[str, str, int]]  # (reason, label, count), most first
    free_codes: int | None  # of a unique-code coupon, else None
    code_shortfall: int  # recipients who will be skipped for want of a code

    @property
    def skipped_total(self) -> int:
        return self.total - self.recipients


def contacts_reasons(
    *, campaign: Campaign, contact_ids: list[int], series_send_ids: list[int] = ()
) -> dict[int, tuple[str, str]]:
    """{contact id: (email, reason)} for these contacts by the campaign's
    rules: consent and suppression, and the frequency cap for marketing."""
    if not contact_ids:
        return {}
    select, params = audience_sql(
        campaign=campaign, contact_ids=contact_ids, series_send_ids=series_send_ids
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT a.contact_id, a.email, a.reason FROM ({select}) a", params)
        return {row[0]: (row[1], row[2]) for row in cursor.fetchall()}


def audience_summary(*, campaign: Campaign) -> AudienceSummary:
    select, params = audience_sql(campaign=campaign)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT a.reason, COUNT(*) FROM ({select}) a GROUP BY a.reason", params)
        counts = dict(cursor.fetchall())
    recipients = counts.pop("", 0)
    labels = dict(Message.SkipReason.choices)
    skipped = sorted(
        ((reason, labels.get(reason, reason), n) for reason, n in counts.items()),
        key=lambda item: (-item[2], item[1]),
    )
    free_codes, shortfall = None, 0
    coupon = campaign.coupon
    if coupon and coupon.kind == Coupon.Kind.UNIQUE:
        free_codes = CouponCode.objects.filter(coupon=coupon, assigned_at__isnull=True).count()
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT COUNT(*) FROM ({select}) a WHERE a.reason = '' AND EXISTS "
                f"(SELECT 1 FROM {CouponCode._meta.db_table} cc "
                f"WHERE cc.coupon_id = %s AND cc.contact_id = a.contact_id)",
                [*params, coupon.pk],
            )
            holders = cursor.fetchone()[0]
        shortfall = max(0, recipients - holders - free_codes)
    return AudienceSummary(
        total=recipients + sum(counts.values()),
        recipients=recipients,
        skipped=skipped,
        free_codes=free_codes,
        code_shortfall=shortfall,
    )


def ineligible_now(*, message_ids: list[int], is_marketing: bool) -> dict[int, str]:
    """Reasons why claimed messages may no longer go, read right before they
    are handed over: an unsubscribe or a suppression during a long send
    counts for every mail not yet gone."""
    rows = list(
        Message.objects.filter(id__in=message_ids).values_list(
            "id", "email", "contact_id", "contact__status"
        )
    )
    emails = [email for _, email, _, _ in rows]
    suppressed = set(Suppression.objects.filter(email__in=emails).values_list("email", flat=True))
    domains = {email.rpartition("@")[2] for email in emails}
    suppressed_domains = set(
        DomainSuppression.objects.filter(domain__in=domains).values_list("domain", flat=True)
    )
    reasons = {}
    for message_id, email, contact_id, status in rows:
        reason = _reason_now(email, contact_id, status, is_marketing)
        if not reason and (email in suppressed or email.rpartition("@")[2] in suppressed_domains):
            reason = Message.SkipReason.SUPPRESSED
        if reason:
            reasons[message_id] = reason
    return reasons


def _reason_now(email: str, contact_id: int | None, status: str | None, is_marketing: bool):
    if contact_id is None:
        return Message.SkipReason.CONTACT_DELETED
    if status in (Contact.Status.BOUNCED, Contact.Status.COMPLAINED):
        return status
    if is_marketing and status in (
        Contact.Status.UNSUBSCRIBED,
        Contact.Status.UNCONFIRMED,
        Contact.Status.NOT_SUBSCRIBED,
    ):
        return status
    return ""


# --- Segment rules about campaigns ---------------------------------------------
# "Opened / clicked in the last N campaigns" needs the messages, which contacts
# cannot see; campaigns.apps registers these operators at start-up. The last N
# campaigns are the N latest marketing sends; only human opens and clicks count
# (Message.opened_at / clicked_at are the first human ones).


def _last_sends(count: int):
    # Campaigns only: an automation's sends run for months beside them.
    return (
        Send.objects.filter(is_marketing=True)
        .exclude(lane=Send.Lane.AUTOMATION)
        .order_by("-created_at", "-id")
        .values("id")[:count]
    )


def _engaged_in_last_sends(fact: str, count: int) -> Exists:
    messages = Message.objects.filter(
        contact_id=OuterRef("pk"), send_id__in=_last_sends(count), **{f"{fact}__isnull": False}
    )
    return Exists(messages)


def _mailed_in_last_sends(count: int) -> Exists:
    messages = Message.objects.filter(
        contact_id=OuterRef("pk"), send_id__in=_last_sends(count), status=Message.Status.SENT
    )
    return Exists(messages)


def segment_operators_register() -> None:
    for field, fact in (("opened", "opened_at"), ("clicked", "clicked_at")):
        segments.operator_register(
            field=field,
            name="in_last_campaigns",
            label="in one of the last … campaigns",
            value_kind=segments.CAMPAIGNS,
            compile=lambda n, key, fact=fact: Q(_engaged_in_last_sends(fact, n)),
        )
        segments.operator_register(
            field=field,
            name="not_in_last_campaigns",
            label="in none of the last … campaigns they were sent",
            value_kind=segments.CAMPAIGNS,
            compile=lambda n, key, fact=fact: (
                Q(_mailed_in_last_sends(n)) & ~Q(_engaged_in_last_sends(fact, n))
            ),
        )
