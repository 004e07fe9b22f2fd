"""The ledger outlives the contact: deleting one never rewrites history."""

from datetime import timedelta

import pytest
from django.db.models import F

from campaigns.models import Message
from campaigns.services import campaign_send
from tests.factories import CampaignFactory, ContactFactory, GroupFactory
from tests.helpers import BROWSER
from tracking.reports import campaign_report
from tracking.services import message_record_click, message_record_open


def _send_to_ann_ben_and_cy():
    group = GroupFactory(name="Newsletter")
    ann = ContactFactory(email="ann@example.com", groups=[group])
    for name in ["ben", "cy"]:
        ContactFactory(email=f"{name}@example.com", groups=[group])
    campaign = CampaignFactory(groups=[group])
    return campaign, campaign_send(campaign=campaign), ann


def _ann_opens_clicks_and_is_deleted(campaign, send, ann):
    """The report before and after Ann, who opened and clicked, is deleted."""
    message = Message.objects.get(send=send, contact=ann)
    # Read an hour later: hits seconds after sending are machines' (tracking.machine).
    Message.objects.filter(pk=message.pk).update(sent_at=F("sent_at") - timedelta(hours=1))
    message_record_open(message_id=message.pk, ip="203.0.113.7", user_agent=BROWSER)
    message_record_click(message_id=message.pk, link_index=0, ip="203.0.113.7", user_agent=BROWSER)
    before = campaign_report(campaign=campaign)
    ann.delete()
    message.refresh_from_db()
    assert (message.contact, message.email, message.status) == (None, "ann@example.com", "sent")
    return before, campaign_report(campaign=campaign)


@pytest.mark.django_db(transaction=True)
def test_deleting_a_contact_after_a_send_leaves_the_report_unchanged():
    campaign, send, ann = _send_to_ann_ben_and_cy()

    before, after = _ann_opens_clicks_and_is_deleted(campaign, send, ann)

    assert after == before
    assert (after.recipients, after.sent, after.opened, after.clicked) == (3, 3, 1, 1)


@pytest.mark.worker
def test_deleting_a_contact_after_a_worker_sent_the_campaign_leaves_the_report_unchanged(
    sink, workers
):
    workers.start()
    campaign, send, ann = _send_to_ann_ben_and_cy()
    workers.wait_for_send(send)
    assert sink.received() == {"ann@example.com": 1, "ben@example.com": 1, "cy@example.com": 1}

    before, after = _ann_opens_clicks_and_is_deleted(campaign, send, ann)

    assert after == before
    assert (after.recipients, after.sent, after.opened, after.clicked) == (3, 3, 1, 1)
