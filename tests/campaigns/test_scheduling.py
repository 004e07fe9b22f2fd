"""Scheduling: at a time, at each recipient's local time across a DST change,
weekly, paused and cancelled; a missed schedule runs once."""

from datetime import UTC, date, datetime, time

import pytest
import time_machine
from django.core import mail as django_mail
from django.urls import reverse

from campaigns import localtime, tasks
from campaigns.checklist import CampaignNotReady
from campaigns.models import Campaign, Message, Send, SendPlan
from campaigns.scheduling import (
    ScheduleInput,
    ScheduleProblem,
    campaign_schedule,
    plan_cancel,
    plan_pause,
    plan_resume,
)
from tests.factories import CampaignFactory, ContactFactory, GroupFactory

pytestmark = pytest.mark.django_db(transaction=True)

# Sunday 29 March 2026: Europe switches to summer time (01:00 UTC), the US did on 8 March.
DST_SUNDAY = date(2026, 3, 29)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def newsletter():
    group = GroupFactory(name="Newsletter")
    ContactFactory(email="ann@example.com", groups=[group])
    return group


def sent_to() -> list[str]:
    return sorted(address for m in django_mail.outbox for address in m.to)


def test_a_campaign_scheduled_for_a_time_goes_then_and_once(newsletter):
    campaign = CampaignFactory(groups=[newsletter])
    with time_machine.travel(utc(2026, 5, 4, 8, 0), tick=False):
        campaign_schedule(
            campaign=campaign,
            given=ScheduleInput("at", date(2026, 5, 4), time(11, 0), "Europe/Berlin"),
        )
        campaign.refresh_from_db()
        assert campaign.status == Campaign.Status.SCHEDULED
        assert SendPlan.objects.get().next_run_at == utc(2026, 5, 4, 9, 0)  # 11:00 CEST
        tasks.plans_run_due_task()
    assert Send.objects.count() == 0

    # beat was down from 08:00 to 15:00; when it is back, two ticks come in a row
    with time_machine.travel(utc(2026, 5, 4, 15, 0), tick=False):
        tasks.plans_run_due_task()
        tasks.plans_run_due_task()
    assert Send.objects.count() == 1
    assert sent_to() == ["ann@example.com"]
    assert SendPlan.objects.get().status == SendPlan.Status.STARTED


def test_each_recipient_gets_it_at_their_local_time_across_the_dst_change():
    group = GroupFactory(name="World")
    for email, zone in [
        ("berlin@example.com", "Europe/Berlin"),
        ("london@example.com", "Europe/London"),
        ("newyork@example.com", "America/New_York"),
        ("nowhere@example.com", "Not/AZone"),
    ]:
        ContactFactory(email=email, time_zone=zone, groups=[group])
    campaign = CampaignFactory(groups=[group])

    with time_machine.travel(utc(2026, 3, 27, 12, 0), tick=False):
        campaign_schedule(campaign=campaign, given=ScheduleInput("local", DST_SUNDAY, time(9, 0)))
    # 09:00 on the Sunday: Berlin is on CEST (UTC+2) that morning, London on
    # BST (UTC+1), New York on EDT (UTC-4) since 8 March; an unknown zone is UTC.
    assert SendPlan.objects.get().next_run_at == utc(2026, 3, 29, 7, 0)

    expected = {
        "berlin@example.com": utc(2026, 3, 29, 7, 0),
        "london@example.com": utc(2026, 3, 29, 8, 0),
        "nowhere@example.com": utc(2026, 3, 29, 9, 0),
        "newyork@example.com": utc(2026, 3, 29, 13, 0),
    }
    for moment, recipients in [
        (utc(2026, 3, 29, 6, 59), []),
        (utc(2026, 3, 29, 7, 0, 30), ["berlin@example.com"]),
        (utc(2026, 3, 29, 8, 1), ["berlin@example.com", "london@example.com"]),
        (
            utc(2026, 3, 29, 9, 1),
            ["berlin@example.com", "london@example.com", "nowhere@example.com"],
        ),
        (utc(2026, 3, 29, 13, 1), sorted(expected)),
    ]:
        with time_machine.travel(moment, tick=False):
            tasks.plans_run_due_task()
        assert sent_to() == recipients, moment
    assert dict(Message.objects.values_list("email", "due_at")) == expected
    assert Send.objects.get().status == Send.Status.DONE


def test_the_local_time_the_day_before_the_change_is_an_hour_later_in_utc():
    # Saturday 28 March, Berlin still on CET (UTC+1)
    assert localtime.local_to_utc(date(2026, 3, 28), time(9), "Europe/Berlin") == utc(
        2026, 3, 28, 8
    )
    assert localtime.local_to_utc(DST_SUNDAY, time(9), "Europe/Berlin") == utc(2026, 3, 29, 7)
    # 02:30 does not exist that night in Berlin: it counts as 03:30 CEST
    assert localtime.local_to_utc(DST_SUNDAY, time(2, 30), "Europe/Berlin") == utc(
        2026, 3, 29, 1, 30
    )


