"""Staff pages for composing, previewing and sending campaigns."""

import json
from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRefresh

from campaigns import composing, personalisation, recommendations, selectors, services
from campaigns.audience import AudienceSummary, audience_summary
from campaigns.blocks import BLOCK_TYPES, PRODUCT_RULES, SOCIAL_NETWORKS, format_price
from campaigns.event_content import EVENT_FIELDS
from campaigns.forms import BrandForm, CampaignForm, SaveAsTemplateForm
from campaigns.models import Brand, Campaign, CampaignTemplate, Send
from campaigns.personalisation import TemplateProblem
from campaigns.plan_views import composer_context
from campaigns.rendering import PreviewUrls, compile_campaign, personalise
from campaigns.services import CampaignNotSendable, campaign_send
from contacts.audit import Action, audit_record
from contacts.models import Contact

PAGE_SIZE = 50
POLL_SECONDS = 3
# The preview is staff-written mail HTML shown inside our pages: no scripts,
# no forms, and it may not frame anything itself. Sandboxed even when opened
# on its own, outside the detail page's sandboxed iframe.
PREVIEW_CSP = (
    "default-src 'none'; script-src 'none'; img-src * data:; style-src 'unsafe-inline' *; "
    "font-src *; frame-ancestors 'self'; form-action 'none'; base-uri 'none'; "
    "sandbox allow-popups allow-popups-to-escape-sandbox"
)


def _get_campaign_for_user(pk: int) -> Campaign:
    # Every staff role may read every campaign; the decorators decide who writes.
    return get_object_or_404(Campaign.objects.select_related("coupon", "created_by"), pk=pk)


def _get_send_for_user(pk: int, send_pk: int) -> Send:
    return get_object_or_404(
        Send.objects.select_related("campaign", "created_by"), pk=send_pk, campaign_id=pk
    )


