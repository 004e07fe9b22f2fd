"""In the browser: Ann signs up on the hosted form, a link scanner fetches
the confirmation link, Ann confirms; screenshots at desktop and phone widths."""

import re

import pytest
from django.core import mail
from django.core.cache import cache
from playwright.sync_api import expect

from contacts.models import Contact, SignupForm
from tests.e2e.shots import SHOTS
from tests.factories import GroupFactory

WIDTHS = (1280, 390)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=SHOTS / f"signup-{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_ann_signs_up_and_confirms_and_a_scanner_confirms_nothing(
    live_server, page, browser, settings
):
    cache.clear()
    settings.SITE_URL = live_server.url  # the links in the mail lead here
    form = SignupForm.objects.create(
        name="Newsletter signup",
        key="newsletter",
        title="Get our weekly newsletter",
        introduction="New arrivals, stories from the workshop and members-only offers.",
    )
    form.groups.add(GroupFactory(name="Newsletter", is_topic=True, public_name="Weekly newsletter"))

    page.goto(f"{live_server.url}/subscribe/newsletter/")
    expect(page.get_by_role("heading", name="Get our weekly newsletter")).to_be_visible()
    expect(page.get_by_role("link", name="Back to Demo Shop")).to_be_visible()
    expect(page.locator("#id_website")).not_to_be_in_viewport()  # the honeypot
    shoot(page, "form")

    # A typo and no tick first: both explained, what she typed kept.
    page.get_by_label("Email address").fill("ann@example")
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_text("This does not look like an email address")).to_be_visible()
    expect(page.get_by_text("Tick the box to agree")).to_be_visible()
    expect(page.get_by_label("Email address")).to_have_value("ann@example")
    shoot(page, "errors")

    page.get_by_label("Email address").fill("ann@example.com")
    page.get_by_label("First name").fill("Ann")
    page.get_by_label(form.consent_text).check()
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    shoot(page, "check-inbox")
    assert Contact.objects.get().status == Contact.Status.UNCONFIRMED

    (confirmation,) = mail.outbox
    url = re.search(r"https?://\S+/subscribe/confirm/\S+/", confirmation.body)[0]
    assert url.startswith(live_server.url)

    # A mail scanner fetches the link (a browser of its own, no clicks).
    scanner = browser.new_context(user_agent="Mozilla/5.0 (compatible; SafeLinks)")
    scanner_page = scanner.new_page()
    scanner_page.goto(url)
    expect(scanner_page.get_by_role("button", name="Yes, subscribe me")).to_be_visible()
    scanner.close()
    assert Contact.objects.get().status == Contact.Status.UNCONFIRMED

    page.goto(url)
    expect(page.get_by_text("Subscribe ann@example.com to mail from Demo Shop?")).to_be_visible()
    shoot(page, "confirm")
    page.get_by_role("button", name="Yes, subscribe me").click()
    expect(page.get_by_role("heading", name="You\u2019re subscribed")).to_be_visible()
    shoot(page, "confirmed")
    ann = Contact.objects.get()
    assert ann.status == Contact.Status.SUBSCRIBED
    assert list(ann.groups.values_list("name", flat=True)) == ["Newsletter"]

    page.get_by_role("link", name="Choose topics and how often we write").click()
    expect(page.get_by_role("heading", name="Your mail preferences")).to_be_visible()
    expect(page.get_by_label("Weekly newsletter")).to_be_checked()
