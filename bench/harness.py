"""What every benchmark needs: its own database, broker queues and processes.

A benchmark reads DATABASE_URL and CELERY_BROKER_URL like the tests, with
defaults of its own (database `marketing_bench`, Redis db 12, queues named
`bench-...`), so it never touches the database or the queues of a test run on
the same machine. It drops and recreates its database at start, migrates it
with `manage.py migrate`, starts its own SMTP sinks and Celery workers, and
stops them again however it ends.

Call `environment()` before anything imports Django settings, then
`database_recreate()`, `migrate()` and `django_setup()`.
"""

import atexit
import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULTS = {
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/marketing_bench",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/12",
    "CELERY_TASK_DEFAULT_QUEUE": "bench",
    "CELERY_QUEUE_PREFIX": "bench-",
}
_children: list[subprocess.Popen] = []


def environment(**overrides: str) -> dict[str, str]:
    """Settle the environment this process and its children run with. A
    benchmark's own local state (the secret key file, the outbox) goes into a
    fresh temporary VAR_DIR."""
    for name, value in DEFAULTS.items():
        os.environ.setdefault(name, value)
    for name in ("CELERY_TASK_DEFAULT_QUEUE", "CELERY_QUEUE_PREFIX"):
        if "bench" not in os.environ[name]:  # e.g. a shell set up for the tests
            os.environ[name] = DEFAULTS[name]
    os.environ.update(overrides)
    os.environ["VAR_DIR"] = tempfile.mkdtemp(prefix="marketing-bench-")  # removed at the end
    os.environ.setdefault("SECRET_KEY", "bench-" + os.urandom(24).hex())
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketing_site.settings")
    os.environ["DEBUG"] = "0"  # DEBUG keeps every query in memory
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return dict(os.environ)


def _connect_args(url: str) -> dict:
    import dj_database_url

    config = dj_database_url.parse(url)
    if config["ENGINE"] != "django.db.backends.postgresql":
        sys.exit(f"The benchmarks run on PostgreSQL; DATABASE_URL is {url!r}.")
    return {
        "host": config["HOST"] or "127.0.0.1",
        "port": config["PORT"] or 5432,
        "user": config["USER"] or "postgres",
        "password": config["PASSWORD"] or None,
        "dbname": config["NAME"],
    }


def database_name() -> str:
    return _connect_args(os.environ["DATABASE_URL"])["dbname"]


