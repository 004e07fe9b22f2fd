"""The whole product on the real stack: a real worker sends over Redis, the
recipient opens and clicks, the report moves."""

from datetime import timedelta

import pytest
from django.db.models import F
from django.urls import reverse

from campaigns.models import Campaign, Message, Send
from campaigns.services import campaign_send
from tests.conftest import wait_for
from tests.factories import CampaignFactory, ContactFactory, GroupFactory, ProductFactory
from tests.helpers import BROWSER, click_paths, html_part, pixel_path
from tracking.facts import events_flush_all
from tracking.reports import campaign_report


def report_rates(client, campaign) -> dict[str, str]:
    """The rates as the report page shows them to staff."""
    response = client.get(reverse("reports:campaign", args=[campaign.pk]))
    rates = dict(response.context["figures"]["rates"])
    for label, value in rates.items():
        assert f'<div class="stat-label">{label}</div><div class="stat-value">{value}</div>' in (
            response.content.decode()
        )
    return rates


@pytest.mark.worker
def test_a_campaign_sent_by_a_real_worker_is_opened_clicked_and_reported(
    celery_worker, client, charlie
):
    # given
    newsletter = GroupFactory(name="Newsletter")
    ContactFactory(email="ann@example.com", first_name="Ann", groups=[newsletter])
    ContactFactory(email="ben@example.com", first_name="Ben", groups=[newsletter])
    ContactFactory(email="cy@example.com", first_name="Cy", groups=[newsletter])
    ContactFactory(email="gone@example.com", status="unsubscribed", groups=[newsletter])
    campaign = CampaignFactory(groups=[newsletter], products=[ProductFactory()])

    # when
    send = campaign_send(campaign=campaign)
    wait_for(lambda: Send.objects.get(pk=send.pk).status == Send.Status.DONE, what="the send")

    # then every subscribed contact got one mail, the unsubscribed one none
    mails = wait_for(lambda: len(celery_worker.mails()) == 3 and celery_worker.mails())
    assert sorted(m["To"] for m in mails) == [
        "ann@example.com",
        "ben@example.com",
        "cy@example.com",
    ]
    assert Message.objects.get(email="gone@example.com").skip_reason == "unsubscribed"
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SENT
    report = campaign_report(campaign=campaign)
    assert (report.sent, report.opened, report.clicked, report.open_rate) == (3, 0, 0, 0)
    client.force_login(charlie)
    before = report_rates(client, campaign)
    assert (before["Open rate"], before["Click rate"]) == ("0.0%", "0.0%")

    # when, an hour later (hits seconds after delivery are machines'), Ann
    # opens her mail and Ben clicks the sale link in his
    Message.objects.filter(send=send).update(sent_at=F("sent_at") - timedelta(hours=1))
    ann = next(m for m in mails if m["To"] == "ann@example.com")
    ben = next(m for m in mails if m["To"] == "ben@example.com")
    assert client.get(pixel_path(html_part(ann)), HTTP_USER_AGENT=BROWSER).status_code == 200
    response = client.get(click_paths(html_part(ben))[0], HTTP_USER_AGENT=BROWSER)

    # then
    assert response.status_code == 302
    assert response["Location"].partition("?mc=")[0] == "https://shop.example.com/sale"
    events_flush_all(settle_seconds=0)  # what beat's flush does every few seconds
    report = campaign_report(campaign=campaign)
    assert (report.opened, report.clicked) == (2, 1)  # a click proves an open
    assert report.open_rate == pytest.approx(2 / 3)
    assert report.click_rate == pytest.approx(1 / 3)
    assert report.click_to_open_rate == pytest.approx(1 / 2)
    after = report_rates(client, campaign)
    assert (after["Open rate"], after["Click rate"], after["Click-to-open"]) == (
        "66.7%",
        "33.3%",
        "50.0%",
    )
