"""Mails per second through the whole sending pipeline, against a plain
smtplib loop sending the same mails to the same sinks in the same run.

    .venv/bin/python bench/send_throughput.py [N=100000] [--profile]

Product: N contacts (COPY) in one group, a campaign with three products and a
shared coupon (the demo shop's autumn sale), then
campaigns.services.campaign_send: a worker compiles the content and
snapshots the audience with the frequency cap on, and two real
`celery worker --pool solo` processes claim, re-check, render and send the
batches over SMTP, worker 1 to sink 1 and worker 2 to sink 2 (aiosmtpd, each
in a process of its own). Timed from campaign_send to the Send being done.

Baseline: two processes each running a plain smtplib loop over one
connection (the same MAIL, RCPT, DATA per mail), sending real mails of the
campaign rendered beforehand (campaigns.assembly.prepared_mail(send)
.as_bytes(message)) to the same two sinks: N/2 mails in all, half before the
product runs and half after, so that a load coming or going on this shared
machine weighs on both alike.

One worker's per-message cost, measured first, in this process against
sink 1: the batches of a twin send (same content, its own contacts) through
campaigns.sending.send_batch, timed by step (claim, render, bytes assembly,
SMTP exchange, ledger writes ...) with wall and CPU time and the database's
share, then under cProfile (top functions by cumulative and by own time;
`--profile` lists more and keeps the .prof file).

Also printed: the CPU every process used (workers, sinks, smtplib loops, the
PostgreSQL backends of the benchmark's database, Redis), and how long the
batch tasks took as the send went on.

Ends with: RESULT send_throughput <mails/s> mails/s ratio <product/baseline> to smtplib_loop
"""

import argparse
import cProfile
import os
import pickle
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness
from bench.smtp_sink import SinkProcess

SAMPLE_MAILS = 1000  # distinct rendered mails the baseline cycles through
FIRST_NAMES = [
    "Olivia", "Liam", "Emma", "Noah", "Amelia", "Oliver", "Ava", "Elijah", "Sophia", "Lucas",
    "Isabella", "Mateo", "Mia", "Levi", "Charlotte", "Ethan", "Harper", "James", "Evelyn",
    "Aiden", "Chloe", "Jack", "Grace", "Henry", "Zoe", "Samuel", "Nora", "Leo", "Hannah",
    "David", "Aria", "Daniel", "Layla", "Julian", "Tomás", "Анна", "Дмитрий", "Ольга", "",
]  # fmt: skip
LAST_NAMES = [
    "Smith", "Johnson", "Garcia", "Brown", "Miller", "Davis", "Wilson", "Anderson", "Taylor",
    "Thomas", "Moore", "Martin", "Lee", "Clark", "Lewis", "Walker", "Hall", "Young", "King",
    "Wright", "Lopez", "Hill", "Scott", "Green", "Adams", "Sato", "Haddad", "Ruiz", "Иванова",
]  # fmt: skip
DOMAINS = ["example.com", "example.org", "example.net", "mail.example.com"]


# --- Data ------------------------------------------------------------------------


def contacts_load(group, count: int, prefix: str) -> range:
    """COPY `count` subscribed contacts into `group`; returns their ids."""
    from contacts.models import Contact

    contacts = harness.CopyRows(
        Contact, ["email", "first_name", "last_name", "locale", "attributes"]
    )
    tail = contacts.tail
    lines = "".join(
        f"{prefix}{i}@{DOMAINS[i % len(DOMAINS)]}\t{FIRST_NAMES[i % len(FIRST_NAMES)]}\t"
        f"{LAST_NAMES[i % len(LAST_NAMES)]}\t{'ru' if i % 13 == 0 else 'en'}\t"
        f'{{"orders": {i % 12}}}{tail}'
        for i in range(count)
    ).encode()
    with harness.raw_connection() as db:
        first = db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM contacts_contact").fetchone()[0]
        contacts.copy(db, lines)
        ids = range(first, first + count)
        found = db.execute(
            "SELECT COUNT(*), MIN(id), MAX(id) FROM contacts_contact WHERE id >= %s", [first]
        ).fetchone()
        assert found == (count, ids[0], ids[-1]), found
        members = harness.CopyRows(Contact.groups.through, ["contact_id", "group_id"])
        members.copy(db, "".join(f"{i}\t{group.pk}\n" for i in ids).encode())
        db.execute("ANALYZE contacts_contact")
        db.execute("ANALYZE contacts_contact_groups")
    return ids