def database_recreate() -> str:
    """Drop and create the benchmark's database; returns its name. Refuses a
    database without "bench" in its name, so a stray DATABASE_URL never
    drops the test or the development database."""
    import psycopg

    args = _connect_args(os.environ["DATABASE_URL"])
    name = args.pop("dbname")
    if "bench" not in name:
        sys.exit(f"Refusing to drop {name!r}: a benchmark's database has 'bench' in its name.")
    with psycopg.connect(**args, dbname="postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    return name


def database_drop(name: str) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    args = _connect_args(os.environ["DATABASE_URL"])
    args.pop("dbname")
    with psycopg.connect(**args, dbname="postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrate() -> None:
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=os.environ,
        check=True,
    )


def django_setup() -> None:
    import django

    django.setup()


def raw_connection():
    """A psycopg connection of its own to the benchmark's database (autocommit)."""
    import psycopg

    return psycopg.connect(**_connect_args(os.environ["DATABASE_URL"]), autocommit=True)


def queues() -> list[str]:
    """Every queue a worker of the benchmark reads: the lanes and the default."""
    from django.conf import settings

    return [*settings.SEND_LANE_QUEUES.values(), settings.CELERY_TASK_DEFAULT_QUEUE]


def queues_purge() -> None:
    from marketing_site.celery import app

    with app.connection_for_write() as broker:
        for queue in queues():
            broker.default_channel.queue_purge(queue)


def child_start(args: list[str], *, env: dict | None = None, **popen) -> subprocess.Popen:
    """Start a process in a session of its own (so it and its children can be
    stopped together), remembered for the clean-up at exit."""
    process = subprocess.Popen(
        args, cwd=ROOT, env=env or os.environ, start_new_session=True, **popen
    )
    _children.append(process)
    return process


def child_stop(process: subprocess.Popen, grace: float = 15) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    if process in _children:
        _children.remove(process)


@atexit.register
def _stop_children() -> None:
    for process in list(_children):
        child_stop(process, grace=5)


class Worker:
    """A real `celery worker` (`--pool solo`, one task at a time) on the
    benchmark's database and queues, with its own environment (e.g. its own
    EMAIL_PORT)."""

    def __init__(self, name: str, log: Path, env: dict[str, str]):
        self.name = name
        self.log = log
        self.env = env
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = child_start(
            [sys.executable, "-m", "celery", "-A", "marketing_site", "worker",
             "-n", f"{self.name}@%h", "-Q", ",".join(queues()),
             "--concurrency", "1", "--pool", "solo",
             "--without-mingle", "--without-gossip", "--without-heartbeat",
             "--loglevel", "INFO"],
            env=self.env, stdout=self.log.open("wb"), stderr=subprocess.STDOUT,
        )  # fmt: skip

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while "ready." not in self.log.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Worker {self.name} did not start:\n{self.log.read_text()}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process is not None:
            child_stop(self.process)

    def errors(self) -> list[str]:
        """The log from the first error on, if any."""
        lines = self.log.read_text(errors="replace").splitlines()
        first = next((i for i, line in enumerate(lines) if "ERROR" in line), None)
        return [] if first is None else lines[first:]


def table(rows: list[tuple], header: tuple) -> str:
    """A plain text table, numbers right-aligned."""
    cells = [[str(c) for c in header]] + [[_cell(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    numeric = [
        all(_is_number(row[i]) or row[i] in ("", None) for row in rows) for i in range(len(header))
    ]
    lines = []
    for n, row in enumerate(cells):
        lines.append(
            "  ".join(
                c.rjust(w) if numeric[i] else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _is_number(value) -> bool:
    return isinstance(value, int | float)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 100 else f"{value:,.3g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def result_line(name: str, value: float, unit: str, ratio: float, baseline: str) -> str:
    return f"RESULT {name} {value:.4g} {unit} ratio {ratio:.3f} to {baseline}"


# --- Loading rows with COPY ----------------------------------------------------


_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value) -> str:
    """One value in COPY's text format."""
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dict | list):
        import json

        value = json.dumps(value)
    elif hasattr(value, "isoformat"):
        value = value.isoformat()
    value = str(value)
    if _COPY_SPECIAL.search(value):
        value = value.translate(_COPY_ESCAPES)
    return value


class CopyRows:
    """COPY-format rows of a model's table: the given columns vary per row, every
    other column gets the field's default (now, for auto_now fields), as
    bulk_create would write it. Built from the model, so a field added by
    someone else is filled in too."""

    def __init__(self, model, varying: list[str]):
        from django.db import connection
        from django.utils import timezone

        now = timezone.now()
        self.table = model._meta.db_table
        self.varying = varying
        fixed = {}
        for field in model._meta.concrete_fields:
            if field.primary_key or field.attname in varying:
                continue
            if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                value = now
            else:
                value = field.get_db_prep_save(field.get_default(), connection)
                value = getattr(value, "obj", value)  # psycopg's Jsonb wrapper
            fixed[field.column] = _copy_text(value)
        self.columns = [model._meta.get_field(name).column for name in varying] + list(fixed)
        # What ends every line: the fixed columns. Callers with many rows may
        # format the varying part themselves and append this.
        self.tail = "".join("\t" + text for text in fixed.values()) + "\n"

    def lines(self, rows) -> bytes:
        """rows: iterables of the varying columns' values, in order."""
        tail = self.tail
        return "".join("\t".join([_copy_text(v) for v in row]) + tail for row in rows).encode()

    def copy(self, connection, data: bytes) -> None:
        """COPY the prepared lines in (one transaction with autocommit)."""
        columns = ", ".join(self.columns)
        with (
            connection.cursor() as cursor,
            cursor.copy(f"COPY {self.table} ({columns}) FROM STDIN") as copy,
        ):
            view = memoryview(data)
            for start in range(0, len(view), 1 << 20):
                copy.write(view[start : start + (1 << 20)])


# --- CPU accounting --------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """CPU seconds a live process used so far: the scheduler's nanosecond
    counts of its threads (/proc/<pid>/task/*/schedstat), else its user +
    system clock ticks (10 ms steps: too coarse for a short-lived backend)."""
    try:
        return (
            sum(
                int((task / "schedstat").read_text().split()[0])
                for task in Path(f"/proc/{pid}/task").iterdir()
            )
            / 1e9
        )
    except (OSError, ValueError, IndexError):
        pass
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, over all cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    total = sum(values[:8])
    idle = values[3] + values[4]
    return (total - idle) / _TICK, total / _TICK


class PostgresCpu:
    """CPU used by the PostgreSQL processes working on one database (its
    backends, short-lived or not, and autovacuum workers), sampled from /proc
    every few milliseconds in a thread: a backend's CPU is read until it exits,
    missing at most its last few milliseconds, which are its goodbye."""

    def __init__(self, database: str, interval: float = 0.05):
        import threading

        self.database = database
        self.interval = interval
        self.first: dict[tuple, float] = {}
        self.last: dict[tuple, float] = {}
        self._mine: dict[int, tuple | None] = {}  # pid -> key of a process of ours, or None
        self._sightings = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "PostgresCpu":
        self._sample(baseline=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    @property
    def seconds(self) -> float:
        return sum(cpu - self.first.get(key, 0.0) for key, cpu in self.last.items())

    @property
    def processes(self) -> int:
        return len(self.last)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _is_mine(self, pid: int) -> bool | None:
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            return None
        if not title.startswith("postgres:"):
            return False
        words = title.replace("\0", " ").split()
        if len(words) < 4:  # not yet titled with its database
            return None
        return self.database in words

    def _sample(self, baseline: bool = False) -> None:
        seen = {int(name) for name in os.listdir("/proc") if name.isdigit()}
        for pid in self._mine.keys() - seen:  # exited: a new process may reuse the pid
            del self._mine[pid]
        for pid in seen:
            if pid not in self._mine:
                mine = self._is_mine(pid)
                if mine is None:
                    continue
                # Processes are told apart by pid and first sighting.
                self._sightings += 1
                self._mine[pid] = (self._sightings, pid) if mine else None
            key = self._mine[pid]
            if key is None:
                continue
            cpu = process_cpu(pid)
            if cpu == 0.0 and key in self.last:
                continue  # exiting: keep its last reading
            if baseline:
                self.first[key] = cpu
            self.last[key] = cpu


def pids_named(command: str) -> list[int]:
    """Processes whose command name (/proc/<pid>/comm) is `command`."""
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            with contextlib.suppress(OSError):
                if Path(f"/proc/{name}/comm").read_text().strip() == command:
                    found.append(int(name))
    return found


class CpuWatch:
    """CPU used while a run goes, in seconds: by groups of processes of our own,
    by the PostgreSQL processes of our database, by Redis (shared with
    whoever else uses it), by this process, and by the whole machine.

        with CpuWatch({"workers": [pid, pid], "sinks": [...]}, database) as cpu:
            ...
        cpu.seconds  # {"workers": 12.0, ..., "PostgreSQL": ..., "machine busy": ...}
    """

    def __init__(self, groups: dict[str, list[int]], database: str):
        self.groups = {
            **groups,
            "Redis (shared server)": pids_named("redis-server"),
            "this process (polling)": [os.getpid()],
        }
        self.postgres = PostgresCpu(database)
        self.seconds: dict[str, float] = {}

    def __enter__(self) -> "CpuWatch":
        self._before = {n: [process_cpu(p) for p in pids] for n, pids in self.groups.items()}
        self._machine = machine_cpu()
        self.postgres.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.postgres.__exit__(*exc)
        busy, total = (b - a for a, b in zip(self._machine, machine_cpu(), strict=True))
        for name, pids in self.groups.items():
            used = [process_cpu(p) - c for p, c in zip(pids, self._before[name], strict=True)]
            self.seconds[name] = sum(used)
        self.seconds[f"PostgreSQL ({self.postgres.processes} processes of our database)"] = (
            self.postgres.seconds
        )
        ours = sum(self.seconds.values())
        self.seconds["rest of the machine (other people's runs, shared PostgreSQL)"] = busy - ours
        self.seconds["whole machine, busy"] = busy
        self.busy_share = busy / total if total else 0.0
        self.ours = ours

    def __add__(self, other: "CpuWatch") -> "CpuWatch":
        """Two runs of the same thing, added up (the two halves of a baseline)."""
        both = CpuWatch.__new__(CpuWatch)
        both.seconds = {}
        for (name, a), b in zip(self.seconds.items(), other.seconds.values(), strict=True):
            both.seconds[name.split(" (")[0] if name.startswith("PostgreSQL") else name] = a + b
        both.busy_share = (self.busy_share + other.busy_share) / 2
        both.ours = self.ours + other.ours
        return both
