"""A/B tests: two to four variants of a campaign, tried on a share of the
audience; after the wait, the winner (or, without a significant difference,
the default variant A) goes to the rest.

Each variant is a send of its own (Send.variant, Send.is_ab_test), so the
sending pipeline runs unchanged; the split is made in SQL at snapshot time
(campaigns.ledger.SnapshotPlan). The rest is snapshotted when the winner is
known, leaving out whoever was in the test. The decision is claimed from a
durable row by a periodic task (campaigns.tasks), never left to a broker ETA.
"""

import copy
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.db.models import Count, DecimalField, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from campaigns import localtime
from campaigns.ledger import NOT_DUE, SnapshotPlan
from campaigns.models import ABTest, Campaign, Message, Send, SendPlan, Variant
from campaigns.statistics import (
    MeanSample,
    RateSample,
    mean_interval,
    verdict,
    wilson_interval,
)
from contacts.models import Contact, Order

LABELS = "ABCD"
MIN_VARIANTS, MAX_VARIANTS = 2, 4
VARIANT_FIELDS = ("subject", "from_name", "body")


class ABTestProblem(ValueError):
    """A set-up that cannot be tested; the message is for staff."""


def campaign_with_variant(campaign: Campaign, variant: Variant | None) -> Campaign:
    """The campaign as this variant's recipients get it (an unsaved copy)."""
    if variant is None:
        return campaign
    changed = copy.copy(campaign)
    for name in VARIANT_FIELDS:
        if value := getattr(variant, name):
            setattr(changed, name, value)
    return changed


def ab_test_of(campaign: Campaign) -> ABTest | None:
    """The campaign's A/B test, if it has one with at least two variants."""
    test = ABTest.objects.filter(campaign=campaign).first()
    if test is None or campaign.variants.count() < MIN_VARIANTS:
        return None
    return test


# --- Set-up -------------------------------------------------------------------


@dataclass(frozen=True)
class VariantInput:
    subject: str = ""
    from_name: str = ""
    body: str = ""
    send_delay_minutes: int = 0


@transaction.atomic
def ab_test_configure(
    *,
    campaign: Campaign,
    variants: list[VariantInput],
    test_percent: int,
    metric: str,
    wait_hours: int,
    confidence: int,
) -> ABTest:
    """Save the test: variant A is the campaign as composed (its fields may
    still be overridden), B to D what differs."""
    if not MIN_VARIANTS <= len(variants) <= MAX_VARIANTS:
        raise ABTestProblem("An A/B test has two to four variants.")
    if not 2 <= test_percent <= 100:
        raise ABTestProblem("The test share must be between 2% and 100% of the audience.")
    test, _ = ABTest.objects.update_or_create(
        campaign=campaign,
        defaults={
            "test_percent": test_percent,
            "metric": metric,
            "wait_hours": wait_hours,
            "confidence": confidence,
            "state": ABTest.State.SETUP,
        },
    )
    campaign.variants.exclude(label__in=LABELS[: len(variants)]).delete()
    for label, given in zip(LABELS, variants, strict=False):
        Variant.objects.update_or_create(
            campaign=campaign, label=label, defaults=given.__dict__.copy()
        )
    return test


@transaction.atomic
def ab_test_remove(*, campaign: Campaign) -> None:
    campaign.variants.all().delete()
    ABTest.objects.filter(campaign=campaign).delete()


# --- Starting ---------------------------------------------------------------------


def ab_test_create_sends(*, campaign: Campaign, user, lane: str, is_marketing: bool) -> list[Send]:
    """One send per variant, all prepared together (campaigns.sending)."""
    test = ABTest.objects.select_for_update().get(campaign=campaign)
    variants = list(campaign.variants.order_by("label"))
    sends = [
        Send.objects.create(
            campaign=campaign,
            created_by=user,
            lane=lane,
            is_marketing=is_marketing,
            variant=variant,
            is_ab_test=True,
        )
        for variant in variants
    ]
    longest_delay = max(variant.send_delay_minutes for variant in variants)
    test.state = ABTest.State.TESTING
    test.decide_at = timezone.now() + timedelta(hours=test.wait_hours, minutes=longest_delay)
    test.winner, test.decision, test.decided_at = None, "", None
    test.save()
    return sends


def test_sends(*, campaign: Campaign) -> list[Send]:
    return list(
        Send.objects.filter(campaign=campaign, is_ab_test=True)
        .select_related("variant")
        .order_by("variant__label", "pk")
    )


