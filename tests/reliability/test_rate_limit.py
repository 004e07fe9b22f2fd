"""A sending limit holds across workers: it lives in the database, not in a
worker's memory."""

import pytest

from campaigns.services import campaign_send
from tests.factories import CampaignFactory
from tests.reliability.helpers import audience, statuses

pytestmark = pytest.mark.worker

RATE = 40  # mails per second, for all workers together


def test_two_workers_together_keep_to_the_limit_per_second(sink, workers):
    # given two workers, each fast enough alone to go far over the limit
    group, _ = audience(320)
    for name in ("first", "second"):
        workers.start(name, SEND_RATE_PER_SECOND=RATE, SEND_BATCH_SIZE=40, SEND_CHUNK_SIZE=10)

    # when
    send = campaign_send(campaign=CampaignFactory(groups=[group]))
    workers.wait_for_send(send, timeout=60)

    # then every mail went once, at the limit (within 10%) and not faster
    assert statuses(send) == {"sent": 320}
    times = sorted(mail.at for mail in sink.mails())
    assert len(times) == 320
    rate = (len(times) - 1) / (times[-1] - times[0])
    assert RATE * 0.9 <= rate <= RATE * 1.1, f"{rate:.1f} mails/s"
