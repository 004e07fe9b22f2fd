"""Recipient endpoints: what a recipient, a mail client and an attacker see."""

import pytest
from django.core import mail as django_mail
from django.test import Client

from campaigns.models import Message
from campaigns.services import campaign_send
from contacts.models import Contact
from tests.factories import CampaignFactory, ContactFactory, GroupFactory
from tests.helpers import BROWSER, click_paths, html_part, parsed, pixel_path, unsubscribe_path
from tracking.models import Event

pytestmark = pytest.mark.django_db(transaction=True)


def other_number(path: str, position: int) -> str:
    """The path with one base-36 number of its token changed: a forgery."""
    head, token = path.rsplit("/", 1)
    parts = token.split(".")
    parts[position] = "zz" if parts[position] != "zz" else "zy"
    return f"{head}/{'.'.join(parts)}"


@pytest.fixture
def sent():
    """Ann's mail of a sent campaign, as her mail client holds it."""
    group = GroupFactory(name="Newsletter")
    ContactFactory(email="ann@example.com", first_name="Ann", groups=[group])
    campaign_send(campaign=CampaignFactory(groups=[group]))
    (mail,) = django_mail.outbox
    return parsed(mail)


def test_the_pixel_answers_a_gif_and_records_a_human_open(client, sent):
    response = client.get(pixel_path(html_part(sent)), HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    event = Event.objects.get()
    assert (event.kind, event.is_machine, event.user_agent) == ("opened", False, BROWSER)
    assert Contact.objects.get(email="ann@example.com").last_opened_at == event.created_at


def test_an_open_by_a_link_scanner_is_counted_as_machine(client, sent):
    client.get(pixel_path(html_part(sent)), HTTP_USER_AGENT="Barracuda Sentinel (EE)")
    assert Event.objects.get().is_machine
    assert Contact.objects.get(email="ann@example.com").last_opened_at is None


def test_a_tampered_pixel_records_nothing_but_still_shows_an_image(client, sent):
    path = other_number(pixel_path(html_part(sent)), 0)
    response = client.get(path, HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 200
    assert not Event.objects.exists()


def test_a_click_redirects_exactly_to_the_stored_link(client, sent):
    response = client.get(click_paths(html_part(sent))[0], HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 302
    assert response["Location"] == "https://shop.example.com/sale"
    event = Event.objects.get()
    assert (event.kind, event.url) == ("clicked", "https://shop.example.com/sale")


def test_a_url_in_the_query_string_is_never_followed(client, sent):
    path = click_paths(html_part(sent))[0]
    response = client.get(f"{path}?url=https://evil.example.net/&next=https://evil.example.net/")
    assert response["Location"] == "https://shop.example.com/sale"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda p: p[:-1] + ("A" if p[-1] != "A" else "B"),  # signature
        lambda p: other_number(p, 1),  # another link
        lambda p: other_number(p, 0),  # another message
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


def test_following_the_unsubscribe_link_only_asks(client, sent):
    response = client.get(unsubscribe_path(sent))
    assert response.status_code == 200
    assert b"Unsubscribe" in response.content and b"ann@example.com" in response.content
    assert Contact.objects.get(email="ann@example.com").status == "subscribed"
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
    assert Contact.objects.get(email="ann@example.com").status == "unsubscribed"
    assert Event.objects.filter(kind="unsubscribed").count() == 1


def test_the_unsubscribe_page_button_unsubscribes(client, sent):
    response = client.post(unsubscribe_path(sent))
    assert b"You are unsubscribed" in response.content
    assert Contact.objects.get(email="ann@example.com").status == "unsubscribed"


def test_a_forged_unsubscribe_token_changes_nothing(client, sent):
    assert client.post(other_number(unsubscribe_path(sent), 0)).status_code == 404
    assert Contact.objects.get(email="ann@example.com").status == "subscribed"


def test_the_web_view_shows_the_recipients_own_mail(client, sent):
    web_path = unsubscribe_path(sent).replace("/t/u/", "/t/v/")
    response = client.get(web_path)
    assert response.status_code == 200
    assert b"Hello Ann," in response.content
    assert client.get(other_number(web_path, 0)).status_code == 404
