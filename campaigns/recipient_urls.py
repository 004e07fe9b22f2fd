"""Where the URLs in a mail lead, without campaigns knowing who serves them.

A mail carries an open pixel, tracked links, an unsubscribe link and a
web-view link. campaigns fills in their tokens; the app that serves those
endpoints (tracking) registers at start-up, in its AppConfig.ready, a
function giving the path of each purpose with the placeholder TOKEN. So the
dependency runs one way: campaigns never names another app's URL routes.
"""

from collections.abc import Callable
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

PLACEHOLDER = "TOKEN"
PURPOSES = ("open", "click", "unsubscribe", "web")

_builder: list[Callable[[str], str]] = []


def recipient_paths_register(builder: Callable[[str], str]) -> None:
    """`builder(purpose)` returns the site-relative path of that endpoint with
    PLACEHOLDER where the token goes, e.g. "/t/o/TOKEN.gif"."""
    _builder[:] = [builder]
    recipient_url_parts.cache_clear()


@lru_cache(maxsize=16)
def recipient_url_parts(purpose: str) -> tuple[str, str]:
    """The parts of an absolute recipient URL before and after its token."""
    if not _builder:
        raise ImproperlyConfigured("No app registered the recipient URLs (tracking's ready()).")
    url = settings.SITE_URL + _builder[0](purpose)
    before, found, after = url.partition(PLACEHOLDER)
    if not found:
        raise ImproperlyConfigured(f"The {purpose} URL has no {PLACEHOLDER} placeholder: {url}")
    return before, after


def recipient_url(purpose: str, token: str) -> str:
    before, after = recipient_url_parts(purpose)
    return f"{before}{token}{after}"
