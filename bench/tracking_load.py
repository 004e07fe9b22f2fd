"""Load on the open pixel and the click redirect, against a raw WSGI GIF.

Under gunicorn (2 sync workers) on PostgreSQL, `wrk` on 127.0.0.1 loads for a
fixed time, in the same run:
  raw_gif   a 43-byte GIF from a bare WSGI app (bench/raw_gif_wsgi.py): the ceiling;
  open      the product's open pixel, each request another message's token;
  click     the product's click redirect, likewise.
Then it counts the stored events against the responses wrk got (`lost=N`
must be 0) and times the flush that applies them. The last line is
  RESULT tracking_load <rps> req/s ratio <r> to raw_gif
with the slower of pixel and click.

    python bench/tracking_load.py [seconds] [messages]
"""

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import harness

SECONDS = int(sys.argv[1]) if len(sys.argv) > 1 else 10
MESSAGES = int(sys.argv[2]) if len(sys.argv) > 2 else 20_000
CONNECTIONS = 32
WORKERS = 2
# Threads per worker: while one request waits for its commit to reach the
# disk, the others run, and PostgreSQL flushes their commits together.
THREADS = 8


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wrk_path() -> str:
    for candidate in ("/usr/bin/wrk", "/usr/local/bin/wrk"):
        if os.path.exists(candidate):
            return candidate
    sys.exit("wrk is missing: apt-get install -y wrk (make bench does it when run as root).")


def seed(messages: int) -> tuple[list[str], list[str]]:
    """A sent campaign of `messages` mails with two links; their pixel and click paths."""
    from django.utils import timezone

    from campaigns import tokens
    from campaigns.models import Campaign, Link, Message, Send
    from campaigns.recipient_urls import recipient_url_parts

    campaign = Campaign.objects.create(
        name="Load", subject="Hi", from_name="Shop", from_email="shop@example.com", body="x"
    )
    send = Send.objects.create(campaign=campaign, status=Send.Status.DONE)
    Link.objects.bulk_create(
        [Link(send=send, index=i, url=f"https://shop.example.com/p/{i}") for i in range(2)]
    )
    now = timezone.now() - timezone.timedelta(hours=1)
    Message.objects.bulk_create(
        (
            Message(send=send, email=f"r{i}@example.com", status="sent", sent_at=now)
            for i in range(messages)
        ),
        batch_size=5000,
    )
    ids = list(Message.objects.filter(send=send).values_list("id", flat=True))
    site = len(os.environ.get("SITE_URL", "http://127.0.0.1:8000"))

    def path(purpose: str, token: str) -> str:
        before, after = recipient_url_parts(purpose)
        return f"{before}{token}{after}"[site:]

    pixels = [path("open", tokens.open_token(i)) for i in ids]
    clicks = [path("click", tokens.click_token(i, i % 2, send.pk)) for i in ids]
    return pixels, clicks


def lua_script(paths: list[str], directory: Path) -> Path:
    script = directory / "paths.lua"
    listed = ",\n".join(f'"{p}"' for p in paths)
    script.write_text(
        f"local paths = {{\n{listed}\n}}\n"
        "local counter = 0\n"
        "function setup(thread) thread:set('offset', math.random(1, #paths)) end\n"
        "function init(args) counter = tonumber(wrk.thread:get('offset')) or 0 end\n"
        "request = function()\n"
        "  counter = counter + 1\n"
        "  return wrk.format('GET', paths[(counter % #paths) + 1], "
        "{['User-Agent'] = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/130.0'})\n"
        "end\n"
    )
    return script


def gunicorn(app: str, port: int, log: Path) -> subprocess.Popen:
    process = harness.child_start(
        [sys.executable, "-m", "gunicorn", app, "-w", str(WORKERS), "-b", f"127.0.0.1:{port}",
         "-k", "gthread", "--threads", str(THREADS), "--log-level", "warning"],
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


def wrk(port: int, script: Path | None, path: str = "/") -> dict:
    args = [wrk_path(), "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--latency"]
    if script:
        args += ["-s", str(script)]
    output = subprocess.run(
        [*args, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True, check=True
    ).stdout
    requests = int(re.search(r"(\d+) requests in", output)[1])
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", output)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99[2]]
    return {
        "requests": requests,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output)[1]),
        "p99_ms": float(p99[1]) * scale,
        "bad": int(errors[1]) if errors else 0,
        "socket_errors": socket_errors[1] if socket_errors else "",
    }


def stored_events(kind: str) -> int:
    from tracking.models import Event

    return Event.objects.filter(kind=kind).count()


def main() -> None:
    harness.environment(DATABASE_CONN_MAX_AGE="60")
    name = harness.database_recreate()
    harness.migrate()
    harness.django_setup()
    work = Path(tempfile.mkdtemp(prefix="tracking-load-"))
    pixels, clicks = seed(MESSAGES)
    print(f"{MESSAGES} messages; wrk {CONNECTIONS} connections for {SECONDS}s per run; "
          f"gunicorn {WORKERS} workers x {THREADS} threads")  # fmt: skip

    results = {}
    raw_port, site_port = free_port(), free_port()
    raw = gunicorn("bench.raw_gif_wsgi:application", raw_port, work / "raw.log")
    results["raw_gif"] = wrk(raw_port, None, "/pixel.gif")
    harness.child_stop(raw)
    site = gunicorn("marketing_site.wsgi:application", site_port, work / "site.log")
    wrk(site_port, lua_script(pixels[-500:], work), "")  # warm-up: imports, connections
    from tracking.models import Event

    Event.objects.all().delete()
    results["open"] = wrk(site_port, lua_script(pixels[:-500], work), "")
    results["click"] = wrk(site_port, lua_script(clicks, work), "")
    harness.child_stop(site)

    lost = 0
    for kind, run in (("opened", "open"), ("clicked", "click")):
        good = results[run]["requests"] - results[run]["bad"]
        results[run]["stored"] = stored_events(kind)
        lost += max(0, good - results[run]["stored"])

    from tracking.facts import events_flush_all

    started = time.perf_counter()
    applied = events_flush_all(settle_seconds=0)
    flush_seconds = time.perf_counter() - started

    raw_rps = results["raw_gif"]["rps"]
    rows = [
        (run, r["rps"], r["p99_ms"], r["requests"], r["bad"], r.get("stored", "-"),
         r["rps"] / raw_rps)
        for run, r in results.items()
    ]  # fmt: skip
    header = ("run", "req/s", "p99 ms", "requests", "non-2xx/3xx", "stored", "ratio")
    print(harness.table(rows, header))
    print(f"flush: {applied} events applied in {flush_seconds:.1f}s "
          f"({applied / max(flush_seconds, 1e-9):.0f} events/s)")  # fmt: skip
    print(f"lost={lost}")
    slower = min(results["open"]["rps"], results["click"]["rps"])
    harness.database_drop(name)
    print(harness.result_line("tracking_load", slower, "req/s", slower / raw_rps, "raw_gif"))


if __name__ == "__main__":
    main()
