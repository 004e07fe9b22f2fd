"""In the browser: Alice invites a colleague on the Team page, changes a role
and deactivates an account; screenshots at desktop and phone widths."""

import pytest
from django.core import mail
from playwright.sync_api import expect

from marketing_site.roles import user_role
from tests.e2e.shots import SHOTS
from tests.factories import UserFactory

PASSWORD = "correct horse battery staple"  # the factories' password

WIDTHS = (1280, 390)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=SHOTS / f"team-{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_alice_invites_erin_changes_bobs_role_and_deactivates_charlie(live_server, page):
    alice = UserFactory(username="alice", role="admin", first_name="Alice", last_name="Admin")
    bob = UserFactory(username="bob", role="marketer")
    UserFactory(username="charlie", role="viewer")
    page.on("dialog", lambda dialog: dialog.accept())

    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Team").click()
    expect(page.get_by_role("heading", name="Members")).to_be_visible()
    shoot(page, "list")

    # Alice invites Erin as a viewer.
    page.get_by_label("Email address").fill("erin@example.org")
    page.get_by_label("Role", exact=True).select_option("viewer")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Invitation sent to erin@example.org.")).to_be_visible()
    expect(page.locator("tr", has_text="erin@example.org").get_by_text("Invited")).to_be_visible()
    assert [m.to for m in mail.outbox] == [["erin@example.org"]]
    shoot(page, "invited")

    # She makes Bob a viewer.
    bob_row = page.locator("tr", has_text="bob")
    bob_row.get_by_label("Role of bob").select_option("viewer")
    bob_row.get_by_role("button", name="Save").click()
    expect(page.get_by_text("bob is now viewer.")).to_be_visible()
    bob.refresh_from_db()
    del bob._marketing_role
    assert user_role(bob) == "viewer"

    # She deactivates Charlie, then tries to step down herself.
    page.locator("tr", has_text="charlie").get_by_role("button", name="Deactivate").click()
    expect(page.get_by_text("charlie can no longer sign in.")).to_be_visible()
    page.locator("tr", has_text="(you)").get_by_role("button", name="Deactivate").click()
    expect(page.get_by_text("alice is the last admin.")).to_be_visible()
    shoot(page, "changed")
    alice.refresh_from_db()
    assert alice.is_active

    # The audit log shows what she did.
    page.get_by_role("link", name="Audit log").first.click()
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("User deactivated")
    page.get_by_label("Action").select_option("role_changed")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**action=role_changed**")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("marketer → viewer")
    shoot(page, "audit")
