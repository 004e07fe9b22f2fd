"""In the browser: two-factor enrolment and sign-in, the lockout and reset pages,
and scripts pasted into data that never run."""

import base64
import datetime as dt
import re

import pytest
import time_machine
from django.core import mail as django_mail
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from campaigns.models import Product
from campaigns.services import campaign_send
from tests.e2e.shots import SHOTS
from tests.factories import CampaignFactory, ContactFactory, GroupFactory, UserFactory
from tests.helpers import html_part, parsed, web_view_path

PASSWORD = "correct horse battery staple"  # the factories' password

WIDTHS = (1280, 390)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=SHOTS / f"security-{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def code_for(device: TOTPDevice) -> str:
    device.refresh_from_db()
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def log_in(page, base_url: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_alice_turns_on_two_factor_sign_in_and_signs_in_with_a_code(live_server, page):
    # given Alice, signed in with her password
    alice = UserFactory(username="alice", role="admin")
    log_in(page, live_server.url, "alice")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    # when she opens Security, she sees a QR code and the key to type by hand
    page.get_by_role("link", name="Security").click()
    expect(page.get_by_role("heading", name="Set up two-factor sign-in")).to_be_visible()
    expect(page.locator(".qr svg")).to_be_visible()
    shown_key = page.get_by_test_id("totp-secret").inner_text().replace(" ", "")
    device = TOTPDevice.objects.get(user=alice)
    assert shown_key == base64.b32encode(device.bin_key).decode().rstrip("=")
    shoot(page, "enrol")

    # and she confirms with the code her app shows
    page.get_by_label("Code from your authenticator app").fill(code_for(device))
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_text("Two-factor sign-in is on.")).to_be_visible()
    shoot(page, "enrolled")

    # then, after logging out, the password alone is not enough
    page.get_by_role("button", name="Log out").click()
    log_in(page, live_server.url, "alice")
    expect(page.get_by_role("heading", name="Two-factor sign-in")).to_be_visible()
    shoot(page, "code")
    page.goto(f"{live_server.url}/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()

    # and with the app's next code (each code works once) she is in
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=31)):
        log_in(page, live_server.url, "alice")
        page.get_by_label("Code from your authenticator app").fill(code_for(device))
        page.get_by_role("button", name="Verify").click()
        expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def test_the_lockout_and_the_password_reset_pages(live_server, page):
    UserFactory(username="bob", email="bob@shop.example", role="marketer")
    for _ in range(5):
        log_in(page, live_server.url, "bob", "not his password")

    expect(
        page.get_by_text(
            "Too many failed sign-ins. Try again in 15 minutes or reset your password."
        )
    ).to_be_visible()
    shoot(page, "login-lockout")

    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", name="Reset your password")).to_be_visible()
    shoot(page, "password-reset")
    page.get_by_label("Email").fill("bob@shop.example")
    page.get_by_role("button", name="Mail me a link").click()
    expect(page.get_by_role("heading", name="Check your mail")).to_be_visible()
    shoot(page, "password-reset-sent")
    (message,) = django_mail.outbox
    path = re.search(r"/password-reset/\S+/", message.body).group(0)

    page.goto(f"{live_server.url}{path}")
    shoot(page, "password-new")
    page.get_by_label("New password", exact=True).fill("a brand new long passphrase 42")
    page.get_by_label("New password confirmation").fill("a brand new long passphrase 42")
    page.get_by_role("button", name="Set password").click()
    expect(page.get_by_role("heading", name="Your password is set")).to_be_visible()

    log_in(page, live_server.url, "bob", "a brand new long passphrase 42")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


PAYLOAD = (
    "<img alt=x src=x onerror=\"alert('xss');window.__xss=1\">"
    "<script>alert('xss');window.__xss=1</script>"
)


def test_a_pasted_script_never_runs(live_server, page, browser):
    # given a product from before URLs were checked, a mail body and a contact name with scripts
    UserFactory(username="alice", role="admin")
    group = GroupFactory(name="Newsletter")
    ContactFactory(email="ann@example.com", first_name=PAYLOAD, last_name="Lee", groups=[group])
    product = Product.objects.create(
        sku="EVIL", name="Evil mug", url="javascript:alert('xss');window.__xss=1",
        image_url="javascript:alert('xss')", price="1.00",
    )  # fmt: skip
    campaign = CampaignFactory(
        groups=[group],
        products=[product],
        body=f"<p>Hi {{{{ contact.first_name }}}}</p>{PAYLOAD}"
        '<a href="javascript:alert(1);window.__xss=1">click</a>',
    )
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(page, live_server.url, "alice")

    # when Alice reads the contact list, the contact, the campaign and its preview,
    # and clicks the product link
    page.goto(f"{live_server.url}/contacts/")
    expect(page.get_by_text("ann@example.com")).to_be_visible()
    page.get_by_text("ann@example.com").click()
    page.goto(f"{live_server.url}/campaigns/{campaign.pk}/")
    expect(page.frame_locator("iframe.preview-frame").locator("body")).to_be_visible()
    page.get_by_role("link", name="Evil mug").click()
    page.wait_for_timeout(300)
    page.goto(f"{live_server.url}/campaigns/{campaign.pk}/preview/")
    page.wait_for_timeout(300)
    assert page.evaluate("window.__xss") is None

    # and Ann opens the mail in her browser and clicks its links
    campaign_send(campaign=campaign)
    web_view = web_view_path(html_part(parsed(django_mail.outbox[0])))
    page.goto(f"{live_server.url}{web_view}")
    expect(page.locator("body")).to_contain_text("Hi <img alt=x src=x onerror")
    assert page.evaluate("window.__xss") is None
    for link in page.locator("a:visible").all()[:5]:  # not the hidden honeypot
        link.click(modifiers=["Control"], timeout=2000)
    page.wait_for_timeout(300)

    # then no script ever ran, in any tab
    assert dialogs == []
    for tab in page.context.pages:
        try:
            assert tab.evaluate("window.__xss") is None
        except Exception as error:  # a tab left on a browser error page has no scripts at all
            assert "xss" not in str(error)
