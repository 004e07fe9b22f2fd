import contextlib
import email
import email.policy
import os
import signal
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


def lane_queues() -> list[str]:
    """The sending lanes' queues (settings.SEND_LANE_QUEUES), named from the
    environment as the workers name them."""
    prefix = os.environ.get("CELERY_QUEUE_PREFIX", "")
    return [f"{prefix}{lane}" for lane in ("transactional", "automation", "bulk")]


def worker_queues() -> list[str]:
    """Every queue a task may go to: the default one and the lanes."""
    return [celery_app.conf.task_default_queue, *lane_queues()]


def queues_purge(queues: list[str]) -> None:
    """Drop the tasks an earlier, interrupted run left behind."""
    with celery_app.connection_for_write() as broker:
        for queue in queues:
            broker.default_channel.queue_purge(queue)


def worker_env(**overrides: str) -> dict[str, str]:
    """The environment of a worker process that reads and writes the test database."""
    db = connection.settings_dict
    database_url = (
        f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}"
        f":{db['PORT'] or 5432}/{db['NAME']}"
    )
    return {**os.environ, "DATABASE_URL": database_url, **overrides}


class WorkerProcess:
    """A real `celery worker` in its own process, on the test database. It runs
    in a session of its own, so `kill()` takes it and any child down at once."""

    def __init__(self, outbox: Path, log: Path, name: str = "worker"):
        self.outbox = outbox
        self.log = log
        self.name = name
        self.process: subprocess.Popen | None = None

    def start(self, env: dict, queues: list[str] | None = None, solo: bool = False) -> None:
        """`solo` runs each task in the worker process itself, one at a time,
        so a kill stops a task at a known point."""
        pool = ["--pool", "solo"] if solo else ["--concurrency", "2"]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "marketing_site", "worker",
             "-n", f"{self.name}@%h", "-Q", ",".join(queues or worker_queues()), *pool,
             "--without-mingle", "--without-gossip", "--without-heartbeat", "--loglevel", "INFO"],
            env=env, cwd=ROOT, stdout=self.log.open("wb"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while "ready." not in self.log.read_text(errors="replace"):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"The worker did not start:\n{self.log.read_text()}")
            time.sleep(0.2)

    def kill(self, wait: bool = True) -> None:
        """SIGKILL, as the OOM killer or a lost machine would: no clean-up at all."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):  # gone already
            os.killpg(self.process.pid, signal.SIGKILL)
        if wait:
            self.process.wait()

    def stop(self, grace: float = 20) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.kill()

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
    process that reads and writes the test database, on every queue."""
    worker = WorkerProcess(outbox=tmp_path / "worker-outbox", log=tmp_path / "worker.log")
    env = worker_env(
        EMAIL_BACKEND="marketing_site.outbox.OutboxEmailBackend",
        EMAIL_OUTBOX_DIR=str(worker.outbox),
    )
    celery_app.conf.task_always_eager = False
    queues_purge(worker_queues())
    worker.start(env)
    yield worker
    worker.stop()
