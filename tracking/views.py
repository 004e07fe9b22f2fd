"""Recipient endpoints: no login, a signed token per purpose in the URL.

The pixel and the click are the hot ones: each verifies its token in memory
and does one INSERT into the event table, the durable buffer that
tracking.facts flushes in bulk. They answer even when that write fails: the
pixel always returns its GIF, a click redirects to the link's URL, kept per
process once read. HEAD requests are answered and counted as machines.
"""

import base64
import logging

from django.http import HttpResponse, HttpResponseRedirect
from django.views.decorators.http import require_http_methods

from campaigns import tokens
from tracking import services
from tracking.machine import HEAD
from tracking.public_views import link_unknown

logger = logging.getLogger(__name__)

# The web view is mail HTML served from the dashboard's own origin: it may
# show images and styles from anywhere, but it runs no script, posts no form
# and, sandboxed, cannot reach the dashboard's cookies or pages.
WEB_VIEW_CSP = (
    "default-src 'none'; script-src 'none'; img-src * data:; style-src 'unsafe-inline' *; "
    "font-src *; frame-ancestors 'none'; form-action 'none'; base-uri 'none'; "
    "sandbox allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation"
)
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
NO_STORE = "no-store, no-cache, must-revalidate, max-age=0"


def _hit(request, message_id: int, kind: str, **extra) -> str:
    return services.hit_record(
        message_id=message_id,
        kind=kind,
        ip=services.client_ip(request.META),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
        reason=HEAD if request.method == "HEAD" else "",
        **extra,
    )


@require_http_methods(["GET", "HEAD"])
def open_pixel(request, token):
    message_id = tokens.message_id_from_token(token, purpose=tokens.OPEN)
    if message_id is not None:
        _hit(request, message_id, "opened")
    # A broken pixel shows as a broken image in the mail: always answer a GIF.
    response = HttpResponse(PIXEL, content_type="image/gif")
    response["Cache-Control"] = NO_STORE
    return response


@require_http_methods(["GET", "HEAD"])
def click(request, token):
    found = tokens.click_from_token(token)
    if found is None:
        return link_unknown(request)
    message_id, link_index, send_id = found
    link = services.link_of(message_id=message_id, send_id=send_id, link_index=link_index)
    if link is services.NO_LINK:
        return link_unknown(request)
    outcome = _hit(request, message_id, "clicked", link_index=link_index, url=link or "")
    if outcome == services.UNKNOWN_MESSAGE:
        return link_unknown(request)
    if link is None:  # the database is down and this link was never read here
        return HttpResponse(
            "This link cannot be opened right now. Please try again in a minute.",
            status=503,
            content_type="text/plain; charset=utf-8",
            headers={"Retry-After": "60"},
        )
    response = HttpResponseRedirect(services.landing_url(link, token))
    response["Cache-Control"] = NO_STORE
    return response


@require_http_methods(["GET"])
def web_view(request, token):
    message_id = tokens.message_id_from_token(token, purpose=tokens.WEB_VIEW)
    html = services.message_web_view(message_id=message_id) if message_id is not None else None
    if html is None:
        return link_unknown(request)
    response = HttpResponse(html)
    response["Content-Security-Policy"] = WEB_VIEW_CSP
    response["Cache-Control"] = NO_STORE
    return response
