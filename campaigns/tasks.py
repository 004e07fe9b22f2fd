"""Celery entry points. Each takes ids, calls the pipeline, and decides what to
queue next from what the pipeline returns, on the send's priority lane."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings

from campaigns import ledger, sending
from campaigns.models import Send


def send_enqueue_batches(send_id: int, count: int = 1) -> None:
    queue = _lane_queue(send_id)
    for _ in range(count):
        send_batch_task.apply_async((send_id,), queue=queue)


def send_enqueue_retry(send_id: int, countdown: float) -> None:
    send_batch_task.apply_async(
        (send_id,), {"is_retry": True}, queue=_lane_queue(send_id), countdown=countdown
    )


def _lane_queue(send_id: int) -> str:
    lane = Send.objects.filter(pk=send_id).values_list("lane", flat=True).get()
    return settings.SEND_LANE_QUEUES[lane]


def send_enqueue_prepare(send_id: int, lane: str) -> None:
    send_prepare_task.apply_async((send_id,), queue=settings.SEND_LANE_QUEUES[lane])


@shared_task(acks_late=True)
def send_prepare_task(send_id: int) -> None:
    # An A/B test's variant sends are prepared together and all start here.
    for started_id in sending.send_prepare_all(send_id=send_id):
        send_enqueue_batches(started_id, settings.SEND_PARALLEL_BATCHES)


@shared_task(acks_late=True)
def send_batch_task(send_id: int, is_retry: bool = False) -> None:
    outcome = sending.send_batch(send_id=send_id, is_retry=is_retry)
    if outcome.retry_in is not None:
        send_enqueue_retry(send_id, outcome.retry_in)
    elif outcome.more:
        send_enqueue_batches(send_id, settings.SEND_PARALLEL_BATCHES if outcome.widen else 1)


@shared_task
def send_recover_task() -> None:
    """Run by beat every SEND_RECOVERY_INTERVAL_SECONDS (settings.CELERY_BEAT_SCHEDULE)."""
    recovery = ledger.messages_recover(
        stale_after=timedelta(seconds=settings.SEND_CLAIM_STALE_SECONDS)
    )
    for send_id in recovery.restart_send_ids:
        send_enqueue_batches(send_id, settings.SEND_PARALLEL_BATCHES)
    for send_id, lane in recovery.prepare_again:
        send_enqueue_prepare(send_id, lane)


@shared_task
def plans_run_due_task() -> None:
    """Run by beat every minute (settings.CELERY_BEAT_SCHEDULE): start the
    scheduled sends that are due, wake sends whose waiting messages became due
    (local times, later variants), and decide the A/B tests whose wait is over.
    Both are durable rows claimed once, so a beat that was down catches up
    with one run, not one per missed tick."""
    from campaigns import abtest, scheduling  # scheduling starts sends through services

    scheduling.plans_run_due()  # each send's preparing is queued as it commits
    for send_id in scheduling.sends_with_messages_due():
        send_enqueue_batches(send_id, settings.SEND_PARALLEL_BATCHES)
    for test_id in abtest.ab_tests_due():
        send = abtest.ab_test_decide(test_id=test_id)
        if send is not None:
            send_enqueue_prepare(send.pk, send.lane)


@shared_task
def automations_run_task() -> None:
    """Run by beat every AUTOMATION_INTERVAL_SECONDS: schedule the time rules'
    steps, then make mails of the due steps, batch by batch, and start their
    sends once each batch has committed."""
    from campaigns import automations

    automations.time_rules_run()
    for _ in range(settings.AUTOMATION_MAX_BATCHES_PER_RUN):
        result = automations.pending_run_due()
        for send_id in result.send_ids:
            send_enqueue_batches(send_id, 1)
        if result.mailed + result.skipped + result.exited + result.not_in_segment == 0:
            break
