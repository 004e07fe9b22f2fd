"""The send page in a real browser: steering a send, and how the pages look on
a laptop and on a phone (screenshots in $SHOTS_DIR)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from campaigns import ledger, sending
from campaigns.models import Campaign, Coupon, Message, Send
from tests.e2e.shots import SHOTS
from tests.factories import (
    CampaignFactory,
    ContactFactory,
    CouponCodeFactory,
    CouponFactory,
    GroupFactory,
    ProductFactory,
    UserFactory,
)

PASSWORD = "correct horse battery staple"  # the factories' password

WIDTHS = {"desktop": 1280, "phone": 390}

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _log_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def _paused_send(campaign: Campaign) -> Send:
    """A send whose audience is in the ledger, paused before any mail went."""
    send = Send.objects.create(campaign=campaign)
    assert sending.send_prepare(send_id=send.pk)
    ledger.send_pause(send_id=send.pk, reason="Paused by bob.")
    return send


def test_a_marketer_resumes_a_paused_send(live_server, page):
    # given a send paused before it began
    UserFactory(username="bob", role="marketer")
    group = GroupFactory(name="Newsletter")
    for name in ["ann", "ben", "cy"]:
        ContactFactory(email=f"{name}@example.com", groups=[group])
    campaign = CampaignFactory(groups=[group], status=Campaign.Status.SENDING)
    send = _paused_send(campaign)
    _log_in(page, live_server, "bob")

    # when Bob opens the send page
    page.goto(f"{live_server.url}/campaigns/{campaign.pk}/sending/")

    # then it says it is paused, and why
    badge = page.locator(".page-header .badge")
    expect(badge).to_have_text("Paused")
    expect(page.get_by_text("Paused by bob.")).to_be_visible()
    expect(page.get_by_text("3 mails wait until the send is resumed")).to_be_visible()

    # when he resumes it
    page.get_by_role("button", name="Resume").click()

    # then the mails go out (tasks run eagerly here) and the status changes
    expect(page.get_by_text("Resumed.")).to_be_visible()
    expect(badge).to_have_text("Done")
    expect(page.get_by_role("button", name="Resume")).to_have_count(0)
    send.refresh_from_db()
    assert send.status == Send.Status.DONE
    assert Message.objects.filter(send=send, status=Message.Status.SENT).count() == 3


def test_the_send_page_follows_a_running_send_by_itself(live_server, page):
    # given a send under way: one mail out, two to go
    UserFactory(username="charlie", role="viewer")
    campaign = CampaignFactory(status=Campaign.Status.SENDING)
    send = Send.objects.create(
        campaign=campaign, status=Send.Status.SENDING, started_at=timezone.now()
    )
    Message.objects.bulk_create(
        Message(send=send, email=f"{name}@example.com") for name in ["ann", "ben", "cy"]
    )
    _log_in(page, live_server, "charlie")
    page.goto(f"{live_server.url}/campaigns/{campaign.pk}/sending/")
    sent = page.locator(".send-tally div").filter(has_text="Sent").locator("dd")
    expect(sent).to_have_text("0")
    expect(page.get_by_role("button", name="Pause")).to_have_count(0)  # a viewer only reads

    # when the workers send the mails
    Message.objects.filter(send=send).update(status=Message.Status.SENT, sent_at=timezone.now())

    # then the numbers follow within a poll, and the page settles once the send is done
    expect(sent).to_have_text("3", timeout=8_000)
    ledger.send_finish_if_done(send_id=send.pk)
    expect(page.locator(".page-header .badge")).to_have_text("Done", timeout=8_000)
    expect(page.locator("#send-progress[hx-get]")).to_have_count(0)


def _busy_send(campaign: Campaign) -> Send:
    """A send half way, with every kind of outcome in its ledger."""
    send = Send.objects.create(
        campaign=campaign, status=Send.Status.SENDING, started_at=timezone.now()
    )
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENDING)
    now = timezone.now()
    rows = [
        Message(send=send, email=f"reader{n}@example.com", status="sent",
                sent_at=now - timedelta(seconds=n % 50))
        for n in range(1240)
    ]  # fmt: skip
    rows += [Message(send=send, email=f"later{n}@example.com") for n in range(2310)]
    rows += [Message(send=send, email=f"busy{n}@example.com", status="sending") for n in range(50)]
    failures = [
        ("refused", "550 5.1.1 The email account that you tried to reach does not exist.", 23),
        ("rejected", "554 5.7.1 Message rejected as spam by Content Filtering.", 4),
        ("refused", "552 5.2.2 Mailbox full", 2),
    ]
    for error_class, error, count in failures:
        rows += [
            Message(send=send, email=f"{error_class}{count}-{n}@example.com", status="failed",
                    error_class=error_class, error=error)
            for n in range(count)
        ]  # fmt: skip
    rows += [
        Message(send=send, email=f"a.very.long.address.number{n}@customers.example-shop.com",
                status="in_doubt", error_class="unknown")
        for n in range(7)
    ]  # fmt: skip
    for reason, count in [("unsubscribed", 130), ("unconfirmed", 41), ("frequency_cap", 18)]:
        rows += [
            Message(send=send, email=f"{reason}{n}@example.com", status="skipped",
                    skip_reason=reason)
            for n in range(count)
        ]  # fmt: skip
    Message.objects.bulk_create(rows)
    return send


def _draft_with_a_mixed_audience() -> Campaign:
    group = GroupFactory(name="Spring customers")
    for n in range(48):
        ContactFactory(email=f"customer{n}@example.com", groups=[group])
    for n, status in enumerate(["unsubscribed"] * 5 + ["unconfirmed"] * 3 + ["bounced"] * 2):
        ContactFactory(email=f"other{n}@example.com", status=status, groups=[group])
    coupon = CouponFactory(kind=Coupon.Kind.UNIQUE, code="", name="Spring welcome codes")
    for n in range(10):
        CouponCodeFactory(coupon=coupon, code=f"SPRING-{n:03d}")
    return CampaignFactory(
        name="Spring sale: 30% off linen, candles and everything for the garden",
        groups=[group],
        coupon=coupon,
        products=[ProductFactory(name="Linen tote")],
    )


def _shoot(page, url: str, name: str) -> None:
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(url)
        page.wait_for_load_state("networkidle")
        for frame in page.frames:  # the preview of the detail page
            frame.wait_for_load_state("load")
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
        # Nothing may stick out sideways: the page scrolls only down.
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{name} at {width} px is {overflow} px too wide"


def test_the_pages_fit_a_laptop_and_a_phone(live_server, page):
    SHOTS.mkdir(parents=True, exist_ok=True)
    UserFactory(username="bob", role="marketer")
    draft = _draft_with_a_mixed_audience()
    busy = CampaignFactory(name="Weekly picks")
    _busy_send(busy)
    paused = CampaignFactory(name="Autumn preview", groups=[GroupFactory(name="VIP")])
    ContactFactory(email="vip@example.com", groups=[GroupFactory(name="VIP")])
    _paused_send(paused)
    _log_in(page, live_server, "bob")

    _shoot(page, f"{live_server.url}/campaigns/{draft.pk}/", "campaign-detail")
    _shoot(page, f"{live_server.url}/campaigns/{busy.pk}/sending/", "send-page")
    _shoot(page, f"{live_server.url}/campaigns/{paused.pk}/sending/", "send-page-paused")
    _shoot(page, f"{live_server.url}/campaigns/", "campaign-list")
    _shoot(page, f"{live_server.url}/reports/campaigns/{paused.pk}/", "report-paused")

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/campaigns/{draft.pk}/")
    expect(page.get_by_role("button", name="Send to 48 of 58 contacts")).to_be_enabled()
    expect(
        page.get_by_text("Only 10 codes left for 48 recipients: 38 will be skipped.")
    ).to_be_visible()
