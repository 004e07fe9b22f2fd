"""The segment builder in a real browser: rules added and changed update the
live count, a bad value is explained, the segment saves and filters the
contact list. Screenshots at 1280 and 390 px in $SHOTS_DIR."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from contacts.models import Segment
from tests.e2e.shots import SHOTS
from tests.factories import ContactFactory, GroupFactory, UserFactory

PASSWORD = "correct horse battery staple"

WIDTHS = {"desktop": 1280, "phone": 390}

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _log_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def _shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_a_marketer_builds_a_segment_with_a_live_count(live_server, page):
    # given a marketer and a shop's customers
    UserFactory(username="bob", role="marketer")
    vip = GroupFactory(name="VIP")
    for n in range(6):
        ContactFactory(email=f"buyer{n}@example.com", order_count=n, groups=[vip] if n > 3 else [],
                       total_spent=Decimal(n * 40), locale="ru" if n % 2 else "en")  # fmt: skip
    ContactFactory(email="gone@example.com", status="unsubscribed", order_count=9)
    _log_in(page, live_server, "bob")

    # when Bob opens a new segment: one rule is there, status is subscribed
    page.goto(f"{live_server.url}/contacts/segments/new/")
    count = page.locator("[data-count]")
    expect(count).to_have_text("6")
    expect(page.locator("[data-count-of]")).to_have_text("of 7 contacts match")

    # and adds "order count at least 2"
    page.get_by_role("button", name="+ Add a rule").click()
    rule = page.locator("[data-rule]").nth(1)
    rule.get_by_label("Field").select_option(label="Order count")
    rule.get_by_label("Comparison").select_option(label="at least")
    rule.get_by_label("Value").fill("2")
    expect(count).to_have_text("4")

    # and a third: in the VIP group
    page.get_by_role("button", name="+ Add a rule").click()
    rule = page.locator("[data-rule]").nth(2)
    rule.get_by_label("Field").select_option(label="Group")
    rule.get_by_label("Value").select_option(label="VIP")
    expect(count).to_have_text("2")
    expect(page.locator("[data-sample]")).to_contain_text("buyer4@example.com")

    # then "any" widens it
    page.get_by_label("Contacts who match").select_option("any")
    expect(count).to_have_text("7")
    page.get_by_label("Contacts who match").select_option("all")
    expect(count).to_have_text("2")

    # a bad value is explained at once
    rule.get_by_label("Field").select_option(label="Order count")
    rule.get_by_label("Value").fill("")
    expect(page.locator("[data-errors]")).to_contain_text("Rule 3: “Order count is” needs a value.")
    rule.get_by_label("Value").fill("5")
    expect(count).to_have_text("1")
    page.get_by_label("Name", exact=True).fill("Big VIP buyers")
    _shoot(page, "segment-builder")

    # when he saves, the contact list shows the segment's contacts
    page.get_by_role("button", name="Save segment").click()
    expect(page.get_by_role("heading", name="Big VIP buyers")).to_be_visible()
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody")).to_contain_text("buyer5@example.com")
    segment = Segment.objects.get()
    assert segment.rules["rules"][2] == {"field": "order_count", "op": "eq", "value": 5}

    # and the segment list counts it
    page.goto(f"{live_server.url}/contacts/segments/")
    expect(page.locator("tbody td.num")).to_have_text("1")
    _shoot(page, "segment-list")

    # and editing starts from the saved rules
    page.get_by_role("link", name="Edit").click()
    expect(page.locator("[data-rule]")).to_have_count(3)
    expect(page.locator("[data-count]")).to_have_text("1")


def test_a_marketer_sends_to_a_segment_minus_a_group(live_server, page):
    # given a draft to the newsletter, a segment of buyers and a staff group
    from campaigns.models import Campaign
    from tests.factories import CampaignFactory

    UserFactory(username="bob", role="marketer")
    newsletter, staff = GroupFactory(name="Newsletter"), GroupFactory(name="Staff")
    ContactFactory(email="ann@example.com", groups=[newsletter])
    ContactFactory(email="ben@example.com", groups=[newsletter, staff])
    ContactFactory(email="cy@example.com", order_count=2)
    Segment.objects.create(
        name="Buyers",
        rules={"match": "all", "rules": [{"field": "order_count", "op": "gte", "value": 1}]},
    )
    campaign = CampaignFactory(name="Autumn sale", groups=[newsletter])
    _log_in(page, live_server, "bob")

    # when Bob adds the segment and leaves the staff out
    page.goto(f"{live_server.url}/campaigns/{campaign.pk}/edit/")
    page.get_by_label("Buyers").first.check()
    page.get_by_text("Leave people out").click()
    page.locator("fieldset", has_text="Leave out groups").get_by_label("Staff").check()
    _shoot(page, "campaign-audience-form")
    page.get_by_role("button", name="Save changes").click()

    # then the campaign page counts ann and cy, once each, and names the exclusion
    expect(page.get_by_role("button", name="Send to 2 contacts")).to_be_visible()
    expect(page.get_by_text("Leaving out: Staff")).to_be_visible()
    _shoot(page, "campaign-audience-detail")
    campaign = Campaign.objects.get(pk=campaign.pk)
    assert list(campaign.excluded_groups.values_list("name", flat=True)) == ["Staff"]
