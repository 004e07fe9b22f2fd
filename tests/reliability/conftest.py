"""Faults on the real stack: PostgreSQL, Redis, real `celery worker`
processes, and a local SMTP sink that misbehaves on cue (smtp_sink.py)."""

import pytest

from marketing_site.celery import app as celery_app
from tests.conftest import queues_purge, worker_queues
from tests.reliability.smtp_sink import SmtpSink
from tests.reliability.workers import Workers


@pytest.fixture
def sink():
    sink = SmtpSink()
    sink.up()
    yield sink
    if sink.is_up:
        sink.down()


@pytest.fixture
def workers(transactional_db, tmp_path, sink):
    """Start workers with `workers.start(...)`; tasks the test queues go
    through Redis to them. All are stopped before the database is emptied."""
    pool = Workers(tmp_path, sink)
    celery_app.conf.task_always_eager = False
    queues_purge(worker_queues())
    yield pool
    pool.stop_all()
