"""Read-only pages about contacts and groups; list admins edit in the Django admin."""

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render

from contacts import selectors
from contacts.models import Contact, Group
from marketing_site.roles import VIEWER, role_required

PAGE_SIZE = 50


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


@role_required(VIEWER)
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


@role_required(VIEWER)
def contact_detail(request, pk: int):
    contact = get_object_or_404(Contact.objects.prefetch_related("groups"), pk=pk)
    attributes = sorted((contact.attributes or {}).items())
    context = {"contact": contact, "attributes": attributes}
    return render(request, "contacts/contact_detail.html", context)


@role_required(VIEWER)
def group_list(request):
    return render(request, "contacts/group_list.html", {"groups": selectors.group_list()})


@role_required(VIEWER)
def group_detail(request, pk: int):
    group = get_object_or_404(selectors.group_list(), pk=pk)
    contacts = selectors.group_contacts(group=group)
    page = Paginator(contacts, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "contacts/group_detail.html", {"group": group, "page": page})
