"""How long freezing a big audience into the send ledger takes, with the
frequency cap on, against loading the same contacts with COPY.

    .venv/bin/python bench/snapshot.py [N=1000000] [--explain]

Baseline: COPY of N contact rows (from a buffer made beforehand) into
contacts_contact, with its indexes and constraints.

Product: campaigns.ledger.messages_snapshot(send=...) for a new send of a
marketing campaign to one group of those N contacts: one INSERT ... SELECT of
N Message rows (campaigns.audience.audience_sql), deciding for each contact
whether it is mailed or why not. So that every rule has work to do, some
contacts are unsubscribed, unconfirmed, bounced, complained, have an invalid
address, are suppressed by address or by domain, and earlier sends left
mails in the ledger: 30% got one 3 days ago, 10% two this week (capped), 5%
one yesterday (the minimum gap caps them) and 20% one 20 days ago (outside
the window). The loaded tables are VACUUM ANALYZEd first, as autovacuum
would have left them (it is off on this machine's PostgreSQL).

Also timed: campaigns.audience.audience_summary (the same SELECT, grouped,
that the campaign page shows before sending). `--explain` (or a snapshot
slower than the target) prints EXPLAIN (ANALYZE, BUFFERS) of the INSERT, run
again in a transaction that is rolled back, with the foreign-key checks made
immediate so that their cost shows.

Ends with: RESULT snapshot <seconds> s ratio <snapshot/copy> to copy
"""

import argparse
import os
import shutil
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness

TARGET_SECONDS = 20
DOMAINS = ["example.com", "example.org", "example.net", "mail.example.com", "shop.example"]
FIRST_NAMES = ["Olivia", "Liam", "Emma", "Noah", "Amelia", "Tomás", "Анна", "Kenji", ""]
LAST_NAMES = ["Smith", "Garcia", "Brown", "Sato", "Haddad", "Иванова", "Müller", ""]
COMPETITOR = "competitor.example"  # a suppressed domain


def status_of(i: int) -> str:
    """2% unsubscribed, 1% unconfirmed, 1% bounced, 0.5% complained."""
    r = i % 200
    if r < 4:
        return "unsubscribed"
    if r < 6:
        return "unconfirmed"
    if r < 8:
        return "bounced"
    if r < 9:
        return "complained"
    return "subscribed"


def email_of(i: int) -> str:
    if i % 1000 == 7:
        return f"broken{i}@localhost"  # no dot in the domain: invalid
    if i % 500 == 11:
        return f"staff{i}@{COMPETITOR}"
    return f"c{i}@{DOMAINS[i % len(DOMAINS)]}"


# Earlier sends: (name, days ago, which contacts got one, by index).
HISTORY = [
    ("3 days ago, 30%", 3, lambda i: i % 10 < 3),
    ("5 days ago, 10%", 5, lambda i: i % 10 == 3),
    ("1 day ago, the same 10%", 1, lambda i: i % 10 == 3),
    ("1 day ago, 5%", 1, lambda i: i % 20 == 9),
    ("20 days ago, 20%", 20, lambda i: i % 5 == 4),
]


def contacts_lines(count: int, tail: str) -> bytes:
    return "".join(
        f"{email_of(i)}\t{FIRST_NAMES[i % len(FIRST_NAMES)]}\t{LAST_NAMES[i % len(LAST_NAMES)]}"
        f'\t{"ru" if i % 13 == 0 else "en"}\t{status_of(i)}\t{{"orders": {i % 12}}}{tail}'
        for i in range(count)
    ).encode()


