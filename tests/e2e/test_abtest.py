"""Setting up an A/B test and reading its result in a real browser
(screenshots in $SHOTS_DIR)."""

from datetime import timedelta

import pytest
from django.core import mail as django_mail
from django.utils import timezone
from playwright.sync_api import expect

from campaigns import abtest
from campaigns.models import ABTest, Message
from contacts.models import Contact
from tests.e2e.test_campaign_checklist import log_in, shoot
from tests.factories import CampaignFactory, GroupFactory, UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_a_marketer_sets_up_an_ab_test_sends_it_and_reads_the_winner(live_server, page):
    UserFactory(username="bob", role="marketer")
    group = GroupFactory(name="Newsletter")
    contacts = Contact.objects.bulk_create(
        [Contact(email=f"c{i:03d}@example.com") for i in range(300)]
    )
    group.contacts.add(*contacts)
    campaign = CampaignFactory(groups=[group], subject="Spring sale")
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, live_server, "bob")

    # Bob sets up three subjects on 60% of the audience, and a 5% holdout
    page.goto(f"{live_server.url}/campaigns/{campaign.pk}/")
    page.get_by_role("link", name="Set up an A/B test or holdout").click()
    page.get_by_label("Test share (%)").fill("60")
    variants = page.locator("[data-variant]")
    variants.nth(1).get_by_label("Subject").fill("Spring sale: 30% off")
    page.get_by_role("button", name="Add a variant").click()
    expect(variants).to_have_count(3)
    expect(variants.nth(1).get_by_label("Subject")).to_have_value("Spring sale: 30% off")
    variants.nth(2).get_by_label("Subject").fill("Last days of the spring sale")
    variants.nth(2).get_by_label("Send later by (minutes)").fill("60")
    shoot(page, "ab-setup")
    page.get_by_role("button", name="Save the A/B test").click()
    expect(page.locator(".messages")).to_contain_text("A/B test saved with 3 variants")
    page.get_by_role("link", name="Change the test").click()
    page.get_by_label("Holdout (%)").fill("5")
    page.get_by_role("button", name="Save the holdout").click()
    card = page.locator("section", has=page.get_by_role("heading", name="A/B test and holdout"))
    expect(card).to_contain_text("3 variants tried on 60% of the audience")
    expect(card).to_contain_text("Holdout: 5%")

    # and sends it: the test goes to 180 people, 60 each (C an hour later)
    page.get_by_role("button", name="Send to 300 contacts").click()
    expect(page.get_by_role("heading", name=f"Sending: {campaign.name}")).to_be_visible()
    a, b, c = abtest.test_sends(campaign=campaign)
    assert [s.messages.count() for s in (a, b, c)] == [60, 60, 60]
    assert len(django_mail.outbox) == 120

    # after the wait, B's open rate wins
    for send, opened in ((a, 9), (b, 30), (c, 12)):
        ids = list(send.messages.values_list("id", flat=True)[:opened])
        Message.objects.filter(id__in=ids).update(opened_at=timezone.now())
    Message.objects.filter(send=c).update(status="sent")  # C's hour has passed
    test = ABTest.objects.get()
    abtest.ab_test_decide(test_id=test.pk, now=test.decide_at + timedelta(minutes=1))

    page.goto(f"{live_server.url}/campaigns/{campaign.pk}/")
    expect(card.locator("[data-decision]")).to_contain_text("Variant B won")
    expect(card.locator(".row-winner")).to_contain_text("B")
    expect(card.locator("tbody tr")).to_have_count(3)
    shoot(page, "ab-result", card)
