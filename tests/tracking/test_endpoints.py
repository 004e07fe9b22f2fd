"""Recipient endpoints: what a recipient, a mail client and an attacker see."""

from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.core import mail as django_mail
from django.db import connection, connections
from django.db.models import F
from django.test import Client

from campaigns.models import Message
from campaigns.services import campaign_send
from contacts.models import Contact
from tests.factories import CampaignFactory, ContactFactory, GroupFactory
from tests.helpers import (
    BROWSER,
    click_paths,
    html_part,
    parsed,
    pixel_path,
    unsubscribe_path,
    web_view_path,
)
from tracking import services
from tracking.facts import events_flush_all, tallies_of
from tracking.models import Event

pytestmark = pytest.mark.django_db(transaction=True)


def other_number(path: str, position: int) -> str:
    """The path with one base-36 number of its token changed: a forgery."""
    head, token = path.rsplit("/", 1)
    parts = token.split(".")
    parts[position] = "zz" if parts[position] != "zz" else "zy"
    return f"{head}/{'.'.join(parts)}"


def flush() -> int:
    return events_flush_all(settle_seconds=0)


@pytest.fixture
def sent():
    """Ann's mail of a sent campaign, as her mail client holds it."""
    group = GroupFactory(name="Newsletter")
    ContactFactory(email="ann@example.com", first_name="Ann", groups=[group])
    campaign_send(campaign=CampaignFactory(groups=[group]))
    (mail,) = django_mail.outbox
    services.link_cache.urls.clear()
    # Read an hour later: hits seconds after delivery are machines' (test_machine).
    Message.objects.update(sent_at=F("sent_at") - timedelta(hours=1))
    return parsed(mail)


def ann() -> Contact:
    return Contact.objects.get(email="ann@example.com")


def test_the_pixel_answers_a_gif_and_records_a_human_open(client, sent):
    response = client.get(pixel_path(html_part(sent)), HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    assert "no-store" in response["Cache-Control"]
    assert Event.objects.get().applied is False  # buffered, applied by the flush

    assert flush() == 1

    event = Event.objects.get()
    assert (event.kind, event.is_machine, event.user_agent) == ("opened", False, BROWSER)
    assert event.contact == ann()
    assert ann().last_opened_at == event.created_at
    message = Message.objects.get()
    assert (message.opened_at, message.opens, message.machine_opens) == (event.created_at, 1, 0)
    tallies = tallies_of(message.send_id)
    assert tallies[("total", "", "opened")] == 1 and tallies[("total", "", "opens")] == 1
    assert tallies[("domain", "example.com", "opened")] == 1
    assert tallies[("client", "Other", "opened")] == 1
    assert tallies[("device", "desktop", "opened")] == 1


def test_an_open_by_a_link_scanner_is_counted_as_machine(client, sent):
    client.get(pixel_path(html_part(sent)), HTTP_USER_AGENT="Barracuda Sentinel (EE)")
    flush()
    event = Event.objects.get()
    assert (event.is_machine, event.machine_reason) == (True, "scanner")
    assert ann().last_opened_at is None
    message = Message.objects.get()
    assert (message.opened_at, message.opens, message.machine_opens) == (None, 0, 1)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda p: other_number(p, 0),  # another message
        lambda p: p[:-5] + ".gif",  # truncated
        lambda p: p.replace(".gif", "é.gif"),  # not ASCII
        lambda p: p.replace(".gif", "%00.gif"),  # a control character
        lambda p: "/t/o/" + "A" * 3000 + ".gif",
    ],
)
def test_a_tampered_pixel_records_nothing_but_still_shows_an_image(client, sent, tamper):
    response = client.get(tamper(pixel_path(html_part(sent))), HTTP_USER_AGENT=BROWSER)
    assert response.status_code in (200, 400)  # control characters are refused by the site
    if response.status_code == 200:
        assert response["Content-Type"] == "image/gif"
    assert not Event.objects.exists()


def test_the_unsubscribe_token_is_no_pixel_and_the_pixel_token_unsubscribes_nobody(client, sent):
    unsubscribe_token = unsubscribe_path(sent).rsplit("/", 1)[1]
    pixel_token = pixel_path(html_part(sent)).rsplit("/", 1)[1].removesuffix(".gif")

    assert client.get(f"/t/o/{unsubscribe_token}.gif").status_code == 200
    assert client.post(f"/t/u/{pixel_token}").status_code == 404
    assert client.get(f"/t/v/{pixel_token}").status_code == 404

    assert not Event.objects.exists()
    assert ann().status == "subscribed"


def test_a_replayed_pixel_stops_being_stored_at_the_cap(client, sent, settings):
    settings.TRACKING_MAX_HITS_PER_MESSAGE = 5
    path = pixel_path(html_part(sent))
    for _ in range(12):
        assert client.get(path, HTTP_USER_AGENT=BROWSER).status_code == 200
    assert Event.objects.count() == 5
    flush()
    message = Message.objects.get()
    assert (message.opens, tallies_of(message.send_id)[("total", "", "opened")]) == (5, 1)


