"""Reports at a million mails: the campaign report page, its progress poll
and the dashboard, warm, against the plain count(distinct) over the events.

Builds, with generate_series on PostgreSQL, one finished send of N messages
(default 1,000,000) with their facts and 10 x N events, and the tallies the
flush would have kept (SQL aggregates once at set-up). Then it times each
page through Django's test client (median of 5 warm runs) with its query
count, and the plain `count(DISTINCT message_id)` per kind over the same
events joined to the send's messages.

Ends with: RESULT report_scale <slowest page ms> ms ratio <slowest/count_distinct> to count_distinct
"""

import argparse
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

RUNS = 5


def load(messages: int) -> dict:
    from django.contrib.auth import get_user_model

    from campaigns.models import Campaign, Link, Send
    from contacts.models import Group

    user = get_user_model().objects.create_superuser("bench", "bench@example.com", "bench-pass")
    group = Group.objects.create(name="Everyone")
    campaign = Campaign.objects.create(
        name="Black Friday", subject='Deals for you, {{ contact.first_name|default:"friend" }}',
        from_name="Shop", from_email="news@shop.example.com", body="<p>Hi</p>",
        status=Campaign.Status.SENT,
    )  # fmt: skip
    campaign.groups.add(group)
    send = Send.objects.create(campaign=campaign, status=Send.Status.DONE)
    for index in range(10):
        Link.objects.create(send=send, index=index, url=f"https://shop.example.com/p/{index}")
    with harness.raw_connection() as db:
        db.execute(
            "UPDATE campaigns_send SET started_at = now() - interval '3 days', "
            "finished_at = now() - interval '3 days' + interval '2 hours' WHERE id = %s",
            [send.pk],
        )
        db.execute(
            "INSERT INTO contacts_contact (email, first_name, last_name, locale, time_zone, "
            "attributes, status, consent_source, mail_frequency, created_at, updated_at) "
            "SELECT 'c' || i || '@example.com', 'C' || i, '', 'en', 'UTC', '{}', 'subscribed', '', "
            "'', now() - (i % 30) * interval '1 day', now() FROM generate_series(1, 100000) i"
        )
        # Every 10th mail was opened, every 40th clicked, every 200th
        # bounced, every 500th unsubscribed, every 2,000th complained.
        db.execute(
            "INSERT INTO campaigns_message (send_id, email, status, skip_reason, coupon_code, "
            "esp_message_id, error, error_class, attempts, batch, created_at, sent_at, "
            "delivered_at, bounced_at, bounce_type, opened_at, clicked_at, opens, clicks, "
            "unsubscribed_at, complained_at) "
            "SELECT %s, 'r' || i || '@' || (ARRAY['gmail.com','outlook.com','yahoo.com',"
            "'example.com'])[1 + i %% 4], 'sent', '', '', 'esp-' || i, '', '', 1, '', "
            "now() - interval '3 days', now() - interval '3 days', "
            "CASE WHEN i %% 200 <> 0 THEN now() - interval '3 days' END, "
            "CASE WHEN i %% 200 = 0 THEN now() - interval '3 days' END, "
            "CASE WHEN i %% 200 = 0 THEN 'hard' ELSE '' END, "
            "CASE WHEN i %% 10 = 0 THEN now() - interval '3 days' + (i %% 48) * interval '1h' END, "
            "CASE WHEN i %% 40 = 0 THEN now() - interval '3 days' + (i %% 48) * interval '1h' END, "
            "CASE WHEN i %% 10 = 0 THEN 1 ELSE 0 END, CASE WHEN i %% 40 = 0 THEN 1 ELSE 0 END, "
            "CASE WHEN i %% 500 = 0 THEN now() - interval '2 days' END, "
            "CASE WHEN i %% 2000 = 0 THEN now() - interval '2 days' END "
            "FROM generate_series(1, %s) i",
            [send.pk, messages],
        )
        first = db.execute(
            "SELECT min(id) FROM campaigns_message WHERE send_id = %s", [send.pk]
        ).fetchone()[0]
        kinds = "ARRAY['opened','opened','opened','opened','clicked','clicked','delivered'," \
            "'opened','clicked','opened']"  # fmt: skip
        db.execute(
            "INSERT INTO tracking_event (message_id, kind, created_at, user_agent, url, "
            "is_machine, machine_reason, applied, link_index, esp_event_key) "
            f"SELECT %s + (i %% %s), ({kinds})[1 + i %% 10], "
            "now() - interval '3 days' + (i %% 72) * interval '1 hour', 'Mozilla/5.0', '', "
            "i %% 7 = 0, CASE WHEN i %% 7 = 0 THEN 'apple_proxy' ELSE '' END, true, "
            "CASE WHEN i %% 10 IN (4, 5, 8) THEN i %% 10 END, '' "
            "FROM generate_series(1, %s) i",
            [first, messages, 10 * messages],
        )
        _tallies(db, send.pk)
        db.execute("VACUUM ANALYZE")
    return {"user": user, "campaign": campaign, "send": send}


