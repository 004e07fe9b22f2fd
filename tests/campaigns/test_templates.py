"""Templates to start from, saving a campaign as one, and duplicating a campaign."""

import pytest
from django.urls import reverse

from campaigns.composing import campaign_templates
from campaigns.models import Campaign, CampaignTemplate
from campaigns.rendering import PreviewUrls, compile_campaign, personalise
from campaigns.selectors import preview_values
from campaigns.starters import STARTERS
from tests.factories import (
    CampaignFactory,
    ContactFactory,
    CouponFactory,
    GroupFactory,
    ProductFactory,
)

pytestmark = pytest.mark.django_db


def test_the_six_starters_exist_once_in_order():
    names = [t.name for t in campaign_templates()]
    campaign_templates()
    assert names == [
        "Newsletter", "Promotion", "Holiday sale", "Event invitation",
        "Thank-you or greeting", "Re-engagement",
    ]  # fmt: skip
    assert CampaignTemplate.objects.count() == 6


@pytest.mark.parametrize("starter", STARTERS, ids=[s["slug"] for s in STARTERS])
def test_every_starter_compiles_into_a_finished_mail(starter):
    ProductFactory.create_batch(6)
    campaign = CampaignFactory(
        subject=starter["subject"],
        content_blocks=starter["blocks"],
        locale_content={"ru": starter["ru"]} if "ru" in starter else {},
        coupon=CouponFactory(code="THANKS10"),
    )
    content = compile_campaign(campaign)
    values = preview_values(campaign, content, ContactFactory(first_name="Ann"))
    mail = personalise(content, values, PreviewUrls())
    assert "Ann" in mail.subject
    assert "Unsubscribe" in mail.html and "Manage preferences" in mail.html
    if any(block["type"] == "coupon" for block in starter["blocks"]):
        assert "THANKS10" in mail.html
    if any(block["type"] == "products" for block in starter["blocks"]):
        assert "Product " in mail.html and "Product " in mail.text


def test_a_new_campaign_starts_from_a_chosen_template(client, bob):
    client.force_login(bob)
    promotion = next(t for t in campaign_templates() if t.slug == "promotion")

    page = client.get(reverse("campaigns:create") + f"?template={promotion.pk}")

    composer = page.context["composer"]
    assert [b["type"] for b in composer["blocks"]][:3] == ["header", "heading", "text"]
    assert page.context["form"]["subject"].value() == promotion.subject
    assert "Started from “Promotion”" in page.content.decode()


def test_a_campaign_is_saved_as_a_template(client, bob):
    campaign = CampaignFactory(
        content_blocks=[{"type": "heading", "text": "Hi"}, {"type": "footer", "text": ""}]
    )
    client.force_login(bob)

    response = client.post(
        reverse("campaigns:save_as_template", args=[campaign.pk]), {"name": "Monthly news"}
    )

    assert response.status_code == 302
    template = CampaignTemplate.objects.get(name="Monthly news")
    assert template.content_blocks == campaign.content_blocks
    assert template.subject == campaign.subject and not template.is_starter
    assert "Monthly news" in [t.name for t in campaign_templates()]


def test_a_sent_campaign_is_duplicated_into_a_new_draft(client, bob):
    group = GroupFactory()
    product = ProductFactory()
    sent = CampaignFactory(
        name="Spring sale", status=Campaign.Status.SENT, groups=[group], products=[product],
        content_blocks=[{"type": "heading", "text": "Spring"}], locale_content={"ru": {}},
    )  # fmt: skip
    client.force_login(bob)

    response = client.post(reverse("campaigns:duplicate", args=[sent.pk]))

    copy = Campaign.objects.exclude(pk=sent.pk).get()
    assert response["Location"] == reverse("campaigns:edit", args=[copy.pk])
    assert copy.name == "Spring sale (copy)" and copy.status == Campaign.Status.DRAFT
    assert copy.created_by == bob
    assert copy.content_blocks == sent.content_blocks and copy.locale_content == {"ru": {}}
    assert list(copy.groups.all()) == [group] and list(copy.products.all()) == [product]
    sent.refresh_from_db()
    assert sent.status == Campaign.Status.SENT


def test_a_viewer_can_neither_duplicate_nor_save_templates(client, charlie):
    campaign = CampaignFactory()
    client.force_login(charlie)
    assert client.post(reverse("campaigns:duplicate", args=[campaign.pk])).status_code == 403
    response = client.post(reverse("campaigns:save_as_template", args=[campaign.pk]), {"name": "x"})
    assert response.status_code == 403
    assert Campaign.objects.count() == 1 and not CampaignTemplate.objects.exists()


def test_brand_settings_are_saved_and_refuse_a_colour_that_is_not_one(client, bob):
    client.force_login(bob)
    url = reverse("campaigns:brand")
    data = {
        "name": "Wool & Co", "website_url": "https://wool.example", "logo_url": "",
        "logo_width": 140, "primary_color": "#0b7285", "button_text_color": "#ffffff",
        "link_color": "#862e9c", "text_color": "#1f2937", "background_color": "#f3f4f6",
        "font": "georgia",
    }  # fmt: skip
    bad = client.post(url, {**data, "primary_color": "red;}"})
    assert "Enter a colour as # and six hex digits" in bad.content.decode()
    assert client.post(url, data).status_code == 302
    page = client.get(url).content.decode()
    assert "#0b7285" in page and "Wool &amp;amp; Co" in page  # inside the sample's srcdoc