def test_head_requests_are_answered_and_counted_as_machines(client, sent):
    assert client.head(pixel_path(html_part(sent)), HTTP_USER_AGENT=BROWSER).status_code == 200
    response = client.head(click_paths(html_part(sent))[0], HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 302
    flush()
    assert sorted(Event.objects.values_list("kind", "machine_reason")) == [
        ("clicked", "head"),
        ("opened", "head"),
    ]
    message = Message.objects.get()
    assert (message.opened_at, message.machine_opens, message.machine_clicks) == (None, 1, 1)


def test_a_click_redirects_to_the_stored_link_with_its_click_token(client, sent):
    path = click_paths(html_part(sent))[0]
    response = client.get(path, HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 302
    token = path.rstrip("/").rpartition("/")[2]
    # the shop passes the token back with an order (order.click_token)
    assert response["Location"] == f"https://shop.example.com/sale?mc={token}"
    flush()
    event = Event.objects.get()
    assert (event.kind, event.url, event.link_index) == (
        "clicked",
        "https://shop.example.com/sale",
        0,
    )
    message = Message.objects.get()
    # A person's click counts as an open, too.
    assert message.clicked_at == message.opened_at == event.created_at
    assert ann().last_clicked_at == ann().last_opened_at == event.created_at
    tallies = tallies_of(message.send_id)
    assert tallies[("link", "0", "clicks")] == 1 and tallies[("total", "", "opened")] == 1


def test_a_url_in_the_query_string_is_never_followed(client, sent):
    path = click_paths(html_part(sent))[0]
    response = client.get(f"{path}?url=https://evil.example.net/&next=https://evil.example.net/")
    assert response["Location"].partition("?mc=")[0] == "https://shop.example.com/sale"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda p: p[:-1] + ("A" if p[-1] != "A" else "B"),  # signature
        lambda p: other_number(p, 1),  # another link
        lambda p: other_number(p, 0),  # another message
        lambda p: other_number(p, 2),  # another send
        lambda p: p[:-3],  # truncated
        lambda p: p + "é",  # not ASCII
        lambda p: "/t/c/https%3A%2F%2Fevil.example.net",
    ],
)
def test_a_tampered_click_gets_404_and_no_redirect(client, sent, tamper):
    response = client.get(tamper(click_paths(html_part(sent))[0]))
    assert response.status_code == 404
    assert "Location" not in response
    assert not Event.objects.exists()


def test_a_click_on_a_deleted_message_gets_404(client, sent):
    path = click_paths(html_part(sent))[0]
    Message.objects.all().delete()
    assert client.get(path).status_code == 404


@contextmanager
def database_down():
    """The web process loses its database: its connection points at a closed port."""
    conn = connections["default"]
    conn.close()
    saved = conn.settings_dict["PORT"]
    conn.settings_dict["PORT"] = "1"
    try:
        yield
    finally:
        conn.close()
        conn.settings_dict["PORT"] = saved


def test_the_pixel_and_a_known_link_answer_while_the_database_is_down(client, sent):
    html = html_part(sent)
    path = click_paths(html)[0]
    client.get(path, HTTP_USER_AGENT=BROWSER)  # this process has read the link once

    with database_down():
        pixel = client.get(pixel_path(html), HTTP_USER_AGENT=BROWSER)
        click = client.get(path, HTTP_USER_AGENT=BROWSER)
        services.link_cache.urls.clear()  # another worker process, which never read it
        cold = client.get(path, HTTP_USER_AGENT=BROWSER)

    assert pixel.status_code == 200 and pixel["Content-Type"] == "image/gif"
    assert (
        click.status_code == 302
        and click["Location"].partition("?mc=")[0] == "https://shop.example.com/sale"
    )
    assert cold.status_code == 503  # never read here, and the database cannot say
    assert Event.objects.count() == 1  # the click before the outage


def test_500_concurrent_opens_of_one_message_all_get_their_gif(sent, settings):
    path = pixel_path(html_part(sent))

    def open_once(_):
        try:
            return Client().get(path, HTTP_USER_AGENT=BROWSER).status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(open_once, range(500)))

    assert statuses == [200] * 500
    stored = Event.objects.count()
    cap = settings.TRACKING_MAX_HITS_PER_MESSAGE
    assert cap <= stored <= cap + 16  # the cap holds up to the requests in flight
    flush()
    message = Message.objects.get()
    assert message.opens == stored
    tallies = tallies_of(message.send_id)
    assert tallies[("total", "", "opened")] == 1
    assert tallies[("total", "", "opens")] == stored


def test_following_the_unsubscribe_link_only_asks(client, sent):
    response = client.get(unsubscribe_path(sent))
    assert response.status_code == 200
    assert b"Unsubscribe" in response.content and b"ann@example.com" in response.content
    assert ann().status == "subscribed"
    assert not Event.objects.exists()


def test_one_click_unsubscribe_works_without_login_cookie_or_csrf_token(sent):
    mail_client = Client(enforce_csrf_checks=True)
    path = unsubscribe_path(sent)
    for _ in range(2):
        response = mail_client.post(
            path,
            data="List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
        )
        assert response.status_code == 200
    assert ann().status == "unsubscribed"
    assert Event.objects.filter(kind="unsubscribed").count() == 1
    message = Message.objects.get()
    assert message.unsubscribed_at is not None
    assert tallies_of(message.send_id)[("total", "", "unsubscribed")] == 1


def test_the_unsubscribe_page_button_unsubscribes(client, sent):
    response = client.post(unsubscribe_path(sent))
    assert b"You are unsubscribed" in response.content
    assert ann().status == "unsubscribed"


def test_a_forged_unsubscribe_token_changes_nothing(client, sent):
    assert client.post(other_number(unsubscribe_path(sent), 0)).status_code == 404
    assert client.post(unsubscribe_path(sent) + "é").status_code == 404
    assert ann().status == "subscribed"


def test_the_web_view_shows_the_recipients_own_mail(client, sent):
    web_path = web_view_path(html_part(sent))
    response = client.get(web_path)
    assert response.status_code == 200
    assert b"Hello Ann," in response.content
    assert client.get(other_number(web_path, 0)).status_code == 404
    assert not Event.objects.exists()
