"""The ledger: every recipient accounted for through crashes, errors, pauses."""

import smtplib
from datetime import timedelta

import pytest
from django.core import mail as django_mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db.models import Count

from campaigns import ledger, sending, services
from campaigns.models import Campaign, Message, Send
from campaigns.tasks import send_recover_task
from tests.factories import CampaignFactory, ContactFactory, GroupFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def newsletter():
    return GroupFactory(name="Newsletter")


def statuses(send) -> dict[str, int]:
    return dict(Message.objects.filter(send=send).values_list("status").annotate(n=Count("id")))


def prepared_send(group, count: int) -> Send:
    """A send whose audience is in the ledger, with no batch run yet."""
    ContactFactory.create_batch(count, groups=[group])
    campaign = CampaignFactory(groups=[group])
    send = Send.objects.create(campaign=campaign, lane=Send.Lane.BULK)
    assert sending.send_prepare(send_id=send.pk)
    return send


def test_a_dead_workers_claim_is_reconciled_without_resending_what_may_have_left(
    newsletter, settings
):
    # given a worker that claimed 6 messages, handed 2 to the server and died
    send = prepared_send(newsletter, 8)
    batch = ledger.messages_claim(send_id=send.pk, limit=6)
    claimed = list(Message.objects.filter(batch=batch).values_list("id", flat=True))
    ledger.messages_hand_over(send_id=send.pk, batch=batch, ids=claimed[:2], heartbeat=True)

    # when recovery runs after the claim went stale
    settings.SEND_CLAIM_STALE_SECONDS = 0
    send_recover_task()  # restarts the send: eager tasks send the rest

    # then the two that may have left are in doubt, never sent again; the rest went
    assert statuses(send) == {"in_doubt": 2, "sent": 6}
    assert len(django_mail.outbox) == 6
    sent_to = {m.to[0] for m in django_mail.outbox}
    in_doubt = set(Message.objects.filter(status="in_doubt").values_list("email", flat=True))
    assert not sent_to & in_doubt
    send.refresh_from_db()
    assert send.status == Send.Status.DONE

    # when staff decide to send the two again
    assert services.send_resend_in_doubt(send=send) == 2

    # then
    assert statuses(send) == {"sent": 8}
    assert len(django_mail.outbox) == 8


def test_a_worker_that_lost_its_claim_writes_nothing(newsletter):
    send = prepared_send(newsletter, 3)
    old = ledger.messages_claim(send_id=send.pk, limit=3)
    ids = list(Message.objects.filter(batch=old).values_list("id", flat=True))
    # Recovery took the claim away and another worker claimed the messages.
    ledger.messages_recover(stale_after=timedelta(seconds=-1))
    new = ledger.messages_claim(send_id=send.pk, limit=3)
    assert ledger.messages_hand_over(send_id=send.pk, batch=old, ids=ids, heartbeat=True) == []
    assert ledger.messages_record_sent(batch=old, esp_ids=dict.fromkeys(ids, "x")) == 0
    assert set(Message.objects.values_list("batch", flat=True)) == {new}


class FlakyBackend(LocmemBackend):
    """A mail server that answers 451 to the first few mails, then recovers."""

    refusals = 0

    def send_messages(self, messages):
        if FlakyBackend.refusals > 0:
            FlakyBackend.refusals -= 1
            raise smtplib.SMTPDataError(451, b"4.3.0 Try again later")
        return super().send_messages(messages)


def test_a_temporary_error_puts_the_batch_back_and_every_mail_goes_once(newsletter, settings):
    settings.EMAIL_BACKEND = f"{__name__}.FlakyBackend"
    FlakyBackend.refusals = 3
    ContactFactory.create_batch(5, groups=[newsletter])
    send = services.campaign_send(campaign=CampaignFactory(groups=[newsletter]))
    assert statuses(send) == {"sent": 5}
    assert sorted(m.to[0] for m in django_mail.outbox) == sorted(
        Message.objects.values_list("email", flat=True)
    )
    # The server was at fault, not the recipients: no try is counted against them.
    assert set(Message.objects.values_list("attempts", flat=True)) == {1}
    send.refresh_from_db()
    assert (send.retry_streak, send.error) == (0, "")


class MailboxFullBackend(LocmemBackend):
    """One mailbox answers 452 for ever; the others take mail."""

    def send_messages(self, messages):
        if messages[0].to == ["full@example.com"]:
            raise smtplib.SMTPRecipientsRefused({"full@example.com": (452, b"4.2.2 Mailbox full")})
        return super().send_messages(messages)


def test_a_recipient_that_keeps_failing_fails_alone_after_its_tries(newsletter, settings):
    settings.EMAIL_BACKEND = f"{__name__}.MailboxFullBackend"
    settings.SEND_MESSAGE_MAX_ATTEMPTS = 3
    settings.SEND_RETRY_BASE_SECONDS = 0  # eager tasks run retries at once
    ContactFactory(email="full@example.com", groups=[newsletter])
    ContactFactory.create_batch(3, groups=[newsletter])
    send = services.campaign_send(campaign=CampaignFactory(groups=[newsletter]))
    assert statuses(send) == {"sent": 3, "failed": 1}
    full = Message.objects.get(email="full@example.com")
    assert (full.attempts, full.error_class) == (3, "temporary")
    assert "452" in full.error
    send.refresh_from_db()
    assert send.status == Send.Status.DONE


