"""Sending limits shared by every worker process on every machine.

Each limit is one ThrottleBucket row, changed in a short transaction that
locks the row (SELECT ... FOR UPDATE on PostgreSQL; SQLite's IMMEDIATE
transactions serialise writers the same way). Nothing here sleeps: a caller
told to wait releases every lock first, then sleeps or comes back later.
Call these outside a transaction of your own, or the locks last as long as it.

- per second (SEND_RATE_PER_SECOND): a token bucket, refilled continuously;
- per hour (SEND_RATE_PER_HOUR): a count per fixed clock hour (UTC), which is
  simpler than a rolling window and cannot be exceeded within a clock hour,
  though up to twice the limit may go in the 60 minutes around a boundary;
- per month (SEND_MONTHLY_QUOTA): a count per calendar month (UTC), the mails
  the shop's plan allows; used up, the send pauses instead of waiting;
- per recipient domain (SEND_DOMAIN_RATES): one token bucket per domain.

Times are epoch seconds from the caller's clock; `now` is injectable for tests.
A machine whose clock lags never moves a bucket back in time, it only gets no
refill until it catches up.
"""

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import transaction

from campaigns.models import ThrottleBucket

SECOND_KEY = "rate:second"
HOUR_KEY = "rate:hour"
MONTH_KEY = "quota:month"
DOMAIN_KEY_PREFIX = "domain:"
_FIELDS = ["tokens", "refilled_at", "period_start", "period_count"]
# Epoch seconds as floats are only exact to ~0.2 us, so a refill may land a hair
# under a whole token: count that as whole, and never ask for a wait so short
# that now + wait == now (the caller would spin).
_EPSILON = 1e-6
_MIN_WAIT = 0.001


@dataclass(frozen=True)
class Grant:
    """How many messages may go now; else how long until one may, or that the
    month's quota is used up (the send should pause, not wait)."""

    granted: int
    wait: float
    quota_exhausted: bool


def throttle_acquire(*, want: int, now: float | None = None) -> Grant:
    """Take up to `want` messages from every configured limit at once, so a
    chunk goes out only as far as all of them allow; partial grants are normal."""
    keys = _limit_keys()
    if not keys or want <= 0:
        return Grant(max(want, 0), 0.0, False)  # the fast path: no query at all
    now = time.time() if now is None else now
    with transaction.atomic():
        buckets = _locked(keys)
        for bucket in buckets.values():
            _catch_up(bucket, now)
        grant = _grant(buckets, want, now)
        if grant.granted:  # else nothing to write: refills and resets are lazy
            for bucket in buckets.values():
                _consume(bucket, grant.granted)
            ThrottleBucket.objects.bulk_update(buckets.values(), _FIELDS)
    return grant


def throttle_return(*, count: int, now: float | None = None) -> None:
    """Give back what was granted but never handed over (the chunk met an
    error), so the hour and month counts stay the mails that really left.
    A return that crosses into a new hour or month lowers the new count."""
    keys = _limit_keys()
    if not keys or count <= 0:
        return
    now = time.time() if now is None else now
    with transaction.atomic():
        buckets = _locked(keys)
        for bucket in buckets.values():
            _catch_up(bucket, now)
            _consume(bucket, -count)
        ThrottleBucket.objects.bulk_update(buckets.values(), _FIELDS)


def throttle_domain_wait(*, domain: str, now: float | None = None) -> float:
    """For a domain with its own limit (big mailbox providers throttle senders
    that go too fast), take one token and return 0, or return the seconds until
    one is there, taking nothing. Other domains: 0, without a query."""
    domain = domain.lower()
    rate = settings.SEND_DOMAIN_RATES.get(domain)
    if not rate:
        return 0.0
    now = time.time() if now is None else now
    key = DOMAIN_KEY_PREFIX + domain
    with transaction.atomic():
        bucket = _locked([key])[key]
        _refill(bucket, rate, now)
        if bucket.tokens + _EPSILON < 1:
            return max((1 - bucket.tokens) / rate, _MIN_WAIT)
        bucket.tokens -= 1
        bucket.save(update_fields=["tokens", "refilled_at"])
    return 0.0


def quota_remaining(*, now: float | None = None) -> int | None:
    """Mails left this calendar month (UTC), for the send page; None when the
    plan has no quota. A read without a lock: it is for display only."""
    quota = settings.SEND_MONTHLY_QUOTA
    if not quota:
        return None
    now = time.time() if now is None else now
    month = ThrottleBucket.objects.filter(key=MONTH_KEY)
    used = month.values("period_start", "period_count").first()
    if used is None or not used["period_start"] or used["period_start"] < _month_start(now):
        return quota  # nothing sent yet this month
    return max(quota - used["period_count"], 0)