def _tallies(db, send_id: int) -> None:
    """The tallies the flush would have kept, from the messages' facts."""
    facts = {
        "delivered": "delivered_at", "bounced_hard": "bounced_at", "opened": "opened_at",
        "clicked": "clicked_at", "unsubscribed": "unsubscribed_at", "complained": "complained_at",
    }  # fmt: skip
    for metric, column in facts.items():
        for dimension, key in [
            ("total", "''"),
            ("hour", f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24')"),
            ("day", f"to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')"),
            ("domain", "split_part(email, '@', 2)"),
        ]:
            db.execute(
                "INSERT INTO tracking_tally (send_id, dimension, key, metric, value) "
                f"SELECT %s, %s, {key}, %s, count(*) FROM campaigns_message "
                f"WHERE send_id = %s AND {column} IS NOT NULL GROUP BY 3",
                [send_id, dimension, metric, send_id],
            )
    db.execute(
        "INSERT INTO tracking_tally (send_id, dimension, key, metric, value) "
        "SELECT %s, 'total', '', m, sum(v) FROM (SELECT 'opens' m, opens v FROM campaigns_message "
        "WHERE send_id = %s UNION ALL SELECT 'clicks', clicks FROM campaigns_message "
        "WHERE send_id = %s) x GROUP BY m",
        [send_id, send_id, send_id],
    )
    db.execute(
        "INSERT INTO tracking_tally (send_id, dimension, key, metric, value) "
        "SELECT %s, 'link', (id %% 10)::text, 'clicks', count(*) FROM campaigns_message "
        "WHERE send_id = %s AND clicked_at IS NOT NULL GROUP BY 3",
        [send_id, send_id],
    )
    for dimension, key in [("client", "'Apple Mail'"), ("device", "'mobile'")]:
        db.execute(
            "INSERT INTO tracking_tally (send_id, dimension, key, metric, value) "
            f"SELECT %s, %s, {key}, 'opened', count(*) FROM campaigns_message "
            "WHERE send_id = %s AND opened_at IS NOT NULL",
            [send_id, dimension, send_id],
        )


def timed(fetch) -> tuple[float, int]:
    """Median milliseconds of RUNS warm runs, and the queries of one."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    fetch()  # warm: caches, plans, the lazily kept per-domain counts
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        fetch()
        times.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as queries:
        fetch()
    return statistics.median(times), len(queries)


def count_distinct_ms(send_id: int) -> float:
    with harness.raw_connection() as db:
        sql = (
            "SELECT e.kind, count(DISTINCT e.message_id) FROM tracking_event e "
            "JOIN campaigns_message m ON m.id = e.message_id WHERE m.send_id = %s "
            "AND NOT e.is_machine GROUP BY e.kind"
        )
        db.execute(sql, [send_id]).fetchall()  # warm
        times = []
        for _ in range(3):
            started = time.perf_counter()
            db.execute(sql, [send_id]).fetchall()
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("messages", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()

    harness.environment(ALLOWED_HOSTS="testserver,127.0.0.1")
    database = harness.database_recreate()
    try:
        harness.migrate()
        harness.django_setup()
        result = run(args.messages)
    finally:
        if not args.keep:
            harness.database_drop(database)
        shutil.rmtree(os.environ["VAR_DIR"], ignore_errors=True)
    slowest = max(ms for ms, _ in result["pages"].values())
    print()
    print(
        harness.result_line(
            "report_scale", slowest, "ms", slowest / result["count_distinct"], "count_distinct"
        )
    )


def run(messages: int) -> dict:
    from django.test import Client
    from django.urls import reverse

    started = time.perf_counter()
    loaded = load(messages)
    print(
        f"database {harness.database_name()}: one send of {messages:,} messages, "
        f"{10 * messages:,} events; loaded in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    client = Client()
    client.force_login(loaded["user"])
    campaign = loaded["campaign"]
    pages = {
        "report": reverse("reports:campaign", args=[campaign.pk]),
        "progress": reverse("reports:campaign_progress", args=[campaign.pk]),
        "dashboard": reverse("dashboard"),
    }
    result = {}
    for name, url in pages.items():

        def fetch(url=url):
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)

        result[name] = timed(fetch)
        print(f"{name:>10}: {result[name][0]:8.1f} ms, {result[name][1]} queries", flush=True)
    baseline = count_distinct_ms(loaded["send"].pk)
    print(f"{'count(distinct)':>10}: {baseline:8.1f} ms", flush=True)
    return {"pages": result, "count_distinct": baseline}


if __name__ == "__main__":
    main()
