"""The pixel and the click as the production server answers them: through the
site's WSGI application (marketing_site.wsgi), whose hot path handles them
before Django. Django's test client would skip that path, so these tests
call the application with a WSGI environ, as gunicorn does."""

import io
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.core import mail as django_mail
from django.db import connections
from django.db.models import F

from campaigns.models import Message
from campaigns.services import campaign_send
from marketing_site.wsgi import application
from tests.factories import CampaignFactory, ContactFactory, GroupFactory
from tests.helpers import BROWSER, click_paths, html_part, parsed, pixel_path
from tests.tracking.test_endpoints import database_down
from tracking import services
from tracking.facts import events_flush_all
from tracking.machine import HEAD
from tracking.models import Event

pytestmark = pytest.mark.django_db(transaction=True)


def wsgi(path: str, method: str = "GET", agent: str = BROWSER) -> tuple[str, dict, bytes]:
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_USER_AGENT": agent,
        "REMOTE_ADDR": "203.0.113.7",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
    }
    started = {}

    def start_response(status, headers, exc_info=None):
        started["status"], started["headers"] = status, dict(headers)

    chunks = application(environ, start_response)
    try:
        body = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    return started["status"], started["headers"], body


@pytest.fixture(autouse=True)
def buffer_closed():
    yield
    application.buffer.close()  # its own connection, or the test database stays busy


@pytest.fixture
def html():
    """Ann's mail of a sent campaign, read an hour after it was sent."""
    group = GroupFactory(name="Newsletter")
    ContactFactory(email="ann@example.com", first_name="Ann", groups=[group])
    campaign_send(campaign=CampaignFactory(groups=[group]))
    (mail,) = django_mail.outbox
    services.link_cache.urls.clear()
    Message.objects.update(sent_at=F("sent_at") - timedelta(hours=1))
    return html_part(parsed(mail))


def test_an_open_through_the_server_is_stored_once_and_counts_after_the_flush(html):
    status, headers, body = wsgi(pixel_path(html))

    assert status == "200 OK" and headers["Content-Type"] == "image/gif"
    assert body.startswith(b"GIF89a") and headers["Cache-Control"].startswith("no-store")
    (event,) = Event.objects.all()
    assert (event.kind, event.ip, event.user_agent) == ("opened", "203.0.113.7", BROWSER)
    events_flush_all(settle_seconds=0)
    message = Message.objects.get()
    assert message.opened_at is not None and message.opens == 1


def test_a_head_request_gets_an_empty_answer_and_counts_as_a_machine(html):
    status, headers, body = wsgi(pixel_path(html), method="HEAD")

    assert status == "200 OK" and body == b"" and headers["Content-Type"] == "image/gif"
    events_flush_all(settle_seconds=0)
    (event,) = Event.objects.all()
    assert event.is_machine and event.machine_reason == HEAD
    assert Message.objects.get().opened_at is None


def test_a_forged_pixel_still_gets_its_gif_and_records_nothing(html):
    path = pixel_path(html)
    head, token = path.rsplit("/", 1)
    forged = f"{head}/x{token[1:]}"

    status, _, body = wsgi(forged)

    assert status == "200 OK" and body.startswith(b"GIF89a")
    assert not Event.objects.exists()


def test_clicks_redirect_to_the_stored_url_the_first_read_by_django_the_next_answered_early(html):
    path = click_paths(html)[0]

    first = wsgi(path)
    assert services.link_cache.urls  # Django read the link and kept it
    second = wsgi(path)

    for status, headers, _ in (first, second):
        assert status == "302 Found"
        assert headers["Location"].partition("?mc=")[0] == "https://shop.example.com/sale"
    assert Event.objects.filter(kind="clicked").count() == 2


def test_a_click_on_a_deleted_message_shows_the_unknown_link_page(html):
    path = click_paths(html)[0]
    wsgi(path)  # the link is cached now
    Message.objects.all().delete()

    status, headers, body = wsgi(path)

    assert status.startswith("404")
    assert "Location" not in headers and b"link" in body.lower()


def test_the_pixel_and_a_cached_link_answer_while_the_database_is_down(html):
    path = click_paths(html)[0]
    wsgi(path)
    application.buffer.close()

    with database_down():
        pixel = wsgi(pixel_path(html))
        click = wsgi(path)

    assert pixel[0] == "200 OK" and pixel[2].startswith(b"GIF89a")
    assert (
        click[0] == "302 Found"
        and click[1]["Location"].partition("?mc=")[0] == "https://shop.example.com/sale"
    )
    assert Event.objects.count() == 1  # the click before the outage


def test_500_concurrent_opens_through_the_server_keep_the_cap(html, settings):
    path = pixel_path(html)

    def open_once(_):
        try:
            return wsgi(path)[0]
        finally:
            application.buffer.close()
            connections.close_all()

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(open_once, range(500)))

    assert statuses == ["200 OK"] * 500
    cap = settings.TRACKING_MAX_HITS_PER_MESSAGE
    assert cap <= Event.objects.count() <= cap + 16  # up to the requests in flight