class RejectingBackend(LocmemBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPDataError(554, b"5.7.1 Message rejected as spam")


def test_a_send_whose_mails_mostly_failed_is_failed_with_the_reason(newsletter, settings):
    settings.EMAIL_BACKEND = f"{__name__}.RejectingBackend"
    ContactFactory.create_batch(3, groups=[newsletter])
    send = services.campaign_send(campaign=CampaignFactory(groups=[newsletter]))
    send.refresh_from_db()
    assert send.status == Send.Status.FAILED
    assert send.campaign.status == Campaign.Status.FAILED
    assert send.error == "3 of 3 mails failed."
    assert set(Message.objects.values_list("error", flat=True)) == {
        "554 5.7.1 Message rejected as spam"
    }


class PausingBackend(LocmemBackend):
    """Staff press pause while the first mail is on its way."""

    def send_messages(self, messages):
        send = Send.objects.get()
        services.send_pause(send=send)
        return super().send_messages(messages)


def test_pause_stops_at_the_next_chunk_and_resume_sends_the_rest_once(newsletter, settings):
    settings.EMAIL_BACKEND = f"{__name__}.PausingBackend"
    settings.SEND_CHUNK_SIZE = 2
    settings.SEND_PARALLEL_BATCHES = 1
    ContactFactory.create_batch(6, groups=[newsletter])
    send = services.campaign_send(campaign=CampaignFactory(groups=[newsletter]))
    send.refresh_from_db()
    assert send.status == Send.Status.PAUSED and send.pause_reason == "Paused."
    assert statuses(send) == {"sent": 2, "queued": 4}

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert services.send_resume(send=send)
    assert statuses(send) == {"sent": 6}
    assert len({m.to[0] for m in django_mail.outbox}) == len(django_mail.outbox) == 6


def test_cancel_skips_everything_not_yet_handed_over(newsletter):
    send = prepared_send(newsletter, 5)
    batch = ledger.messages_claim(send_id=send.pk, limit=2)
    assert services.send_cancel(send=send)
    assert statuses(send) == {"sending": 2, "skipped": 3}
    assert set(Message.objects.filter(status="skipped").values_list("skip_reason", flat=True)) == {
        "cancelled"
    }
    # The batch in flight sees the cancel at its next chunk.
    ledger.messages_release(batch=batch)
    ledger.messages_skip_cancelled(send_id=send.pk)
    assert statuses(send) == {"skipped": 5}
    send.refresh_from_db()
    assert send.status == Send.Status.CANCELLED
    assert send.campaign.status == Campaign.Status.CANCELLED


def test_the_counts_always_add_up_to_the_recipients(newsletter, settings):
    settings.EMAIL_BACKEND = f"{__name__}.MailboxFullBackend"
    settings.SEND_MESSAGE_MAX_ATTEMPTS = 2
    settings.SEND_RETRY_BASE_SECONDS = 0
    ContactFactory(email="full@example.com", groups=[newsletter])
    ContactFactory(status="unsubscribed", groups=[newsletter])
    ContactFactory.create_batch(4, groups=[newsletter])
    send = services.campaign_send(campaign=CampaignFactory(groups=[newsletter]))
    counts = statuses(send)
    assert counts == {"sent": 4, "failed": 1, "skipped": 1}
    assert sum(counts.values()) == newsletter.contacts.count()


def test_a_sender_name_with_a_line_break_is_refused_before_anything_is_sent(newsletter):
    ContactFactory(groups=[newsletter])
    campaign = CampaignFactory(groups=[newsletter], from_name="Shop\nBcc: x@example.com")
    with pytest.raises(services.CampaignNotSendable, match="one line"):
        services.campaign_send(campaign=campaign)
    assert not Send.objects.exists()


def test_the_recovery_task_is_registered_with_beat_by_the_project(settings):
    from django_celery_beat.models import PeriodicTask
    from django_celery_beat.schedulers import DatabaseScheduler

    from marketing_site.celery import app

    DatabaseScheduler(app=app)
    task = PeriodicTask.objects.get(name="recover-stalled-sends")
    assert task.task == "campaigns.tasks.send_recover_task"
    assert task.interval.every == settings.SEND_RECOVERY_INTERVAL_SECONDS


def test_a_send_whose_preparing_task_died_is_prepared_again(newsletter, settings):
    # given a send whose prepare task was lost with its worker
    ContactFactory.create_batch(2, groups=[newsletter])
    send = Send.objects.create(campaign=CampaignFactory(groups=[newsletter]), lane="bulk")
    Send.objects.filter(pk=send.pk).update(created_at=send.created_at - timedelta(hours=1))

    # when recovery runs
    settings.SEND_CLAIM_STALE_SECONDS = 60
    send_recover_task()

    # then it was prepared and sent
    assert statuses(send) == {"sent": 2}
