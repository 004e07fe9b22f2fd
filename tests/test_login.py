"""Signing in: lockouts, password reset by mail, and the second factor."""

import datetime as dt
import logging
import re

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.factories import UserFactory

PASSWORD = "correct horse battery staple"  # the factories' password
LOCKOUT = "Too many failed sign-ins. Try again in 15 minutes or reset your password."
LOGINS = ["login", "admin:login"]
NOW = dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC)


def sign_in(client, url_name: str, username: str, password: str, **extra):
    return client.post(reverse(url_name), {"username": username, "password": password}, **extra)


def current_code(device: TOTPDevice) -> str:
    """What the app shows now (time-machine moves this clock too)."""
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def later(**delta) -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(**delta)


@pytest.fixture
def alice(db):
    """An admin, who can use the Django admin too."""
    return UserFactory(username="alice", email="alice@shop.example", role="admin")


@pytest.mark.parametrize("url_name", LOGINS)
def test_it_locks_an_account_out_after_five_failures(client, alice, url_name, caplog):
    with time_machine.travel(NOW, tick=False):
        for _ in range(4):
            assert sign_in(client, url_name, "alice", "wrong").status_code == 200
        with caplog.at_level(logging.WARNING):
            locked = sign_in(client, url_name, "alice", "wrong")
        right_password = sign_in(client, url_name, "alice", PASSWORD)

    assert locked.status_code == 429
    assert LOCKOUT in locked.content.decode()
    assert LOCKOUT in right_password.content.decode()
    assert "_auth_user_id" not in client.session
    assert "Sign-in refused, locked out: username='alice'" in caplog.text


@pytest.mark.parametrize("url_name", LOGINS)
def test_the_lockout_expires_after_fifteen_minutes(client, alice, url_name):
    with time_machine.travel(NOW, tick=False):
        for _ in range(5):
            sign_in(client, url_name, "alice", "wrong")
    with time_machine.travel(NOW + dt.timedelta(minutes=14), tick=False):
        assert sign_in(client, url_name, "alice", PASSWORD).status_code == 429

    with time_machine.travel(NOW + dt.timedelta(minutes=16), tick=False):
        response = sign_in(client, url_name, "alice", PASSWORD)

        assert response.status_code == 302
        assert client.session["_auth_user_id"] == str(alice.pk)


def test_the_staff_login_page_explains_the_lockout(client, alice):
    for _ in range(5):
        sign_in(client, "login", "alice", "wrong")

    page = sign_in(client, "login", "alice", PASSWORD).content.decode()

    assert LOCKOUT in page
    assert reverse("password_reset") in page
    assert 'value="alice"' in page


def test_one_address_trying_many_accounts_is_locked_out(client, alice):
    for n in range(5):
        sign_in(client, "login", f"guess{n}", "wrong")

    response = sign_in(client, "login", "alice", PASSWORD)

    assert response.status_code == 429


def test_failures_from_elsewhere_lock_the_account_for_everyone(client, alice):
    for n in range(5):
        sign_in(client, "login", "alice", "wrong", REMOTE_ADDR=f"203.0.113.{n}")

    assert sign_in(client, "login", "alice", PASSWORD).status_code == 429


# --- Password reset by mail --------------------------------------------------------------


def reset_link(message) -> str:
    (link,) = re.findall(r"https?://\S+/password-reset/\S+/", message.body)
    return link


def test_it_resets_a_password_by_mail_end_to_end(client, alice, settings):
    settings.SITE_URL = "https://mail.shop.example"
    login_page = client.get(reverse("login")).content.decode()
    assert "Forgot your password?" in login_page

    response = client.post(reverse("password_reset"), {"email": "alice@shop.example"})

    assert response.status_code == 302
    (message,) = mail.outbox
    assert message.to == ["alice@shop.example"]
    assert message.subject == "Reset your password for the mail dashboard"
    link = reset_link(message)
    assert link.startswith("https://mail.shop.example/password-reset/")
    html, _ = message.alternatives[0]
    assert link in html

    form_page = client.get(link.removeprefix("https://mail.shop.example"), follow=True)
    assert "Set a new password" in form_page.content.decode()
    new_password = "a brand new long passphrase 42"
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": new_password, "new_password2": new_password},
        follow=True,
    )
    assert "Your password is set" in done.content.decode()

    assert sign_in(client, "login", "alice", new_password).status_code == 302
    assert client.session["_auth_user_id"] == str(alice.pk)
    # and the link works only once
    client.logout()
    again = client.get(link.removeprefix("https://mail.shop.example"), follow=True)
    assert "This link no longer works" in again.content.decode()