def send_snapshot_plan(send: Send) -> tuple[SnapshotPlan, list[Send]]:
    """How the snapshot of `send` divides its audience, and the sends it fills
    (all the variants' when `send` is one of an A/B test)."""
    campaign = send.campaign
    plan = SendPlan.objects.filter(campaign=campaign).first()
    holdout = plan.holdout_percent if plan else 0
    seed = f"{campaign.pk}:{campaign.created_at.isoformat()}"
    if send.is_ab_test:
        sends = test_sends(campaign=campaign)
        test = ABTest.objects.get(campaign=campaign)
        delays = [timedelta(minutes=s.variant.send_delay_minutes) for s in sends]
        return SnapshotPlan(
            seed=seed,
            variant_send_ids=tuple(s.pk for s in sends),
            test_percent=test.test_percent,
            due=tuple(_due(campaign, plan, delay) for delay in delays),
        ), sends
    after_test = campaign.pk if send.variant_id else None
    due = _due(campaign, plan, timedelta())
    return SnapshotPlan(
        seed=seed,
        holdout_percent=holdout,
        after_test_of_campaign=after_test,
        due=(due,) if due[0] != NOT_DUE else (),
    ), [send]


def _due(campaign: Campaign, plan: SendPlan | None, delay: timedelta) -> tuple[str, list]:
    """Each message's due time: at the recipient's local time (a plan in
    local mode), after the variant's delay, or at once (NOT_DUE)."""
    local = plan and plan.mode == SendPlan.Mode.LOCAL and plan.status == SendPlan.Status.STARTED
    if local and plan.local_date and plan.local_time:
        zones = audience_time_zones(campaign=campaign)
        return localtime.due_sql(plan.local_date, plan.local_time, zones, delay)
    if delay:
        return "%s", [timezone.now() + delay]
    return NOT_DUE, []


def audience_time_zones(*, campaign: Campaign) -> list[str]:
    return list(
        Contact.objects.filter(groups__campaigns=campaign)
        .order_by()
        .values_list("time_zone", flat=True)
        .distinct()
    )


# --- Results and the decision ---------------------------------------------------


@dataclass(frozen=True)
class VariantResult:
    variant: Variant
    recipients: int  # mails sent
    delivered: int
    opened: int  # human openers
    clicked: int  # human clickers
    orders: int
    revenue: Decimal
    value: float  # of the test's metric
    interval: tuple[float, float]  # its confidence interval
    sample: object  # the RateSample or MeanSample the statistics read


def variant_results(*, test: ABTest, now: datetime | None = None) -> list[VariantResult]:
    """Each variant's numbers in the test, with the metric and its interval."""
    sends = test_sends(campaign=test.campaign)
    if not sends:
        return []
    counts = _counts(sends, now or timezone.now())
    confidence = test.confidence / 100
    results = []
    for send in sends:
        row = counts.get(send.pk, {})
        sample = _sample(test.metric, send.variant.label, row)
        interval = (
            wilson_interval(sample, confidence)
            if isinstance(sample, RateSample)
            else mean_interval(sample, confidence)
        )
        results.append(
            VariantResult(
                variant=send.variant,
                recipients=row.get("recipients", 0),
                delivered=row.get("delivered", 0),
                opened=row.get("opened", 0),
                clicked=row.get("clicked", 0),
                orders=row.get("orders", 0),
                revenue=row.get("revenue") or Decimal(0),
                value=sample.value,
                interval=interval,
                sample=sample,
            )
        )
    return results


def _sample(metric: str, label: str, row: dict):
    if metric == ABTest.Metric.REVENUE:
        return MeanSample(
            label,
            row.get("recipients", 0),
            float(row.get("revenue") or 0),
            float(row.get("revenue_squares") or 0),
        )
    successes = row.get("opened" if metric == ABTest.Metric.OPEN_RATE else "clicked", 0)
    return RateSample(label, row.get("delivered", 0), successes)


def _counts(sends: list[Send], now: datetime) -> dict[int, dict]:
    """Per send: mails sent, delivered, human openers and clickers (the
    message's own facts), and the orders its recipients placed since it began."""
    sent = Q(status=Message.Status.SENT)
    rows = (
        Message.objects.filter(send__in=sends)
        .order_by()
        .values("send_id")
        .annotate(
            recipients=Count("id", filter=sent),
            delivered=Count("id", filter=sent & Q(bounced_at__isnull=True)),
            opened=Count(
                "id", filter=sent & (Q(opened_at__isnull=False) | Q(clicked_at__isnull=False))
            ),
            clicked=Count("id", filter=sent & Q(clicked_at__isnull=False)),
        )
    )
    counts = {row.pop("send_id"): row for row in rows}
    for send in sends:
        counts.setdefault(send.pk, {}).update(_revenue(send, now))
    return counts


