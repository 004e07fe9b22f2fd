"""What happens when a recipient opens, clicks, unsubscribes or reads a mail
in the browser.

Opens and clicks are written as unapplied events, one INSERT each (the event
table is the durable buffer); tracking.facts applies them in bulk. An
unsubscribe is rare and must hold at once: it is applied here, in one
transaction.
"""

import logging
from collections import OrderedDict
from datetime import datetime

from django.conf import settings
from django.db import (
    DatabaseError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    connection,
    transaction,
)
from django.utils import timezone

from campaigns.assembly import prepared_mail_for
from campaigns.models import Link, Message
from campaigns.rendering import TrackedUrls, personalise
from contacts.services import contact_unsubscribe
from tracking import facts
from tracking.models import Event, Tally

logger = logging.getLogger(__name__)

RECORDED = "recorded"
CAPPED = "capped"  # the message already has its share of events of this kind
UNKNOWN_MESSAGE = "unknown"
FAILED = "failed"

_ASYNC_COMMIT = "SET LOCAL synchronous_commit TO OFF; "

NO_LINK = object()  # the token names no link of that send

HIT_SQL = """
INSERT INTO tracking_event
    (message_id, kind, created_at, ip, user_agent, url, is_machine, machine_reason,
     applied, link_index, esp_event_key)
SELECT %s, %s, %s, %s, %s, %s, %s, %s, FALSE, %s, ''
WHERE (
    SELECT count(*) FROM (
        SELECT 1 FROM tracking_event WHERE message_id = %s AND kind = %s LIMIT %s
    ) AS earlier
) < %s
"""


def client_ip(meta: dict) -> str | None:
    """The client's address: REMOTE_ADDR, or behind AXES_PROXY_COUNT proxies
    the address the nearest one saw in X-Forwarded-For."""
    proxies = getattr(settings, "AXES_IPWARE_PROXY_COUNT", None)
    forwarded = meta.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if len(hops) >= proxies:
            return hops[-proxies] or None
    return meta.get("REMOTE_ADDR") or None


def hit_params(
    *,
    message_id: int,
    kind: str,
    ip: str | None,
    user_agent: str,
    reason: str = "",
    link_index: int | None = None,
    url: str = "",
    at: datetime | None = None,
) -> list:
    """The parameters of HIT_SQL for one open or click."""
    cap = settings.TRACKING_MAX_HITS_PER_MESSAGE
    return [
        message_id, kind, at or timezone.now(), ip, user_agent[:500], url[:2000], bool(reason),
        reason, link_index, message_id, kind, cap, cap,
    ]  # fmt: skip


def hit_record(
    *,
    message_id: int,
    kind: str,
    ip: str | None,
    user_agent: str,
    reason: str = "",
    link_index: int | None = None,
    url: str = "",
    at: datetime | None = None,
) -> str:
    """Append one open or click to the buffer. One statement; never raises.
    A message keeps at most TRACKING_MAX_HITS_PER_MESSAGE events of a kind
    (replayed pixels stop there)."""
    params = hit_params(
        message_id=message_id, kind=kind, ip=ip, user_agent=user_agent, reason=reason,
        link_index=link_index, url=url, at=at,
    )  # fmt: skip
    # One round trip, one implicit transaction: with TRACKING_ASYNC_COMMIT its
    # commit does not wait for the disk (see the README).
    asynchronous = settings.TRACKING_ASYNC_COMMIT and connection.vendor == "postgresql"
    sql = _ASYNC_COMMIT + HIT_SQL if asynchronous else HIT_SQL
    # Django's health check would ping the database before each request's
    # first query: a second round trip for every hit. Skip it, and instead
    # retry once on a fresh connection when the kept one turns out dead.
    for attempt in (1, 2):
        connection.health_check_done = True
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                if asynchronous:
                    cursor.nextset()
                return RECORDED if cursor.rowcount else CAPPED
        except IntegrityError:  # no such message (the token outlived it)
            return UNKNOWN_MESSAGE
        except (InterfaceError, OperationalError) as error:
            connection.close()
            if attempt == 2:
                logger.warning("Could not record a %s of message %s: %s", kind, message_id, error)
        except (DatabaseError, ValueError) as error:
            logger.warning("Could not record a %s of message %s: %s", kind, message_id, error)
            break
    return FAILED


