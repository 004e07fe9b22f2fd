"""The checklist, a test send and a schedule in a real browser, on a laptop
and on a phone (screenshots in $SHOTS_DIR)."""

from datetime import timedelta

import pytest
from django.core import mail as django_mail
from django.utils import timezone
from playwright.sync_api import expect

from campaigns.models import Campaign, SendPlan
from tests.e2e.shots import SHOTS
from tests.factories import CampaignFactory, ContactFactory, GroupFactory, UserFactory

PASSWORD = "correct horse battery staple"  # the factories' password

WIDTHS = {"desktop": 1280, "phone": 390}

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def log_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def shoot(page, name: str, locator=None) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        target = locator or page
        target.screenshot(
            path=str(SHOTS / f"{name}-{label}.png"), **({} if locator else {"full_page": True})
        )
    page.set_viewport_size({"width": 1280, "height": 900})


def test_a_marketer_fixes_the_checklist_tests_the_mail_and_schedules_it(live_server, page):
    UserFactory(username="bob", role="marketer")
    group = GroupFactory(name="Newsletter")
    ContactFactory(
        email="ann@example.com", first_name="Ann", time_zone="Europe/Berlin", groups=[group]
    )
    ContactFactory(
        email="ben@example.com", first_name="Ben", time_zone="America/New_York", groups=[group]
    )
    campaign = CampaignFactory(groups=[group], postal_address="", preheader="")
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, live_server, "bob")

    # the checklist says what is missing, and the send button waits
    page.goto(f"{live_server.url}/campaigns/{campaign.pk}/")
    checklist = page.locator("section", has=page.get_by_role("heading", name="Checklist"))
    expect(checklist.locator('[data-check="postal_address"]')).to_have_class(
        "check-item check-fail"
    )
    expect(checklist.locator('[data-check="preheader"]')).to_have_class("check-item check-warn")
    expect(checklist).to_contain_text("1 to fix")
    expect(page.get_by_role("button", name="Send to 2 contacts")).to_be_disabled()
    shoot(page, "checklist-failing")

    # Bob adds the postal address: ready
    page.goto(f"{live_server.url}/campaigns/{campaign.pk}/edit/")
    page.get_by_label("Postal address").fill("1 Market Street, Springfield")
    page.get_by_role("button", name="Save").click()
    expect(checklist.locator(".badge")).to_have_text("Ready")
    expect(page.get_by_role("button", name="Send to 2 contacts")).to_be_enabled()

    # a test to himself, personalised as the preview's contact
    page.get_by_label("Send a test to").fill("bob@shop.example.com")
    page.get_by_role("button", name="Send test").click()
    expect(page.locator(".messages")).to_contain_text("Test sent to bob@shop.example.com")
    assert [m.subject for m in django_mail.outbox] == ["[Test] Spring sale, Ann!"]

    # scheduled for 09:00 in each recipient's time zone
    day = (timezone.now() + timedelta(days=3)).date()
    page.get_by_text("Schedule for later").click()
    page.get_by_label("At that time in each recipient's time zone").check()
    page.get_by_label("Date", exact=True).fill(day.isoformat())
    page.get_by_label("Time", exact=True).fill("09:00")
    shoot(page, "schedule-form")
    page.get_by_role("button", name="Schedule", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("at 09:00 in each recipient's time zone")
    expect(page.get_by_role("button", name="Pause schedule")).to_be_visible()
    expect(page.get_by_role("button", name="Send to 2 contacts")).to_have_count(0)
    shoot(page, "scheduled")
    plan = SendPlan.objects.get()
    assert plan.mode == "local" and plan.status == "scheduled"

    # paused, then cancelled: a draft again
    page.get_by_role("button", name="Pause schedule").click()
    expect(page.get_by_role("button", name="Resume schedule")).to_be_visible()
    page.get_by_role("button", name="Cancel schedule").click()
    expect(page.locator(".messages")).to_contain_text("Schedule cancelled")
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT
    assert len(django_mail.outbox) == 1  # only the test
