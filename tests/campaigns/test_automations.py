"""Automations from shop events, with time moved by time-machine: the shop
posts through the real events API, the periodic run makes the mails, and the
mails go through the real send pipeline to the test outbox."""

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail as django_mail

from campaigns import automations, recipes
from campaigns.models import Automation, FrequencyPolicy, Message, PendingStep, Send
from campaigns.services import campaign_send
from campaigns.tasks import automations_run_task
from contacts.models import Contact
from tests.factories import CampaignFactory, ContactFactory, GroupFactory
from tests.helpers import html_part, parsed, text_part
from tracking import api_keys

pytestmark = pytest.mark.django_db(transaction=True)

START = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # 10:00 UTC: outside quiet hours


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def shop(client, alice):
    """Posts events as the shop's backend does."""
    _, secret = api_keys.api_key_create(name="Shop", actor=alice)

    def post(*events):
        response = client.post(
            "/api/v1/events",
            data=json.dumps({"events": list(events)}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {secret}",
        )
        assert response.status_code == 200, response.content
        return response.json()

    return post


def customer(email="ann@example.com", **extra):
    return {"email": email, "first_name": "Ann", **extra}


def order(event_id, kind="order.created", order_id="1001", email="ann@example.com", **extra):
    data = {
        "id": order_id,
        "customer": customer(email),
        "total": "37.50",
        "currency": "USD",
        "lines": [
            {"sku": "MUG-01", "name": "Stoneware mug", "quantity": 2, "unit_price": "14.00"},
            {"sku": "TEA-12", "name": "Sencha <b>tea</b>", "quantity": 1, "unit_price": "9.50"},
        ],
        "delivery_address": {"name": "Ann Example", "line1": "12 Harbour St", "city": "Bristol"},
        "payment_url": "https://shop.example.com/pay/1001",
        **extra,
    }
    return {"id": event_id, "type": kind, "data": {"order": data}}


def cart(event_id, cart_id="c-1", email="ann@example.com", items=None, subscribed=True):
    items = items or [{"sku": "MUG-01", "name": "Stoneware mug", "quantity": 1,
                       "unit_price": "14.00"}]  # fmt: skip
    who = customer(email, accepts_marketing=subscribed)
    data = {"id": cart_id, "customer": who, "items": items, "total": "14.00",
            "checkout_url": "https://shop.example.com/cart/c-1"}  # fmt: skip
    return {"id": event_id, "type": "cart.updated", "data": {"cart": data}}


def run():
    automations_run_task()


def mails_to(address="ann@example.com", subject_part=""):
    return [m for m in django_mail.outbox if m.to == [address] and subject_part in m.subject]


# --- The unpaid-order reminder --------------------------------------------------


def test_an_unpaid_order_gets_the_reminder_after_30_minutes(clock, shop):
    recipes.recipe_create(slug="unpaid-order")
    shop(order("e1"))

    clock.shift(timedelta(minutes=29))
    run()
    assert mails_to() == []

    clock.shift(timedelta(minutes=1))
    run()
    [reminder] = mails_to()
    assert reminder.subject == "Your order 1001 is waiting for payment"
    html = html_part(parsed(reminder))
    assert "Stoneware mug" in html and "$28.00" in html and "$37.50" in html
    assert "Sencha &lt;b&gt;tea&lt;/b&gt;" in html  # the shop's text is escaped
    assert 'href="https://shop.example.com/pay/1001"' in html
    assert "2 x Stoneware mug" in text_part(parsed(reminder))
    run()
    assert len(mails_to()) == 1  # the step is done: never a second time


def test_payment_at_minute_29_cancels_the_reminder(clock, shop):
    automation = recipes.recipe_create(slug="unpaid-order")
    shop(order("e1"))
    clock.shift(timedelta(minutes=29))
    shop(order("e2", kind="order.paid"))
    clock.shift(timedelta(minutes=5))
    run()
    assert mails_to() == []
    step = PendingStep.objects.get(automation=automation)
    assert step.status == PendingStep.Status.EXITED
    assert step.outcome == "The order is paid"


def test_a_payment_posted_before_the_order_still_cancels_the_reminder(clock, shop):
    # the shop's events can arrive out of order, even in one batch
    recipes.recipe_create(slug="unpaid-order")
    shop(order("e2", kind="order.paid"), order("e1"))
    clock.shift(timedelta(minutes=31))
    run()
    assert mails_to() == []
    assert PendingStep.objects.get().status == PendingStep.Status.EXITED


# --- Abandoned cart ------------------------------------------------------------------


def test_an_abandoned_cart_gets_one_mail_within_48_hours(clock, shop):
    recipes.recipe_create(slug="abandoned-cart")
    shop(cart("c1"))
    clock.shift(timedelta(hours=1))
    two = [{"sku": "MUG-01", "name": "Stoneware mug", "quantity": 2, "unit_price": "14.00"}]
    shop(cart("c2", items=two))  # the same cart, changed: still one reminder

    for _ in range(48):
        clock.shift(timedelta(hours=1))
        run()
    [reminder] = mails_to()
    assert reminder.subject == "You left something behind, Ann"
    assert "2 &times;" in html_part(parsed(reminder))  # the cart as it was last
    assert 'href="https://shop.example.com/cart/c-1"' in html_part(parsed(reminder))
    message = Message.objects.get(email="ann@example.com")
    assert message.send.lane == Send.Lane.AUTOMATION
    assert message.sent_at - START < timedelta(hours=48)


def test_an_order_after_the_cart_means_no_reminder(clock, shop):
    recipes.recipe_create(slug="abandoned-cart")
    shop(cart("c1"))
    clock.shift(timedelta(hours=2))
    shop(order("o1"))
    clock.shift(timedelta(hours=48))
    run()
    assert mails_to() == []
    assert PendingStep.objects.get().outcome == "The contact places an order"


# --- Order confirmation --------------------------------------------------------------


def test_a_repeated_order_event_sends_one_confirmation(clock, shop):
    recipes.recipe_create(slug="order-confirmation")
    shop(order("e1"))
    shop(order("e1"))  # the same event again
    shop(order("e1-retry"))  # the same order under another event id
    run()
    run()
    [confirmation] = mails_to()
    assert confirmation.subject == "Your order 1001 is confirmed"
    html = html_part(parsed(confirmation))
    assert "12 Harbour St" in html and "Bristol" in html
    shop(order("e3", order_id="1002"))  # a second order is confirmed too
    run()
    assert len(mails_to()) == 2


def test_the_cap_holds_back_marketing_automations_but_not_the_order_confirmation(clock, shop):
    FrequencyPolicy.objects.create(max_messages=2, window_days=7, min_gap_days=0)
    ann = ContactFactory(email="ann@example.com", first_name="Ann", groups=[GroupFactory()])
    for _ in range(2):
        campaign_send(campaign=CampaignFactory(groups=list(ann.groups.all())))
    assert len(mails_to()) == 2
    recipes.recipe_create(slug="order-confirmation")
    recipes.recipe_create(slug="abandoned-cart")

    shop(cart("c1"))
    clock.shift(timedelta(hours=5))
    run()
    shop(order("o1"))
    run()

    subjects = [m.subject for m in mails_to()]
    assert "Your order 1001 is confirmed" in subjects
    assert not any("left something" in s for s in subjects)
    capped = Message.objects.get(send__lane=Send.Lane.AUTOMATION)
    assert capped.skip_reason == Message.SkipReason.FREQUENCY_CAP
    assert PendingStep.objects.get(automation__recipe="abandoned-cart").outcome == (
        "Skipped: Frequency cap"
    )


def test_transactional_mail_reaches_a_customer_who_never_subscribed_marketing_does_not(clock, shop):
    recipes.recipe_create(slug="order-confirmation")
    recipes.recipe_create(slug="abandoned-cart")
    shop(cart("c1", subscribed=False), order("o1", order_id="2001"))
    clock.shift(timedelta(hours=5))
    shop(cart("c2", cart_id="c-2", subscribed=False))
    clock.shift(timedelta(hours=5))
    run()
    assert Contact.objects.get().status == Contact.Status.NOT_SUBSCRIBED
    assert [m.subject for m in mails_to()] == ["Your order 2001 is confirmed"]
    assert Message.objects.get(send__lane=Send.Lane.AUTOMATION).skip_reason == "not_subscribed"


# --- Series, time rules, conditions --------------------------------------------------


def test_a_welcome_series_goes_out_on_day_0_3_and_7(clock, shop):
    recipes.recipe_create(slug="welcome")
    shop({"id": "r1", "type": "customer.registered",
          "data": {"customer": customer(nickname="Annie", accepts_marketing=True)}})  # fmt: skip
    run()
    assert [m.subject for m in mails_to()] == ["Welcome, Annie!"]
    clock.shift(timedelta(days=3))
    run()
    clock.shift(timedelta(days=4))
    run()
    assert [m.subject for m in mails_to()] == [
        "Welcome, Annie!",
        "How we make things, Ann",
        "Something new for you, Ann",
    ]


def test_a_marketing_step_due_at_night_waits_for_the_morning(clock, shop, settings):
    settings.AUTOMATION_QUIET_HOURS = (21, 8)
    recipes.recipe_create(slug="abandoned-cart")  # 4 hours after the cart
    clock.move_to(datetime(2026, 11, 24, 18, 30, tzinfo=UTC))
    ContactFactory(email="kai@example.com", time_zone="Europe/Berlin")
    shop(cart("c1", email="kai@example.com"))  # due 22:30 UTC, 23:30 in Berlin
    step = PendingStep.objects.get()
    assert step.due_at == datetime(2026, 11, 25, 7, 0, tzinfo=UTC)  # 08:00 in Berlin


def test_win_back_after_days_without_an_order(clock, shop):
    automation = recipes.recipe_create(slug="win-back")
    shop(order("o1", customer=customer(accepts_marketing=True)))
    Contact.objects.update(status="subscribed")
    clock.shift(timedelta(days=89))
    run()
    assert mails_to() == []
    clock.shift(timedelta(days=2))
    run()
    run()
    assert [m.subject for m in mails_to()] == ["We miss you, Ann"]
    assert PendingStep.objects.filter(automation=automation).count() == 1


def test_a_condition_segment_leaves_out_those_outside_it(clock, shop):
    from contacts.models import Segment

    automation = recipes.recipe_create(slug="order-confirmation")
    automation.segment = Segment.objects.create(
        name="Berlin", rules={"match": "all", "rules": [
            {"field": "time_zone", "op": "eq", "value": "Europe/Berlin"}]}
    )  # fmt: skip
    automation.save()
    shop(order("o1"))
    run()
    assert mails_to() == []
    assert PendingStep.objects.get().status == PendingStep.Status.SKIPPED


def test_a_paused_automation_schedules_nothing_and_its_waiting_steps_wait(clock, shop):
    automation = recipes.recipe_create(slug="unpaid-order")
    shop(order("o1"))
    automations.automation_pause(automation=automation)
    shop(order("o2", order_id="1002"))
    clock.shift(timedelta(hours=1))
    run()
    assert mails_to() == []
    assert PendingStep.objects.get().status == PendingStep.Status.WAITING
    automations.automation_activate(automation=automation)
    run()
    assert [m.subject for m in mails_to()] == ["Your order 1001 is waiting for payment"]


def test_an_edited_mail_goes_out_in_its_new_version(clock, shop):
    automation = recipes.recipe_create(slug="order-confirmation")
    shop(order("o1"))
    run()
    campaign = automation.steps.get().campaign
    clock.shift(timedelta(minutes=5))
    campaign.subject = "Order {{ order.number }}: thank you!"
    campaign.save()
    shop(order("o2", order_id="1002"))
    run()
    assert [m.subject for m in mails_to()] == [
        "Your order 1001 is confirmed",
        "Order 1002: thank you!",
    ]
    assert Send.objects.filter(campaign=campaign).count() == 2
    campaign.refresh_from_db()
    assert campaign.status == "draft"  # still editable


def test_old_events_replayed_schedule_no_mail(clock, shop):
    recipes.recipe_create(slug="order-confirmation")
    shop(order("o1") | {"occurred_at": "2026-10-01T09:00:00Z"})
    assert not PendingStep.objects.exists()


def test_an_order_event_with_a_javascript_payment_link_gets_no_link(clock, shop):
    recipes.recipe_create(slug="unpaid-order")
    shop(order("o1", payment_url="javascript:alert(1)"))
    clock.shift(timedelta(minutes=31))
    run()
    html = html_part(parsed(mails_to()[0]))
    assert "javascript:" not in html
    assert 'href="https://shop.example.com/"' in html  # the recipe's fallback


def test_a_mail_that_cannot_render_pauses_its_automation_and_keeps_the_steps(clock, shop):
    automation = recipes.recipe_create(slug="order-confirmation")
    campaign = automation.steps.get().campaign
    campaign.subject = "Hi {{ contact.password }}"  # saved around the form's checks
    campaign.save()
    shop(order("o1"))
    run()
    automation.refresh_from_db()
    assert automation.status == Automation.Status.PAUSED
    assert "Step 1" in automation.error
    assert PendingStep.objects.get().status == PendingStep.Status.WAITING