def load(count: int) -> dict:
    """Contacts, group, suppressions and the earlier sends; returns the
    campaign to send and what the COPY of the contacts took."""
    from django.utils import timezone

    from campaigns.models import Campaign, FrequencyPolicy, Message, Send
    from contacts.models import Contact, DomainSuppression, Group, Suppression

    now = timezone.now()
    group = Group.objects.create(name="Everyone")
    contacts = harness.CopyRows(
        Contact, ["email", "first_name", "last_name", "locale", "status", "attributes"]
    )
    lines = contacts_lines(count, contacts.tail)
    with harness.raw_connection() as db:
        started = time.perf_counter()
        contacts.copy(db, lines)
        copy_seconds = time.perf_counter() - started
        del lines
        first, last = db.execute("SELECT MIN(id), MAX(id) FROM contacts_contact").fetchone()
        assert last - first + 1 == count, (first, last, count)
        ids = range(first, last + 1)

        started = time.perf_counter()
        members = harness.CopyRows(Contact.groups.through, ["contact_id", "group_id"])
        members.copy(db, "".join(f"{pk}\t{group.pk}\n" for pk in ids).encode())
        suppressions = harness.CopyRows(Suppression, ["email"])
        suppressions.copy(
            db,
            "".join(
                f"{email_of(i)}{suppressions.tail}" for i in range(13, count, 200)
            ).encode(),  # 0.5%, all subscribed contacts
        )
        DomainSuppression.objects.create(domain=COMPETITOR)
        FrequencyPolicy.objects.get_or_create(pk=1)  # the default: 2 in 7 days, 2 days apart

        earlier = Campaign.objects.create(
            name="Earlier campaigns",
            subject="Earlier",
            from_name="Demo Shop",
            from_email="news@shop.example.com",
            body="<p>Earlier</p>",
            status=Campaign.Status.SENT,
        )
        earlier.groups.add(group)
        messages = harness.CopyRows(
            Message, ["send_id", "contact_id", "email", "status", "attempts", "created_at",
                      "sent_at"]
        )  # fmt: skip
        prior = 0
        for _name, days, picked in HISTORY:
            when = now - timedelta(days=days)
            send = Send.objects.create(
                campaign=earlier, lane=Send.Lane.BULK, is_marketing=True, status=Send.Status.DONE
            )
            Send.objects.filter(pk=send.pk).update(
                created_at=when, started_at=when, finished_at=when
            )
            at = when.isoformat()
            rows = "".join(
                f"{send.pk}\t{ids[i]}\t{email_of(i)}\tsent\t1\t{at}\t{at}{messages.tail}"
                for i in range(count)
                if picked(i)
            )
            prior += rows.count("\n")
            messages.copy(db, rows.encode())
        for table in ("contacts_contact", "contacts_contact_groups", "contacts_suppression",
                      "campaigns_message", "campaigns_send"):  # fmt: skip
            db.execute(f"VACUUM ANALYZE {table}")
        other_seconds = time.perf_counter() - started

    campaign = Campaign.objects.create(
        name="Autumn sale",
        subject='Autumn sale, {{ contact.first_name|default:"friend" }}',
        from_name="Demo Shop",
        from_email="news@shop.example.com",
        body="<p>Autumn is here.</p>",
    )
    campaign.groups.add(group)
    return {
        "campaign": campaign,
        "copy_seconds": copy_seconds,
        "other_seconds": other_seconds,
        "prior": prior,
    }


def new_send(campaign):
    """A send as campaigns.services.campaign_send creates it."""
    from campaigns.models import Send
    from campaigns.sending import lane_of

    return Send.objects.create(
        campaign=campaign,
        lane=lane_of(campaign),
        is_marketing=campaign.kind == campaign.Kind.MARKETING,
    )