def test_a_reset_for_an_unknown_address_sends_nothing_and_says_the_same(client, alice):
    response = client.post(reverse("password_reset"), {"email": "nobody@shop.example"})

    assert response.status_code == 302 and response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []


def test_a_password_reset_lifts_the_lockout(client, alice):
    for _ in range(5):
        sign_in(client, "login", "alice", "wrong")
    client.post(reverse("password_reset"), {"email": "alice@shop.example"})
    path = "/" + reset_link(mail.outbox[0]).split("/", 3)[3]
    form_page = client.get(path, follow=True)
    new_password = "a brand new long passphrase 42"
    client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": new_password, "new_password2": new_password},
    )

    assert sign_in(client, "login", "alice", new_password).status_code == 302


# --- The second factor -------------------------------------------------------------------


@pytest.fixture
def alice_device(alice):
    return TOTPDevice.objects.create(user=alice, name="Phone", confirmed=True)


def test_with_an_app_the_password_alone_does_not_sign_in(client, alice_device):
    response = sign_in(client, "login", "alice", PASSWORD)

    assert response["Location"] == reverse("login_code")
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("dashboard")).status_code == 302


def test_the_code_completes_the_sign_in(client, alice_device):
    sign_in(client, "login", "alice", PASSWORD)

    wrong = client.post(reverse("login_code"), {"code": "000000"})
    with time_machine.travel(later(seconds=2)):  # a wrong code blocks the next try a second
        right = client.post(reverse("login_code"), {"code": current_code(alice_device)})

    assert "That code is not right" in wrong.content.decode()
    assert right.status_code == 302 and right["Location"] == reverse("dashboard")
    assert client.session["_auth_user_id"] == str(alice_device.user.pk)
    assert client.get(reverse("dashboard")).status_code == 200


def test_the_code_page_needs_the_password_first(client, alice_device):
    response = client.post(reverse("login_code"), {"code": current_code(alice_device)})

    assert response["Location"] == reverse("login")
    assert "_auth_user_id" not in client.session


def test_the_admin_asks_for_the_code_of_an_account_with_an_app(client, alice_device):
    without = sign_in(client, "admin:login", "alice", PASSWORD)
    assert without.status_code == 200 and "_auth_user_id" not in client.session

    with_code = client.post(
        reverse("admin:login"),
        {
            "username": "alice",
            "password": PASSWORD,
            "otp_device": alice_device.persistent_id,
            "otp_token": current_code(alice_device),
        },
    )

    assert with_code.status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200


def test_a_session_without_the_code_cannot_use_the_admin(client, alice_device):
    client.force_login(alice_device.user)

    assert client.get(reverse("admin:index")).status_code == 302


def test_when_required_an_account_without_an_app_is_sent_to_enrol(client, alice, settings):
    settings.REQUIRE_TWO_FACTOR = True
    client.force_login(alice)

    assert client.get(reverse("dashboard"))["Location"] == reverse("security")
    assert client.get(reverse("admin:index"))["Location"] == reverse("security")
    page = client.get(reverse("security")).content.decode()
    assert "requires two-factor sign-in for every account" in page

    device = TOTPDevice.objects.get(user=alice, confirmed=False)
    client.post(reverse("security"), {"action": "enrol", "code": current_code(device)})

    assert client.get(reverse("dashboard")).status_code == 200
    assert client.get(reverse("admin:index")).status_code == 200


def test_enrolling_needs_a_right_code_and_removing_needs_one_too(client, alice):
    client.force_login(alice)
    page = client.get(reverse("security")).content.decode()
    assert "<svg" in page
    device = TOTPDevice.objects.get(user=alice)

    wrong = client.post(reverse("security"), {"action": "enrol", "code": "123456"})
    assert "That code is not right" in wrong.content.decode()
    assert not TOTPDevice.objects.get(pk=device.pk).confirmed

    with time_machine.travel(later(seconds=2)):
        client.post(reverse("security"), {"action": "enrol", "code": current_code(device)})
    assert TOTPDevice.objects.get(pk=device.pk).confirmed

    # a code is good once: the next one comes 30 seconds later
    with time_machine.travel(later(seconds=32)):
        client.post(reverse("security"), {"action": "remove", "code": "000000"})
        assert TOTPDevice.objects.filter(user=alice).exists()
    with time_machine.travel(later(seconds=64)):
        client.post(reverse("security"), {"action": "remove", "code": current_code(device)})
    assert not TOTPDevice.objects.filter(user=alice).exists()
    assert get_user_model().objects.get(pk=alice.pk).is_active
