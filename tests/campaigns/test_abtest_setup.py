"""The A/B test and holdout set-up page."""

import pytest
from django.urls import reverse

from campaigns.models import ABTest, SendPlan, Variant
from tests.factories import CampaignFactory

pytestmark = pytest.mark.django_db


def form(*variants: dict, **settings) -> dict:
    data = {
        "test_percent": "20",
        "metric": "click_rate",
        "wait_hours": "6",
        "confidence": "99",
        "variant-TOTAL_FORMS": str(len(variants)),
        "variant-INITIAL_FORMS": "0",
        "variant-MIN_NUM_FORMS": "2",
        "variant-MAX_NUM_FORMS": "4",
        "save_ab": "1",
        **settings,
    }
    for i, variant in enumerate(variants):
        data[f"variant-{i}-label"] = "ABCD"[i]
        for key in ("subject", "from_name", "body"):
            data[f"variant-{i}-{key}"] = variant.get(key, "")
        data[f"variant-{i}-send_delay_minutes"] = str(variant.get("send_delay_minutes", 0))
    return data


def test_a_marketer_sets_up_variants_and_a_holdout(client, bob):
    campaign = CampaignFactory()
    client.force_login(bob)
    url = reverse("campaigns:testing", args=[campaign.pk])

    response = client.post(url, form({}, {"from_name": "Anna at Demo Shop"}, {"subject": "Hi"}))

    assert response.status_code == 302
    test = ABTest.objects.get(campaign=campaign)
    assert (test.test_percent, test.metric, test.wait_hours, test.confidence) == (
        20,
        "click_rate",
        6,
        99,
    )
    assert list(Variant.objects.values_list("label", "from_name", "subject")) == [
        ("A", "", ""),
        ("B", "Anna at Demo Shop", ""),
        ("C", "", "Hi"),
    ]
    client.post(url, {"holdout_percent": "5", "save_holdout": "1"})
    assert SendPlan.objects.get(campaign=campaign).holdout_percent == 5

    # fewer variants next time: the extra ones go
    client.post(url, form({}, {"subject": "Other"}))
    assert list(Variant.objects.values_list("label", flat=True)) == ["A", "B"]

    client.post(url, {"remove_ab": "1"})
    assert not ABTest.objects.exists() and not Variant.objects.exists()


def test_a_variant_like_the_default_or_a_broken_field_is_refused(client, bob):
    campaign = CampaignFactory()
    client.force_login(bob)
    url = reverse("campaigns:testing", args=[campaign.pk])

    same = client.post(url, form({}, {}), follow=True).content.decode()
    assert "Variant B is the same as A" in same

    broken = client.post(url, form({}, {"subject": "Hi {{ contact.shoe }}"})).content.decode()
    assert "unknown field" in broken

    one = client.post(url, form({})).content.decode()
    assert "Please fix the problems below" in one
    assert not ABTest.objects.exists()


def test_a_viewer_reads_but_cannot_change_it(client, charlie):
    campaign = CampaignFactory()
    client.force_login(charlie)
    url = reverse("campaigns:testing", args=[campaign.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, form({}, {"subject": "Hi"})).status_code == 403
    assert not ABTest.objects.exists()
