"""Recipients' pages around the unsubscribe link, and the page of a link that
leads nowhere: the shop's name and a way back to the shop, never the staff
layout. No login; the signed token in the URL says who."""

from django.conf import settings
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from campaigns import tokens
from campaigns.models import Message
from contacts.consent import Client, contact_resubscribe
from contacts.models import Contact
from tracking import services


def _shop() -> dict:
    return {"shop_name": settings.SHOP_NAME, "shop_url": settings.SHOP_URL}


def link_unknown(request, status: int = 404):
    """A link that was altered, cut short or never sent."""
    return render(request, "tracking/link_unknown.html", _shop(), status=status)


def _message_for(token: str) -> Message | None:
    message_id = tokens.message_id_from_token(token, purpose=tokens.UNSUBSCRIBE)
    if message_id is None:
        return None
    return Message.objects.filter(pk=message_id).select_related("send__campaign", "contact").first()


def _client(request) -> Client:
    return Client(
        ip=services.client_ip(request.META),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )


@csrf_exempt  # RFC 8058 one-click POSTs come from mail clients: no cookie, no CSRF token
@require_http_methods(["GET", "HEAD", "POST"])
def unsubscribe(request, token):
    message = _message_for(token)
    if message is None:
        return link_unknown(request)
    contact = message.contact
    context = {
        **_shop(),
        "token": token,
        "email": message.email,
        "sender": message.send.campaign.from_name,
        "contact": contact,
    }
    if request.method != "POST":
        # Link scanners prefetch URLs with GET or HEAD: those only ask. Only a
        # POST, the mail client's one-click (RFC 8058) or the page's button,
        # unsubscribes.
        if contact is not None and contact.status == Contact.Status.UNSUBSCRIBED:
            return render(request, "tracking/unsubscribe_already.html", context)
        return render(request, "tracking/unsubscribe_confirm.html", context)
    services.message_unsubscribe(
        message_id=message.pk,
        ip=services.client_ip(request.META),
        user_agent=request.META.get("HTTP_USER_AGENT", ""),
    )
    return render(request, "tracking/unsubscribe_done.html", context)


@require_POST
def resubscribe(request, token):
    """ "That was a mistake": the unsubscribe is undone, with consent recorded."""
    message = _message_for(token)
    if message is None or message.contact is None:
        return link_unknown(request)
    done = contact_resubscribe(contact=message.contact, client=_client(request))
    context = {**_shop(), "email": message.email, "sender": message.send.campaign.from_name}
    context["done"] = done
    return render(request, "tracking/resubscribed.html", context, status=200 if done else 409)
