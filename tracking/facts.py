"""Facts on the message, and the report tallies kept from them.

Hits of the pixel and the links arrive as unapplied events (the durable
buffer). `events_flush` takes a batch of them with SKIP LOCKED, classifies
each (tracking.machine), and in the same transaction writes the messages'
facts and counters, the tallies, the contacts' last open and click, and marks
the events applied. ESP webhooks apply their facts through `message_fact_apply`.

A "unique" tally (opened, clicked, delivered, ...) moves only when the
message's fact goes from empty to set, read under the message's row lock, so
replays and concurrent flushes count once. `tally_rebuild` recomputes a
send's tallies from its messages and events: incremental and rebuilt agree.
"""

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from campaigns.models import Link, Message
from contacts.services import contacts_record_engagement
from tracking import machine
from tracking.models import Attribution, Event, Tally

M = Tally.Metric
TallyKey = tuple[int, str, str, str]  # (send, dimension, key, metric)

# Which breakdowns each metric has besides its total.
_DIMENSIONS = {
    M.DELIVERED: ("hour", "day", "domain"),
    M.BOUNCED_HARD: ("hour", "day", "domain"),
    M.BOUNCED_SOFT: ("hour", "day", "domain"),
    M.COMPLAINED: ("hour", "day", "domain"),
    M.UNSUBSCRIBED: ("hour", "day", "domain"),
    M.OPENED: ("hour", "day", "domain"),  # + client and device
    M.CLICKED: ("hour", "day", "domain"),
    M.OPENS: ("hour", "day"),
    M.CLICKS: ("hour", "day", "link"),
    M.ORDERS: ("day",),
    M.REVENUE: ("day",),
    M.MACHINE_OPENS: ("hour", "day"),
    M.MACHINE_CLICKS: ("hour", "day", "link"),
}


def domain_of(email: str) -> str:
    return email.rpartition("@")[2].lower()


def _keys(send_id: int, metric: str, at: datetime, *, email="", link=None, agent=None):
    at = at.astimezone(UTC)
    keys = {"hour": at.strftime("%Y-%m-%dT%H"), "day": at.strftime("%Y-%m-%d")}
    keys["domain"] = domain_of(email)
    keys["link"] = "" if link is None else str(link)
    out = [(send_id, "total", "", metric)]
    out += [(send_id, dim, keys[dim], metric) for dim in _DIMENSIONS[metric]]
    if agent is not None:
        client, device = machine.mail_client(agent)
        out += [(send_id, "client", client, metric), (send_id, "device", device, metric)]
    return out


def fact_tallies(message: dict, metric: str, at: datetime, sign: int = 1) -> Counter:
    return Counter(
        {key: sign for key in _keys(message["send_id"], metric, at, email=message["email"])}
    )


def order_tallies(send_id: int, at: datetime, revenue) -> Counter:
    """One credited order of a send: its count and its revenue in cents."""
    cents = int((revenue * 100).to_integral_value())
    deltas = Counter(dict.fromkeys(_keys(send_id, M.ORDERS, at), 1))
    deltas.update(dict.fromkeys(_keys(send_id, M.REVENUE, at), cents))
    return deltas


def tallies_add(deltas: Counter) -> None:
    """Add to the tallies in one statement, in key order (no deadlocks between
    concurrent writers). Works on PostgreSQL and SQLite alike."""
    rows = sorted((key, value) for key, value in deltas.items() if value)
    for start in range(0, len(rows), 500):
        chunk = rows[start : start + 500]
        values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(chunk))
        params = [
            part
            for (send, dim, key, metric), value in chunk
            for part in (send, dim, key, metric, value)
        ]
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO tracking_tally (send_id, dimension, key, metric, value) "
                f"VALUES {values} ON CONFLICT (send_id, dimension, key, metric) "
                "DO UPDATE SET value = tracking_tally.value + excluded.value",
                params,
            )


def tallies_of(send_id: int) -> dict[tuple[str, str, str], int]:
    """A send's tallies as {(dimension, key, metric): value}, zeros left out."""
    return {
        (dim, key, metric): value
        for dim, key, metric, value in Tally.objects.filter(send_id=send_id)
        .exclude(value=0)
        .values_list("dimension", "key", "metric", "value")
    }


# --- The flush --------------------------------------------------------------------------

_EVENT_FIELDS = [
    "id", "message_id", "kind", "created_at", "ip", "user_agent", "machine_reason", "link_index",
]  # fmt: skip
_MESSAGE_FIELDS = [
    "id", "send_id", "contact_id", "email", "sent_at", "delivered_at", "opened_at",
    "clicked_at", "opens", "clicks", "machine_opens", "machine_clicks",
]  # fmt: skip


