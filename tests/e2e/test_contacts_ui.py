"""The contact pages in a real browser: add a contact, sort, filter by tier,
tick contacts and act on them in bulk, delete all matching after a
confirmation. Screenshots at 1280 and 390 px in $SHOTS_DIR."""

import pytest
from playwright.sync_api import expect

from contacts.models import Contact
from tests.e2e.test_segment_builder import _log_in, _shoot
from tests.factories import ContactFactory, GroupFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_admin_manages_contacts_from_the_list(live_server, page):
    # given an admin and a few contacts
    UserFactory(username="alice", role="admin")
    GroupFactory(name="Newsletter")
    ContactFactory(email="ann@example.com", first_name="Ann", last_name="Lee",
                   engagement_tier="active", order_count=3)  # fmt: skip
    ContactFactory(email="ben@example.com", first_name="Ben", last_name="Stone",
                   engagement_tier="dormant", order_count=1)  # fmt: skip
    for n in range(3):
        ContactFactory(email=f"spam{n}@junk.example", engagement_tier="new")
    _log_in(page, live_server, "alice")

    # when Alice adds a contact
    page.goto(f"{live_server.url}/contacts/")
    page.get_by_role("link", name="Add contact").click()
    page.get_by_label("Email").fill("cy@example.com")
    page.get_by_label("First name").fill("Cy")
    page.get_by_label("Newsletter").check()
    page.get_by_label("Attributes").fill('{"city": "Riga"}')
    _shoot(page, "contact-form")
    page.get_by_role("button", name="Add contact").click()

    # then the contact's page shows it, with its group and tier
    expect(page.get_by_role("heading", name="cy@example.com")).to_be_visible()
    expect(page.locator(".badge-group")).to_have_text("Newsletter")
    expect(page.get_by_text("New", exact=True)).to_be_visible()
    _shoot(page, "contact-detail")

    # when she sorts by orders, most first
    page.goto(f"{live_server.url}/contacts/")
    page.get_by_role("link", name="Orders").click()
    page.get_by_role("link", name="Orders").click()
    expect(page.locator("tbody tr").first).to_contain_text("ann@example.com")

    # and filters by tier
    page.get_by_label("Engagement").select_option("dormant")
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody")).to_contain_text("ben@example.com")
    _shoot(page, "contact-list-filtered")

    # when she ticks two contacts and adds them to the newsletter
    page.goto(f"{live_server.url}/contacts/")
    page.get_by_label("Tick ann@example.com").check()
    page.get_by_label("Tick ben@example.com").check()
    expect(page.locator("[data-selected-count]")).to_have_text("2 ticked contacts")
    page.get_by_label("Action").select_option("add_to_group")
    page.get_by_label("Group", exact=True).last.select_option(label="Newsletter")
    _shoot(page, "contact-list-bulk")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator(".alert-success")).to_have_text("2 contacts added to “Newsletter”.")
    assert set(
        Contact.objects.filter(groups__name="Newsletter").values_list("email", flat=True)
    ) == {"ann@example.com", "ben@example.com", "cy@example.com"}

    # when she searches the junk addresses and deletes all matching
    page.get_by_label("Search").fill("junk.example")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tbody tr")).to_have_count(3)
    page.get_by_label("All 3 matching").check()
    page.get_by_label("Action").select_option("delete")
    page.get_by_role("button", name="Apply").click()

    # then she is asked first
    expect(page.get_by_role("heading", name="Delete 3 contacts?")).to_be_visible()
    _shoot(page, "contact-bulk-confirm")
    page.get_by_role("button", name="Delete 3 contacts").click()
    expect(page.locator(".alert-success")).to_have_text("3 contacts deleted.")
    assert Contact.objects.count() == 3


def test_a_viewer_reads_the_list_without_bulk_actions(live_server, page):
    UserFactory(username="charlie", role="viewer")
    ContactFactory(email="ann@example.com", engagement_tier="inactive")
    _log_in(page, live_server, "charlie")
    page.goto(f"{live_server.url}/contacts/")
    expect(page.locator("tbody")).to_contain_text("Inactive")
    expect(page.get_by_role("button", name="Apply")).to_have_count(0)
    expect(page.get_by_role("link", name="Add contact")).to_have_count(0)
    _shoot(page, "contact-list-viewer")
