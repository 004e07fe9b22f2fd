"""Pages about contacts, groups and segments. Viewers read; list admins add,
edit, change in bulk, export and erase; marketers build segments."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_POST

from contacts import exporting, segments, selectors
from contacts.audit import Action, audit_record
from contacts.editing import contact_create, contact_update, contacts_bulk_apply
from contacts.forms import (
    BULK_ACTIONS,
    CONFIRMED_ACTIONS,
    BulkActionForm,
    ContactForm,
    SegmentForm,
)
from contacts.models import Contact, EngagementTier, Group, Segment
from contacts.panels import contact_panels
from contacts.services import contact_erase

PAGE_SIZE = 50
FILTER_KEYS = ("q", "status", "group", "tier", "segment", "sort")


def _int_or_none(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _list_filters(params) -> dict:
    """The list's filters from a query string or a posted form; unknown
    values are dropped, so a stale link still shows a list."""
    status = params.get("status", "")
    tier = params.get("tier", "")
    segment_id = _int_or_none(params.get("segment"))
    sort = params.get("sort", "email")
    return {
        "search": params.get("q", "").strip(),
        "status": status if status in Contact.Status.values else "",
        "group_id": _int_or_none(params.get("group")),
        "tier": tier if tier in EngagementTier.values else "",
        "segment": Segment.objects.filter(pk=segment_id).first() if segment_id else None,
        "sort": sort if sort.lstrip("-") in selectors.CONTACT_SORTS else "email",
    }


def _filtered_contacts(filters: dict):
    return selectors.contact_list(**filters)


def _filter_query(params, *, drop=("page",)) -> str:
    query = params.copy()
    for key in list(query):
        if key not in FILTER_KEYS or key in drop or not query.get(key):
            query.pop(key)
    return query.urlencode()


def _import_url() -> str:
    # The import wizard may not be installed in every build.
    try:
        return reverse("contacts:import")
    except NoReverseMatch:
        return ""


def _sort_links(params, current: str) -> dict[str, dict]:
    """Per sortable column: the link that sorts by it (flipping the order if
    it is the current one) and the current direction, if any."""
    links = {}
    for key in selectors.CONTACT_SORTS:
        query = params.copy()
        query.pop("page", None)
        query["sort"] = f"-{key}" if current == key else key
        direction = "ascending" if current == key else "descending" if current == f"-{key}" else ""
        links[key] = {"url": "?" + query.urlencode(), "direction": direction}
    return links


@login_required
@permission_required("contacts.view_contact", raise_exception=True)
def contact_list(request):
    filters = _list_filters(request.GET)
    contacts = _filtered_contacts(filters)
    page = Paginator(contacts, PAGE_SIZE).get_page(request.GET.get("page"))
    user = request.user
    context = {
        "page": page,
        **filters,
        "statuses": Contact.Status.choices,
        "tiers": EngagementTier.choices,
        "groups": Group.objects.only("id", "name"),
        "segments": Segment.objects.only("id", "name"),
        "is_filtered": any(filters[k] for k in ("search", "status", "group_id", "tier", "segment")),
        "filter_query": _filter_query(request.GET),
        "export_query": _filter_query(request.GET, drop=("page", "sort")),
        "sorts": _sort_links(request.GET, filters["sort"]),
        "bulk_actions": BULK_ACTIONS,
        "can_bulk_edit": user.has_perm("contacts.change_contact"),
        "can_delete": user.has_perm("contacts.delete_contact"),
        "can_add": user.has_perm("contacts.add_contact"),
        "can_export": user.has_perm("contacts.export_contacts"),
        "import_url": _import_url() if user.has_perm("contacts.import_contacts") else "",
    }
    return render(request, "contacts/contact_list.html", context)


@login_required
@permission_required("contacts.view_contact", raise_exception=True)
def contact_detail(request, pk: int):
    contact = get_object_or_404(Contact.objects.prefetch_related("groups"), pk=pk)
    attributes = sorted((contact.attributes or {}).items())
    context = {
        "contact": contact,
        "attributes": attributes,
        "can_edit": request.user.has_perm("contacts.change_contact"),
        "panels": contact_panels(contact),
    }
    return render(request, "contacts/contact_detail.html", context)


def _contact_fields(form: ContactForm) -> dict:
    data = dict(form.cleaned_data)
    data.pop("groups")
    return data


@login_required
@permission_required("contacts.add_contact", raise_exception=True)
def contact_add(request):
    form = ContactForm(request.POST or None, initial={"status": Contact.Status.SUBSCRIBED})
    if request.method == "POST" and form.is_valid():
        contact = contact_create(
            actor=request.user, groups=list(form.cleaned_data["groups"]), **_contact_fields(form)
        )
        messages.success(request, f"Contact {contact.email} added.")
        return redirect("contacts:detail", contact.pk)
    return render(request, "contacts/contact_form.html", {"form": form, "contact": None})


@login_required
@permission_required("contacts.change_contact", raise_exception=True)
def contact_edit(request, pk: int):
    contact = get_object_or_404(Contact, pk=pk)
    form = ContactForm(request.POST or None, instance=contact)
    if request.method == "POST" and form.is_valid():
        contact_update(
            contact=Contact.objects.get(pk=pk),
            actor=request.user,
            groups=list(form.cleaned_data["groups"]),
            **_contact_fields(form),
        )
        messages.success(request, "Changes saved.")
        return redirect("contacts:detail", pk)
    return render(request, "contacts/contact_form.html", {"form": form, "contact": contact})


@login_required
@permission_required("contacts.change_contact", raise_exception=True)
@require_POST
def contact_bulk(request):
    form = BulkActionForm(request.POST)
    back = reverse("contacts:list") + "?" + _filter_query(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)
    data = form.cleaned_data
    action = data["action"]
    if action == "delete" and not request.user.has_perm("contacts.delete_contact"):
        raise PermissionDenied
    contacts = _filtered_contacts(_list_filters(request.POST))
    if data["scope"] == "selected":
        contacts = contacts.filter(pk__in=data["ids"])
    if action in CONFIRMED_ACTIONS and not data["confirm"]:
        context = {
            "action": action,
            "action_label": BULK_ACTIONS[action],
            "count": contacts.count(),
            "sample": list(contacts.values_list("email", flat=True)[:10]),
            "post": [
                (k, v)
                for k, values in request.POST.lists()
                for v in values
                if k not in ("csrfmiddlewaretoken", "confirm")
            ],
            "back": back,
        }
        return render(request, "contacts/contact_bulk_confirm.html", context)
    changed = contacts_bulk_apply(
        contacts=contacts, action=action, actor=request.user, group=data["target_group"]
    )
    messages.success(request, _bulk_done(action, changed, data["target_group"]))
    return redirect(back)


def _bulk_done(action: str, changed: int, group: Group | None) -> str:
    contacts = f"{changed:,} contact{'s' if changed != 1 else ''}"
    return {
        "add_to_group": f"{contacts} added to “{group}”.",
        "remove_from_group": f"{contacts} removed from “{group}”.",
        "unsubscribe": f"{contacts} unsubscribed.",
        "delete": f"{contacts} deleted.",
    }[action]


@login_required
@permission_required("contacts.export_contacts", raise_exception=True)
@require_GET
def contact_export(request):
    """The filtered list (a group, a segment, ...) as CSV or XLSX."""
    filters = _list_filters(request.GET)
    file_format = request.GET.get("format", exporting.CSV)
    if file_format not in exporting.FORMATS:
        file_format = exporting.CSV
    contacts = _filtered_contacts({**filters, "sort": "email"})
    name = _export_name(filters)
    audit_record(
        actor=request.user,
        action=Action.EXPORTED,
        target=Contact,
        details={"format": file_format, "of": name},
    )
    filename = f"{name}-{timezone.now():%Y-%m-%d}.{file_format}"
    if file_format == exporting.XLSX:
        return FileResponse(
            exporting.xlsx_file(contacts, title=name),
            as_attachment=True,
            filename=filename,
            content_type=exporting.FORMATS[file_format],
        )
    response = StreamingHttpResponse(
        exporting.csv_stream(contacts), content_type=exporting.FORMATS[file_format]
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _export_name(filters: dict) -> str:
    if filters["segment"]:
        return _slug(filters["segment"].name)
    if filters["group_id"]:
        group = Group.objects.filter(pk=filters["group_id"]).first()
        if group:
            return _slug(group.name)
    return "contacts"


def _slug(text: str) -> str:
    return slugify(text) or "contacts"


@login_required
@permission_required("contacts.view_group", raise_exception=True)
def group_list(request):
    context = {
        "groups": selectors.group_list(),
        "can_export": request.user.has_perm("contacts.export_contacts"),
    }
    return render(request, "contacts/group_list.html", context)


@login_required
@permission_required("contacts.view_group", raise_exception=True)
def group_detail(request, pk: int):
    group = get_object_or_404(selectors.group_list(), pk=pk)
    contacts = selectors.group_contacts(group=group)
    page = Paginator(contacts, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "group": group,
        "page": page,
        "can_export": request.user.has_perm("contacts.export_contacts"),
    }
    return render(request, "contacts/group_detail.html", context)


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


# --- Segments -----------------------------------------------------------------


@login_required
@permission_required("contacts.view_segment", raise_exception=True)
def segment_list(request):
    context = {
        "segments": Segment.objects.select_related("created_by"),
        "can_change": request.user.has_perm("contacts.change_segment"),
        "can_add": request.user.has_perm("contacts.add_segment"),
        "can_export": request.user.has_perm("contacts.export_contacts"),
    }
    segment_rows = [
        {"segment": s, "rules": [segments.rule_describe(r) for r in s.rules.get("rules", [])]}
        for s in context["segments"]
    ]
    context["rows"] = segment_rows
    return render(request, "contacts/segment_list.html", context)


@login_required
@permission_required("contacts.view_segment", raise_exception=True)
@require_GET
def segment_count_view(request, pk: int):
    """One segment's live count, loaded into the list by htmx."""
    segment = get_object_or_404(Segment, pk=pk)
    count = segments.segment_count(rules=segment.rules)
    return render(request, "contacts/_segment_count.html", {"segment": segment, "count": count})