class _LinkCache:
    """(send, link index) -> URL, per process: a send's links never change
    once it started, and every recipient of a send clicks the same few."""

    def __init__(self, size: int):
        self.size = size
        self.urls: OrderedDict[tuple[int, int], str] = OrderedDict()

    def get(self, key):
        url = self.urls.get(key)
        if url is not None:
            self.urls.move_to_end(key)
        return url

    def put(self, key, url: str) -> None:
        self.urls[key] = url
        if len(self.urls) > self.size:
            self.urls.popitem(last=False)


link_cache = _LinkCache(50_000)


def landing_url(url: str, token: str) -> str:
    """Where a click lands: the recorded URL with the click's token added
    (CLICK_TOKEN_PARAM), for the shop to pass back with an order
    (order.click_token) so the order is credited to this very mail."""
    name = settings.CLICK_TOKEN_PARAM
    if not name or not url.startswith(("http://", "https://")):
        return url
    base, hash_mark, fragment = url.partition("#")
    joiner = "&" if "?" in base else "?"
    return f"{base}{joiner}{name}={token}{hash_mark}{fragment}"


def link_of(*, message_id: int, send_id: int, link_index: int):
    """The URL a click token leads to: a str, NO_LINK when the token names no
    link, or None when the database cannot be read and the URL is not cached."""
    if send_id:
        url = link_cache.get((send_id, link_index))
        if url is not None:
            return url
    links = Link.objects.filter(index=link_index)
    links = links.filter(send_id=send_id) if send_id else links.filter(send__messages=message_id)
    try:
        url = links.values_list("url", flat=True).first()
    except DatabaseError as error:
        logger.warning("Could not read link %s of send %s: %s", link_index, send_id, error)
        return None
    if url is None:
        return NO_LINK
    if send_id:
        link_cache.put((send_id, link_index), url)
    return url


def message_record_open(*, message_id: int, ip: str | None, user_agent: str) -> bool:
    """Record one open and apply it at once (tools, imports, tests); the
    endpoint only buffers. Classified like any hit."""
    outcome = hit_record(message_id=message_id, kind="opened", ip=ip, user_agent=user_agent)
    facts.events_flush_all(settle_seconds=0)
    return outcome == RECORDED


def message_record_click(
    *, message_id: int, link_index: int, ip: str | None, user_agent: str
) -> str | None:
    """Record one click and apply it at once; the link's URL, or None."""
    url = link_of(message_id=message_id, send_id=0, link_index=link_index)
    if not isinstance(url, str):
        return None
    hit_record(
        message_id=message_id, kind="clicked", ip=ip, user_agent=user_agent,
        link_index=link_index, url=url,
    )  # fmt: skip
    facts.events_flush_all(settle_seconds=0)
    return url


@transaction.atomic
def message_unsubscribe(*, message_id: int, ip: str | None, user_agent: str) -> bool:
    """Unsubscribe the message's contact; one event however often it is asked."""
    message = (
        Message.objects.select_for_update()
        .filter(pk=message_id)
        .values("id", "send_id", "contact_id", "email", "unsubscribed_at")
        .first()
    )
    if message is None:
        return False
    now = timezone.now()
    changed = bool(message["contact_id"]) and contact_unsubscribe(contact_id=message["contact_id"])
    if message["unsubscribed_at"] is None:
        Message.objects.filter(pk=message_id).update(unsubscribed_at=now)
        facts.tallies_add(facts.fact_tallies(message, Tally.Metric.UNSUBSCRIBED, now))
    if changed or message["unsubscribed_at"] is None:
        Event.objects.create(
            message_id=message_id,
            contact_id=message["contact_id"],
            kind=Event.Kind.UNSUBSCRIBED,
            ip=ip,
            user_agent=user_agent[:500],
        )
    return True


def message_web_view(*, message_id: int) -> str | None:
    """The recipient's own copy of a sent mail as HTML, with their merge
    values and tracked links, or None when there is none to show."""
    message = (
        Message.objects.filter(
            pk=message_id, status__in=[Message.Status.SENT, Message.Status.IN_DOUBT]
        )
        .select_related("contact", "send")
        .first()
    )
    if message is None or message.contact is None or not message.send.content:
        return None
    prepared = prepared_mail_for(message.send_id)
    urls = TrackedUrls(message.pk, message.send_id)
    return personalise(prepared.content, prepared.values(message), urls).html