def _revenue(send: Send, now: datetime) -> dict:
    """Orders of the send's recipients placed between its start and `now`:
    count, revenue and the sum of each recipient's revenue squared."""
    since = send.started_at or send.created_at
    orders = Order.objects.filter(
        contact_id=OuterRef("contact_id"), placed_at__gte=since, placed_at__lt=now
    ).exclude(status=Order.Status.CANCELLED)
    money = DecimalField(max_digits=14, decimal_places=2)
    per_recipient = (
        Message.objects.filter(send=send, status=Message.Status.SENT)
        .annotate(
            spent=Coalesce(
                Subquery(
                    orders.order_by().values("contact_id").annotate(s=Sum("total")).values("s")
                ),
                Value(Decimal(0)),
                output_field=money,
            ),
            placed=Coalesce(
                Subquery(
                    orders.order_by().values("contact_id").annotate(n=Count("id")).values("n")
                ),
                Value(0),
            ),
        )
        .aggregate(
            revenue=Sum("spent"),
            revenue_squares=Sum(F("spent") * F("spent"), output_field=money),
            orders=Sum("placed"),
        )
    )
    return {key: value or 0 for key, value in per_recipient.items()}


def ab_tests_due(*, now: datetime | None = None) -> list[int]:
    return list(
        ABTest.objects.filter(state=ABTest.State.TESTING, decide_at__lte=now or timezone.now())
        .order_by("decide_at")
        .values_list("pk", flat=True)
    )


def ab_test_decide(*, test_id: int, now: datetime | None = None) -> Send | None:
    """Pick the winner of a test whose wait is over and create the send to the
    rest. Claimed with a conditional update: run twice, it decides once."""
    now = now or timezone.now()
    with transaction.atomic():
        claimed = ABTest.objects.filter(
            pk=test_id, state=ABTest.State.TESTING, decide_at__lte=now
        ).update(state=ABTest.State.DECIDING)
        if not claimed:
            return None
        test = ABTest.objects.select_related("campaign").get(pk=test_id)
        results = variant_results(test=test, now=now)
        winner, decision = _decision(test, results)
        test.winner, test.decision, test.decided_at = winner, decision, now
        test.state = ABTest.State.DECIDED
        test.save()
        first = test_sends(campaign=test.campaign)[0]
        return Send.objects.create(
            campaign=test.campaign,
            created_by=first.created_by,
            lane=first.lane,
            is_marketing=first.is_marketing,
            variant=winner,
        )


def _decision(test: ABTest, results: list[VariantResult]) -> tuple[Variant, str]:
    default = results[0].variant
    metric = test.get_metric_display().lower()
    needed = f"{test.confidence}% needed"
    if test.metric == ABTest.Metric.REVENUE and not any(r.orders for r in results):
        return default, (
            f"No orders yet from the test's recipients, so {metric} cannot pick a winner: "
            f"the default variant {default.label} went to the rest."
        )
    if not any(r.delivered for r in results):
        return default, (
            f"Nothing was delivered in the test, so there was nothing to compare: "
            f"the default variant {default.label} went to the rest."
        )
    found = verdict([r.sample for r in results], confidence=test.confidence / 100)
    best = next(r for r in results if r.variant.label == found.best)
    others = ", ".join(
        f"{_shown(test.metric, r.value)} for {r.variant.label}" for r in results if r is not best
    )
    shown = f"{metric} {_shown(test.metric, best.value)} against {others}"
    confidence = (
        "over 99.99%" if found.p_value < 0.0001 else f"{(found.confidence or 0) * 100:.1f}%"
    )
    if found.significant:
        return best.variant, (
            f"Variant {best.variant.label} won on {shown}. "
            f"{found.test[0].upper()}{found.test[1:]}: {_p_text(found.p_value)}, "
            f"so the difference holds with {confidence} confidence ({needed}). "
            f"Variant {best.variant.label} went to the rest."
        )
    return default, (
        f"No significant difference: variant {best.variant.label} looked best on {shown}, but "
        f"the {found.test} gives {_p_text(found.p_value)}, only {confidence} confidence "
        f"({needed}). The default variant {default.label} went to the rest."
    )


def _p_text(p_value: float) -> str:
    return "p < 0.0001" if p_value < 0.0001 else f"p = {p_value:.4f}"


def _shown(metric: str, value: float) -> str:
    if metric == ABTest.Metric.REVENUE:
        return f"{value:.2f} per recipient"
    return f"{value * 100:.1f}%"


def campaign_testing_summary(*, campaign: Campaign) -> dict:
    """What the campaign page and the report show of the A/B test and the
    holdout. Select the campaign with select_related("ab_test", "plan") and
    a campaign with neither costs no query."""
    from campaigns.holdout import campaign_lift

    test = _related(campaign, "ab_test")
    variants = list(campaign.variants.all()) if test else []
    if len(variants) < MIN_VARIANTS:
        test, variants = None, []
    plan = _related(campaign, "plan")
    held_out = plan is not None and plan.holdout_percent > 0
    return {
        "ab_test": test,
        "variants": variants,
        "variant_results": variant_results(test=test)
        if test and test.state != ABTest.State.SETUP
        else [],
        "plan": plan,
        "lift": campaign_lift(campaign=campaign) if held_out and not campaign.is_editable else None,
    }


def _related(campaign: Campaign, name: str):
    try:
        return getattr(campaign, name)
    except ObjectDoesNotExist:
        return None
