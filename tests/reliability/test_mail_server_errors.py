"""What the mail server answers, and what a send does about it."""

import pytest

from campaigns.models import Message, Send
from campaigns.services import campaign_send, send_resume
from contacts.models import Suppression
from tests.factories import CampaignFactory
from tests.reliability.helpers import audience, statuses

pytestmark = pytest.mark.worker


@pytest.mark.parametrize(
    ("reply", "stage"),
    [("421 4.7.0 Too many connections", "MAIL"), ("451 4.3.0 Try again later", "RCPT")],
)
def test_a_server_that_says_try_later_for_two_seconds_gets_every_mail_once(
    sink, workers, reply, stage
):
    # given
    group, contacts = audience(60)
    workers.start(SEND_RETRY_BASE_SECONDS=0.2)
    sink.fail(reply, at=stage, seconds=2)

    # when
    send = campaign_send(campaign=CampaignFactory(groups=[group]))
    workers.wait_for_send(send)

    # then the outage cost no one their mail
    assert sink.fault_answers > 0
    failed = Message.objects.filter(send=send, status=Message.Status.FAILED)
    assert list(failed.values_list("email", "error")) == []
    assert statuses(send) == {"sent": 60}
    assert sink.received() == {contact.email: 1 for contact in contacts}


def test_an_address_that_does_not_exist_fails_alone_and_is_suppressed(sink, workers):
    group, contacts = audience(20)
    ghost = contacts[7]
    sink.refuse(ghost.email)
    workers.start()

    send = campaign_send(campaign=CampaignFactory(groups=[group]))
    workers.wait_for_send(send)

    failed = Message.objects.get(send=send, status=Message.Status.FAILED)
    assert (failed.email, failed.error_class) == (ghost.email, Message.ErrorClass.REFUSED)
    assert "550 5.1.1" in failed.error
    assert Suppression.objects.filter(email=ghost.email, reason="bounced").exists()
    assert sink.received() == {contact.email: 1 for contact in contacts if contact != ghost}
    assert statuses(send) == {"sent": 19, "failed": 1}


def test_a_server_down_for_every_retry_pauses_the_send_which_resumes_without_duplicates(
    sink, workers
):
    # given a mail server that is down
    group, contacts = audience(30)
    workers.start(SEND_RETRY_LIMIT=3, SEND_RETRY_BASE_SECONDS=0.2)
    sink.down()

    # when
    send = campaign_send(campaign=CampaignFactory(groups=[group]))
    workers.wait_for_send(send, Send.Status.PAUSED)

    # then the send pauses itself, says why, and has lost nothing
    assert "connection refused" in send.pause_reason.lower()
    assert statuses(send) == {"queued": 30}

    # when the server is back and staff resume
    sink.up()
    assert send_resume(send=send)
    workers.wait_for_send(send)

    # then
    assert sink.received() == {contact.email: 1 for contact in contacts}
    assert statuses(send) == {"sent": 30}
    assert send.pause_reason == ""
