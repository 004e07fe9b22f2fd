"""A/B tests: the split, the statistics against hand-computed values, and the
winner (or the default) going to the rest."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail as django_mail
from django.urls import reverse
from django.utils import timezone

from campaigns import abtest, tasks
from campaigns.models import ABTest, Message, Send
from campaigns.services import campaign_send
from campaigns.statistics import (
    MeanSample,
    RateSample,
    student_t_two_sided_p,
    two_proportion_z_test,
    verdict,
    welch_t_test,
    wilson_interval,
)
from contacts.models import Contact
from tests.factories import CampaignFactory, GroupFactory

pytestmark = pytest.mark.django_db(transaction=True)


def audience(size: int, name: str = "Newsletter"):
    group = GroupFactory(name=name)
    contacts = Contact.objects.bulk_create(
        [
            Contact(email=f"c{i:04d}@{name.lower()}.example.com", first_name=f"C{i}")
            for i in range(size)
        ]
    )
    group.contacts.add(*contacts)
    return group


def ab_campaign(group, variants=None, **test):
    campaign = CampaignFactory(groups=[group], subject="Spring sale")
    abtest.ab_test_configure(
        campaign=campaign,
        variants=variants
        or [abtest.VariantInput(), abtest.VariantInput(subject="Spring sale: 30% off today")],
        **{"test_percent": 20, "metric": "open_rate", "wait_hours": 4, "confidence": 95, **test},
    )
    return campaign


def subjects() -> dict[str, int]:
    counts: dict[str, int] = {}
    for message in django_mail.outbox:
        counts[message.subject] = counts.get(message.subject, 0) + 1
    return counts


# --- The split --------------------------------------------------------------------


def test_the_test_share_is_split_evenly_and_the_rest_waits_for_the_winner():
    group = audience(1000)
    campaign = ab_campaign(group)

    campaign_send(campaign=campaign)

    # 20% of 1,000 in the test, 100 per variant; the other 800 get nothing yet
    sends = abtest.test_sends(campaign=campaign)
    assert [s.variant.label for s in sends] == ["A", "B"]
    assert [s.messages.count() for s in sends] == [100, 100]
    assert subjects() == {"Spring sale": 100, "Spring sale: 30% off today": 100}
    tested = set(Message.objects.values_list("contact_id", flat=True))
    assert len(tested) == 200  # nobody is in two variants


def test_four_variants_share_the_test_evenly_and_at_random():
    group = audience(403)
    variants = [abtest.VariantInput(subject=f"Subject {label}") for label in "ABCD"]
    first = ab_campaign(group, variants=variants, test_percent=50)
    campaign_send(campaign=first)

    # floor(403 * 50%) = 201 tested, dealt in turn: 51, 50, 50, 50
    sizes = [s.messages.count() for s in abtest.test_sends(campaign=first)]
    assert sorted(sizes, reverse=True) == [51, 50, 50, 50]

    # another campaign to the same audience draws other people
    second = ab_campaign(group, variants=variants, test_percent=50)
    second.name = "Other"
    Contact.objects.update(status="subscribed")
    from campaigns.models import FrequencyPolicy

    FrequencyPolicy.objects.create(pk=1, enabled=False)
    campaign_send(campaign=second)
    drawn_first = set(
        Message.objects.filter(send__campaign=first).values_list("contact_id", flat=True)
    )
    drawn_second = set(
        Message.objects.filter(send__campaign=second).values_list("contact_id", flat=True)
    )
    assert len(drawn_second) == 201
    assert drawn_first != drawn_second


# --- Statistics, against values computed by hand ------------------------------------


def test_a_significant_difference_in_open_rate():
    # A: 200 of 1,000 opened; B: 250 of 1,000.
    # pooled p = 450 / 2000 = 0.225; SE = sqrt(0.225 * 0.775 * (1/1000 + 1/1000)) = 0.018675
    # z = (0.25 - 0.20) / 0.018675 = 2.6774; two-sided p = 2 * (1 - Phi(2.6774)) = 0.00742
    a, b = RateSample("A", 1000, 200), RateSample("B", 1000, 250)
    result = two_proportion_z_test(b, a)
    assert result.statistic == pytest.approx(2.6774, abs=1e-4)
    assert result.p_value == pytest.approx(0.00742, abs=1e-5)
    found = verdict([a, b], confidence=0.95)
    assert (found.best, found.significant) == ("B", True)
    assert found.confidence == pytest.approx(0.99258, abs=1e-5)


def test_a_difference_that_is_not_significant():
    # A: 200 of 1,000; B: 215 of 1,000.
    # pooled p = 0.2075; SE = sqrt(0.2075 * 0.7925 * 0.002) = 0.018135
    # z = 0.015 / 0.018135 = 0.8271; two-sided p = 0.4082
    a, b = RateSample("A", 1000, 200), RateSample("B", 1000, 215)
    result = two_proportion_z_test(b, a)
    assert result.statistic == pytest.approx(0.8271, abs=1e-4)
    assert result.p_value == pytest.approx(0.4082, abs=1e-4)
    found = verdict([a, b], confidence=0.95)
    assert (found.best, found.significant) == ("B", False)


def test_more_variants_need_a_stronger_result():
    # B beats A and C with p = 0.0074 and about p = 0.035: fine against one
    # variant at 95%, but with two comparisons each must pass 0.05 / 2 = 0.025.
    a, b, c = RateSample("A", 1000, 200), RateSample("B", 1000, 250), RateSample("C", 1000, 210)
    c_vs_b = two_proportion_z_test(b, c).p_value
    assert 0.025 < c_vs_b < 0.05
    found = verdict([a, b, c], confidence=0.95)
    assert found.alpha == pytest.approx(0.025)
    assert not found.significant
    assert "Bonferroni" in found.test


def test_revenue_is_compared_with_welchs_t_test():
    # A's five recipients spent 0, 0, 0, 10, 20: mean 6, variance 320 / 4 = 80.
    # B's spent 0, 10, 20, 30, 40: mean 20, variance 1000 / 4 = 250.
    # SE^2 = 80/5 + 250/5 = 66; t = 14 / sqrt(66) = 1.7233
    # df = 66^2 / (16^2/4 + 50^2/4) = 4356 / 689 = 6.3222
    # t tables: p(1.7233, df 6) = 0.1356, p(1.7233, df 7) = 0.1285
    a = MeanSample("A", 5, 30, 0 + 0 + 0 + 100 + 400)
    b = MeanSample("B", 5, 100, 0 + 100 + 400 + 900 + 1600)
    result = welch_t_test(b, a)
    assert result.statistic == pytest.approx(1.7233, abs=1e-4)
    assert result.df == pytest.approx(6.3222, abs=1e-4)
    assert 0.1285 < result.p_value < 0.1356
    assert not verdict([a, b], confidence=0.95).significant


def test_the_t_distribution_matches_the_tables():
    assert student_t_two_sided_p(2.228, 10) == pytest.approx(0.05, abs=1e-4)
    assert student_t_two_sided_p(1.0, 1) == pytest.approx(0.5, abs=1e-9)  # Cauchy


def test_the_wilson_interval_of_a_rate():
    # 200 of 1,000 at 95% (z = 1.95996): centre 0.20096, half-width 0.02477
    low, high = wilson_interval(RateSample("A", 1000, 200), 0.95)
    assert (low, high) == (pytest.approx(0.17638, abs=1e-5), pytest.approx(0.22592, abs=1e-5))


# --- The decision -----------------------------------------------------------------


def _open(send: Send, count: int) -> None:
    ids = list(send.messages.values_list("id", flat=True)[:count])
    Message.objects.filter(id__in=ids).update(opened_at=timezone.now())


def test_a_significant_winner_goes_to_the_rest(client, alice):
    group = audience(1000)
    campaign = ab_campaign(group, test_percent=40)  # 200 per variant
    campaign_send(campaign=campaign)
    a, b = abtest.test_sends(campaign=campaign)
    _open(a, 40)  # 20%
    _open(b, 80)  # 40%: z = 4.36, p < 0.0001
    django_mail.outbox.clear()

    # before the wait is over nothing happens
    tasks.plans_run_due_task()
    assert Send.objects.filter(campaign=campaign).count() == 2

    with time_machine.travel(timezone.now() + timedelta(hours=4, minutes=1)):
        tasks.plans_run_due_task()
        tasks.plans_run_due_task()  # a second tick decides nothing more

    test = ABTest.objects.get(campaign=campaign)
    assert test.winner.label == "B"
    assert test.decision.startswith("Variant B won on human open rate 40.0% against 20.0% for A.")
    assert "Two-proportion z-test: p < 0.0001" in test.decision
    assert subjects() == {"Spring sale: 30% off today": 600}
    rest = Send.objects.get(campaign=campaign, is_ab_test=False)
    assert rest.messages.count() == 600
    assert Message.objects.values("contact_id").distinct().count() == 1000

    client.force_login(alice)
    page = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert "Variant B won" in page
    # each variant with its 95% Wilson interval: 40 of 200 and 80 of 200
    assert '20% <span class="interval">(15 to 26%)</span>' in page
    assert '40% <span class="interval">(33 to 47%)</span>' in page
    # and so does the report
    report = client.get(reverse("reports:campaign", args=[campaign.pk])).content.decode()
    assert "Variant B won" in report
    assert '20% <span class="interval">(15 to 26%)</span>' in report


def test_without_a_significant_difference_the_default_goes_and_the_page_says_why(client, alice):
    group = audience(1000)
    campaign = ab_campaign(group, test_percent=40)
    campaign_send(campaign=campaign)
    a, b = abtest.test_sends(campaign=campaign)
    _open(a, 40)  # 20%
    _open(b, 46)  # 23%: z = 0.73, p = 0.46
    django_mail.outbox.clear()

    with time_machine.travel(timezone.now() + timedelta(hours=5)):
        tasks.plans_run_due_task()

    test = ABTest.objects.get(campaign=campaign)
    assert test.winner.label == "A"
    assert "No significant difference" in test.decision
    assert "p = 0.46" in test.decision and "default variant A" in test.decision
    assert subjects() == {"Spring sale": 600}
    client.force_login(alice)
    assert (
        "No significant difference"
        in client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    )


def test_revenue_without_orders_keeps_the_default():
    group = audience(100)
    campaign = ab_campaign(group, metric="revenue")
    campaign_send(campaign=campaign)
    with time_machine.travel(timezone.now() + timedelta(hours=5)):
        tasks.plans_run_due_task()
    test = ABTest.objects.get(campaign=campaign)
    assert test.winner.label == "A"
    assert test.decision.startswith("No orders yet")


def test_variants_of_the_sender_name_and_the_send_time():
    group = audience(100)
    campaign = ab_campaign(
        group,
        variants=[
            abtest.VariantInput(),
            abtest.VariantInput(from_name="Anna from Demo Shop", send_delay_minutes=120),
        ],
    )
    campaign_send(campaign=campaign)
    # A went at once; B waits two hours
    assert len(django_mail.outbox) == 10
    assert {m.from_email for m in django_mail.outbox} == {"Demo Shop <news@shop.example.com>"}
    with time_machine.travel(timezone.now() + timedelta(hours=2, minutes=1)):
        tasks.plans_run_due_task()  # the periodic task wakes the waiting variant
    assert len(django_mail.outbox) == 20
    assert django_mail.outbox[-1].from_email == "Anna from Demo Shop <news@shop.example.com>"
