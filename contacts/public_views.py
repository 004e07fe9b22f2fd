"""Recipients' pages: signing up, confirming, the preference centre.

No login: a signup form is public (honeypot and a rate limit per client
address keep bots out; double opt-in keeps anyone from subscribing someone
else), and the confirmation and preference pages take a signed token. A GET
never changes anything, so a mail scanner that follows every link confirms
and unsubscribes nothing.
"""

import json

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from contacts import consent
from contacts.models import ConsentRecord, Contact, MailFrequency
from contacts.models import SignupForm as SignupFormModel
from contacts.public_forms import PreferencesForm, SignupForm

_INVALID_LINK = "contacts/public/link_invalid.html"


def client_of(request) -> consent.Client:
    """The client address, behind as many proxies as AXES_PROXY_COUNT says."""
    ip = request.META.get("REMOTE_ADDR") or None
    proxies = getattr(settings, "AXES_IPWARE_PROXY_COUNT", None)
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if proxies and len(forwarded) >= proxies and forwarded[-proxies]:
        ip = forwarded[-proxies]
    return consent.Client(ip=ip, user_agent=request.META.get("HTTP_USER_AGENT", ""))


def _page(request, template: str, context: dict | None = None, status: int = 200):
    """A recipient's page: the shop's name and a way back to it, never the staff layout."""
    shop = {"shop_name": settings.SHOP_NAME, "shop_url": settings.SHOP_URL}
    return render(request, template, {**shop, **(context or {})}, status=status)


def _invalid_link(request):
    return _page(request, _INVALID_LINK, status=404)


def _signup_form_or_none(key: str) -> SignupFormModel | None:
    return SignupFormModel.objects.filter(key=key, is_active=True).first()


def _source(request) -> str:
    # The hosted page posts back with a marker; the embedded HTML does not.
    hosted = request.POST.get("hosted") == "1"
    return ConsentRecord.Source.HOSTED if hosted else ConsentRecord.Source.EMBEDDED


@csrf_exempt  # the embedded form posts from the shop's own pages, without our cookie
@never_cache
@require_http_methods(["GET", "POST"])
def signup(request, key: str):
    signup_form = _signup_form_or_none(key)
    if signup_form is None:
        return _invalid_link(request)
    context = {"signup_form": signup_form, "topics": signup_form.groups.filter(is_topic=True)}
    if request.method == "GET":
        return _page(request, "contacts/public/signup.html", {**context, "form": SignupForm()})
    form = SignupForm(request.POST)
    if not consent.signup_rate_allowed(ip=client_of(request).ip):
        return _page(request, "contacts/public/signup_throttled.html", context, status=429)
    if form.is_bot:
        return _page(request, "contacts/public/signup_done.html", context)
    if not form.is_valid():
        return _page(request, "contacts/public/signup.html", {**context, "form": form}, status=400)
    consent.contact_signup(
        form=signup_form,
        email=form.cleaned_data["email"],
        first_name=form.cleaned_data["first_name"],
        source=_source(request),
        client=client_of(request),
    )
    return _page(request, "contacts/public/signup_done.html", context)


def _cors(request, response):
    origin = request.headers.get("Origin", "")
    if origin and origin in settings.SIGNUP_CORS_ORIGINS:
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Content-Type"
        response["Vary"] = "Origin"
    return response


@csrf_exempt  # called by the shop's pages and servers; no cookie is read
@never_cache
@require_http_methods(["POST", "OPTIONS"])
def signup_api(request, key: str):
    """POST {"email": ..., "first_name": ..., "consent": true} as JSON.
    202 when accepted (a confirmation mail follows), 400 with the errors per
    field, 404 for an unknown form, 429 past the rate limit."""
    if request.method == "OPTIONS":
        return _cors(request, JsonResponse({}, status=204))
    signup_form = _signup_form_or_none(key)
    if signup_form is None:
        return _cors(request, JsonResponse({"error": "No such signup form."}, status=404))
    try:
        payload = json.loads(request.body)
    except (ValueError, UnicodeDecodeError):
        payload = None
    if not isinstance(payload, dict):
        error = {"error": 'Send a JSON object, e.g. {"email": ..., "consent": true}.'}
        return _cors(request, JsonResponse(error, status=400))
    client = client_of(request)
    if not consent.signup_rate_allowed(ip=client.ip):
        error = {"error": "Too many signups from this address; try again later."}
        return _cors(request, JsonResponse(error, status=429))
    data = {name: value for name, value in payload.items() if isinstance(value, str)}
    data["consent"] = "on" if payload.get("consent") is True else ""
    form = SignupForm(data)
    if form.is_bot:
        return _cors(request, JsonResponse({"status": "pending"}, status=202))
    if not form.is_valid():
        found = form.errors.get_json_data()
        errors = {field: [error["message"] for error in each] for field, each in found.items()}
        return _cors(request, JsonResponse({"errors": errors}, status=400))
    consent.contact_signup(
        form=signup_form,
        email=form.cleaned_data["email"],
        first_name=form.cleaned_data["first_name"],
        source=ConsentRecord.Source.API,
        client=client,
    )
    status = "pending" if signup_form.double_opt_in else "subscribed"
    return _cors(request, JsonResponse({"status": status}, status=202))


@never_cache
@require_http_methods(["GET", "POST"])
def confirm(request, token: str):
    record = consent.request_from_confirmation_token(token)
    if record is None:
        return _invalid_link(request)
    context = {"record": record, "contact": record.contact, "token": token}
    if request.method == "GET":
        # Link scanners prefetch URLs: a GET only asks.
        return _page(request, "contacts/public/confirm.html", context)
    contact = consent.contact_confirm(request_record=record, client=client_of(request))
    context["preferences_url"] = consent.preferences_url(contact)
    context["is_subscribed"] = contact.status == Contact.Status.SUBSCRIBED
    return _page(request, "contacts/public/confirmed.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
def preferences(request, token: str):
    contact = consent.contact_from_preferences_token(token)
    if contact is None:
        return _invalid_link(request)
    topics = list(consent.topics())
    if request.method == "POST" and "unsubscribe" in request.POST:
        consent.contact_unsubscribe_all(contact=contact, client=client_of(request))
        return _page(request, "contacts/public/unsubscribed.html", {"contact": contact})
    form = PreferencesForm(request.POST or None, topics=topics)
    saved = False
    if request.method == "POST" and form.is_valid():
        consent.contact_preferences_save(
            contact=contact,
            topic_ids=form.cleaned_data["topics"],
            frequency=form.cleaned_data["frequency"] or MailFrequency.ANY,
            client=client_of(request),
        )
        saved = True
    chosen = set(contact.groups.filter(is_topic=True).values_list("pk", flat=True))
    context = {
        "contact": contact,
        "topics": [(group, group.pk in chosen) for group in topics],
        "frequencies": MailFrequency.choices,
        "form": form,
        "saved": saved,
        "is_unsubscribed": contact.status == Contact.Status.UNSUBSCRIBED,
        "can_change": contact.status not in (Contact.Status.BOUNCED, Contact.Status.COMPLAINED),
    }
    return _page(request, "contacts/public/preferences.html", context)
