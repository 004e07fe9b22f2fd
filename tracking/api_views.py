"""The shop's events API (JSON, API keys) and the staff pages that manage
its keys and explain it. The rules are in tracking.shop_api and api_keys."""

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tracking import api_keys, openapi, shop_api
from tracking.models import ApiKey

_PERMISSION = "tracking.manage_api_keys"


def _error(status: int, message: str, **headers) -> JsonResponse:
    return JsonResponse({"error": message}, status=status, headers=headers)


@csrf_exempt
def events(request):
    """POST one event, or {"events": [...]} of up to 1,000."""
    if request.method != "POST":
        return _error(405, "Use POST.", Allow="POST")
    key = api_keys.api_key_from_header(request.headers.get("Authorization", ""))
    if key is None:
        return _error(401, "A valid API key is needed: Authorization: Bearer <key>.")
    if wait := api_keys.api_rate_allowed(key):
        return _error(
            429, "Too many requests for this key; try again later.", **{"Retry-After": str(wait)}
        )
    limit = settings.SHOP_API_MAX_BODY_BYTES
    body = request.read(limit + 1)
    if len(body) > limit:
        return _error(413, f"The body is larger than {limit // 1024**2} MB; send smaller batches.")
    try:
        data = json.loads(body)
    except ValueError as error:
        return _error(400, f"The body is not JSON: {error}.")
    items = data.get("events") if isinstance(data, dict) and "events" in data else [data]
    if not isinstance(items, list) or not items:
        return _error(400, 'Send an event object, or {"events": [...]} with at least one.')
    if len(items) > shop_api.MAX_BATCH:
        return _error(400, f"At most {shop_api.MAX_BATCH:,} events per request.")
    result = shop_api.events_ingest(items)
    status = 400 if result.errors and not (result.accepted or result.duplicates) else 200
    return JsonResponse(result.as_json(), status=status)


def openapi_schema(request):
    return JsonResponse(openapi.schema(request.build_absolute_uri(reverse("api:events"))))


@login_required
@permission_required(_PERMISSION, raise_exception=True)
def api_key_list(request):
    new_key = new_secret = None
    if request.method == "POST":
        name = request.POST.get("name", "").strip()
        if not name:
            messages.error(request, "Name the key after where it is used, e.g. “Shop backend”.")
        else:
            new_key, new_secret = api_keys.api_key_create(name=name, actor=request.user)
    context = {
        "keys": ApiKey.objects.select_related("created_by"),
        "new_key": new_key,
        "new_secret": new_secret,
        "events_url": request.build_absolute_uri(reverse("api:events")),
    }
    return render(request, "tracking/api_keys.html", context)


@login_required
@permission_required(_PERMISSION, raise_exception=True)
@require_POST
def api_key_revoke(request, pk: int):
    key = get_object_or_404(ApiKey, pk=pk)
    api_keys.api_key_revoke(key=key)
    messages.success(request, f"“{key.name}” is revoked: requests with it now get 401.")
    return redirect("integrations:api_keys")


@login_required
@permission_required(_PERMISSION, raise_exception=True)
def api_docs(request):
    url = request.build_absolute_uri(reverse("api:events"))
    return render(
        request, "tracking/api_docs.html", {"examples": openapi.examples(url), "events_url": url}
    )
