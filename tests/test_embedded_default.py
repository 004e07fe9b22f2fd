"""`make run`'s configuration: SQLite, the file-system broker and the local
outbox, each in its own process as honcho starts them."""

import os
import socket
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from tests.conftest import ROOT, WorkerProcess, wait_for
from tests.helpers import BROWSER, click_paths, html_part

SERVICE_VARIABLES = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CELERY_TASK_DEFAULT_QUEUE",
    "CELERY_QUEUE_PREFIX",
    "EMAIL_BACKEND",
    "EMAIL_OUTBOX_DIR",
    "SITE_URL",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture
def embedded(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES}
    env |= {"VAR_DIR": str(tmp_path / "var"), "SITE_URL": f"http://127.0.0.1:{port}"}

    def manage(*args):
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            env=env, cwd=ROOT, check=True, capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    manage("migrate", "--noinput")
    manage("demo_data")
    web = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    worker = WorkerProcess(outbox=tmp_path / "var" / "outbox", log=tmp_path / "worker.log")
    # As `make run` lays the workers out: every lane and the default queue.
    worker.start(env, queues=["celery", "transactional", "automation", "bulk"])
    yield manage, worker, tmp_path / "var" / "db.sqlite3", f"http://127.0.0.1:{port}"
    worker.stop()
    web.terminate()
    web.wait(10)


def test_the_demo_campaign_lands_in_the_outbox_with_working_links(embedded):
    manage, worker, database, site = embedded

    manage("send_campaign", "Autumn sale")

    def send_done():
        with sqlite3.connect(database) as db:
            return db.execute(
                "select s.status from campaigns_send s join campaigns_campaign c "
                "on c.id = s.campaign_id where c.name = 'Autumn sale'"
            ).fetchone() == ("done",)

    wait_for(send_done, what="the send to finish")
    with sqlite3.connect(database) as db:
        (sent,) = db.execute(
            "select count(*) from campaigns_message m join campaigns_send s on s.id = m.send_id "
            "join campaigns_campaign c on c.id = s.campaign_id "
            "where m.status = 'sent' and c.name = 'Autumn sale'"
        ).fetchone()
    mails = worker.mails()
    assert sent > 0 and len(mails) == sent
    assert all(m["List-Unsubscribe"].startswith(f"<{site}/t/u/") for m in mails)

    # The first link of a mail goes through the running site to the shop.
    url = site + click_paths(html_part(mails[0]))[0]
    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, headers={"User-Agent": BROWSER})
    wait_for(lambda: _answers(site), what="the web server")
    with pytest.raises(urllib.error.HTTPError) as redirect:
        opener.open(request, timeout=10)
    assert redirect.value.code == 302
    assert redirect.value.headers["Location"].startswith("https://shop.example.com/")


def _answers(site: str) -> bool:
    try:
        urllib.request.urlopen(site + "/login/", timeout=2)
    except OSError:
        return False
    return True
