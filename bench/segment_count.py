"""How long the live count of a three-rule segment takes over a big list,
against a plain count of the same contacts.

    .venv/bin/python bench/segment_count.py [N=1000000] [--messages M=5000000]

Loads N contacts (with engagement, orders and statuses spread over them) and
M messages of earlier marketing sends (M / N sends, every contact in each,
a fifth of them opened), VACUUM ANALYZEd as autovacuum would leave them.

Product: contacts.segments.segment_count of the segment "subscribed, opened
in the last 30 days, spent more than 50" (all three rules), the count the
segment builder shows as the rules change: one SQL query.

Baseline: SELECT count(*) FROM contacts_contact, in the same run.

Also timed, for reference only: a segment with a rule that reads the
messages ("opened in one of the last 3 campaigns").

Each count runs once to warm the cache, then 5 times; the median is taken.

Ends with: RESULT segment_count <ms> ms ratio <segment/plain count> to plain_count
"""

import argparse
import os
import shutil
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness

TARGET_MS = 1000
RUNS = 5
SEGMENT = {
    "match": "all",
    "rules": [
        {"field": "status", "op": "eq", "value": "subscribed"},
        {"field": "opened", "op": "in_last_days", "value": 30},
        {"field": "total_spent", "op": "gt", "value": "50"},
    ],
}
CAMPAIGN_SEGMENT = {
    "match": "all",
    "rules": [
        {"field": "status", "op": "eq", "value": "subscribed"},
        {"field": "opened", "op": "in_last_campaigns", "value": 3},
        {"field": "order_count", "op": "gte", "value": 1},
    ],
}


def status_of(i: int) -> str:
    r = i % 100
    return "unsubscribed" if r < 3 else "bounced" if r < 4 else "subscribed"


def load(count: int, messages: int) -> dict:
    from django.utils import timezone

    from campaigns.models import Campaign, Message, Send
    from contacts.models import Contact

    now = timezone.now()
    contacts = harness.CopyRows(
        Contact, ["email", "status", "last_opened_at", "order_count", "total_spent"]
    )
    # A third opened at some point in the last 90 days; order counts 0..5.
    opened = [(now - timedelta(days=d, hours=3)).isoformat() for d in range(90)]
    lines = "".join(
        f"c{i}@example.com\t{status_of(i)}\t{opened[i % 90] if i % 3 == 0 else chr(92) + 'N'}"
        f"\t{i % 6}\t{(i % 6) * 17.5:.2f}{contacts.tail}"
        for i in range(count)
    ).encode()
    with harness.raw_connection() as db:
        contacts.copy(db, lines)
        del lines
        first, last = db.execute("SELECT MIN(id), MAX(id) FROM contacts_contact").fetchone()
        campaign = Campaign.objects.create(
            name="Earlier", subject="Earlier", from_name="Shop", from_email="news@example.com",
            body="<p>Earlier</p>", status=Campaign.Status.SENT,
        )  # fmt: skip
        rows = harness.CopyRows(
            Message,
            ["send_id", "contact_id", "email", "status", "created_at", "sent_at", "opened_at"],
        )
        sends = max(1, messages // count)
        for n in range(sends):
            when = now - timedelta(days=7 * (sends - n))
            send = Send.objects.create(campaign=campaign, is_marketing=True, status="done")
            Send.objects.filter(pk=send.pk).update(created_at=when)
            at = when.isoformat()
            seen = (when + timedelta(hours=5)).isoformat()
            data = "".join(
                f"{send.pk}\t{first + i}\tc{i}@example.com\tsent\t{at}\t{at}"
                f"\t{seen if (i + n) % 5 == 0 else chr(92) + 'N'}{rows.tail}"
                for i in range(count)
            ).encode()
            rows.copy(db, data)
            del data
        for table in ("contacts_contact", "campaigns_message", "campaigns_send"):
            db.execute(f"VACUUM ANALYZE {table}")
    return {"contacts": last - first + 1, "messages": sends * count}


def timed(function) -> tuple[float, object]:
    """Median milliseconds of RUNS runs after one warm-up, and the result."""
    result = function()
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        result = function()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def plain_count() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM contacts_contact")
        return cursor.fetchone()[0]


def explain(rules: dict) -> list[str]:
    from django.db import connection

    from contacts.segments import segment_contacts

    sql, params = segment_contacts(rules=rules).order_by().values("id").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) SELECT count(*) FROM ({sql}) s", params)
        return [row[0] for row in cursor.fetchall()]


def run(count: int, messages: int, show_plan: bool) -> dict:
    from contacts.segments import segment_count, segment_rules_clean

    started = time.perf_counter()
    loaded = load(count, messages)
    print(
        f"database {harness.database_name()}: {loaded['contacts']:,} contacts, "
        f"{loaded['messages']:,} messages; loaded in {time.perf_counter() - started:.1f} s",
        flush=True,
    )
    rules = segment_rules_clean(SEGMENT)
    campaign_rules = segment_rules_clean(CAMPAIGN_SEGMENT)
    baseline_ms, total = timed(plain_count)
    segment_ms, matched = timed(lambda: segment_count(rules=rules))
    campaign_ms, campaign_matched = timed(lambda: segment_count(rules=campaign_rules))
    print()
    print(
        harness.table(
            [
                ("SELECT count(*) FROM contacts_contact (baseline)", total, baseline_ms),
                ("segment: subscribed, opened in 30 days, spent > 50", matched, segment_ms),
                (
                    "  for reference: ... opened in one of the last 3 campaigns, ordered",
                    campaign_matched,
                    campaign_ms,
                ),
            ],
            ("count", "contacts", "ms (median of 5)"),
        )
    )
    if show_plan or segment_ms > TARGET_MS:
        print("\n".join(["", "EXPLAIN ANALYZE of the segment's count:", *explain(rules)]))
    if show_plan:
        plan = explain(campaign_rules)
        print("\n".join(["", "EXPLAIN ANALYZE of the reference segment's count:", *plan]))
    return {"segment_ms": segment_ms, "baseline_ms": baseline_ms, "ok": segment_ms < TARGET_MS}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("count", nargs="?", type=int, default=1_000_000, help="contacts (N)")
    parser.add_argument("--messages", type=int, default=5_000_000, help="messages (M)")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the count")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()

    harness.environment()
    database = harness.database_recreate()
    try:
        harness.migrate()
        harness.django_setup()
        result = run(args.count, args.messages, args.explain)
    finally:
        if not args.keep:
            harness.database_drop(database)
        shutil.rmtree(os.environ["VAR_DIR"], ignore_errors=True)
    ratio = result["segment_ms"] / result["baseline_ms"]
    print()
    print(harness.result_line("segment_count", result["segment_ms"], "ms", ratio, "plain_count"))
    if not result["ok"]:
        print(f"slower than the target of {TARGET_MS} ms")
        sys.exit(1)


if __name__ == "__main__":
    main()
