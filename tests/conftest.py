import email
import email.policy
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from marketing_site.celery import app as celery_app
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _celery_eager():
    """Tasks run inline unless a test starts a real worker (tests/worker.py)."""
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture(autouse=True)
def _outbox_in_tmp(settings, tmp_path):
    settings.EMAIL_OUTBOX_DIR = tmp_path / "outbox"


@pytest.fixture
def alice(db):
    """An admin."""
    return UserFactory(username="alice", role="admin")


@pytest.fixture
def bob(db):
    """A marketer."""
    return UserFactory(username="bob", role="marketer")


@pytest.fixture
def charlie(db):
    """A viewer."""
    return UserFactory(username="charlie", role="viewer")


@pytest.fixture
def dave(db):
    """An outsider: logged in, no role."""
    return UserFactory(username="dave")


class WorkerProcess:
    """A real `celery worker` in its own process, on the test database."""

    def __init__(self, outbox: Path, log: Path):
        self.outbox = outbox
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self, env: dict, queue: str | None = None) -> None:
        queue = queue or celery_app.conf.task_default_queue
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "marketing_site", "worker", "-Q", queue,
             "--concurrency", "2", "--without-mingle", "--without-gossip", "--loglevel", "INFO"],
            env=env, cwd=ROOT, stdout=self.log.open("wb"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while "ready." not in self.log.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"The worker did not start:\n{self.log.read_text()}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def mails(self) -> list[email.message.EmailMessage]:
        return [
            email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            for path in sorted(self.outbox.glob("*.eml"))
        ]


def wait_for(condition, timeout: float = 60, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out waiting for {what}")
        time.sleep(0.2)
    return result


@pytest.fixture
def celery_worker(transactional_db, tmp_path):
    """Tasks go through the real broker (Redis under `make test`) to a worker
    process that reads and writes the test database."""
    db = connection.settings_dict
    worker = WorkerProcess(outbox=tmp_path / "worker-outbox", log=tmp_path / "worker.log")
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}"
            f":{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "EMAIL_BACKEND": "marketing_site.outbox.OutboxEmailBackend",
        "EMAIL_OUTBOX_DIR": str(worker.outbox),
    }
    celery_app.conf.task_always_eager = False
    celery_app.control.purge()  # leftovers of an earlier, interrupted run
    worker.start(env)
    yield worker
    worker.stop()
