"""The checklist a campaign passes before it is sent or scheduled."""

import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail as django_mail
from django.urls import reverse
from django.utils import timezone

from campaigns.checklist import CampaignNotReady, campaign_checklist, link_problem
from campaigns.models import Send
from campaigns.personalisation import TemplateProblem
from campaigns.services import CampaignNotSendable, campaign_send
from tests.factories import (
    CampaignFactory,
    ContactFactory,
    CouponCodeFactory,
    CouponFactory,
    GroupFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def newsletter():
    group = GroupFactory(name="Newsletter")
    ContactFactory(email="ann@example.com", groups=[group])
    return group


def levels(campaign, **kwargs) -> dict[str, str]:
    return {item.key: item.level for item in campaign_checklist(campaign=campaign, **kwargs).items}


def test_the_checklist_blocks_a_campaign_without_a_postal_address(client, bob, newsletter):
    campaign = CampaignFactory(groups=[newsletter], postal_address="  ")

    with pytest.raises(CampaignNotReady, match="Postal address"):
        campaign_send(campaign=campaign)
    assert not Send.objects.exists()

    # the page shows what to fix and the send button waits
    client.force_login(bob)
    page = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert 'data-check="postal_address"' in page and "1 to fix" in page
    assert "Marketing mail must show a postal address." in page
    response = client.post(reverse("campaigns:send", args=[campaign.pk]), follow=True)
    assert "Not sent: The checklist failed. Postal address" in response.content.decode()
    assert django_mail.outbox == []


def test_a_complete_campaign_passes(newsletter):
    checklist = campaign_checklist(campaign=CampaignFactory(groups=[newsletter]))
    assert checklist.passed, checklist.failures
    assert checklist.warnings == []


@pytest.mark.parametrize(
    ("fields", "key", "detail"),
    [
        ({"from_name": "Demo\nShop"}, "from_name", "one line"),
        ({"from_name": " "}, "from_name", "empty"),
        ({"from_email": ""}, "from_email", "Missing"),
        ({"reply_to": ""}, "reply_to", "Missing"),
        ({"reply_to": "not-an-address"}, "reply_to", "not an email address"),
        ({"subject": ""}, "subject", "no subject"),
        ({"body": "<p>Hi {{ contact.shoe_size }}</p>"}, "content", "unknown field"),
        ({"body": '<p><img src="https://shop.example.com/a.png"></p>'}, "images", "without alt"),
        ({"body": '<p><img src="https://shop.example.com/a.png" alt=" "></p>'}, "images", "alt"),
    ],
)
def test_what_must_be_fixed(newsletter, fields, key, detail):
    campaign = CampaignFactory(groups=[newsletter], **fields)
    checklist = campaign_checklist(campaign=campaign)
    failed = {item.key: item.detail for item in checklist.failures}
    assert key in failed
    assert detail in failed[key]
    with pytest.raises((CampaignNotSendable, TemplateProblem)):
        campaign_send(campaign=campaign)


def test_an_empty_audience_fails():
    empty = GroupFactory(name="Empty")
    assert levels(CampaignFactory(groups=[empty]))["audience"] == "fail"


def test_an_expired_coupon_is_refused(newsletter):
    coupon = CouponFactory(expires_at=timezone.now() - timedelta(days=1))
    campaign = CampaignFactory(groups=[newsletter], coupon=coupon)
    assert levels(campaign)["coupon"] == "fail"
    with pytest.raises(CampaignNotReady, match="expired"):
        campaign_send(campaign=campaign)
    coupon.expires_at = timezone.now() + timedelta(days=7)
    coupon.save()
    assert levels(campaign)["coupon"] == "ok"


def test_a_unique_code_pool_without_codes_fails_and_a_short_one_warns(newsletter):
    ContactFactory(email="ben@example.com", groups=[newsletter])
    pool = CouponFactory(name="Pool", kind="unique", code="")
    campaign = CampaignFactory(groups=[newsletter], coupon=pool)
    assert levels(campaign)["coupon"] == "fail"
    CouponCodeFactory(coupon=pool)
    assert levels(campaign)["coupon"] == "warn"  # one code for two recipients
    CouponCodeFactory(coupon=pool)
    assert levels(campaign)["coupon"] == "ok"


def test_warnings_do_not_block(newsletter, django_capture_on_commit_callbacks):
    campaign = CampaignFactory(
        groups=[newsletter],
        subject="An extraordinarily long subject line that no inbox will ever show in full",
        preheader="",
        body="<p>" + "Lots of words. " * 8000 + "</p>",
    )
    found = levels(campaign)
    assert (found["subject"], found["preheader"], found["weight"]) == ("warn", "warn", "warn")
    with django_capture_on_commit_callbacks(execute=True):
        campaign_send(campaign=campaign)
    assert len(django_mail.outbox) == 1


# --- Every link answers (a local server: tests never reach the internet) --------------


class _Shop(BaseHTTPRequestHandler):
    def do_HEAD(self):
        if self.path == "/no-head":
            self.send_response(405)
        elif self.path == "/moved":
            self.send_response(301)
            self.send_header("Location", "http://10.0.0.1/internal")
        else:
            self.send_response(200 if self.path != "/gone" else 404)
        self.end_headers()

    def do_GET(self):
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def shop(settings):
    settings.CAMPAIGN_CHECK_LINKS = True
    settings.CAMPAIGN_LINK_CHECK_PRIVATE = True
    settings.CAMPAIGN_LINK_TIMEOUT = 2
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Shop)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_every_link_must_answer(shop, newsletter):
    body = (
        f'<p><a href="{shop}/sale">Sale</a> <a href="{shop}/no-head">B</a> '
        f'<a href="{shop}/moved">C</a></p>'
    )
    campaign = CampaignFactory(groups=[newsletter], body=body)
    assert levels(campaign)["links"] == "ok"

    broken = CampaignFactory(
        name="Broken", groups=[newsletter], body=f'<a href="{shop}/gone">x</a>'
    )
    failed = {item.key: item.detail for item in campaign_checklist(campaign=broken).failures}
    assert failed["links"] == f"{shop}/gone (answered 404)"


def test_a_link_nobody_answers_fails(shop):
    assert link_problem("http://127.0.0.1:9/closed").startswith("no answer")


def test_links_into_the_servers_own_network_are_not_fetched(settings):
    settings.CAMPAIGN_LINK_CHECK_PRIVATE = False
    assert link_problem("http://127.0.0.1:8000/admin/") == "points inside a private network"
    assert link_problem("ftp://shop.example.com/") == "not a web address"


def test_link_checks_can_be_turned_off(settings, newsletter):
    settings.CAMPAIGN_CHECK_LINKS = False
    assert levels(CampaignFactory(groups=[newsletter]))["links"] == "info"
