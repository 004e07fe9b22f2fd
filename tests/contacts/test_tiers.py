"""Engagement tiers: each contact lands where the thresholds say, in one
UPDATE per tier, and the periodic task is scheduled."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.models import Contact
from contacts.tasks import tiers_update_task
from contacts.tiers import tiers_update
from tests.factories import ContactFactory

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

pytestmark = pytest.mark.django_db


def _contact(name: str, *, signed_up_days: int, opened_days=None, clicked_days=None, tier="new"):
    contact = ContactFactory(email=f"{name}@example.com")
    Contact.objects.filter(pk=contact.pk).update(
        created_at=NOW - timedelta(days=signed_up_days),
        last_opened_at=NOW - timedelta(days=opened_days) if opened_days is not None else None,
        last_clicked_at=NOW - timedelta(days=clicked_days) if clicked_days is not None else None,
        engagement_tier=tier,
    )
    return contact


def tiers() -> dict[str, str]:
    return {
        email.split("@")[0]: tier
        for email, tier in Contact.objects.values_list("email", "engagement_tier")
    }


def test_each_contact_gets_the_tier_the_thresholds_give():
    _contact("fresh", signed_up_days=3)  # never engaged, new
    _contact("opener", signed_up_days=400, opened_days=2, tier="dormant")
    _contact("clicker", signed_up_days=400, opened_days=300, clicked_days=29, tier="inactive")
    _contact("quiet", signed_up_days=400, opened_days=120, tier="active")
    _contact("gone", signed_up_days=400, opened_days=200, clicked_days=181, tier="active")
    _contact("never", signed_up_days=95)  # never engaged, 95 days: inactive
    _contact("ghost", signed_up_days=365)  # never engaged, a year: dormant
    # Between 30 and 90 days of silence a contact keeps their tier.
    _contact("cooling", signed_up_days=400, opened_days=60, tier="active")
    _contact("settling", signed_up_days=45)

    with time_machine.travel(NOW, tick=False):
        moved = tiers_update()

    assert tiers() == {
        "fresh": "new",
        "opener": "active",
        "clicker": "active",
        "quiet": "inactive",
        "gone": "dormant",
        "never": "inactive",
        "ghost": "dormant",
        "cooling": "active",
        "settling": "new",
    }
    assert moved == {"active": 2, "new": 0, "inactive": 2, "dormant": 2}


def test_a_contact_moves_on_as_time_passes():
    _contact("ann", signed_up_days=10, opened_days=1)
    for days_later, expected in [(0, "active"), (60, "active"), (95, "inactive"), (200, "dormant")]:
        with time_machine.travel(NOW + timedelta(days=days_later), tick=False):
            tiers_update()
        assert tiers() == {"ann": expected}, days_later


def test_thresholds_come_from_the_settings(settings):
    settings.ENGAGEMENT_ACTIVE_DAYS = 7
    settings.ENGAGEMENT_INACTIVE_DAYS = 14
    _contact("ann", signed_up_days=100, opened_days=10, tier="active")
    with time_machine.travel(NOW, tick=False):
        tiers_update()
    assert tiers() == {"ann": "active"}  # 10 days: between the two, kept
    _contact("ben", signed_up_days=100, opened_days=15, tier="active")
    with time_machine.travel(NOW, tick=False):
        tiers_update()
    assert tiers()["ben"] == "inactive"


def test_it_is_one_update_per_tier_whatever_the_number_of_contacts():
    for n in range(30):
        _contact(f"c{n}", signed_up_days=400, opened_days=n * 10)
    with CaptureQueriesContext(connection) as queries, time_machine.travel(NOW, tick=False):
        tiers_update()
    updates = [q["sql"] for q in queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == 4


def test_the_periodic_task_is_scheduled_and_runs():
    schedule = settings.CELERY_BEAT_SCHEDULE["update-engagement-tiers"]
    assert schedule["task"] == "contacts.tasks.tiers_update_task"
    _contact("ann", signed_up_days=400, opened_days=1, tier="dormant")
    with time_machine.travel(NOW, tick=False):
        tiers_update_task.delay()
    assert tiers() == {"ann": "active"}
