"""Signing in: the lockout page, the second factor, password reset, the Security page.

Passwords are checked by Django's own views and forms; django-axes counts the
failures (settings.AXES_*) and django-otp keeps the authenticator-app devices.
"""

import base64
import logging
import time

import qrcode
import qrcode.image.svg
from axes.backends import AxesStandaloneBackend
from axes.helpers import get_client_ip_address
from axes.utils import reset as axes_reset
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

logger = logging.getLogger(__name__)

LOCKOUT_MESSAGE = "Too many failed sign-ins. Try again in {minutes} minutes or reset your password."
PENDING_USER_KEY = "two_factor_user"
PENDING_SECONDS = 300


def lockout_minutes() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)


def lockout_response(request, original_response=None, credentials=None):
    """django-axes' answer to a locked-out sign-in: the login page again, with
    the reason, on the staff login and the admin login alike."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    logger.warning(
        "Sign-in refused, locked out: username=%r ip=%s path=%s",
        username,
        get_client_ip_address(request),
        request.path,
    )
    message = LOCKOUT_MESSAGE.format(minutes=lockout_minutes())
    initial = {"username": username}
    if request.path.startswith(reverse("admin:login")):
        from django.contrib import admin

        context = {
            **admin.site.each_context(request),
            "form": _form_with_error(admin.site.login_form(request, initial=initial), message),
            "title": "Log in",
            "app_path": request.get_full_path(),
            "next": request.POST.get("next", ""),
        }
        return render(request, admin.site.login_template, context, status=429)
    context = {
        "form": _form_with_error(AuthenticationForm(request, initial=initial), message),
        "next": request.POST.get("next", ""),
        "locked_out": True,
    }
    return render(request, "registration/login.html", context, status=429)


def _form_with_error(form, message: str):
    # Not validated: that would check the password again and count one more failure.
    form.cleaned_data = {}
    form._errors = forms.utils.ErrorDict()
    form.add_error(None, message)
    return form


def confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


class StaffLoginView(auth_views.LoginView):
    """The password first; an account with an authenticator app then gives a code."""

    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        if confirmed_device(user) is None:
            return super().form_valid(form)
        # Not signed in yet: remember who passed the password, for a few minutes.
        self.request.session[PENDING_USER_KEY] = {
            "id": user.pk,
            "backend": user.backend,
            "next": self.get_redirect_url(),
            "at": time.time(),
        }
        return redirect("login_code")


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code from your authenticator app",
        max_length=8,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    error_messages = {
        "invalid": "That code is not right, or it has expired. Try the current one.",
        "throttled": "Too many wrong codes. Wait a minute, then try the current one.",
    }

    def __init__(self, *args, device: TOTPDevice, **kwargs):
        super().__init__(*args, **kwargs)
        self.device = device

    def clean_code(self):
        code = "".join(self.cleaned_data["code"].split())
        allowed, _ = self.device.verify_is_allowed()
        if not allowed:
            raise forms.ValidationError(self.error_messages["throttled"], code="throttled")
        if not self.device.verify_token(code):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return code


def _pending_user(request):
    pending = request.session.get(PENDING_USER_KEY)
    if not pending or time.time() - pending["at"] > PENDING_SECONDS:
        return None, None
    user = get_user_model().objects.filter(pk=pending["id"], is_active=True).first()
    return user, pending


@never_cache
@sensitive_post_parameters("code")
def login_code(request):
    """The second step of signing in, for an account with an authenticator app."""
    user, pending = _pending_user(request)
    device = confirmed_device(user) if user else None
    if device is None:
        messages.info(request, "Sign in again, please: that took too long.")
        return redirect("login")
    form = CodeForm(request.POST or None, device=device)
    if request.method == "POST" and form.is_valid():
        del request.session[PENDING_USER_KEY]
        auth_login(request, user, backend=pending["backend"])
        otp_login(request, device)
        return redirect(pending["next"] or settings.LOGIN_REDIRECT_URL)
    return render(request, "registration/login_code.html", {"form": form})


# --- Password reset ------------------------------------------------------------


class PasswordResetView(auth_views.PasswordResetView):
    subject_template_name = "registration/password_reset_subject.txt"
    email_template_name = "registration/password_reset_email.txt"
    html_email_template_name = "registration/password_reset_email.html"
    success_url = reverse_lazy("password_reset_done")

    def get_extra_email_context(self):
        # Links in the mail use the configured address, never the request's Host.
        return {"site_url": settings.SITE_URL}

    def form_valid(self, form):
        self.extra_email_context = self.get_extra_email_context()
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    success_url = reverse_lazy("password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        # Whoever read the mail owns the account: lift its lockout, and that of
        # the address they reset it from.
        axes_reset(username=self.user.get_username())
        axes_reset(ip=get_client_ip_address(self.request))
        logger.info("Password reset by mail for username=%r", self.user.get_username())
        return response


# --- The Security page: enrol or remove an authenticator app ------------------


def _qr_svg(data: str) -> str:
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    return image.to_string(encoding="unicode")


def _new_device(user) -> TOTPDevice:
    """The unconfirmed device being enrolled: one at a time per user."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


def _enrolment_context(device: TOTPDevice) -> dict:
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return {
        "qr_svg": _qr_svg(device.config_url),
        "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
    }


@never_cache
@login_required
@sensitive_post_parameters("code")
def security(request):
    user = request.user
    device = confirmed_device(user)
    action = request.POST.get("action")
    if device is None:
        pending = _new_device(user)
        form = CodeForm(request.POST if action == "enrol" else None, device=pending)
        if action == "enrol" and form.is_valid():
            pending.confirmed = True
            pending.save(update_fields=["confirmed"])
            otp_login(request, pending)
            logger.info("Two-factor sign-in enrolled for username=%r", user.get_username())
            messages.success(request, "Two-factor sign-in is on. Sign-ins now ask for a code.")
            return redirect(_after_enrolment(request))
        context = {"form": form, **_enrolment_context(pending)}
    else:
        form = CodeForm(request.POST if action == "remove" else None, device=device)
        if action == "remove" and settings.REQUIRE_TWO_FACTOR:
            form.add_error(None, "This site requires two-factor sign-in for every account.")
        elif action == "remove" and form.is_valid():
            TOTPDevice.objects.filter(user=user).delete()
            logger.info("Two-factor sign-in removed for username=%r", user.get_username())
            messages.success(request, "Two-factor sign-in is off.")
            return redirect("security")
        context = {"form": form, "device": device}
    context["required"] = settings.REQUIRE_TWO_FACTOR
    return render(request, "registration/security.html", context)


def _after_enrolment(request) -> str:
    next_url = request.GET.get("next", "")
    if url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        return next_url
    return reverse("security")


class LoginThrottleBackend(AxesStandaloneBackend):
    """django-axes' backend for sign-ins over HTTP. A password checked with no
    request (a management command, a script, the test client's login()) has
    no client address to count, and is left to the next backend."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
