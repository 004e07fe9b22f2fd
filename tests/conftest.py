import pytest

from marketing_site.celery import app as celery_app
from tests.factories import UserFactory


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