def explain_snapshot(campaign) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of the snapshot's INSERT for another new
    send, in a transaction rolled back afterwards. The foreign keys are made
    immediate, so their checks run (and show) within the statement."""
    from django.db import connection, transaction

    from campaigns import ledger
    from campaigns.models import Message

    plan: list[str] = []
    insert = f"INSERT INTO {Message._meta.db_table} "

    def explain(execute, sql, params, many, context):
        if not sql.startswith(insert):
            return execute(sql, params, many, context)
        with context["connection"].connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, VERBOSE OFF) " + sql, params)
            plan.extend(row[0] for row in cursor.fetchall())
        return None

    with transaction.atomic():
        send = new_send(campaign)
        with connection.execute_wrapper(explain):
            ledger.messages_snapshot(send=send)
        transaction.set_rollback(True)
    return plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("count", nargs="?", type=int, default=1_000_000, help="contacts (N)")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the snapshot")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument(
        "--split", action="store_true", help="also time an A/B split and a holdout snapshot"
    )
    args = parser.parse_args()
    count = args.count

    harness.environment()
    database = harness.database_recreate()
    try:
        harness.migrate()
        harness.django_setup()
        result = run(count, args.explain)
        if args.split:
            run_split(result["campaign"])
    finally:
        if not args.keep:
            harness.database_drop(database)
        shutil.rmtree(os.environ["VAR_DIR"], ignore_errors=True)
    ratio = result["snapshot"] / result["copy"]
    print()
    print(harness.result_line("snapshot", result["snapshot"], "s", ratio, "copy"))
    if result["problems"]:
        sys.exit(1)


def run(count: int, explain: bool) -> dict:
    from django.db import connection

    from campaigns import ledger
    from campaigns.audience import audience_summary
    from campaigns.models import Message

    started = time.perf_counter()
    loaded = load(count)
    print(
        f"database {harness.database_name()}: {count:,} contacts in one group, "
        f"{loaded['prior']:,} earlier marketing mails; loaded in "
        f"{time.perf_counter() - started:.1f} s",
        flush=True,
    )
    campaign = loaded["campaign"]

    started = time.perf_counter()
    summary = audience_summary(campaign=campaign)
    summary_seconds = time.perf_counter() - started

    send = new_send(campaign)
    with harness.CpuWatch({}, harness.database_name()) as cpu:
        started = time.perf_counter()
        inserted = ledger.messages_snapshot(send=send)
        seconds = time.perf_counter() - started
    print(f"snapshot: {inserted:,} messages in {seconds:.1f} s", flush=True)

    started = time.perf_counter()
    again = ledger.messages_snapshot(send=send)
    again_seconds = time.perf_counter() - started

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT status, skip_reason, COUNT(*) FROM {Message._meta.db_table} "
            "WHERE send_id = %s GROUP BY 1, 2 ORDER BY 3 DESC",
            [send.pk],
        )
        counts = cursor.fetchall()

    print()
    rows = [
        ("COPY of the contacts (baseline)", count, loaded["copy_seconds"],
         count / loaded["copy_seconds"]),
        ("messages_snapshot: INSERT ... SELECT", inserted, seconds, inserted / seconds),
        ("  run again (adds nothing)", again, again_seconds, count / again_seconds),
        ("audience_summary (the SELECT, grouped)", summary.total, summary_seconds,
         summary.total / summary_seconds),
    ]  # fmt: skip
    print(harness.table(rows, ("step", "rows", "seconds", "rows/s")))
    pg = next(v for k, v in cpu.seconds.items() if k.startswith("PostgreSQL"))
    print(
        f"PostgreSQL CPU during the snapshot: {pg:.1f} s of {seconds:.1f} s "
        f"(machine busy {100 * cpu.busy_share:.0f}%)"
    )
    print()
    expected = {(status, reason): 0 for status, reason, _ in counts}
    for i in range(count):
        expected[_expected(i)] = expected.get(_expected(i), 0) + 1
    found = {(status, reason): n for status, reason, n in counts}
    print(
        harness.table(
            [
                (status, reason or "-", n, 100 * n / count, expected.get((status, reason), 0))
                for (status, reason), n in found.items()
            ],
            ("status", "skip reason", "messages", "%", "expected"),
        )
    )
    skipped = dict(
        (reason, n) for reason, _label, n in summary.skipped
    )  # the summary agrees with the ledger
    problems = []
    if found != {k: v for k, v in expected.items() if v}:
        problems.append(f"the ledger's counts differ from the expected ones: {found} {expected}")
    if again != 0:
        problems.append(f"running the snapshot again added {again} messages")
    if summary.recipients != found.get(("queued", ""), 0) or any(
        skipped.get(reason, 0) != n for (status, reason), n in found.items() if reason
    ):
        problems.append(f"audience_summary disagrees with the ledger: {summary}")
    if explain or seconds > TARGET_SECONDS:
        print()
        print("EXPLAIN (ANALYZE, BUFFERS) of the snapshot's INSERT (rolled back):")
        for line in explain_snapshot(campaign):
            print("  " + line)
    if seconds > TARGET_SECONDS:
        print(f"\nslower than the target of {TARGET_SECONDS} s")
    for problem in problems:
        print("PROBLEM: " + problem)
    return {
        "snapshot": seconds,
        "copy": loaded["copy_seconds"],
        "problems": problems,
        "campaign": campaign,
    }


def run_split(campaign) -> None:
    """The snapshots of an A/B test (20% in two variant sends, ranked by md5)
    and of the send to the rest with a 10% holdout, for another campaign to
    the same group (campaigns.abtest, campaigns.ledger.SnapshotPlan)."""
    from django.db import transaction

    from campaigns import abtest, ledger
    from campaigns.models import Campaign, Message, Send
    from campaigns.scheduling import plan_set_holdout

    other = Campaign.objects.create(
        name="A/B", subject="S", from_name="Shop", from_email="n@shop.example", body="<p>x</p>"
    )
    other.groups.set(campaign.groups.all())
    plan_set_holdout(campaign=other, percent=10)
    abtest.ab_test_configure(
        campaign=other,
        variants=[abtest.VariantInput(), abtest.VariantInput(subject="T")],
        test_percent=20,
        metric="open_rate",
        wait_hours=4,
        confidence=95,
    )
    with transaction.atomic():
        sends = abtest.ab_test_create_sends(
            campaign=other, user=None, lane="bulk", is_marketing=True
        )
    plan, _ = abtest.send_snapshot_plan(sends[0])
    started = time.perf_counter()
    tested = ledger.messages_snapshot(send=sends[0], plan=plan)
    test_seconds = time.perf_counter() - started
    rest = Send.objects.create(campaign=other, lane="bulk", variant=sends[0].variant)
    rest_plan, _ = abtest.send_snapshot_plan(rest)
    started = time.perf_counter()
    rested = ledger.messages_snapshot(send=rest, plan=rest_plan)
    rest_seconds = time.perf_counter() - started
    held = Message.objects.filter(send=rest, skip_reason="holdout").count()
    print()
    print(
        f"A/B test snapshot (20% over 2 variant sends): {tested:,} messages in {test_seconds:.1f} s"
    )
    print(
        f"rest snapshot with a 10% holdout: {rested:,} messages ({held:,} held out) "
        f"in {rest_seconds:.1f} s"
    )


def _expected(i: int) -> tuple[str, str]:
    """What the snapshot should decide for contact i, rule by rule in the
    order campaigns.audience applies them."""
    status = status_of(i)
    if status in ("bounced", "complained"):
        return "skipped", status
    if i % 1000 == 7:
        return "skipped", "invalid"
    if (i % 200 == 13 and status == "subscribed") or email_of(i).endswith("@" + COMPETITOR):
        return "skipped", "suppressed"
    if status in ("unsubscribed", "unconfirmed"):
        return "skipped", status
    recent = [days for _name, days, picked in HISTORY if picked(i) and days <= 7]
    if len(recent) >= 2 or any(days < 2 for days in recent):
        return "skipped", "frequency_cap"
    return "queued", ""


if __name__ == "__main__":
    main()
