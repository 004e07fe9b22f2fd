"""Staff pages of consent: the suppression list and a contact's data export."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from contacts import privacy, suppressions
from contacts.models import Contact, DomainSuppression, Suppression

PAGE_SIZE = 50
_MODELS = {suppressions.ADDRESSES: Suppression, suppressions.DOMAINS: DomainSuppression}


def _kind(value: str | None) -> str:
    return value if value in _MODELS else suppressions.ADDRESSES


def _can_remove(user, kind: str) -> bool:
    return user.has_perm(f"contacts.delete_{_MODELS[kind]._meta.model_name}")


@login_required
@permission_required("contacts.view_suppression", raise_exception=True)
def suppression_list(request):
    kind = _kind(request.GET.get("kind"))
    search = request.GET.get("q", "").strip()
    rows = suppressions.suppression_list(kind=kind, search=search)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    filters = request.GET.copy()
    filters.pop("page", None)
    context = {
        "kind": kind,
        "search": search,
        "page": page,
        "counts": suppressions.suppression_counts(),
        "filter_query": filters.urlencode(),
        "can_add": request.user.has_perm("contacts.add_suppression"),
        "can_remove": _can_remove(request.user, kind),
        "value": request.GET.get("value", ""),
    }
    return render(request, "contacts/suppression_list.html", context)


@login_required
@permission_required("contacts.add_suppression", raise_exception=True)
@require_POST
def suppression_add(request):
    value = request.POST.get("value", "").strip()
    note = request.POST.get("note", "")
    if not value:
        messages.error(request, "Type an address (ann@example.com) or a domain (example.com).")
        return redirect("contacts:suppressions")
    try:
        entry = suppressions.suppression_add(value=value, note=note, actor=request.user)
    except suppressions.SuppressionRefused as refused:
        messages.error(request, str(refused))
        return redirect(f"{reverse('contacts:suppressions')}?{urlencode({'value': value})}")
    if isinstance(entry, DomainSuppression):
        messages.success(request, f"Every address at {entry.domain} is now suppressed.")
        return redirect(f"{reverse('contacts:suppressions')}?kind={suppressions.DOMAINS}")
    messages.success(request, f"{entry.email} is now suppressed: it gets no more mail.")
    return redirect("contacts:suppressions")


@login_required
@require_POST
def suppression_remove(request, kind: str, pk: int):
    if kind not in _MODELS:
        raise Http404("No such list")
    if not _can_remove(request.user, kind):
        return render(request, "403.html", status=403)
    entry = get_object_or_404(_MODELS[kind], pk=pk)
    suppressions.suppression_remove(entry=entry, actor=request.user)
    name = getattr(entry, "email", None) or entry.domain
    messages.success(request, f"{name} was removed from the suppression list.")
    return redirect(f"{reverse('contacts:suppressions')}?kind={kind}")


@login_required
@permission_required("contacts.export_contacts", raise_exception=True)
@require_POST
def contact_export_view(request, pk: int):
    contact = get_object_or_404(Contact, pk=pk)
    data = privacy.contact_export(contact=contact, actor=request.user)
    response = HttpResponse(data, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="contact-{contact.pk}.json"'
    return response