def campaign_create(name: str, group):
    """The demo shop's autumn sale: three products, a shared welcome coupon."""
    from campaigns.models import Campaign, FrequencyPolicy
    from marketing_site import demo

    FrequencyPolicy.objects.get_or_create(pk=1)  # the default cap, on
    products = demo.demo_products_create()[:3]
    coupon = demo.demo_coupons_create()
    campaign = Campaign.objects.create(
        name=name,
        subject='Autumn sale: 20% off for you, {{ contact.first_name|default:"friend" }}',
        preheader="Wool, candles and mugs for the cold months",
        from_name="Demo Shop",
        from_email="news@shop.example.com",
        reply_to="help@shop.example.com",
        body=demo.CAMPAIGN_BODY,
        coupon=coupon,
    )
    campaign.groups.add(group)
    campaign.products.add(*products)
    return campaign


def claimed_like(send, limit: int):
    """Messages of a send loaded as a worker loads its claimed batch."""
    from campaigns import sending
    from campaigns.models import Message

    messages = Message.objects.filter(send=send).select_related("contact").order_by("id")
    if fields := getattr(sending, "_RECIPIENT_FIELDS", None):
        messages = messages.only(*fields)
    return list(messages[:limit])


# --- The product: campaign_send to two real workers ------------------------------


def product_run(campaign, sinks, workdir: Path, count: int) -> dict:
    from campaigns.models import Message, Send
    from campaigns.services import campaign_send

    workers = []
    for n, sink in enumerate(sinks, 1):
        env = {
            **os.environ,
            "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(sink.port),
        }
        workers.append(harness.Worker(f"bench{n}", workdir / f"worker{n}.log", env))
    harness.queues_purge()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.wait_ready()
    for sink in sinks:
        sink.reset()
    cpu = harness.CpuWatch(
        {
            "2 workers": [w.process.pid for w in workers],
            "2 sinks": [sink.pid for sink in sinks],
        },
        harness.database_name(),
    )
    finished = (Send.Status.DONE, Send.Status.FAILED, Send.Status.PAUSED, Send.Status.CANCELLED)
    deadline = time.monotonic() + max(300, count / 50)
    try:
        cpu.__enter__()
        started = time.perf_counter()
        send = campaign_send(campaign=campaign)
        prepared_at, polls = None, 0
        while True:
            status = Send.objects.filter(pk=send.pk).values_list("status", flat=True).get()
            now = time.perf_counter()
            if prepared_at is None and status not in (Send.Status.QUEUED, Send.Status.PREPARING):
                prepared_at = now
            if status in finished:
                break
            polls += 1
            if polls % 10 == 0 and (errors := [e for w in workers for e in w.errors()]):
                raise RuntimeError("A worker failed:\n" + "\n".join(errors[:20]))
            if time.monotonic() > deadline or any(w.process.poll() is not None for w in workers):
                raise RuntimeError(
                    f"The send did not finish (status {status}); see {workdir}/worker*.log"
                )
            time.sleep(0.1)
        seconds = now - started
    finally:
        cpu.__exit__(None, None, None)
        for worker in workers:
            worker.stop()
    send.refresh_from_db()
    statuses = dict(
        Message.objects.filter(send=send).values_list("status").annotate(n=models_count())
    )
    errors = [line for worker in workers for line in worker.errors()]
    return {
        "send": send,
        "seconds": seconds,
        "prepare_seconds": prepared_at - started,
        "statuses": statuses,
        "sink": [sink.stats() for sink in sinks],
        "cpu": cpu,
        "errors": errors,
        "batches": batch_durations([worker.log for worker in workers]),
    }