def test_a_weekly_newsletter_keeps_its_local_time_across_the_dst_change(newsletter):
    campaign = CampaignFactory(groups=[newsletter])
    monday = date(2026, 3, 23)
    with time_machine.travel(utc(2026, 3, 20, 12), tick=False):
        campaign_schedule(
            campaign=campaign, given=ScheduleInput("weekly", monday, time(9), "Europe/Berlin")
        )
    plan = SendPlan.objects.get()
    assert plan.next_run_at == utc(2026, 3, 23, 8)  # 09:00 CET

    with time_machine.travel(utc(2026, 3, 23, 8, 0, 30), tick=False):
        tasks.plans_run_due_task()
    plan.refresh_from_db()
    assert plan.next_run_at == utc(2026, 3, 30, 7)  # 09:00 CEST, a week later
    assert Send.objects.count() == 1

    # beat is down for three weeks: when it is back, one send, not three
    with time_machine.travel(utc(2026, 4, 16, 10), tick=False):
        tasks.plans_run_due_task()
        tasks.plans_run_due_task()
    plan.refresh_from_db()
    assert Send.objects.count() == 2
    assert plan.runs == 2
    assert plan.next_run_at == utc(2026, 4, 20, 7)  # the Monday after


def test_a_paused_schedule_waits_and_a_cancelled_one_never_goes(newsletter):
    campaign = CampaignFactory(groups=[newsletter])
    with time_machine.travel(utc(2026, 5, 4, 8), tick=False):
        campaign_schedule(campaign=campaign, given=ScheduleInput("at", date(2026, 5, 4), time(10)))
        assert plan_pause(campaign=campaign)
    with time_machine.travel(utc(2026, 5, 4, 11), tick=False):
        tasks.plans_run_due_task()
        assert Send.objects.count() == 0
        # resumed after its time: it goes at the next tick, once
        assert plan_resume(campaign=campaign)
        tasks.plans_run_due_task()
    assert Send.objects.count() == 1

    other = CampaignFactory(name="Other", groups=[newsletter])
    with time_machine.travel(utc(2026, 5, 4, 12), tick=False):
        campaign_schedule(campaign=other, given=ScheduleInput("at", date(2026, 5, 5), time(10)))
        assert plan_cancel(campaign=other)
    with time_machine.travel(utc(2026, 5, 6), tick=False):
        tasks.plans_run_due_task()
    other.refresh_from_db()
    assert other.status == Campaign.Status.DRAFT
    assert not Send.objects.filter(campaign=other).exists()


def test_a_scheduled_campaign_can_be_edited_until_it_starts(client, bob, newsletter):
    campaign = CampaignFactory(groups=[newsletter])
    with time_machine.travel(utc(2026, 5, 4, 8)):
        campaign_schedule(campaign=campaign, given=ScheduleInput("at", date(2026, 5, 4), time(10)))
        client.force_login(bob)
        page = client.get(reverse("campaigns:edit", args=[campaign.pk]))
        assert page.status_code == 200
        assert (
            "Pause schedule"
            in client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
        )


def test_the_checklist_must_pass_to_schedule_and_again_when_it_starts(newsletter):
    campaign = CampaignFactory(groups=[newsletter], postal_address="")
    with pytest.raises(CampaignNotReady, match="Postal address"):
        campaign_schedule(campaign=campaign, given=ScheduleInput("at", date(2099, 1, 1), time(9)))

    ok = CampaignFactory(name="Fine", groups=[newsletter])
    with time_machine.travel(utc(2026, 5, 4, 8), tick=False):
        campaign_schedule(campaign=ok, given=ScheduleInput("at", date(2026, 5, 4), time(10)))
    Campaign.objects.filter(pk=ok.pk).update(postal_address="")  # broken after scheduling
    with time_machine.travel(utc(2026, 5, 4, 10, 1), tick=False):
        tasks.plans_run_due_task()
    plan = SendPlan.objects.get(campaign=ok)
    assert plan.status == SendPlan.Status.FAILED
    assert "Postal address" in plan.error
    assert not Send.objects.exists()


def test_a_time_in_the_past_is_refused(newsletter):
    campaign = CampaignFactory(groups=[newsletter])
    with pytest.raises(ScheduleProblem, match="passed"):
        campaign_schedule(campaign=campaign, given=ScheduleInput("at", date(2020, 1, 1), time(9)))