@login_required
@permission_required("campaigns.view_campaign", raise_exception=True)
def campaign_list(request):
    page = Paginator(selectors.campaign_list(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "campaigns/campaign_list.html", {"page": page})


@login_required
@permission_required("campaigns.add_campaign", raise_exception=True)
def campaign_create(request):
    template = _chosen_template(request)
    initial = Campaign()
    if template is not None:
        composing.campaign_apply_template(campaign=initial, template=template)
    form = CampaignForm(request.POST or None, instance=initial)
    if request.method == "POST" and form.is_valid():
        campaign = form.save(commit=False)
        campaign.created_by = request.user
        campaign.save()
        form.save_m2m()
        audit_record(actor=request.user, action=Action.CAMPAIGN_CREATED, target=campaign)
        messages.success(request, f"Campaign “{campaign.name}” created as a draft.")
        return redirect("campaigns:detail", pk=campaign.pk)
    context = {"form": form, "templates": composing.campaign_templates(), "template": template}
    return render(request, "campaigns/campaign_form.html", _composer_context(form, context))


def _chosen_template(request) -> CampaignTemplate | None:
    pk = request.GET.get("template", "")
    return CampaignTemplate.objects.filter(pk=pk).first() if pk.isdigit() else None


@login_required
@permission_required("campaigns.change_campaign", raise_exception=True)
def campaign_edit(request, pk: int):
    campaign = _get_campaign_for_user(pk)
    if not campaign.is_editable:
        messages.error(request, "This campaign has been sent and can no longer be changed.")
        return redirect("campaigns:detail", pk=campaign.pk)
    form = CampaignForm(request.POST or None, instance=campaign)
    if request.method == "POST" and form.is_valid():
        form.save()
        audit_record(
            actor=request.user,
            action=Action.CAMPAIGN_EDITED,
            target=campaign,
            details={"fields": form.changed_data},
        )
        messages.success(request, "Changes saved.")
        if hasattr(campaign, "automation_step"):
            return redirect("automations:detail", pk=campaign.automation_step.automation_id)
        return redirect("campaigns:detail", pk=campaign.pk)
    context = {"form": form, "campaign": campaign}
    return render(request, "campaigns/campaign_form.html", _composer_context(form, context))


def _posted_json(form: CampaignForm, name: str, default):
    if not form.is_bound:
        return default
    try:
        return json.loads(form.data.get(name) or "null") or default
    except ValueError:
        return default


def _composer_context(form: CampaignForm, context: dict) -> dict:
    """What the block editor needs besides the form, as JSON for composer.js."""
    instance = form.instance
    blocks = _posted_json(form, "content_blocks", None)
    if blocks is None and form.is_bound and form.data.get("body"):
        # A classic HTML body was posted: it comes back as a custom HTML block.
        instance.body = form.data["body"]
        blocks = composing.campaign_initial_blocks(instance)
    products = recommendations.products_available()[:200]
    composer = {
        "blocks": blocks or composing.campaign_initial_blocks(instance),
        "localeContent": _posted_json(form, "locale_content", instance.locale_content or {}),
        "locales": composing.LOCALE_NAMES,
        "blockTypes": {kind: label for kind, (label, _) in BLOCK_TYPES.items()},
        "blockDefaults": {kind: fields for kind, (_, fields) in BLOCK_TYPES.items()},
        "rules": PRODUCT_RULES,
        "social": SOCIAL_NETWORKS,
        "categories": recommendations.product_categories(),
        "products": [
            {
                "id": p.pk,
                "name": p.name,
                "price": format_price(p.price, p.currency),
                "image": p.image_url,
                "category": p.category,
                "stock": p.stock,
            }
            for p in products
        ],
        "fields": personalisation.merge_field_choices(composing.contact_attribute_names())
        + (_event_field_choices() if hasattr(instance, "automation_step") else []),
        "previewUrl": reverse("campaigns:preview_draft"),
    }
    problems = [*form.errors.get("content_blocks", []), *form.errors.get("body", [])]
    problems += form.errors.get("locale_content", [])
    return {**context, "composer": composer, "block_problems": problems}


def _event_field_choices() -> list[tuple[str, str]]:
    """An automation's mail may also show the event that started it."""
    return [(label, f"{{{{ {field} }}}}") for field, label in EVENT_FIELDS.items()]


# The fields that change what the mail says; the others may still be empty.
_CONTENT_FIELDS = {"subject", "preheader", "content_blocks", "locale_content", "text_body"}


@login_required
@permission_required("campaigns.add_campaign", raise_exception=True)
@require_POST
def campaign_preview_draft(request):
    """The mail as the composer has it now, unsaved: compiled and filled in for a
    sample contact of the chosen language. Nothing is saved."""
    form = CampaignForm(request.POST, instance=Campaign())
    form.is_valid()  # fills the instance with what is valid
    problems = [
        error.message
        for name, errors in form.errors.as_data().items()
        if name in _CONTENT_FIELDS
        for error in errors
        if error.code != "required"
    ]
    campaign = form.instance
    locale = request.POST.get("preview_locale", "") or campaign.locale
    if problems or not campaign.content_blocks:
        return JsonResponse({"problem": " ".join(problems) or "Add a block to see the mail."})
    contact = Contact(email="sample@example.com", locale=locale, time_zone="UTC")
    try:
        content = compile_campaign(campaign)
        values = selectors.preview_values(campaign, content, contact)
        mail = personalise(content, values, PreviewUrls())
    except TemplateProblem as problem:
        return JsonResponse({"problem": str(problem)})
    return JsonResponse({"subject": mail.subject, "html": mail.html, "text": mail.text})


@login_required
@permission_required("campaigns.add_campaign", raise_exception=True)
@require_POST
def campaign_duplicate_view(request, pk: int):
    campaign = _get_campaign_for_user(pk)
    copy = composing.campaign_duplicate(campaign=campaign, user=request.user)
    audit_record(
        actor=request.user,
        action=Action.CAMPAIGN_CREATED,
        target=copy,
        details={"duplicated_from": campaign.pk},
    )
    messages.success(request, f"“{copy.name}” is a new draft with the same content and audience.")
    return redirect("campaigns:edit", pk=copy.pk)


@login_required
@permission_required("campaigns.change_campaign", raise_exception=True)
@require_POST
def campaign_save_as_template_view(request, pk: int):
    campaign = _get_campaign_for_user(pk)
    form = SaveAsTemplateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Give the template a name.")
        return redirect("campaigns:detail", pk=campaign.pk)
    template = composing.campaign_save_as_template(
        campaign=campaign, name=form.cleaned_data["name"], user=request.user
    )
    messages.success(request, f"Saved as the template “{template.name}”.")
    return redirect("campaigns:detail", pk=campaign.pk)


_BRAND_SAMPLE = [
    {"type": "header", "tagline": ""},
    {"type": "heading", "text": "How your mails look", "level": 1, "align": "left"},
    {"type": "text", "html": '<p>Body text with <a href="https://example.com">a link</a>.</p>'},
    {"type": "button", "label": "The main button", "url": "https://example.com", "align": "center"},
    {"type": "footer", "text": ""},
]


@login_required
@permission_required("campaigns.change_campaign", raise_exception=True)
def brand_settings(request):
    brand = Brand.current()
    form = BrandForm(request.POST or None, instance=brand)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Brand saved: every mail now uses it.")
        return redirect("campaigns:brand")
    shown = Brand.current() if form.errors else form.instance
    sample = Campaign(
        subject="A sample mail", from_name=shown.name, content_blocks=_BRAND_SAMPLE, locale="en"
    )
    content = compile_campaign(sample, brand=shown)
    sample_html = personalise(content, {}, PreviewUrls()).html
    return render(request, "campaigns/brand.html", {"form": form, "sample_html": sample_html})


def _preview_choice(request) -> dict:
    """The contact a preview was asked for, from the query string."""
    contact_id = request.GET.get("contact", "")
    return {
        "contact": int(contact_id) if contact_id.isdigit() else None,
        "email": request.GET.get("email", "").strip(),
    }


def _preview_contact(campaign: Campaign, choice: dict):
    contact = selectors.campaign_preview_contact(
        campaign=campaign, contact_id=choice["contact"], email=choice["email"]
    )
    return contact or selectors.sample_contact()


@login_required
@permission_required("campaigns.view_campaign", raise_exception=True)
def campaign_detail(request, pk: int):
    campaign = _get_campaign_for_user(pk)
    if hasattr(campaign, "automation_step"):  # its page is the automation's
        return redirect("automations:detail", pk=campaign.automation_step.automation_id)
    choice = _preview_choice(request)
    contact = _preview_contact(campaign, choice)
    try:
        preview, problem = selectors.campaign_preview(campaign=campaign, contact=contact), ""
    except TemplateProblem as error:
        preview, problem = None, str(error)
    query = urlencode({key: value for key, value in choice.items() if value})
    groups = selectors.campaign_groups(campaign=campaign)
    segments = list(selectors.campaign_segments(campaign=campaign))
    summary = audience_summary(campaign=campaign)
    latest_send = selectors.campaign_latest_send(campaign=campaign)
    context = {
        "campaign": campaign,
        "groups": groups,
        "segments": segments,
        "excluded_groups": campaign.excluded_groups.all(),
        "excluded_segments": campaign.excluded_segments.all(),
        "products": campaign.products.all(),
        "summary": summary,
        "skipped_text": ", ".join(f"{n:,} {label.lower()}" for _, label, n in summary.skipped),
        "send_blocker": _send_blocker(campaign, [*groups, *segments], summary, problem),
        "latest_send": latest_send,
        "latest_progress": latest_send and selectors.send_progress(send=latest_send),
        "preview_contacts": selectors.campaign_preview_contacts(campaign=campaign),
        "preview_contact": contact,
        "preview_choice": choice,
        "preview_email_unknown": bool(choice["email"]) and contact.pk is None,
        "preview": preview,
        "preview_problem": problem,
        "preview_url": reverse("campaigns:preview", args=[campaign.pk])
        + (f"?{query}" if query else ""),
    }
    context.update(composer_context(campaign=campaign, summary=summary, contact=contact))
    if context["checklist"] and not context["checklist"].passed and not context["send_blocker"]:
        context["send_blocker"] = "Fix what the checklist marks first."
    return render(request, "campaigns/campaign_detail.html", context)


def _send_blocker(campaign: Campaign, audience, summary: AudienceSummary, problem: str) -> str:
    """Why the send button is disabled, or "" when it is not."""
    if not audience:
        return "Pick at least one group or segment first."
    if problem:
        return "Fix the content problem first."
    if not summary.total:
        return "The chosen groups and segments have no contacts yet."
    if not summary.recipients:
        return f"Nobody can get this mail: all {summary.total} contacts would be skipped."
    if summary.free_codes is not None and summary.code_shortfall >= summary.recipients:
        return f"The coupon “{campaign.coupon.name}” has no codes left, so nobody would get this."
    return ""


@login_required
@permission_required("campaigns.view_campaign", raise_exception=True)
def campaign_preview(request, pk: int):
    """The personalised mail itself, shown in the detail page's iframe."""
    campaign = _get_campaign_for_user(pk)
    contact = _preview_contact(campaign, _preview_choice(request))
    try:
        document = selectors.campaign_preview(campaign=campaign, contact=contact).html
        status = 200
    except TemplateProblem as problem:
        document = render_to_string("campaigns/preview_problem.html", {"problem": problem})
        status = 422
    response = HttpResponse(document, status=status)
    response["Content-Security-Policy"] = PREVIEW_CSP
    response["X-Frame-Options"] = "SAMEORIGIN"  # the detail page frames it
    return response


@login_required
@permission_required("campaigns.send_campaign", raise_exception=True)
@require_POST
def campaign_send_view(request, pk: int):
    campaign = _get_campaign_for_user(pk)
    try:
        campaign_send(campaign=campaign, user=request.user)
    except (TemplateProblem, CampaignNotSendable) as problem:
        messages.error(request, f"Not sent: {problem}")
        return redirect("campaigns:detail", pk=campaign.pk)
    messages.success(request, f"“{campaign.name}” is on its way.")
    return redirect("campaigns:sending", pk=campaign.pk)


# --- Watching and steering a send ------------------------------------------------


def _send_live_context(send: Send) -> dict:
    progress = selectors.send_progress(send=send)
    return {
        "send": send,
        "progress": progress,
        "is_active": selectors.send_is_active(send=send, progress=progress),
        "poll_seconds": POLL_SECONDS,
    }


@login_required
@permission_required("campaigns.view_campaign", raise_exception=True)
def send_page(request, pk: int):
    """The latest send of a campaign: progress, failures, and the controls."""
    campaign = _get_campaign_for_user(pk)
    send = selectors.campaign_latest_send(campaign=campaign)
    if send is None:
        return render(request, "campaigns/send_page.html", {"campaign": campaign})
    context = {
        "campaign": campaign,
        **_send_live_context(send),
        "failures": selectors.send_failures(send=send),
        "skip_reasons": selectors.send_skip_reasons(send=send),
        "in_doubt_emails": selectors.send_in_doubt_emails(send=send),
    }
    return render(request, "campaigns/send_page.html", context)


@login_required
@permission_required("campaigns.view_campaign", raise_exception=True)
def send_progress_view(request, pk: int, send_pk: int):
    """The live part of the send page, polled while the send runs."""
    send = _get_send_for_user(pk, send_pk)
    context = {"campaign": send.campaign, **_send_live_context(send)}
    shown = (request.GET.get("status"), request.GET.get("in_doubt"))
    if request.htmx and shown != (send.status, str(context["progress"].in_doubt)):
        # The status or the mails in doubt changed: reload once so the
        # buttons, reasons and the in-doubt list match.
        return HttpResponseClientRefresh()
    return render(request, "campaigns/_send_progress.html", context)


def _send_action(request, pk: int, send_pk: int, action: Callable, done: str, not_done: str):
    send = _get_send_for_user(pk, send_pk)
    result = action(send=send, user=request.user)
    if result:
        mails = f"{result} mail{'s' if result != 1 else ''}"  # counted only by the resend
        messages.success(request, done.format(mails=mails))
    else:
        messages.info(request, not_done.format(status=send.get_status_display().lower()))
    return redirect("campaigns:sending", pk=pk)


@login_required
@permission_required("campaigns.send_campaign", raise_exception=True)
@require_POST
def send_pause_view(request, pk: int, send_pk: int):
    return _send_action(
        request, pk, send_pk, services.send_pause,
        "Paused. Mails already with the mail server still go out; the rest wait for you.",
        "Nothing to pause: the send is {status}.",
    )  # fmt: skip


@login_required
@permission_required("campaigns.send_campaign", raise_exception=True)
@require_POST
def send_resume_view(request, pk: int, send_pk: int):
    return _send_action(
        request, pk, send_pk, services.send_resume,
        "Resumed. Sending picks up where it stopped; nobody gets the mail twice.",
        "Nothing to resume: the send is {status}.",
    )  # fmt: skip


@login_required
@permission_required("campaigns.send_campaign", raise_exception=True)
@require_POST
def send_cancel_view(request, pk: int, send_pk: int):
    return _send_action(
        request, pk, send_pk, services.send_cancel,
        "Cancelled. Nothing more goes out; the mails not yet sent are marked skipped.",
        "Nothing to cancel: the send is {status}.",
    )  # fmt: skip


@login_required
@permission_required("campaigns.send_campaign", raise_exception=True)
@require_POST
def send_resend_in_doubt_view(request, pk: int, send_pk: int):
    send = _get_send_for_user(pk, send_pk)
    if send.status == Send.Status.CANCELLED:
        # The ledger would queue them again, but a cancelled send never sends.
        messages.error(request, "This send was cancelled, so nothing can be sent again.")
        return redirect("campaigns:sending", pk=pk)
    return _send_action(
        request, pk, send_pk, services.send_resend_in_doubt,
        "Sending the {mails} in doubt again.",
        "No mails are in doubt any more.",
    )  # fmt: skip
