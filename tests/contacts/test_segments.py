"""Segment rules against sets worked out by hand, and the checks that explain
a bad rule."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns.models import Message, Send
from contacts.models import Contact
from contacts.segments import segment_contacts, segment_count, segment_rules_clean
from tests.factories import CampaignFactory, ContactFactory, GroupFactory

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

pytestmark = pytest.mark.django_db


def emails(match: str, *rules: dict) -> set[str]:
    clean = segment_rules_clean({"match": match, "rules": list(rules)})
    return {c.email.split("@")[0] for c in segment_contacts(rules=clean)}


@pytest.fixture
def shop():
    """Five customers, each with what the rules below look at:

    ann: subscribed, VIP, Riga, opened 3 days ago, 4 orders for 250.00, last 10 days ago, ru
    ben: subscribed, opened 40 days ago, clicked 5 days ago, 1 order for 20.00 a year ago
    cy:  unsubscribed, VIP, never engaged, no orders, Europe/Berlin
    dee: subscribed, city "riga" (other case), orders 2 for 99.99, last 100 days ago
    eve: bounced, no attributes, signed up 200 days ago
    """
    with time_machine.travel(NOW, tick=False):
        vip = GroupFactory(name="VIP")
        ann = ContactFactory(
            email="ann@example.com", groups=[vip], locale="ru", attributes={"city": "Riga",
            "age": 34}, last_opened_at=NOW - timedelta(days=3), order_count=4,
            total_spent=Decimal("250.00"), last_order_at=NOW - timedelta(days=10),
            engagement_tier="active",
        )  # fmt: skip
        ben = ContactFactory(
            email="ben@example.com", last_opened_at=NOW - timedelta(days=40),
            last_clicked_at=NOW - timedelta(days=5), order_count=1, total_spent=Decimal("20.00"),
            last_order_at=NOW - timedelta(days=365), attributes={"age": 19},
        )  # fmt: skip
        cy = ContactFactory(
            email="cy@example.com", groups=[vip], status=Contact.Status.UNSUBSCRIBED,
            time_zone="Europe/Berlin", first_name="Cy",
        )  # fmt: skip
        dee = ContactFactory(
            email="dee@shop.example", attributes={"city": "riga"}, order_count=2,
            total_spent=Decimal("99.99"), last_order_at=NOW - timedelta(days=100),
        )  # fmt: skip
        eve = ContactFactory(email="eve@example.com", status=Contact.Status.BOUNCED)
        Contact.objects.filter(pk=eve.pk).update(created_at=NOW - timedelta(days=200))
    return {"vip": vip, "ann": ann, "ben": ben, "cy": cy, "dee": dee, "eve": eve}


@pytest.fixture
def now():
    with time_machine.travel(NOW, tick=False):
        yield


def test_all_of_several_rules_is_their_intersection(shop, now):
    assert emails(
        "all",
        {"field": "status", "op": "eq", "value": "subscribed"},
        {"field": "order_count", "op": "gte", "value": 2},
    ) == {"ann", "dee"}


def test_any_of_several_rules_is_their_union(shop, now):
    assert emails(
        "any",
        {"field": "status", "op": "eq", "value": "bounced"},
        {"field": "group", "op": "eq", "value": str(shop["vip"].pk)},
    ) == {"ann", "cy", "eve"}


def test_group_membership_and_its_negation(shop, now):
    vip = str(shop["vip"].pk)
    assert emails("all", {"field": "group", "op": "eq", "value": vip}) == {"ann", "cy"}
    assert emails("all", {"field": "group", "op": "neq", "value": vip}) == {"ben", "dee", "eve"}


def test_opened_and_clicked_in_the_last_days_use_human_engagement(shop, now):
    assert emails("all", {"field": "opened", "op": "in_last_days", "value": 30}) == {"ann"}
    assert emails("all", {"field": "opened", "op": "not_in_last_days", "value": 30}) == {
        "ben", "cy", "dee", "eve",
    }  # fmt: skip
    assert emails("all", {"field": "clicked", "op": "in_last_days", "value": 7}) == {"ben"}
    assert emails("all", {"field": "opened", "op": "never"}) == {"cy", "dee", "eve"}


def test_orders_count_and_total_spent(shop, now):
    assert emails("all", {"field": "ordered", "op": "in_last_days", "value": 30}) == {"ann"}
    assert emails("all", {"field": "ordered", "op": "not_in_last_days", "value": 90}) == {
        "ben", "cy", "dee", "eve",
    }  # fmt: skip
    assert emails("all", {"field": "total_spent", "op": "gt", "value": "99.99"}) == {"ann"}
    assert emails("all", {"field": "total_spent", "op": "gte", "value": "99.99"}) == {"ann", "dee"}
    assert emails("all", {"field": "order_count", "op": "eq", "value": 0}) == {"cy", "eve"}


def test_custom_attributes_compare_text_without_case_and_numbers_as_numbers(shop, now):
    assert emails("all", {"field": "attribute", "key": "city", "op": "eq", "value": "RIGA"}) == {
        "ann", "dee",
    }  # fmt: skip
    assert emails("all", {"field": "attribute", "key": "age", "op": "gt", "value": "20"}) == {"ann"}
    assert emails("all", {"field": "attribute", "key": "city", "op": "set"}) == {"ann", "dee"}
    assert emails("all", {"field": "attribute", "key": "city", "op": "not_set"}) == {
        "ben", "cy", "eve",
    }  # fmt: skip


def test_text_fields_locale_time_zone_tier_and_signup(shop, now):
    assert emails("all", {"field": "email", "op": "ends", "value": "@shop.example"}) == {"dee"}
    assert emails("all", {"field": "first_name", "op": "eq", "value": "cy"}) == {"cy"}
    assert emails("all", {"field": "locale", "op": "eq", "value": "ru"}) == {"ann"}
    assert emails("all", {"field": "time_zone", "op": "neq", "value": "UTC"}) == {"cy"}
    assert emails("all", {"field": "engagement_tier", "op": "eq", "value": "active"}) == {"ann"}
    assert emails("all", {"field": "signed_up", "op": "not_in_last_days", "value": 100}) == {"eve"}
    assert emails("all", {"field": "signed_up", "op": "before", "value": "2026-06-01"}) == {"eve"}


def test_opened_in_the_last_campaigns_counts_only_those_campaigns(shop, now):
    # given three marketing sends: the oldest opened by dee, the two latest by ann
    campaign = CampaignFactory()
    sends = []
    for days_ago in (30, 20, 10):
        send = Send.objects.create(campaign=campaign, is_marketing=True)
        Send.objects.filter(pk=send.pk).update(created_at=NOW - timedelta(days=days_ago))
        sends.append(send)
    for contact in (shop["ann"], shop["ben"], shop["dee"]):
        for send in sends:
            Message.objects.create(
                send=send, contact=contact, email=contact.email, status=Message.Status.SENT
            )
    Message.objects.filter(send=sends[0], contact=shop["dee"]).update(opened_at=NOW)
    Message.objects.filter(send__in=sends[1:], contact=shop["ann"]).update(opened_at=NOW)

    # then
    assert emails("all", {"field": "opened", "op": "in_last_campaigns", "value": 2}) == {"ann"}
    assert emails("all", {"field": "opened", "op": "in_last_campaigns", "value": 3}) == {
        "ann", "dee",
    }  # fmt: skip
    # Not opened: mailed in those campaigns and opened none; cy and eve got none.
    assert emails("all", {"field": "opened", "op": "not_in_last_campaigns", "value": 2}) == {
        "ben", "dee",
    }  # fmt: skip


def test_a_segment_is_counted_in_one_query(shop, now):
    rules = segment_rules_clean(
        {
            "match": "any",
            "rules": [
                {"field": "group", "op": "neq", "value": str(shop["vip"].pk)},
                {"field": "opened", "op": "in_last_campaigns", "value": 3},
                {"field": "attribute", "key": "city", "op": "eq", "value": "riga"},
            ],
        }
    )
    with CaptureQueriesContext(connection) as queries:
        assert segment_count(rules=rules) == 4  # ann (Riga) and everyone not in VIP
    assert len(queries) == 1


def test_no_rule_matches_everyone(shop, now):
    assert segment_count(rules={"match": "all", "rules": []}) == 5


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"field": "shoe_size", "op": "eq", "value": 1}, "Rule 1: choose what to compare."),
        ({"field": "status", "op": "gt", "value": "x"}, "Rule 1: choose how to compare “Status”."),
        (
            {"field": "status", "op": "eq", "value": "happy"},
            "Rule 1: “happy” is not a status we know.",
        ),
        (
            {"field": "order_count", "op": "gte", "value": "two"},
            "Rule 1: “Order count at least” needs a whole number.",
        ),
        (
            {"field": "opened", "op": "in_last_days", "value": 0},
            "Rule 1: “Opened a mail in the last … days” needs a number of days from 1 to 36,500.",
        ),
        (
            {"field": "total_spent", "op": "gt", "value": ""},
            "Rule 1: “Total spent more than” needs a value.",
        ),
        (
            {"field": "attribute", "op": "eq", "value": "x"},
            "Rule 1: name the attribute (letters, digits, - and _), e.g. city.",
        ),
        (
            {"field": "signed_up", "op": "before", "value": "last tuesday"},
            "Rule 1: “Signed up before” needs a date as YYYY-MM-DD.",
        ),
    ],
)
def test_a_bad_rule_is_explained(rule, message):
    with pytest.raises(ValidationError) as error:
        segment_rules_clean({"match": "all", "rules": [rule]})
    assert error.value.messages == [message]


def test_every_bad_rule_is_reported_at_once():
    with pytest.raises(ValidationError) as error:
        segment_rules_clean(
            {
                "match": "all",
                "rules": [
                    {"field": "status", "op": "eq", "value": "subscribed"},
                    {"field": "order_count", "op": "gte", "value": "-"},
                    {"field": "nope"},
                ],
            }
        )
    assert [m.split(":")[0] for m in error.value.messages] == ["Rule 2", "Rule 3"]


def test_match_must_be_all_or_any():
    with pytest.raises(ValidationError, match="all” or “any"):
        segment_rules_clean({"match": "most", "rules": []})
