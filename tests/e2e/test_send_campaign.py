import pytest
from django.core import mail
from playwright.sync_api import expect

from campaigns.models import Campaign
from tests.factories import (
    CampaignFactory,
    ContactFactory,
    GroupFactory,
    ProductFactory,
    UserFactory,
)

PASSWORD = "correct horse battery staple"  # the factories' password


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_marketer_logs_in_sends_a_campaign_and_watches_it_go(live_server, page):
    # given a marketer, a list and a draft
    UserFactory(username="bob", role="marketer")
    newsletter = GroupFactory(name="Newsletter")
    names = {"ann@example.com": "Ann", "ben@example.com": "Ben", "cy@example.com": "Cy"}
    readers = sorted(names)
    for email, first_name in names.items():
        ContactFactory(email=email, first_name=first_name, groups=[newsletter])
    ContactFactory(email="gone@example.com", status="unsubscribed", groups=[newsletter])
    campaign = CampaignFactory(groups=[newsletter], products=[ProductFactory(name="Wool socks")])
    campaign_url = f"{live_server.url}/campaigns/{campaign.pk}/"

    # when Bob opens the campaign, he is asked to log in first
    page.goto(campaign_url)
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    # then he lands on the campaign with its preview
    expect(page).to_have_url(campaign_url)
    expect(page.get_by_role("heading", name="Spring sale")).to_be_visible()
    expect(page.locator(".inbox-line .subject")).to_have_text("Spring sale, Ann!")
    preview = page.frame_locator("iframe.preview-frame")
    expect(preview.get_by_text("Hello Ann,")).to_be_visible()

    # when he sends it and accepts the confirmation
    dialogs = []
    page.once("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    page.get_by_role("button", name="Send to 3 of 4 contacts").click()

    # then the send page shows it done, with the unsubscribed contact skipped
    expect(page).to_have_url(f"{live_server.url}/campaigns/{campaign.pk}/sending/")
    assert "to 3 of 4 contacts now? Skipped: 1 unsubscribed." in dialogs[0]
    expect(page.get_by_text("is on its way")).to_be_visible()
    expect(page.locator(".page-header .badge")).to_have_text("Done")
    expect(page.get_by_role("cell", name="Unsubscribed")).to_be_visible()

    # and the report lists every mail sent, and the unsubscribed contact as skipped
    page.get_by_role("link", name="Spring sale").click()
    page.get_by_role("link", name="View report").click()
    expect(page).to_have_url(f"{live_server.url}/reports/campaigns/{campaign.pk}/")
    for email in readers:
        row = page.get_by_role("row").filter(has_text=email)
        expect(row.get_by_text("Sent", exact=True)).to_be_visible()
    skipped = page.get_by_role("row").filter(has_text="gone@example.com")
    expect(skipped.get_by_text("Skipped", exact=True)).to_be_visible()
    assert sorted(m.to[0] for m in mail.outbox) == readers
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENT
