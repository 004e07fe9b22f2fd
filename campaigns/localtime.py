"""Wall-clock times in time zones: when 09:00 is for each recipient, and when
next week's 09:00 is, across daylight-saving changes (zoneinfo does the work)."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones


def zone(name: str) -> ZoneInfo:
    """The zone of that name; UTC for an unknown or empty one."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def is_known_zone(name: str) -> bool:
    return name in _zone_names()


def _zone_names() -> set[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = available_timezones() | {"UTC"}
    return _ZONES


_ZONES: set[str] | None = None


def local_to_utc(day: date, at: time, zone_name: str) -> datetime:
    """The moment the clocks of `zone_name` show `day` `at`. A time skipped by
    a spring-forward change counts as the one an hour later."""
    return datetime.combine(day, at, tzinfo=zone(zone_name)).astimezone(UTC)


def due_sql(
    day: date, at: time, zone_names: list[str], delay: timedelta = timedelta()
) -> tuple[str, list]:
    """SQL over `a.time_zone` giving each recipient's due time: the wall-clock
    time in their own zone (UTC for a zone not listed), plus `delay`."""
    zone_names = sorted(set(zone_names) - {""})
    if not zone_names:
        return "%s", [local_to_utc(day, at, "UTC") + delay]
    whens = " ".join("WHEN %s THEN %s" for _ in zone_names)
    params: list = []
    for name in zone_names:
        params += [name, local_to_utc(day, at, name) + delay]
    return f"CASE a.time_zone {whens} ELSE %s END", [*params, local_to_utc(day, at, "UTC") + delay]


def earliest_local(day: date, at: time, zone_names: list[str]) -> datetime:
    """When the first of these zones reaches `day` `at`."""
    return min(local_to_utc(day, at, name) for name in [*zone_names, "UTC"])


def next_weekly(first: date, at: time, zone_name: str, after: datetime) -> datetime:
    """The first weekly run (same weekday as `first`, same wall-clock time in
    `zone_name`) that is later than `after`, and not before `first`."""
    local_after = after.astimezone(zone(zone_name)).date()
    day = max(first, local_after - timedelta(days=7))
    day += timedelta(days=(first.weekday() - day.weekday()) % 7)
    while (moment := local_to_utc(day, at, zone_name)) <= after:
        day += timedelta(days=7)
    return moment
