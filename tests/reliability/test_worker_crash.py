"""A worker killed with SIGKILL in the middle of a batch."""

import pytest

from campaigns.services import campaign_send, send_resend_in_doubt
from campaigns.tasks import send_recover_task
from tests.factories import CampaignFactory
from tests.reliability.helpers import audience, emails_in, statuses

pytestmark = pytest.mark.worker

RECIPIENTS = 300
# Small chunks: a crash leaves at most one chunk in doubt.
SETTINGS = {"SEND_BATCH_SIZE": 100, "SEND_CHUNK_SIZE": 20, "SEND_CLAIM_STALE_SECONDS": 2}


def test_a_worker_killed_mid_batch_sends_nothing_twice_and_loses_nothing(sink, workers, settings):
    # given a slow mail server, and a worker that dies the moment the server
    # has taken the 30th mail, before it hears the server's 250
    settings.SEND_CLAIM_STALE_SECONDS = 2  # for the recovery this test runs, as beat would
    group, contacts = audience(RECIPIENTS)
    sink.delay = 0.02
    first = workers.start("first", **SETTINGS)
    sink.after(30, lambda: first.kill(wait=False))

    # when
    send = campaign_send(campaign=CampaignFactory(groups=[group]))
    workers.wait_for(lambda: first.process.poll() is not None, what="the kill", send=send)
    assert sink.count() == 30
    workers.start("second", **SETTINGS)
    workers.wait_for_send(send, recover=True)

    # then no one got the mail twice, and everyone is accounted for: sent
    # once, or in doubt (handed over by the dead worker; recovery, which ran
    # every second meanwhile, never sends those again by itself)
    received = sink.received()
    assert not sink.duplicates()
    sent, in_doubt = emails_in(send, "sent"), emails_in(send, "in_doubt")
    assert statuses(send) == {"sent": len(sent), "in_doubt": len(in_doubt)}
    assert len(sent) + len(in_doubt) == RECIPIENTS
    assert all(received[email] == 1 for email in sent)
    assert set(received) <= sent | in_doubt
    unheard = sink.mails()[29].recipient  # the server took it; the worker never heard
    assert unheard in in_doubt
    never_left = {email for email in in_doubt if not received[email]}
    assert never_left and len(in_doubt) <= SETTINGS["SEND_CHUNK_SIZE"]
    send_recover_task()  # once more, with nothing in flight: still nothing to re-send
    assert statuses(send)["in_doubt"] == len(in_doubt)

    # when staff decide to send those in doubt again, on purpose
    assert send_resend_in_doubt(send=send) == len(in_doubt)
    workers.wait_for_send(send)

    # then everyone has the mail; only the in-doubt mails that had arrived came twice
    assert statuses(send) == {"sent": RECIPIENTS}
    assert set(sink.received()) == {contact.email for contact in contacts}
    assert set(sink.duplicates()) == in_doubt - never_left