def _limit_keys() -> list[str]:
    """The buckets of the limits configured now, in one fixed order so that
    every transaction locks them in the same order (no deadlocks)."""
    configured = {
        SECOND_KEY: settings.SEND_RATE_PER_SECOND,
        HOUR_KEY: settings.SEND_RATE_PER_HOUR,
        MONTH_KEY: settings.SEND_MONTHLY_QUOTA,
    }
    return sorted(key for key, limit in configured.items() if limit)


def _locked(keys: list[str]) -> dict[str, ThrottleBucket]:
    """Lock the buckets' rows, creating the missing ones first. A new row's
    zero `refilled_at` makes its first refill fill it up."""
    buckets = _select_for_update(keys)
    if len(buckets) < len(keys):
        # ON CONFLICT DO NOTHING: a worker creating the same row at the same
        # moment makes this wait for it, then do nothing.
        missing = [ThrottleBucket(key=key) for key in keys if key not in buckets]
        ThrottleBucket.objects.bulk_create(missing, ignore_conflicts=True)
        buckets = _select_for_update(keys)
    return buckets


def _select_for_update(keys: list[str]) -> dict[str, ThrottleBucket]:
    rows = ThrottleBucket.objects.select_for_update().filter(key__in=keys).order_by("key")
    return {bucket.key: bucket for bucket in rows}


def _capacity(rate: float) -> float:
    """A burst of a tenth of a second's worth (at least one message): over any
    10 s no more than capacity + 10 R go, i.e. within 10% of the rate."""
    return max(1.0, rate / 10)


def _refill(bucket: ThrottleBucket, rate: float, now: float) -> None:
    elapsed = max(now - bucket.refilled_at, 0.0)
    bucket.tokens = min(_capacity(rate), bucket.tokens + elapsed * rate)
    bucket.refilled_at = max(bucket.refilled_at, now)


def _catch_up(bucket: ThrottleBucket, now: float) -> None:
    """Bring a bucket to `now`: refill tokens, or start a new hour or month."""
    if bucket.key == SECOND_KEY:
        _refill(bucket, settings.SEND_RATE_PER_SECOND, now)
        return
    start = _hour_start(now) if bucket.key == HOUR_KEY else _month_start(now)
    if bucket.period_start is None or start > bucket.period_start:
        bucket.period_start = start
        bucket.period_count = 0


def _grant(buckets: dict[str, ThrottleBucket], want: int, now: float) -> Grant:
    """The most every bucket allows; with none, the longest of their waits."""
    room, waits = want, [_MIN_WAIT]
    if second := buckets.get(SECOND_KEY):
        rate = settings.SEND_RATE_PER_SECOND
        room = min(room, math.floor(second.tokens + _EPSILON))
        waits.append(max(1 - second.tokens, 0.0) / rate)
    if hour := buckets.get(HOUR_KEY):
        room = min(room, max(settings.SEND_RATE_PER_HOUR - hour.period_count, 0))
        if hour.period_count >= settings.SEND_RATE_PER_HOUR:
            waits.append((hour.period_start + timedelta(hours=1)).timestamp() - now)
    if month := buckets.get(MONTH_KEY):
        if month.period_count >= settings.SEND_MONTHLY_QUOTA:
            next_month = _month_start(_month_start(now).timestamp() + 32 * 86400)
            return Grant(0, next_month.timestamp() - now, True)
        room = min(room, settings.SEND_MONTHLY_QUOTA - month.period_count)
    if room > 0:
        return Grant(room, 0.0, False)
    return Grant(0, max(waits), False)


def _consume(bucket: ThrottleBucket, count: int) -> None:
    """Take `count` (or give it back when negative) from one bucket."""
    if bucket.key == SECOND_KEY:
        capacity = _capacity(settings.SEND_RATE_PER_SECOND)
        bucket.tokens = min(bucket.tokens - count, capacity)
    else:
        bucket.period_count = max(bucket.period_count + count, 0)


def _hour_start(now: float) -> datetime:
    return datetime.fromtimestamp(now, UTC).replace(minute=0, second=0, microsecond=0)


def _month_start(now: float) -> datetime:
    return _hour_start(now).replace(day=1, hour=0)
