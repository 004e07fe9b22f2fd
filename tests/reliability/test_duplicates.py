"""The ways one mail could go twice without a crash: a double click, two
workers on one send, and a batch task the broker delivers more than once."""

import pytest

from campaigns.models import Message, Send
from campaigns.services import CampaignNotSendable, campaign_send
from campaigns.tasks import send_batch_task
from tests.factories import CampaignFactory
from tests.reliability.helpers import audience, statuses

pytestmark = pytest.mark.worker


def test_a_double_click_two_workers_and_a_redelivered_batch_send_each_mail_once(sink, workers):
    # given two workers sharing the send in small batches
    group, contacts = audience(150)
    sink.delay = 0.005
    workers.start("first", SEND_BATCH_SIZE=20, SEND_CHUNK_SIZE=10)
    workers.start("second", SEND_BATCH_SIZE=20, SEND_CHUNK_SIZE=10)
    campaign = CampaignFactory(groups=[group])

    # when staff click "send" twice
    send = campaign_send(campaign=campaign)
    with pytest.raises(CampaignNotSendable):
        campaign_send(campaign=campaign)
    # and the broker hands out the batch task again, several times, mid-send
    workers.wait_for(lambda: sink.count() > 0, what="the first mails", send=send)
    for _ in range(6):
        send_batch_task.delay(send.pk)
    workers.wait_for_send(send)

    # then
    assert Send.objects.filter(campaign=campaign).count() == 1
    assert sink.received() == {contact.email: 1 for contact in contacts}
    assert statuses(send) == {"sent": 150}
    # each mail names its recipient, and the ledger knows it by the id the server got
    mails = sink.mails()
    assert all(mail.to == mail.recipient for mail in mails)
    recorded = dict(Message.objects.filter(send=send).values_list("email", "esp_message_id"))
    assert {mail.recipient: mail.message_id for mail in mails} == recorded
