"""Pages about contacts and groups; list admins edit in the Django admin and
erase a contact here."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from contacts import selectors
from contacts.models import Contact, Group
from contacts.panels import contact_panels
from contacts.services import contact_erase

PAGE_SIZE = 50


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


@login_required
@permission_required("contacts.view_contact", raise_exception=True)
def contact_list(request):
    search = request.GET.get("q", "").strip()
    status = request.GET.get("status", "")
    if status not in Contact.Status.values:
        status = ""
    group_id = _int_or_none(request.GET.get("group"))
    contacts = selectors.contact_list(search=search, status=status, group_id=group_id)
    page = Paginator(contacts, PAGE_SIZE).get_page(request.GET.get("page"))
    filters = request.GET.copy()
    filters.pop("page", None)
    context = {
        "page": page,
        "search": search,
        "status": status,
        "group_id": group_id,
        "statuses": Contact.Status.choices,
        "groups": Group.objects.only("id", "name"),
        "is_filtered": bool(search or status or group_id),
        "filter_query": filters.urlencode(),
    }
    return render(request, "contacts/contact_list.html", context)


@login_required
@permission_required("contacts.view_contact", raise_exception=True)
def contact_detail(request, pk: int):
    contact = get_object_or_404(Contact.objects.prefetch_related("groups"), pk=pk)
    attributes = sorted((contact.attributes or {}).items())
    context = {"contact": contact, "attributes": attributes, "panels": contact_panels(contact)}
    return render(request, "contacts/contact_detail.html", context)


@login_required
@permission_required("contacts.view_group", raise_exception=True)
def group_list(request):
    return render(request, "contacts/group_list.html", {"groups": selectors.group_list()})


@login_required
@permission_required("contacts.view_group", raise_exception=True)
def group_detail(request, pk: int):
    group = get_object_or_404(selectors.group_list(), pk=pk)
    contacts = selectors.group_contacts(group=group)
    page = Paginator(contacts, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "contacts/group_detail.html", {"group": group, "page": page})


@login_required
@permission_required("contacts.erase_contact", raise_exception=True)
@require_POST
def contact_erase_view(request, pk: int):
    contact = get_object_or_404(Contact, pk=pk)
    contact_erase(contact=contact, actor=request.user)
    messages.success(
        request,
        f"Contact #{pk} erased. Their past mails stay counted in the reports, without an address.",
    )
    return redirect("contacts:list")
