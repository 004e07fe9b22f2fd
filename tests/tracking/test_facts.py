"""Facts and tallies: kept incrementally as hits and webhooks arrive, they
equal a rebuild from the messages and events, whatever the mix and order."""

import random
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from anymail.signals import AnymailTrackingEvent

from campaigns.models import Link, Message, Send
from contacts.models import Contact
from tests.factories import CampaignFactory, ContactFactory
from tests.helpers import BROWSER
from tracking import services, webhooks
from tracking.facts import events_flush, events_flush_all, tallies_of, tally_rebuild
from tracking.models import Event

pytestmark = pytest.mark.django_db(transaction=True)

SENT_AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
AGENTS = [
    BROWSER,
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0) Microsoft Outlook 16.0",
    "Barracuda Sentinel (EE)",
    "Mozilla/5.0",
    "",
]


@pytest.fixture
def messages():
    send = Send.objects.create(campaign=CampaignFactory(), status=Send.Status.SENDING)
    for index in range(3):
        Link.objects.create(send=send, index=index, url=f"https://shop.example.com/{index}")
    Link.objects.create(send=send, index=3, url="https://shop.example.com/", is_honeypot=True)
    domains = ["example.com", "example.net", "mail.example.org"]
    return [
        Message.objects.create(
            send=send,
            contact=ContactFactory(email=f"c{i}@{domains[i % 3]}"),
            email=f"c{i}@{domains[i % 3]}",
            status=Message.Status.SENT,
            sent_at=SENT_AT,
            esp_message_id=f"esp-{i}",
        )
        for i in range(12)
    ]


def esp_event(kind: str, message: Message, event_id: str, at: datetime, **extra):
    return AnymailTrackingEvent(
        event_type=kind,
        message_id=message.esp_message_id,
        recipient=message.email,
        event_id=event_id,
        timestamp=at,
        esp_event={},
        **extra,
    )


@pytest.mark.parametrize("seed", [7, 2026])
def test_incremental_tallies_equal_rebuilt_ones_after_a_random_mix(messages, seed):
    rng = random.Random(seed)
    send_id = messages[0].send_id
    for step in range(400):
        at = SENT_AT + timedelta(seconds=rng.choice([1, 5, 30, 600, 3600, 7200, 90000]) + step)
        message = rng.choice(messages)
        action = rng.random()
        with time_machine.travel(at, tick=False):
            if action < 0.35:
                services.hit_record(
                    message_id=message.pk, kind="opened",
                    ip=rng.choice(["17.5.5.5", "203.0.113.2"]),
                    user_agent=rng.choice(AGENTS), reason=rng.choice(["", "", "", "head"]),
                )  # fmt: skip
            elif action < 0.7:
                index = rng.choice([0, 1, 2, 3])
                services.hit_record(
                    message_id=message.pk, kind="clicked", ip="203.0.113.2",
                    user_agent=rng.choice(AGENTS), link_index=index,
                    url=f"https://shop.example.com/{index}",
                )  # fmt: skip
            else:
                kind = rng.choice(["delivered", "delivered", "bounced", "complained"])
                extra = {}
                if kind == "bounced":
                    extra["mta_response"] = rng.choice(["550 5.1.1 unknown", "452 4.2.2 full"])
                event_id = f"e{rng.randrange(60)}"  # some ids come back: replays
                webhooks.esp_event_apply(
                    esp_name="Generic", event=esp_event(kind, message, event_id, at, **extra)
                )
            if rng.random() < 0.2:
                events_flush(limit=rng.choice([1, 3, 50]), settle_seconds=0)
    with time_machine.travel(SENT_AT + timedelta(days=3), tick=False):
        events_flush_all(settle_seconds=0)

    assert not Event.objects.filter(applied=False).exists()
    incremental = tallies_of(send_id)
    assert incremental == tally_rebuild(send_id)
    # The facts add up the same way.
    assert (
        incremental.get(("total", "", "opened"), 0)
        == Message.objects.filter(send_id=send_id, opened_at__isnull=False).count()
    )
    human_opens = Event.objects.filter(kind="opened", is_machine=False).count()
    assert incremental.get(("total", "", "opens"), 0) == human_opens
    assert sum(m.opens for m in Message.objects.filter(send_id=send_id)) == human_opens
    assert incremental.get(("total", "", "machine_opens"), 0) > 0
    assert incremental.get(("total", "", "bounced_hard"), 0) > 0


def test_a_contacts_last_open_moves_forward_only_and_only_for_people(messages):
    message = messages[0]
    for minutes, agent in [(90, BROWSER), (30, BROWSER), (200, "Barracuda Sentinel (EE)")]:
        with time_machine.travel(SENT_AT + timedelta(minutes=minutes), tick=False):
            services.hit_record(message_id=message.pk, kind="opened", ip=None, user_agent=agent)
    with time_machine.travel(SENT_AT + timedelta(hours=5), tick=False):
        events_flush_all(settle_seconds=0)
    contact = Contact.objects.get(pk=message.contact_id)
    assert contact.last_opened_at == SENT_AT + timedelta(minutes=90)
    message.refresh_from_db()
    assert message.opened_at == SENT_AT + timedelta(minutes=30)
    assert (message.opens, message.machine_opens) == (2, 1)


def test_recent_hits_wait_for_their_burst_to_settle(messages, settings):
    settings.TRACKING_SETTLE_SECONDS = 10
    with time_machine.travel(SENT_AT + timedelta(hours=1), tick=False):
        services.hit_record(message_id=messages[0].pk, kind="opened", ip=None, user_agent=BROWSER)
        assert events_flush() == 0
    with time_machine.travel(SENT_AT + timedelta(hours=1, seconds=11), tick=False):
        assert events_flush() == 1


def test_past_reports_do_not_change_when_a_contact_is_deleted(messages):
    message = messages[0]
    with time_machine.travel(SENT_AT + timedelta(hours=1), tick=False):
        services.hit_record(message_id=message.pk, kind="opened", ip=None, user_agent=BROWSER)
        events_flush_all(settle_seconds=0)
    before = tallies_of(message.send_id)
    Contact.objects.filter(pk=message.contact_id).delete()
    assert tallies_of(message.send_id) == before == tally_rebuild(message.send_id)
