"""Recipient endpoints: no login, a signed token in the URL, one write each."""

import base64

from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from campaigns import tokens
from campaigns.models import Message
from campaigns.rendering import CompiledContent, TrackedUrls, personalise
from campaigns.sending import message_values
from tracking import services

# The web view is mail HTML served from the dashboard's own origin: it may
# show images and styles from anywhere, but it runs no script, posts no form
# and, sandboxed, cannot reach the dashboard's cookies or pages.
WEB_VIEW_CSP = (
    "default-src 'none'; script-src 'none'; img-src * data:; style-src 'unsafe-inline' *; "
    "font-src *; frame-ancestors 'none'; form-action 'none'; base-uri 'none'; "
    "sandbox allow-popups allow-popups-to-escape-sandbox allow-top-navigation-by-user-activation"
)
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _client(request) -> dict:
    return {
        "ip": request.META.get("REMOTE_ADDR") or None,
        "user_agent": request.META.get("HTTP_USER_AGENT", ""),
    }


def _message_id(token: str) -> int:
    message_id = tokens.message_id_from_token(token)
    if message_id is None:
        raise Http404("Unknown link")
    return message_id


@never_cache
@require_GET
def open_pixel(request, token):
    message_id = tokens.message_id_from_token(token)
    if message_id is not None:
        services.message_record_open(message_id=message_id, **_client(request))
    # A broken pixel shows as a broken image in the mail: always answer a GIF.
    return HttpResponse(PIXEL, content_type="image/gif")


@never_cache
@require_GET
def click(request, token):
    found = tokens.click_from_token(token)
    if found is None:
        raise Http404("Unknown link")
    message_id, link_index = found
    url = services.message_record_click(
        message_id=message_id, link_index=link_index, **_client(request)
    )
    if url is None:
        raise Http404("Unknown link")
    return HttpResponseRedirect(url)


@csrf_exempt  # RFC 8058 one-click POSTs come from mail clients: no cookie, no CSRF token
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token):
    message_id = _message_id(token)
    message = Message.objects.filter(pk=message_id).select_related("send__campaign").first()
    if message is None:
        raise Http404("Unknown link")
    context = {"token": token, "email": message.email, "sender": message.send.campaign.from_name}
    if request.method == "GET":
        # Link scanners prefetch URLs: a GET only asks.
        return render(request, "tracking/unsubscribe_confirm.html", context)
    services.message_unsubscribe(message_id=message_id, **_client(request))
    return render(request, "tracking/unsubscribe_done.html", context)


@never_cache
@require_GET
def web_view(request, token):
    message_id = _message_id(token)
    message = (
        Message.objects.filter(
            pk=message_id, status__in=[Message.Status.SENT, Message.Status.IN_DOUBT]
        )
        .select_related("send", "contact", "send__campaign__coupon")
        .first()
    )
    if message is None or message.contact is None or not message.send.content:
        raise Http404("Unknown link")
    mail = personalise(
        CompiledContent.from_json(message.send.content),
        message_values(message.send.campaign, message),
        TrackedUrls(message.pk),
    )
    response = HttpResponse(mail.html)
    response["Content-Security-Policy"] = WEB_VIEW_CSP
    return response
