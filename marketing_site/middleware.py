"""Request guards that apply to every page."""

import re

from django.conf import settings
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect
from django.urls import reverse

# C0 controls but tab, newline and carriage return (a textarea sends those), and DEL.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
FORM_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _has_control_character(data) -> bool:
    return any(
        CONTROL_CHARACTERS.search(key) or CONTROL_CHARACTERS.search(value)
        for key, values in data.lists()
        for value in values
        if isinstance(value, str)
    )


class ControlCharacterMiddleware:
    """A NUL byte or another control character in the path, the query string or
    a form field is a 400: PostgreSQL refuses NUL in text, so it would
    otherwise be a 500 wherever the value reaches a query."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._is_bad(request):
            return HttpResponseBadRequest(
                "The request contains a control character (such as a NUL byte).",
                content_type="text/plain",
            )
        return self.get_response(request)

    @staticmethod
    def _is_bad(request) -> bool:
        if CONTROL_CHARACTERS.search(request.path) or _has_control_character(request.GET):
            return True
        if request.method == "POST" and request.content_type in FORM_CONTENT_TYPES:
            return _has_control_character(request.POST)
        return False


class TwoFactorRequiredMiddleware:
    """With REQUIRE_TWO_FACTOR, a signed-in user who has not proved a second
    factor can only reach the Security page (to enrol) and log out."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            settings.REQUIRE_TWO_FACTOR
            and user.is_authenticated
            and not user.is_verified()
            and not request.path.startswith(self._open_paths())
        ):
            return redirect("security")
        return self.get_response(request)

    @staticmethod
    def _open_paths() -> tuple[str, ...]:
        return (
            reverse("security"),
            reverse("logout"),
            reverse("login"),
            "/t/",  # recipient pages need no login at all
            "/subscribe/",
            "/preferences/",
            settings.STATIC_URL if settings.STATIC_URL.startswith("/") else "/static/",
        )