_SUCCEEDED = re.compile(
    r"^\[([^\]]+): INFO/MainProcess\] Task campaigns\.tasks\.(\w+)\[.*succeeded in ([\d.]+)s"
)


def batch_durations(logs: list[Path]) -> dict[str, list[float]]:
    """How long each task took, by task name, in the order they ended (both
    workers' logs together): does a batch get slower as the send goes on?"""
    ended = []
    for log in logs:
        for line in log.read_text(errors="replace").splitlines():
            if match := _SUCCEEDED.match(line):
                ended.append((match[1], match[2], float(match[3])))
    durations: dict[str, list[float]] = defaultdict(list)
    for _at, task, seconds in sorted(ended):
        durations[task].append(seconds)
    return durations


def models_count():
    from django.db.models import Count

    return Count("id")


# --- The baseline: smtplib loops ---------------------------------------------------


def baseline_run(send, sinks, workdir: Path, count: int) -> dict:
    from campaigns.assembly import prepared_mail

    prepared = prepared_mail(send)
    mails = [
        (prepared.envelope_from, message.email, prepared.as_bytes(message))
        for message in claimed_like(send, SAMPLE_MAILS)
    ]
    path = workdir / "mails.pickle"
    path.write_bytes(pickle.dumps(mails))
    for sink in sinks:
        sink.reset()
    shares = [count // len(sinks) + (i < count % len(sinks)) for i in range(len(sinks))]
    loops = [
        harness.child_start(
            [sys.executable, "-m", "bench.smtp_loop", str(sink.port), str(path), str(share)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for sink, share in zip(sinks, shares, strict=True)
    ]
    for loop in loops:
        assert loop.stdout.readline().strip() == "ready"
    cpu = harness.CpuWatch(
        {
            "2 smtplib loops": [loop.pid for loop in loops],
            "2 sinks": [sink.pid for sink in sinks],
        },
        harness.database_name(),
    )
    with cpu:
        started = time.perf_counter()
        for loop in loops:
            loop.stdin.write("go\n")
            loop.stdin.flush()
        own = [float(loop.stdout.readline()) for loop in loops]
        seconds = time.perf_counter() - started
    for loop in loops:
        loop.wait(30)
        harness.child_stop(loop)
    return {
        "count": count,
        "seconds": seconds,
        "own": own,
        "sink": [sink.stats() for sink in sinks],
        "cpu": cpu,
        "mail_bytes": sum(len(m[2]) for m in mails) / len(mails),
    }


# --- One worker's per-message cost, in this process ---------------------------------


class StepTimer:
    """Wraps functions of the pipeline to add up the time spent in each step,
    exclusive of the steps called inside it, and the database time and
    queries of each (a query belongs to the innermost step running)."""

    OTHER = "other (Send lookups, chunk status check, 'more?' query, loop)"

    def __init__(self):
        self.seconds = defaultdict(float)
        self.cpu = defaultdict(float)  # this thread's CPU time
        self.calls = defaultdict(int)
        self.db_seconds = defaultdict(float)
        self.queries = defaultdict(int)
        # [label, started, wall time in steps inside, CPU at start, CPU inside]
        self._stack: list[list] = []
        self._undo = []
        self.enabled = False

    def wrap(self, owner, name: str, label: str) -> None:
        original = getattr(owner, name)
        own = name in vars(owner)  # else an instance borrowing its class's method
        timer = self

        def timed(*args, **kwargs):
            if not timer.enabled:
                return original(*args, **kwargs)
            frame = [label, time.perf_counter(), 0.0, time.thread_time(), 0.0]
            timer._stack.append(frame)
            try:
                return original(*args, **kwargs)
            finally:
                timer._stack.pop()
                elapsed = time.perf_counter() - frame[1]
                cpu = time.thread_time() - frame[3]
                timer.seconds[label] += elapsed - frame[2]
                timer.cpu[label] += cpu - frame[4]
                timer.calls[label] += 1
                if timer._stack:
                    timer._stack[-1][2] += elapsed
                    timer._stack[-1][4] += cpu

        setattr(owner, name, timed)
        self._undo.append((owner, name, original, own))

    def unwrap(self) -> None:
        for owner, name, original, own in reversed(self._undo):
            if own:
                setattr(owner, name, original)
            else:
                delattr(owner, name)

    def query(self, execute, sql, params, many, context):
        if not self.enabled:
            return execute(sql, params, many, context)
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            label = self._stack[-1][0] if self._stack else self.OTHER
            self.db_seconds[label] += time.perf_counter() - started
            self.queries[label] += 1


def profile_run(campaign, sink, profile_size: int, workdir: Path) -> dict:
    from django.conf import settings
    from django.db import close_old_connections, connection, connections

    from campaigns import assembly, ledger, sending, transports
    from campaigns.models import Message, Send

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
    send = Send.objects.create(campaign=campaign, lane=Send.Lane.BULK, is_marketing=True)
    started = time.perf_counter()
    assert sending.send_prepare(send_id=send.pk)
    prepare_seconds = time.perf_counter() - started

    timer = StepTimer()
    steps = [
        (connections["default"], "connect", "DB connect (a new one per task: CONN_MAX_AGE=0)"),
        (ledger, "messages_claim", "claim (ledger.messages_claim)"),
        (sending, "_claimed_messages", "load the claimed rows"),
        (sending, "_with_coupon_codes", "coupon codes"),
        (sending, "prepared_mail_for", "prepared mail (cached per process)"),
        (sending, "transport_for_settings", "transport set-up"),
        (transports._Transport, "open", "SMTP connect + EHLO"),
        (transports._Transport, "close", "SMTP QUIT"),
        (sending, "_still_eligible", "re-check eligibility (ineligible_now)"),
        (ledger, "messages_hand_over", "hand over (ledger.messages_hand_over)"),
        (assembly.PreparedMail, "render", "render (personalise + tokens)"),
        (assembly.PreparedMail, "as_bytes", "bytes assembly (as_bytes without render)"),
        (transports.SmtpTransport, "_one", "SMTP exchange (MAIL, RCPT, DATA)"),
        (sending, "_record", "record results (ledger.messages_record_*)"),
        (ledger, "send_batch_succeeded", "send bookkeeping (batch succeeded, finish)"),
        (ledger, "send_finish_if_done", "send bookkeeping (batch succeeded, finish)"),
    ]
    for owner, name, label in steps:
        timer.wrap(owner, name, label)

    def sent_so_far() -> int:
        return Message.objects.filter(send=send, status=Message.Status.SENT).count()

    def batch() -> bool:
        close_old_connections()  # what Celery's Django fix-up does around each task
        connection.ensure_connection()
        return sending.send_batch(send_id=send.pk).more

    batches = -(-profile_size // settings.SEND_BATCH_SIZE)
    timed_batches = max(1, (batches - 1) // 2)
    try:
        with connection.execute_wrapper(timer.query):
            batch()  # warm up: the prepared mail, the connection, imports
            before = sent_so_far()
            timer.enabled = True
            started, cpu_started = time.perf_counter(), time.thread_time()
            for _ in range(timed_batches):
                batch()
            timed_seconds = time.perf_counter() - started
            timed_cpu = time.thread_time() - cpu_started
            timer.enabled = False
            timed_sent = sent_so_far() - before
    finally:
        timer.unwrap()

    profiler = cProfile.Profile()
    before = sent_so_far()
    profiled_seconds, more = 0.0, True
    while more:
        started = time.perf_counter()
        profiler.enable()
        more = batch()
        profiler.disable()
        profiled_seconds += time.perf_counter() - started
    profiled_sent = sent_so_far() - before
    prof_path = workdir / "worker-batch.prof"
    profiler.dump_stats(prof_path)
    send.refresh_from_db()
    return {
        "send": send,
        "prepare_seconds": prepare_seconds,
        "timer": timer,
        "timed_sent": timed_sent,
        "timed_seconds": timed_seconds,
        "timed_cpu": timed_cpu,
        "timed_batches": timed_batches,
        "profiled_sent": profiled_sent,
        "profiled_seconds": profiled_seconds,
        "stats": pstats.Stats(str(prof_path)),
        "prof_path": prof_path,
    }


def _where(func: tuple) -> str:
    path, line, name = func
    if path == "~":
        return name
    for marker in ("site-packages/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    else:
        path = os.path.relpath(path, harness.ROOT)
    return f"{path}:{line} {name}"


LEDGER_WRITES = ("claim", "hand over", "record results")


def profile_report(profile: dict, lines: int) -> str:
    timer: StepTimer = profile["timer"]
    per = 1e6 / profile["timed_sent"]
    batches = profile["timed_batches"]
    rows = [
        (
            label,
            timer.seconds[label] * per,
            timer.cpu[label] * per,
            timer.db_seconds.get(label, 0) * per,
            timer.queries.get(label, 0) / batches,
        )
        for label in timer.seconds
    ]
    rows.append(
        (
            StepTimer.OTHER,
            (profile["timed_seconds"] - sum(timer.seconds.values())) * per,
            (profile["timed_cpu"] - sum(timer.cpu.values())) * per,
            timer.db_seconds.get(StepTimer.OTHER, 0) * per,
            timer.queries.get(StepTimer.OTHER, 0) / batches,
        )
    )
    rows.sort(key=lambda r: -r[1])
    ledger = [r for r in rows if r[0].startswith(LEDGER_WRITES)]
    rows.append(
        (
            "total",
            profile["timed_seconds"] * per,
            profile["timed_cpu"] * per,
            sum(timer.db_seconds.values()) * per,
            sum(timer.queries.values()) / batches,
        )
    )
    out = [
        f"One worker's batches, in this process against sink 1: {batches} batches of "
        f"{profile['timed_sent'] // batches} mails, "
        f"{profile['timed_seconds'] * 1e3 / batches:.0f} ms each (Celery's own overhead "
        "not included). Wall and CPU time of this process by step, exclusive of the steps "
        "inside it; wall - CPU is waiting (for the sink, for PostgreSQL):",
        harness.table(
            rows, ("step", "wall us/mail", "CPU us/mail", "DB wall us/mail", "queries/batch")
        ),
        f"ledger writes (claim + hand over + record): {sum(r[1] for r in ledger):.0f} us/mail "
        f"wall, {sum(r[2] for r in ledger):.0f} us/mail CPU in the worker, "
        f"{sum(r[4] for r in ledger):.0f} queries a batch",
        "",
    ]
    stats = profile["stats"]
    profiled = max(1, profile["profiled_sent"])
    entries = [(func, v) for func, v in stats.stats.items() if "bench/" not in func[0]]
    for title, key, count in (
        ("cumulative", lambda item: -item[1][3], lines),
        ("own", lambda item: -item[1][2], max(10, lines * 2 // 3)),
    ):
        top = sorted(entries, key=key)[:count]
        rows = [
            (ct * 1e6 / profiled, tt * 1e6 / profiled, nc, _where(func))
            for func, (cc, nc, tt, ct, _callers) in top
        ]
        out += [
            f"cProfile of {profile['profiled_sent']} more mails "
            f"({profile['profiled_seconds'] * 1e6 / profiled:.0f} us/mail under the profiler, "
            f"which inflates every call), top functions by {title} time:",
            harness.table(rows, ("cum us/mail", "own us/mail", "calls", "function")),
            "",
        ]
    return "\n".join(out).rstrip()


def cpu_report(product: dict, baseline: dict, count: int) -> str:
    rows = []
    for phase, run, mails in (
        ("product", product, count),
        ("baseline", baseline, baseline["count"]),
    ):
        cpu: harness.CpuWatch = run["cpu"]
        for name, seconds in cpu.seconds.items():
            rows.append((phase, name, seconds, seconds * 1e6 / mails))
        rows.append(
            (phase, "  sum of ours (the rows above 'rest')", cpu.ours, cpu.ours * 1e6 / mails)
        )
        rows.append((phase, f"  (machine busy {100 * cpu.busy_share:.0f}% of the time)", "", ""))
    ours = (product["cpu"].ours / count) / (baseline["cpu"].ours / baseline["count"])
    return "\n".join(
        [
            "CPU used while each ran, per mail of the run (both processes of a pair together):",
            harness.table(rows, ("run", "processes", "CPU s", "CPU us/mail")),
            f"our own CPU per mail, product / baseline: {ours:.2f} (a cross-check of the ratio "
            "that other people's load on this machine does not move)",
        ]
    )


def batches_report(durations: dict[str, list[float]]) -> str:
    """Batch task durations by tenth of the send, from the workers' logs."""
    batches = durations.get("send_batch_task", [])
    if len(batches) < 10:
        return f"batch tasks: {len(batches)}"
    bounds = [len(batches) * n // 10 for n in range(11)]
    rows = [
        (f"{n * 10}-{n * 10 + 10}%", len(part), 1e3 * sum(part) / len(part), 1e3 * max(part))
        for n in range(10)
        for part in [batches[bounds[n] : bounds[n + 1]]]
    ]
    prepare = durations.get("send_prepare_task", [0.0])
    return "\n".join(
        [
            f"Celery tasks: prepare {prepare[0]:.2f} s; {len(batches)} batch tasks, by tenth "
            "of the send (a batch that slows down as the send goes on is a query that "
            "scans what was already sent):",
            harness.table(rows, ("part of the send", "tasks", "mean ms", "max ms")),
        ]
    )


# --- Main ----------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("count", nargs="?", type=int, default=100_000, help="mails (N)")
    parser.add_argument(
        "--profile", action="store_true", help="list more profiled functions, keep the .prof"
    )
    parser.add_argument("--profile-size", type=int, default=3000, help="mails profiled")
    parser.add_argument("--keep", action="store_true", help="keep the database and the logs")
    args = parser.parse_args()
    count = args.count
    # The baseline's rate is steady after a few thousand mails: half of N is plenty.
    baseline_count = max(2000, count // 2)

    harness.environment()
    database = harness.database_recreate()
    try:
        harness.migrate()
    except BaseException:
        harness.database_drop(database)
        raise
    harness.django_setup()
    from django.conf import settings

    from contacts.models import Group

    workdir = Path(tempfile.mkdtemp(prefix="bench-send-"))
    sinks = []
    try:
        started = time.perf_counter()
        audience = Group.objects.create(name="Bench audience")
        contacts_load(audience, count, "customer")
        profiled = Group.objects.create(name="Bench profile")
        contacts_load(profiled, args.profile_size, "profile")
        campaign = campaign_create("Autumn sale", audience)
        twin = campaign_create("Autumn sale (profiled)", profiled)
        print(
            f"database {database}: {count:,} + {args.profile_size:,} contacts loaded in "
            f"{time.perf_counter() - started:.1f} s; batches of {settings.SEND_BATCH_SIZE}, "
            f"chunks of {settings.SEND_CHUNK_SIZE}, {settings.SEND_PARALLEL_BATCHES} "
            "parallel batches",
            flush=True,
        )
        sinks = [SinkProcess() for _ in range(2)]
        # The twin campaign (same content, its own contacts) is sent first, in
        # this process, profiled; its mails feed the first half of the
        # baseline, the product's own the second: the baseline brackets the
        # product, so a load that comes or goes on this shared machine
        # weighs on both alike.
        profile = profile_run(twin, sinks[0], args.profile_size, workdir)
        before = baseline_run(profile["send"], sinks, workdir, baseline_count // 2)
        print(f"baseline, first half: {before['count']:,} mails in {before['seconds']:.1f} s")
        product = product_run(campaign, sinks, workdir, count)
        print(f"product: {count:,} mails in {product['seconds']:.1f} s", flush=True)
        after = baseline_run(product["send"], sinks, workdir, baseline_count - baseline_count // 2)
        print(f"baseline, second half: {after['count']:,} mails in {after['seconds']:.1f} s")
    finally:
        for sink in sinks:
            sink.stop()
        harness.queues_purge()
        if not args.keep:
            harness.database_drop(database)
        shutil.rmtree(os.environ["VAR_DIR"], ignore_errors=True)

    baseline = {
        "count": before["count"] + after["count"],
        "seconds": before["seconds"] + after["seconds"],
        "sink": before["sink"] + after["sink"],
        "cpu": before["cpu"] + after["cpu"],
    }
    product_rate = count / product["seconds"]
    baseline_rate = baseline["count"] / baseline["seconds"]
    ratio = product_rate / baseline_rate
    send = product["send"]
    print()
    print(
        f"{count:,} recipients, mails of {after['mail_bytes'] / 1024:.1f} KiB on average, "
        f"2 workers -> 2 sinks, on a machine with {os.cpu_count()} cores"
    )
    product_sink = sum(s.mails for s in product["sink"])
    batches_seconds = product["seconds"] - product["prepare_seconds"]
    rows = [
        ("product: campaign_send -> done", count, product["seconds"], product_rate,
         1e6 / product_rate, product_sink),
        ("  of which prepare (compile, snapshot)", count, product["prepare_seconds"],
         count / product["prepare_seconds"], product["prepare_seconds"] * 1e6 / count, ""),
        ("  of which batches", count, batches_seconds, count / batches_seconds,
         batches_seconds * 1e6 / count, ""),
        ("baseline: smtplib loop x2, before", before["count"], before["seconds"],
         before["count"] / before["seconds"], before["seconds"] * 1e6 / before["count"],
         sum(s.mails for s in before["sink"])),
        ("baseline: smtplib loop x2, after", after["count"], after["seconds"],
         after["count"] / after["seconds"], after["seconds"] * 1e6 / after["count"],
         sum(s.mails for s in after["sink"])),
        ("baseline: both", baseline["count"], baseline["seconds"], baseline_rate,
         1e6 / baseline_rate, sum(s.mails for s in baseline["sink"])),
    ]  # fmt: skip
    print(harness.table(rows, ("run", "mails", "seconds", "mails/s", "us/mail", "sinks got")))
    print()
    print(cpu_report(product, baseline, count))
    print()
    print(batches_report(product["batches"]))
    print()
    recipients = sum(s.recipients for s in product["sink"])
    print(
        f"send {send.pk}: {send.status}; messages by status: "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(product["statuses"].items()))
        + f"; the sinks got {product_sink:,} mails for {recipients:,} distinct addresses"
    )
    problems = []
    if send.status != "done" or product["statuses"].get("sent") != count:
        problems.append(f"the send ended {send.status} with {product['statuses']}")
    if product_sink != count or recipients != count:
        problems.append(f"the sinks got {product_sink} mails for {count} recipients")
    if product["errors"]:
        problems.append("worker errors:\n  " + "\n  ".join(product["errors"][:10]))
    print()
    print(
        f"Profiled send: prepare (compile + snapshot of {args.profile_size:,}) "
        f"{profile['prepare_seconds'] * 1e3:.0f} ms"
    )
    print(profile_report(profile, 30 if args.profile else 12))
    if args.profile:
        print(f"\nprofile kept in {profile['prof_path']}")
    elif not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    if problems:
        print("\nPROBLEMS: " + "\n".join(problems))
    print()
    print(harness.result_line("send_throughput", product_rate, "mails/s", ratio, "smtplib_loop"))
    if problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
