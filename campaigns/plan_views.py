"""Staff pages of the composer's sending side: the checklist, test sends,
schedules, A/B tests and the holdout."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from campaigns import abtest, scheduling
from campaigns.audience import AudienceSummary
from campaigns.checklist import campaign_checklist
from campaigns.models import Campaign, SendPlan
from campaigns.personalisation import TemplateProblem
from campaigns.plan_forms import (
    ABTestForm,
    HoldoutForm,
    ScheduleForm,
    TestSendForm,
    VariantFormSet,
)
from campaigns.testsend import TestSendProblem, campaign_test_send, test_addresses_parse
from contacts.audit import Action, audit_record
from contacts.models import Contact


def _get_campaign_for_user(pk: int) -> Campaign:
    # Every staff role may read every campaign; the decorators decide who writes.
    return get_object_or_404(Campaign.objects.select_related("coupon", "plan", "ab_test"), pk=pk)


def composer_context(*, campaign: Campaign, summary: AudienceSummary, contact: Contact) -> dict:
    """What the campaign page shows of the checklist, schedule, test and results."""
    testing = abtest.campaign_testing_summary(campaign=campaign)
    plan = testing["plan"]
    checklist = (
        campaign_checklist(campaign=campaign, summary=summary) if campaign.is_editable else None
    )
    return {
        **testing,
        "checklist": checklist,
        "plan_text": scheduling.plan_describe(plan),
        "plan_waiting": plan is not None and plan.status in scheduling.WAITING,
        "schedule_form": ScheduleForm(
            initial={"time_zone": plan.time_zone if plan else "UTC", "mode": "at"}
        ),
        "test_send_form": TestSendForm(),
        "test_send_contact": contact,
    }


@login_required
@permission_required("campaigns.change_campaign", raise_exception=True)
@require_POST
def campaign_test_send_view(request, pk: int):
    campaign = _get_campaign_for_user(pk)
    form = TestSendForm(request.POST)
    contact_id = request.POST.get("contact", "")
    contact = Contact.objects.filter(pk=int(contact_id)).first() if contact_id.isdigit() else None
    contact = contact or Contact(email="sample@example.com")
    variant = campaign.variants.filter(label=request.POST.get("variant", "")).first()
    try:
        if not form.is_valid():
            raise TestSendProblem("Give up to 5 addresses.")
        addresses = test_addresses_parse(form.cleaned_data["addresses"])
        sent = campaign_test_send(
            campaign=campaign,
            addresses=addresses,
            contact=contact,
            variant=variant,
            user=request.user,
        )
    except (TestSendProblem, TemplateProblem) as problem:
        messages.error(request, f"Test not sent: {problem}")
    else:
        shown = ", ".join(addresses)
        messages.success(
            request,
            f"Test sent to {shown} ({sent} mail{'s' if sent != 1 else ''}), as {contact.email}.",
        )
    return redirect("campaigns:detail", pk=campaign.pk)


@login_required
@permission_required("campaigns.send_campaign", raise_exception=True)
@require_POST
def campaign_schedule_view(request, pk: int):
    campaign = _get_campaign_for_user(pk)
    form = ScheduleForm(request.POST)
    if not form.is_valid():
        problems = "; ".join(
            f"{form.fields[name].label}: {' '.join(errors)}" for name, errors in form.errors.items()
        )
        messages.error(request, f"Not scheduled: {problems}")
        return redirect("campaigns:detail", pk=campaign.pk)
    given = scheduling.ScheduleInput(**form.cleaned_data)
    try:
        plan = scheduling.campaign_schedule(campaign=campaign, given=given, user=request.user)
    except scheduling.CampaignNotSendable as problem:
        messages.error(request, f"Not scheduled: {problem}")
    except TemplateProblem as problem:
        messages.error(request, f"Not scheduled: {problem}")
    else:
        messages.success(request, f"Scheduled: {scheduling.plan_describe(plan)}.")
    return redirect("campaigns:detail", pk=campaign.pk)


def _plan_action(request, pk: int, action, done: str, not_done: str):
    campaign = _get_campaign_for_user(pk)
    if action(campaign=campaign, user=request.user):
        messages.success(request, done)
    else:
        messages.info(request, not_done)
    return redirect("campaigns:detail", pk=campaign.pk)


@login_required
@permission_required("campaigns.send_campaign", raise_exception=True)
@require_POST
def plan_pause_view(request, pk: int):
    return _plan_action(
        request, pk, scheduling.plan_pause,
        "Schedule paused: nothing goes until you resume it.", "The schedule was not running.",
    )  # fmt: skip


@login_required
@permission_required("campaigns.send_campaign", raise_exception=True)
@require_POST
def plan_resume_view(request, pk: int):
    return _plan_action(
        request, pk, scheduling.plan_resume,
        "Schedule resumed. A time that passed meanwhile sends at once, one time.",
        "The schedule was not paused.",
    )  # fmt: skip


@login_required
@permission_required("campaigns.send_campaign", raise_exception=True)
@require_POST
def plan_cancel_view(request, pk: int):
    return _plan_action(
        request, pk, scheduling.plan_cancel,
        "Schedule cancelled; the campaign is a draft again.", "There was no schedule to cancel.",
    )  # fmt: skip


# --- A/B test and holdout set-up --------------------------------------------------


def _variant_initial(campaign: Campaign) -> list[dict]:
    variants = list(campaign.variants.order_by("label"))
    if variants:
        return [
            {
                name: getattr(v, name)
                for name in ("subject", "from_name", "body", "send_delay_minutes")
            }
            for v in variants
        ]
    return [{"send_delay_minutes": 0}, {"subject": "", "send_delay_minutes": 0}]


@login_required
@permission_required("campaigns.view_campaign", raise_exception=True)
def campaign_testing(request, pk: int):
    """Set up the A/B test and the holdout of a campaign."""
    campaign = _get_campaign_for_user(pk)
    test = abtest.ab_test_of(campaign)
    plan = SendPlan.objects.filter(campaign=campaign).first()
    ab_form = ABTestForm(
        initial={
            k: getattr(test, k) for k in ("test_percent", "metric", "wait_hours", "confidence")
        }
        if test
        else None
    )
    variant_forms = VariantFormSet(initial=_variant_initial(campaign), prefix="variant")
    holdout_form = HoldoutForm(initial={"holdout_percent": plan.holdout_percent if plan else 0})
    if request.method == "POST":
        if not request.user.has_perm("campaigns.change_campaign"):
            raise PermissionDenied
        if not campaign.is_editable:
            messages.error(request, "This campaign can no longer be changed.")
            return redirect("campaigns:detail", pk=campaign.pk)
        if "save_holdout" in request.POST:
            holdout_form = HoldoutForm(request.POST)
            if holdout_form.is_valid():
                scheduling.plan_set_holdout(
                    campaign=campaign, percent=holdout_form.cleaned_data["holdout_percent"]
                )
                _audit(request, campaign, holdout=holdout_form.cleaned_data["holdout_percent"])
                messages.success(request, "Holdout saved.")
                return redirect("campaigns:detail", pk=campaign.pk)
        elif "remove_ab" in request.POST:
            abtest.ab_test_remove(campaign=campaign)
            _audit(request, campaign, ab_test="removed")
            messages.success(request, "A/B test removed: everyone gets the campaign as composed.")
            return redirect("campaigns:detail", pk=campaign.pk)
        elif "add_variant" in request.POST:
            ab_form = ABTestForm(request.POST)
            variant_forms = _with_one_more(request.POST)
        else:
            ab_form = ABTestForm(request.POST)
            variant_forms = VariantFormSet(request.POST, prefix="variant")
            valid = ab_form.is_valid() and variant_forms.is_valid()
            if valid and _save_ab_test(request, campaign, ab_form, variant_forms):
                return redirect("campaigns:detail", pk=campaign.pk)
    context = {
        "campaign": campaign,
        "ab_test": test,
        "ab_form": ab_form,
        "variant_forms": variant_forms,
        "holdout_form": holdout_form,
        "labels": abtest.LABELS,
        "plan": plan,
    }
    return render(request, "campaigns/testing.html", context)


def _with_one_more(data) -> VariantFormSet:
    """The variants typed so far, unchecked, and an empty one more."""
    typed = VariantFormSet(data, prefix="variant")
    typed.is_valid()
    initial = [
        {k: v for k, v in (form.cleaned_data or {}).items() if k != "label"} for form in typed.forms
    ]
    initial.append({"send_delay_minutes": 0})
    return VariantFormSet(initial=initial[: abtest.MAX_VARIANTS], prefix="variant")


def _save_ab_test(request, campaign, ab_form, variant_forms) -> bool:
    variants = [
        abtest.VariantInput(**{k: v for k, v in form.cleaned_data.items() if k != "label"})
        for form in variant_forms.forms
    ]
    if all(not (v.subject or v.from_name or v.body or v.send_delay_minutes) for v in variants[1:]):
        messages.error(
            request, "Variant B is the same as A: change its subject, sender, content or send time."
        )
        return False
    if SendPlan.objects.filter(
        campaign=campaign, mode=SendPlan.Mode.WEEKLY, status__in=scheduling.WAITING
    ).exists():
        messages.error(
            request, "A weekly campaign cannot be an A/B test; cancel the schedule first."
        )
        return False
    try:
        abtest.ab_test_configure(campaign=campaign, variants=variants, **ab_form.cleaned_data)
    except abtest.ABTestProblem as problem:
        messages.error(request, str(problem))
        return False
    _audit(request, campaign, ab_test=f"{len(variants)} variants")
    messages.success(request, f"A/B test saved with {len(variants)} variants.")
    return True


def _audit(request, campaign: Campaign, **details) -> None:
    audit_record(
        actor=request.user, action=Action.CAMPAIGN_EDITED, target=campaign, details=details
    )
