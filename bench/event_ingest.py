"""Shop events through the events API, against a COPY of the same rows.

    .venv/bin/python bench/event_ingest.py [N=100000] [clients=4]

The product: N events (customers registering, product views, carts, orders
placed and paid, in the proportions of a small shop's day) POSTed as JSON in
batches of 1,000 over HTTP to /api/v1/events, under gunicorn (2 workers) on
PostgreSQL, by `clients` threads at once. Each batch is checked, stored once
by its ids, applied (contacts, orders, carts, views), credited (attribution)
and handed to the automations, as in production.

Baseline: `COPY` of the same events (id, type, JSON payload) into a scratch
table with no index, in the same run.

Ends with: RESULT event_ingest <events/s> events/s ratio <ingest/copy> to copy
"""

import http.client
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness

COUNT = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
CLIENTS = int(sys.argv[2]) if len(sys.argv) > 2 else 4
BATCH = 1000
WORKERS = 2


def events(count: int) -> list[dict]:
    """A shop's day: per customer a registration, two product views, a cart,
    an order and its payment (6 events); a customer in ten never buys."""
    out: list[dict] = []
    n = 0
    while len(out) < count:
        email = f"customer{n}@example.com"
        customer = {"email": email, "first_name": f"Ann{n}", "accepts_marketing": n % 3 == 0}
        line = {"sku": f"SKU-{n % 50}", "name": "Mug", "category": f"cat{n % 8}",
                "quantity": 1 + n % 3, "unit_price": "12.50"}  # fmt: skip
        order = {"id": f"o-{n}", "customer": {"email": email}, "total": "25.00",
                 "currency": "EUR", "lines": [line]}  # fmt: skip
        day = [
            ("customer.registered", {"customer": customer}),
            ("product.viewed", {"product": {"sku": line["sku"], "category": line["category"]},
                                "seconds": 30 + n % 90, "customer": {"email": email}}),
            ("product.viewed", {"product": {"sku": "SKU-7", "category": "cat7"},
                                "seconds": 12, "customer": {"email": email}}),
            ("cart.updated", {"cart": {"id": f"c-{n}", "customer": {"email": email},
                                       "items": [line], "total": "25.00"}}),
        ]  # fmt: skip
        if n % 10:
            day += [("order.created", {"order": order}), ("order.paid", {"order": order})]
        for kind, data in day:
            out.append({"id": f"evt-{len(out)}", "type": kind, "data": data})
        n += 1
    return out[:count]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gunicorn(port: int, log: Path):
    process = harness.child_start(
        [sys.executable, "-m", "gunicorn", "marketing_site.wsgi:application", "-w",
         str(WORKERS), "-b", f"127.0.0.1:{port}", "--timeout", "120", "--log-level", "warning"],
        stdout=log.open("wb"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while True:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return process
        if process.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"gunicorn did not start:\n{log.read_text()}")
        time.sleep(0.2)


def post_all(port: int, secret: str, bodies: list[bytes]) -> list[dict]:
    results: list[dict] = []
    lock = threading.Lock()
    queue = list(enumerate(bodies))

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
        while True:
            with lock:
                if not queue:
                    break
                _, body = queue.pop(0)
            connection.request("POST", "/api/v1/events", body=body, headers=headers)
            response = connection.getresponse()
            answer = json.loads(response.read())
            if response.status != 200:
                sys.exit(f"The API answered {response.status}: {answer}")
            with lock:
                results.append(answer)
        connection.close()

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def copy_baseline(rows: list[dict]) -> float:
    with harness.raw_connection() as db:
        db.execute("CREATE TABLE scratch_events (external_id text, type text, payload jsonb)")
        started = time.perf_counter()
        with db.cursor().copy("COPY scratch_events FROM STDIN") as copy:
            for row in rows:
                copy.write_row((row["id"], row["type"], json.dumps(row["data"])))
        seconds = time.perf_counter() - started
        db.execute("DROP TABLE scratch_events")
    return seconds


def main() -> None:
    harness.environment(
        SHOP_API_RATE_LIMIT="1000000", ADDRESS_CHECK_DNS="0", DATABASE_CONN_MAX_AGE="60"
    )
    name = harness.database_recreate()
    try:
        harness.migrate()
        harness.django_setup()
        rows = events(COUNT)
        copy_seconds = copy_baseline(rows)

        from contacts.models import Contact, Order, ShopEvent
        from tracking import api_keys

        _, secret = api_keys.api_key_create(name="Bench", actor=None)
        bodies = [
            json.dumps({"events": rows[start : start + BATCH]}).encode()
            for start in range(0, len(rows), BATCH)
        ]
        port = free_port()
        site = gunicorn(port, Path(tempfile.mkdtemp(prefix="event-ingest-")) / "site.log")
        try:
            started = time.perf_counter()
            answers = post_all(port, secret, bodies)
            ingest_seconds = time.perf_counter() - started
        finally:
            harness.child_stop(site)
        accepted = sum(a["accepted"] for a in answers)
        errors = sum(len(a["errors"]) for a in answers)
        stored = ShopEvent.objects.count()
        print(
            f"{len(rows):,} events in {len(bodies)} batches by {CLIENTS} clients; gunicorn "
            f"{WORKERS} workers. Accepted {accepted:,}, errors {errors}, stored {stored:,}; "
            f"{Contact.objects.count():,} contacts, {Order.objects.count():,} orders."
        )
        rate, copy_rate = len(rows) / ingest_seconds, len(rows) / copy_seconds
        print(
            harness.table(
                [
                    ("COPY into a scratch table", f"{copy_seconds:.2f}", f"{copy_rate:,.0f}"),
                    ("events API", f"{ingest_seconds:.2f}", f"{rate:,.0f}"),
                ],
                ("", "seconds", "events/s"),
            )
        )
        if stored != len(rows) or errors:
            sys.exit("Not every event was stored.")
    finally:
        from django.db import connections

        connections.close_all()
        harness.database_drop(name)
    print(harness.result_line("event_ingest", rate, "events/s", rate / copy_rate, "copy"))


if __name__ == "__main__":
    main()