@login_required
@permission_required("contacts.view_segment", raise_exception=True)
@require_GET
def segment_preview_count(request):
    """The builder's live count: ?rules=<JSON> -> {"count": n} or {"errors": [...]}."""
    try:
        rules = segments.segment_rules_clean(json.loads(request.GET.get("rules", "")))
    except ValueError:
        return JsonResponse({"errors": ["The rules are not valid JSON."]}, status=400)
    except ValidationError as problem:
        return JsonResponse({"errors": problem.messages}, status=400)
    contacts = segments.segment_contacts(rules=rules)
    return JsonResponse(
        {
            "count": contacts.count(),
            "total": Contact.objects.count(),
            "sample": list(contacts.order_by("email").values_list("email", flat=True)[:5]),
        }
    )


def _segment_form_page(request, form: SegmentForm, segment: Segment | None):
    context = {
        "form": form,
        "segment": segment,
        "schema": segments.builder_schema(),
        "count_url": reverse("contacts:segment_preview_count"),
    }
    return render(request, "contacts/segment_form.html", context)


def _segment_save(request, form: SegmentForm, segment: Segment | None):
    if segment is None:
        segment = Segment(created_by=request.user)
    segment.name = form.cleaned_data["name"]
    segment.description = form.cleaned_data["description"]
    segment.rules = form.cleaned_data["rules"]
    segment.save()
    audit_record(
        actor=request.user,
        action=Action.SEGMENT_SAVED,
        target=segment,
        details={"rules": len(segment.rules["rules"]), "match": segment.rules["match"]},
    )
    return segment


@login_required
@permission_required("contacts.add_segment", raise_exception=True)
def segment_add(request):
    form = SegmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        segment = _segment_save(request, form, None)
        messages.success(request, f"Segment “{segment.name}” saved.")
        return redirect(reverse("contacts:list") + f"?segment={segment.pk}")
    return _segment_form_page(request, form, None)


@login_required
@permission_required("contacts.change_segment", raise_exception=True)
def segment_edit(request, pk: int):
    segment = get_object_or_404(Segment, pk=pk)
    form = SegmentForm(request.POST or None, instance=segment)
    if request.method == "POST" and form.is_valid():
        _segment_save(request, form, segment)
        messages.success(request, f"Segment “{segment.name}” saved.")
        return redirect(reverse("contacts:list") + f"?segment={segment.pk}")
    return _segment_form_page(request, form, segment)


@login_required
@permission_required("contacts.delete_segment", raise_exception=True)
@require_POST
def segment_delete(request, pk: int):
    segment = get_object_or_404(Segment, pk=pk)
    audit_record(actor=request.user, action=Action.SEGMENT_DELETED, target=segment)
    segment.delete()
    messages.success(request, f"Segment “{segment.name}” deleted.")
    return redirect("contacts:segments")
