"""The deliverability guard: warnings past 0.1% complaints, a pause past 0.3%,
and the same for bounces past their thresholds."""

import pytest
from anymail.signals import AnymailTrackingEvent
from django.utils import timezone

from campaigns.models import Message, Send
from contacts.models import AuditEntry
from tests.factories import CampaignFactory, ContactFactory
from tracking import webhooks
from tracking.guard import send_health

pytestmark = pytest.mark.django_db


@pytest.fixture
def send(settings):
    """A send that has gone out to 500 addresses and is still sending."""
    settings.GUARD_MIN_MESSAGES = 100
    send = Send.objects.create(campaign=CampaignFactory(), status=Send.Status.SENDING)
    Message.objects.bulk_create(
        Message(send=send, email=f"r{i}@example.com", status="sent", esp_message_id=f"m{i}")
        for i in range(500)
    )
    return send


def esp(kind: str, number: int, **extra):
    event = AnymailTrackingEvent(
        event_type=kind,
        message_id=f"m{number}",
        recipient=f"r{number}@example.com",
        event_id=f"{kind}-{number}",
        timestamp=timezone.now(),
        esp_event={},
        **extra,
    )
    return webhooks.esp_event_apply(esp_name="Generic", event=event)


def test_a_complaint_rate_above_one_in_a_thousand_warns(send):
    assert send_health(send) == []
    esp("complained", 1)
    (warning,) = send_health(send)
    assert warning["level"] == "warning" and "complaint rate is 0.20%" in warning["message"]
    send.refresh_from_db()
    assert send.status == "sending"


def test_a_complaint_rate_above_three_in_a_thousand_pauses_the_send(send):
    for number in range(2):
        esp("complained", number)
    send.refresh_from_db()
    assert send.status == "paused"
    assert "complaint rate is 0.40%" in send.pause_reason
    (danger,) = send_health(send)
    assert danger["level"] == "danger"
    entry = AuditEntry.objects.get(action="send_paused")
    assert entry.actor is None and entry.details["by"] == "deliverability guard"


def test_a_bounce_rate_above_its_threshold_pauses_the_send(send, settings):
    settings.GUARD_BOUNCE_WARN_PERCENT = 1
    settings.GUARD_BOUNCE_PAUSE_PERCENT = 2
    for number in range(6):
        esp("bounced", number, mta_response="550 5.1.1 no such user")
    (warning,) = send_health(send)
    assert warning["level"] == "warning"
    for number in range(6, 11):
        esp("bounced", number, mta_response="550 5.1.1 no such user")
    send.refresh_from_db()
    assert send.status == "paused" and "bounce rate is 2.20%" in send.pause_reason


def test_a_small_send_is_not_judged_on_one_early_complaint(settings):
    settings.GUARD_MIN_MESSAGES = 100
    send = Send.objects.create(campaign=CampaignFactory(), status=Send.Status.SENDING)
    contact = ContactFactory()
    Message.objects.create(send=send, contact=contact, email=contact.email, status="sent",
                           esp_message_id="only")  # fmt: skip
    webhooks.esp_event_apply(
        esp_name="Generic",
        event=AnymailTrackingEvent(
            event_type="complained", message_id="only", recipient=contact.email, event_id="c1"
        ),
    )
    send.refresh_from_db()
    assert send.status == "sending" and send_health(send) == []
