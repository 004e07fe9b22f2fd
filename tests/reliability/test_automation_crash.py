"""Automations on the real stack when things go wrong: a worker killed in the
middle of an automation's mails, and a broker flushed while steps wait."""

from collections import Counter

import pytest
from django.utils import timezone

from campaigns import recipes
from campaigns.models import Message, PendingStep, Send
from campaigns.tasks import automations_run_task
from tests.conftest import queues_purge, worker_queues
from tracking.shop_api import events_ingest

pytestmark = pytest.mark.worker

ORDERS = 300
SETTINGS = {"SEND_BATCH_SIZE": 100, "SEND_CHUNK_SIZE": 20, "SEND_CLAIM_STALE_SECONDS": 2}


def _orders(count: int) -> list[dict]:
    return [
        {
            "id": f"evt-{n}",
            "type": "order.created",
            "data": {
                "order": {
                    "id": f"order-{n}",
                    "customer": {"email": f"buyer{n:04d}@example.com", "first_name": f"B{n}"},
                    "total": "20.00",
                    "lines": [{"sku": "MUG", "name": "Mug", "quantity": 1, "unit_price": "20"}],
                }
            },
        }
        for n in range(count)
    ]


def test_a_killed_worker_and_a_flushed_broker_lose_no_step_and_double_none(sink, workers, settings):
    # given order confirmations due now and unpaid-order reminders due in 30
    # minutes, for 300 orders
    settings.SEND_CLAIM_STALE_SECONDS = 2  # for the recovery this test runs, as beat would
    confirmation = recipes.recipe_create(slug="order-confirmation")
    reminder = recipes.recipe_create(slug="unpaid-order")
    assert events_ingest(_orders(ORDERS)).accepted == ORDERS
    assert PendingStep.objects.filter(status="waiting").count() == 2 * ORDERS

    # when a worker makes the confirmations and dies after the 30th mail
    # has left, and the broker is flushed of everything queued
    sink.delay = 0.02
    first = workers.start("first", **SETTINGS)
    sink.after(30, lambda: first.kill(wait=False))
    automations_run_task.delay()
    workers.wait_for(lambda: first.process.poll() is not None, what="the kill", timeout=60)
    queues_purge(worker_queues())

    # and half an hour later (the reminders are due), beat runs again
    PendingStep.objects.filter(automation=reminder).update(due_at=timezone.now())
    workers.start("second", **SETTINGS)
    automations_run_task.delay()
    workers.wait_for(
        lambda: not PendingStep.objects.filter(status="waiting").exists(),
        what="every step to be made into a mail",
    )
    for send in Send.objects.filter(campaign__automation_step__isnull=False):
        workers.wait_for_send(send, recover=True)

    # then every step has exactly one mail, and no mail arrived twice
    assert PendingStep.objects.filter(status="done").count() == 2 * ORDERS
    assert Message.objects.filter(pending__isnull=False).count() == 2 * ORDERS
    arrived = Counter(mail.message_id for mail in sink.mails())
    assert all(count == 1 for count in arrived.values())
    assert all(count <= 2 for count in sink.received().values())
    for automation in (confirmation, reminder):
        messages = Message.objects.filter(pending__automation=automation)
        sent = messages.filter(status="sent")
        in_doubt = messages.filter(status="in_doubt").count()
        # the dead worker's handed-over chunk is in doubt, never re-sent by itself
        assert sent.count() + in_doubt == ORDERS
        assert in_doubt <= SETTINGS["SEND_CHUNK_SIZE"]
        assert set(sent.values_list("esp_message_id", flat=True)) <= set(arrived)