def events_flush(*, limit: int | None = None, settle_seconds: float | None = None) -> int:
    """Apply one batch of buffered opens and clicks; the number applied.
    Events younger than TRACKING_SETTLE_SECONDS wait, so a scanner's burst of
    clicks is judged together."""
    limit = limit or settings.TRACKING_FLUSH_BATCH
    settle = settings.TRACKING_SETTLE_SECONDS if settle_seconds is None else settle_seconds
    cutoff = timezone.now() - timedelta(seconds=settle)
    with transaction.atomic():
        events = list(
            Event.objects.select_for_update(skip_locked=True)
            .filter(applied=False, created_at__lte=cutoff)
            .order_by("id")
            .values(*_EVENT_FIELDS)[:limit]
        )
        if events:
            _apply(events)
    return len(events)


def events_flush_all(*, settle_seconds: float | None = None) -> int:
    total = 0
    while applied := events_flush(settle_seconds=settle_seconds):
        total += applied
    return total


def _apply(events: list[dict]) -> None:
    by_message: dict[int, list[machine.Hit]] = defaultdict(list)
    for event in events:
        if event["message_id"] is not None:
            by_message[event["message_id"]].append(_hit(event))
    messages = {
        row["id"]: row
        for row in Message.objects.select_for_update()
        .filter(pk__in=by_message)
        .order_by("id")
        .values(*_MESSAGE_FIELDS)
    }
    reasons = _classify(by_message, messages)
    deltas: Counter = Counter()
    opened: dict[int, datetime] = {}
    clicked: dict[int, datetime] = {}
    changed: list[Message] = []
    for message_id, hits in by_message.items():
        message = messages.get(message_id)
        if message is None:  # deleted meanwhile, with its events
            continue
        changed.append(_apply_to_message(message, hits, reasons, deltas))
        if message["contact_id"]:
            _engagement(message["contact_id"], hits, reasons, opened, clicked)
    rows_update(
        Message,
        ["opened_at", "clicked_at", "opens", "clicks", "machine_opens", "machine_clicks"],
        changed,
    )
    tallies_add(deltas)
    contacts_record_engagement(opened=opened, clicked=clicked)
    contact_of = {m["id"]: m["contact_id"] for m in messages.values()}
    rows_update(
        Event,
        ["applied", "is_machine", "machine_reason", "contact"],
        [
            Event(
                id=event["id"],
                applied=True,
                is_machine=bool(reasons.get(event["id"])),
                machine_reason=reasons.get(event["id"], ""),
                contact_id=contact_of.get(event["message_id"]),
            )
            for event in events
        ],
    )


def rows_update(model, names: list[str], objects: list, chunk: int = 1000) -> None:
    """Write these fields of many rows, each its own values. On PostgreSQL one
    UPDATE ... FROM (VALUES ...) per chunk; Django's bulk_update builds a CASE
    per row and field, which took seconds per flush batch. SQLite (the
    one-machine default) keeps bulk_update."""
    if connection.vendor != "postgresql":
        model.objects.bulk_update(objects, names, batch_size=500)
        return
    meta = model._meta
    fields = [meta.pk, *(meta.get_field(name) for name in names)]
    columns = [field.column for field in fields]
    row = "(" + ", ".join(f"%s::{field.cast_db_type(connection)}" for field in fields) + ")"
    assignments = ", ".join(f'"{column}" = v."{column}"' for column in columns[1:])
    aliases = ", ".join(f'"{column}"' for column in columns)
    for start in range(0, len(objects), chunk):
        part = objects[start : start + chunk]
        params = [field.get_db_prep_save(getattr(obj, field.attname), connection)
                  for obj in part for field in fields]  # fmt: skip
        with connection.cursor() as cursor:
            cursor.execute(
                f'UPDATE "{meta.db_table}" AS t SET {assignments} '
                f"FROM (VALUES {', '.join([row] * len(part))}) AS v({aliases}) "
                f'WHERE t."{meta.pk.column}" = v."{meta.pk.column}"',
                params,
            )


def _hit(event: dict) -> machine.Hit:
    return machine.Hit(
        id=event["id"],
        kind=event["kind"],
        at=event["created_at"],
        ip=event["ip"],
        user_agent=event["user_agent"],
        link_index=event["link_index"],
        reason=event["machine_reason"],
    )


