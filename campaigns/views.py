"""Staff pages for composing, previewing and sending campaigns."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from campaigns import selectors
from campaigns.forms import CampaignForm
from campaigns.models import Campaign
from campaigns.personalisation import TemplateProblem
from campaigns.sending import CampaignNotSendable, campaign_send
from marketing_site.roles import MARKETER, VIEWER, role_required

PAGE_SIZE = 50
# The preview is staff-written mail HTML shown inside our pages: no scripts,
# no forms, and it may not frame anything itself.
PREVIEW_CSP = (
    "default-src 'none'; img-src * data:; style-src 'unsafe-inline' *; font-src *; "
    "frame-ancestors 'self'; form-action 'none'"
)


def _get_campaign_for_user(pk: int) -> Campaign:
    # Every staff role may read every campaign; the decorators decide who writes.
    return get_object_or_404(Campaign.objects.select_related("coupon", "created_by"), pk=pk)


@role_required(VIEWER)
def campaign_list(request):
    page = Paginator(selectors.campaign_list(), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "campaigns/campaign_list.html", {"page": page})


@role_required(MARKETER)
def campaign_create(request):
    form = CampaignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        campaign = form.save(commit=False)
        campaign.created_by = request.user
        campaign.save()
        form.save_m2m()
        messages.success(request, f"Campaign “{campaign.name}” created as a draft.")
        return redirect("campaigns:detail", pk=campaign.pk)
    return render(request, "campaigns/campaign_form.html", {"form": form})


@role_required(MARKETER)
def campaign_edit(request, pk: int):
    campaign = _get_campaign_for_user(pk)
    if not campaign.is_editable:
        messages.error(request, "This campaign has been sent and can no longer be changed.")
        return redirect("campaigns:detail", pk=campaign.pk)
    form = CampaignForm(request.POST or None, instance=campaign)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Changes saved.")
        return redirect("campaigns:detail", pk=campaign.pk)
    return render(request, "campaigns/campaign_form.html", {"form": form, "campaign": campaign})


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


@role_required(VIEWER)
def campaign_detail(request, pk: int):
    campaign = _get_campaign_for_user(pk)
    choice = _preview_choice(request)
    contact = _preview_contact(campaign, choice)
    try:
        preview, problem = selectors.campaign_preview(campaign=campaign, contact=contact), ""
    except TemplateProblem as error:
        preview, problem = None, str(error)
    query = urlencode({key: value for key, value in choice.items() if value})
    context = {
        "campaign": campaign,
        "groups": selectors.campaign_groups(campaign=campaign),
        "products": campaign.products.all(),
        "audience_size": selectors.campaign_audience_size(campaign=campaign),
        "preview_contacts": selectors.campaign_preview_contacts(campaign=campaign),
        "preview_contact": contact,
        "preview_choice": choice,
        "preview_email_unknown": bool(choice["email"]) and contact.pk is None,
        "preview": preview,
        "preview_problem": problem,
        "preview_url": reverse("campaigns:preview", args=[campaign.pk])
        + (f"?{query}" if query else ""),
    }
    return render(request, "campaigns/campaign_detail.html", context)


@role_required(VIEWER)
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
    return response


@role_required(MARKETER)
@require_POST
def campaign_send_view(request, pk: int):
    campaign = _get_campaign_for_user(pk)
    try:
        campaign_send(campaign=campaign, user=request.user)
    except (TemplateProblem, CampaignNotSendable) as problem:
        messages.error(request, f"Not sent: {problem}")
        return redirect("campaigns:detail", pk=campaign.pk)
    messages.success(request, f"“{campaign.name}” is on its way.")
    return redirect("reports:campaign", pk=campaign.pk)
