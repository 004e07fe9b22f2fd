"""In the browser: Bob suppresses an address and a domain, Alice removes one,
and the contact page shows consent history; screenshots at both widths."""

import pytest
from playwright.sync_api import expect

from contacts.models import ConsentRecord, DomainSuppression, Suppression
from tests.e2e.shots import SHOTS
from tests.factories import ContactFactory, UserFactory

PASSWORD = "correct horse battery staple"

WIDTHS = (1280, 390)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=SHOTS / f"suppressions-{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def log_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_bob_suppresses_and_alice_removes(live_server, page):
    UserFactory(username="alice", role="admin")
    UserFactory(username="bob", role="marketer")
    Suppression.objects.create(email="old@example.com", reason="bounced", source="bounce")
    page.on("dialog", lambda dialog: dialog.accept())

    log_in(page, live_server, "bob")
    page.get_by_role("link", name="Suppressions").click()
    expect(page.get_by_role("heading", name="Suppression list")).to_be_visible()
    page.get_by_label("Address or domain").fill("ann@example.com")
    page.get_by_label("Reason").fill("Asked by phone not to be mailed")
    page.get_by_role("button", name="Suppress").click()
    expect(page.get_by_text("ann@example.com is now suppressed")).to_be_visible()
    page.get_by_label("Address or domain").fill("ann@example.com")
    page.get_by_role("button", name="Suppress").click()
    expect(page.get_by_text("ann@example.com is already on the list.")).to_be_visible()
    shoot(page, "addresses")
    page.get_by_label("Address or domain").fill("competitor.example")
    page.get_by_role("button", name="Suppress").click()
    added = page.get_by_text("Every address at competitor.example is now suppressed.")
    expect(added).to_be_visible()
    shoot(page, "domains")
    assert DomainSuppression.objects.get().source == "manual"

    page.get_by_role("button", name="Log out").click()
    log_in(page, live_server, "alice")
    page.get_by_role("link", name="Suppressions").click()
    page.get_by_label("Search").fill("old@")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    page.get_by_role("button", name="Remove old@example.com").click()
    removed = page.get_by_text("old@example.com was removed from the suppression list.")
    expect(removed).to_be_visible()
    assert list(Suppression.objects.values_list("email", flat=True)) == ["ann@example.com"]


def test_alice_reads_a_contacts_consent_history(live_server, page):
    UserFactory(username="alice", role="admin")
    ann = ContactFactory(email="ann@example.com")
    for action, source in (("requested", "embedded"), ("confirmed", "confirmation")):
        ConsentRecord.objects.create(
            contact=ann,
            action=action,
            source=source,
            form_name="Footer form",
            wording="Yes, send me news and offers by email.",
            ip="203.0.113.9",
            details={"groups": ["Weekly newsletter"]},
        )

    log_in(page, live_server, "alice")
    page.goto(f"{live_server.url}/contacts/{ann.pk}/")
    expect(page.get_by_role("heading", name="Consent history")).to_be_visible()
    expect(page.get_by_text("Confirmed the subscription")).to_be_visible()
    expect(page.get_by_role("button", name="Download data (JSON)")).to_be_visible()
    shoot(page, "contact")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download data (JSON)").click()
    assert download.value.suggested_filename == f"contact-{ann.pk}.json"