def _classify(by_message: dict[int, list[machine.Hit]], messages: dict[int, dict]) -> dict:
    """{event id: machine reason} for every machine hit of the batch."""
    networks = machine.machine_networks()
    sends = {message["send_id"] for message in messages.values()}
    links: dict[int, tuple[int | None, int]] = defaultdict(lambda: (None, 0))
    for send_id, index, is_honeypot in Link.objects.filter(send_id__in=sends).values_list(
        "send_id", "index", "is_honeypot"
    ):
        honeypot, count = links[send_id]
        links[send_id] = (index if is_honeypot else honeypot, count + 1)
    earlier = _earlier_clicks(by_message)
    reasons: dict[int, str] = {}
    for message_id, hits in by_message.items():
        message = messages.get(message_id)
        if message is None:
            continue
        delivered_at = message["delivered_at"] or message["sent_at"]
        for hit in hits:
            if reason := machine.hit_reason(hit, delivered_at=delivered_at, networks=networks):
                reasons[hit.id] = reason
        honeypot, link_count = links[message["send_id"]]
        clicks = [hit for hit in hits if hit.kind == Event.Kind.CLICKED]
        if clicks:
            burst = machine.burst_reasons(
                clicks + earlier.get(message_id, []), honeypot=honeypot, link_count=link_count
            )
            for hit in clicks:
                if hit.id in burst:
                    reasons.setdefault(hit.id, burst[hit.id])
    return reasons


def _earlier_clicks(by_message: dict[int, list[machine.Hit]]) -> dict[int, list[machine.Hit]]:
    """Clicks applied in earlier batches close to this batch's: a burst may
    straddle two flushes."""
    click_times = [h.at for hits in by_message.values() for h in hits if h.kind == "clicked"]
    if not click_times:
        return {}
    window = timedelta(seconds=settings.TRACKING_BURST_SECONDS)
    rows = Event.objects.filter(
        message_id__in=by_message,
        kind=Event.Kind.CLICKED,
        applied=True,
        created_at__gte=min(click_times) - window,
    ).values(*_EVENT_FIELDS)
    earlier: dict[int, list[machine.Hit]] = defaultdict(list)
    for row in rows:
        earlier[row["message_id"]].append(_hit(row))
    return earlier


def _apply_to_message(message: dict, hits, reasons: dict, deltas: Counter) -> Message:
    send_id, email = message["send_id"], message["email"]
    human = sorted((h for h in hits if not reasons.get(h.id)), key=lambda h: (h.at, h.id))
    for hit in hits:
        machine_hit = bool(reasons.get(hit.id))
        is_open = hit.kind == Event.Kind.OPENED
        metric = {
            (True, False): M.OPENS,
            (False, False): M.CLICKS,
            (True, True): M.MACHINE_OPENS,
            (False, True): M.MACHINE_CLICKS,
        }[is_open, machine_hit]
        message[metric] += 1
        deltas.update(_keys(send_id, metric, hit.at, link=hit.link_index))
    if human and message["opened_at"] is None:
        # A person's click counts as an open: the first human hit opens the mail.
        first = human[0]
        message["opened_at"] = first.at
        deltas.update(_keys(send_id, M.OPENED, first.at, email=email, agent=first.user_agent))
    human_clicks = [h for h in human if h.kind == Event.Kind.CLICKED]
    if human_clicks and message["clicked_at"] is None:
        message["clicked_at"] = human_clicks[0].at
        deltas.update(_keys(send_id, M.CLICKED, human_clicks[0].at, email=email))
    return Message(
        id=message["id"],
        **{f: message[f] for f in ("opened_at", "clicked_at", "opens", "clicks")},
        machine_opens=message["machine_opens"],
        machine_clicks=message["machine_clicks"],
    )


def _engagement(contact_id: int, hits, reasons: dict, opened: dict, clicked: dict) -> None:
    """The contact's latest human open (a click counts) and click."""
    for hit in hits:
        if reasons.get(hit.id):
            continue
        if hit.at > opened.get(contact_id, hit.at - timedelta(1)):
            opened[contact_id] = hit.at
        is_later_click = hit.at > clicked.get(contact_id, hit.at - timedelta(1))
        if hit.kind == Event.Kind.CLICKED and is_later_click:
            clicked[contact_id] = hit.at


# --- Facts from the ESP -----------------------------------------------------------------

_FACT_FIELDS = [
    "id", "send_id", "contact_id", "email", "delivered_at", "bounced_at", "bounce_type",
    "complained_at", "unsubscribed_at",
]  # fmt: skip


def message_fact_apply(
    *, message_id: int, kind: str, at: datetime, bounce_type: str = "", reason: str = ""
) -> dict | None:
    """Write one ESP fact on a message (delivered, bounced, complained,
    unsubscribed) and its tallies. Idempotent, and order-proof: a bounce
    wins over a delivery whichever comes first, a hard bounce over a soft
    one. The message's facts before the change, or None if nothing changed."""
    with transaction.atomic():
        message = (
            Message.objects.select_for_update().filter(pk=message_id).values(*_FACT_FIELDS).first()
        )
        if message is None:
            return None
        fields, deltas = _fact_changes(message, kind, at, bounce_type, reason)
        if not fields:
            return None
        Message.objects.filter(pk=message_id).update(**fields)
        tallies_add(deltas)
        return message


