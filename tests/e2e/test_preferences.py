"""In the browser: Ann opens the preference link of her mail, leaves a
topic, asks for less mail, then unsubscribes from everything; screenshots at
desktop and phone widths."""

import pytest
from django.test import Client
from playwright.sync_api import expect

from contacts import consent
from contacts.models import Contact
from tests.e2e.shots import SHOTS
from tests.factories import ContactFactory, GroupFactory

WIDTHS = (1280, 390)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=SHOTS / f"preferences-{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_ann_changes_her_preferences_and_then_leaves(live_server, page):
    news = GroupFactory(
        name="Newsletter",
        is_topic=True,
        public_name="Weekly newsletter",
        public_description="New arrivals and stories, every Thursday.",
    )
    offers = GroupFactory(
        name="Offers",
        is_topic=True,
        public_name="VIP early access",
        public_description="Sales a day before everyone else.",
    )
    ann = ContactFactory(email="ann@example.com", groups=[news, offers])
    path = consent.preferences_url(ann).split("/preferences/", 1)[1]

    page.goto(f"{live_server.url}/preferences/{path}")
    expect(page.get_by_role("heading", name="Your mail preferences")).to_be_visible()
    expect(page.get_by_label("Weekly newsletter")).to_be_checked()
    expect(page.get_by_label("Every mail")).to_be_checked()
    shoot(page, "page")

    page.get_by_label("VIP early access").uncheck()
    page.get_by_label("At most one a month").check()
    page.get_by_role("button", name="Save my choices").click()
    expect(page.get_by_text("Saved. Your choices apply from our next mail.")).to_be_visible()
    expect(page.get_by_label("VIP early access")).not_to_be_checked()
    expect(page.get_by_label("At most one a month")).to_be_checked()
    shoot(page, "saved")
    ann.refresh_from_db()
    assert ann.mail_frequency == "monthly"
    assert list(ann.groups.values_list("name", flat=True)) == ["Newsletter"]

    page.get_by_role("button", name="Unsubscribe from all").click()
    expect(page.get_by_role("heading", name="You are unsubscribed")).to_be_visible()
    shoot(page, "unsubscribed")
    ann.refresh_from_db()
    assert ann.status == Contact.Status.UNSUBSCRIBED

    # Back on the page: saving subscribes her again.
    page.goto(f"{live_server.url}/preferences/{path}")
    expect(page.get_by_text("Saving your choices below subscribes you again.")).to_be_visible()
    shoot(page, "unsubscribed-return")
    page.get_by_role("button", name="Save my choices").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    ann.refresh_from_db()
    assert ann.status == Contact.Status.SUBSCRIBED
    assert ann.consents.count() == 3


def test_a_broken_link_shows_the_shops_page(live_server, page):
    page.goto(f"{live_server.url}/preferences/12:not-a-signature/")
    expect(page.get_by_role("heading", name="This link isn\u2019t valid")).to_be_visible()
    expect(page.get_by_role("link", name="Back to Demo Shop")).to_be_visible()
    shoot(page, "invalid")
    assert Client().get("/preferences/12:x/").status_code == 404