def _fact_changes(message: dict, kind: str, at, bounce_type: str, reason: str):
    fields: dict = {}
    deltas: Counter = Counter()
    if kind == Event.Kind.DELIVERED:
        if message["delivered_at"] is None and message["bounced_at"] is None:
            fields["delivered_at"] = at
            deltas += fact_tallies(message, M.DELIVERED, at)
    elif kind == Event.Kind.BOUNCED:
        old = message["bounce_type"]
        if message["bounced_at"] is None or (old == "soft" and bounce_type == "hard"):
            if old:
                deltas.update(fact_tallies(message, f"bounced_{old}", message["bounced_at"], -1))
            fields.update(bounced_at=at, bounce_type=bounce_type, bounce_reason=reason[:300])
            deltas.update(fact_tallies(message, f"bounced_{bounce_type}", at))
            if message["delivered_at"] is not None:
                fields["delivered_at"] = None
                deltas.update(fact_tallies(message, M.DELIVERED, message["delivered_at"], -1))
    elif kind in (Event.Kind.COMPLAINED, Event.Kind.UNSUBSCRIBED):
        if kind == Event.Kind.COMPLAINED and message["complained_at"] is None:
            fields["complained_at"] = at
            deltas.update(fact_tallies(message, M.COMPLAINED, at))
        if message["unsubscribed_at"] is None:
            fields["unsubscribed_at"] = at
            deltas.update(fact_tallies(message, M.UNSUBSCRIBED, at))
    return fields, deltas


# --- Rebuilding -------------------------------------------------------------------------


def tally_rebuild(send_id: int) -> dict[tuple[str, str, str], int]:
    """A send's tallies recomputed from its messages' facts and its applied
    events, as {(dimension, key, metric): value}; writes nothing."""
    counts: Counter = Counter()
    messages = Message.objects.filter(send_id=send_id).values(
        "id", "send_id", "email", "delivered_at", "bounced_at", "bounce_type",
        "complained_at", "unsubscribed_at", "opened_at", "clicked_at",
    )  # fmt: skip
    first_agent = _first_human_agents(send_id)
    for message in messages:
        facts = [
            (M.DELIVERED, message["delivered_at"]),
            (f"bounced_{message['bounce_type'] or 'hard'}", message["bounced_at"]),
            (M.COMPLAINED, message["complained_at"]),
            (M.UNSUBSCRIBED, message["unsubscribed_at"]),
            (M.CLICKED, message["clicked_at"]),
        ]
        for metric, at in facts:
            if at is not None:
                counts.update(_keys(send_id, metric, at, email=message["email"]))
        if message["opened_at"] is not None:
            agent = first_agent.get(message["id"], "")
            counts.update(
                _keys(send_id, M.OPENED, message["opened_at"], email=message["email"], agent=agent)
            )
    hits = Event.objects.filter(
        message__send_id=send_id, applied=True, kind__in=[Event.Kind.OPENED, Event.Kind.CLICKED]
    ).values_list("kind", "is_machine", "created_at", "link_index")
    for kind, is_machine, at, link in hits:
        metric = {
            ("opened", False): M.OPENS,
            ("clicked", False): M.CLICKS,
            ("opened", True): M.MACHINE_OPENS,
            ("clicked", True): M.MACHINE_CLICKS,
        }[kind, is_machine]
        counts.update(_keys(send_id, metric, at, link=link))
    credited = Attribution.objects.filter(send_id=send_id).values_list(
        "revenue", "order__placed_at"
    )
    for revenue, at in credited:
        counts.update(order_tallies(send_id, at, revenue))
    return {(dim, key, metric): value for (_s, dim, key, metric), value in counts.items() if value}


def _first_human_agents(send_id: int) -> dict[int, str]:
    """The agent of the human hit that opened each message (at its opened_at)."""
    agents: dict[int, str] = {}
    rows = (
        Event.objects.filter(
            message__send_id=send_id,
            message__opened_at__isnull=False,
            applied=True,
            is_machine=False,
            kind__in=[Event.Kind.OPENED, Event.Kind.CLICKED],
        )
        .order_by("created_at", "id")
        .values_list("message_id", "user_agent", "created_at", "message__opened_at")
    )
    for message_id, agent, at, opened_at in rows:
        if at == opened_at:
            agents.setdefault(message_id, agent)
    return agents


@transaction.atomic
def tallies_repair(*, send_id: int) -> None:
    """Replace a send's tallies with rebuilt ones (after a fault or a fix)."""
    Tally.objects.filter(send_id=send_id).delete()
    tallies_add(
        Counter(
            {
                (send_id, dim, key, metric): v
                for (dim, key, metric), v in tally_rebuild(send_id).items()
            }
        )
    )
