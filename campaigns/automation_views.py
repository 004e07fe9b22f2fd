"""Staff pages of automations: the list, the recipes, the builder."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.db import transaction
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from campaigns import automations, recipes
from campaigns.automation_forms import AutomationForm, StepDelayForm, delay_parts
from campaigns.models import Automation, AutomationStep, Brand, Campaign, Send
from campaigns.personalisation import TemplateProblem
from campaigns.sending import CampaignNotSendable
from campaigns.starters import _footer, _header, _heading
from campaigns.starters import _text as _text_block


def delay_text(minutes: int) -> str:
    if not minutes:
        return "Right away"
    amount, unit = delay_parts(minutes)
    return f"{amount} {unit[:-1] if amount == 1 else unit} later"


@login_required
@permission_required("campaigns.view_automation", raise_exception=True)
def automation_list(request):
    items = list(Automation.objects.annotate(step_count=Count("steps")).order_by("name"))
    stats = automations.automation_stats(items)
    rows = [(a, stats[a.pk]) for a in items]
    used = {a.recipe for a in items if a.recipe}
    suggestions = [r for r in recipes.RECIPES if r["slug"] not in used][:4]
    return render(
        request,
        "campaigns/automations/list.html",
        {"rows": rows, "suggestions": suggestions, "recipe_count": len(recipes.RECIPES)},
    )


@login_required
@permission_required("campaigns.view_automation", raise_exception=True)
def recipe_gallery(request):
    if request.method == "POST":
        if not request.user.has_perm("campaigns.add_automation"):
            return render(request, "403.html", status=403)
        slug = request.POST.get("recipe", "")
        if slug not in recipes.RECIPES_BY_SLUG:
            messages.error(request, "That recipe does not exist.")
            return redirect("automations:recipes")
        live = request.user.has_perm("campaigns.run_automation")
        automation = recipes.recipe_create(slug=slug, user=request.user, activate=live)
        if live:
            messages.success(request, f"“{automation.name}” is live. Edit its mails any time.")
        else:
            messages.success(request, f"“{automation.name}” is ready; an admin turns it on.")
        return redirect("automations:detail", pk=automation.pk)
    used = dict(Automation.objects.exclude(recipe="").values_list("recipe", "pk").order_by("-pk"))
    cards = [
        {
            **recipe,
            "trigger_label": Automation.Trigger(recipe["trigger"]).label,
            "kind_label": Campaign.Kind(recipe["kind"]).label,
            "mail_count": len(recipe["mails"]),
            "delays": [delay_text(m["delay_minutes"]) for m in recipe["mails"]],
            "existing": used.get(recipe["slug"]),
        }
        for recipe in recipes.RECIPES
    ]
    return render(request, "campaigns/automations/recipes.html", {"cards": cards})


def _first_mail(automation: Automation, position: int) -> Campaign:
    """A blank mail for a new step, to finish in the composer."""
    brand = Brand.current()
    return Campaign.objects.create(
        name=f"{automation.name}, mail {position}",
        kind=automation.kind,
        subject=f"A mail from {brand.name}",
        from_name=brand.name,
        from_email=settings.DEFAULT_FROM_EMAIL,
        content_blocks=[
            _header(),
            _heading('Hello {{ contact.first_name|default:"there" }},'),
            _text_block("<p>Write your message here.</p>"),
            _footer(),
        ],
    )


@login_required
@permission_required("campaigns.add_automation", raise_exception=True)
def automation_create(request):
    form = AutomationForm(request.POST or None, initial={"trigger": Automation.Trigger.ORDER_PAID})
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            automation = form.save(commit=False)
            automation.created_by = request.user
            automation.save()
            AutomationStep.objects.create(
                automation=automation, position=1, campaign=_first_mail(automation, 1)
            )
        messages.success(request, "Automation made. Write its mail, then turn it on.")
        return redirect("automations:detail", pk=automation.pk)
    return render(request, "campaigns/automations/form.html", {"form": form})


def _steps(automation: Automation) -> list[dict]:
    stats = automations.step_stats([automation.pk])
    out = []
    steps = automation.steps.select_related("campaign").annotate(sends=Count("campaign__sends"))
    for step in steps:
        amount, unit = delay_parts(step.delay_minutes)
        out.append(
            {
                "step": step,
                "stats": stats.get(step.pk) or automations.StepStats(),
                "delay": delay_text(step.delay_minutes),
                "amount": amount,
                "unit": unit,
                "deletable": step.sends == 0,
            }
        )
    return out


@login_required
@permission_required("campaigns.view_automation", raise_exception=True)
def automation_detail(request, pk: int):
    automation = get_object_or_404(Automation.objects.select_related("segment"), pk=pk)
    steps = _steps(automation)
    total = automations.StepStats()
    for item in steps:
        total.add(item["stats"])
    form = AutomationForm(instance=automation)
    context = {
        "automation": automation,
        "steps": steps,
        "total": total,
        "form": form,
        "exit_labels": [Automation.Exit(e).label for e in automation.exit_on or []],
        "revenue_per_mail": (total.revenue / total.sent) if total.sent else None,
    }
    return render(request, "campaigns/automations/detail.html", context)


@login_required
@permission_required("campaigns.change_automation", raise_exception=True)
@require_POST
def automation_edit(request, pk: int):
    automation = get_object_or_404(Automation, pk=pk)
    form = AutomationForm(request.POST, instance=automation)
    if form.is_valid():
        form.save()
        # The mails follow the automation's kind (their lane and their rules).
        Campaign.objects.filter(automation_step__automation=automation).update(kind=automation.kind)
        messages.success(request, "Settings saved.")
        return redirect("automations:detail", pk=automation.pk)
    steps = _steps(automation)
    context = {"automation": automation, "steps": steps, "total": automations.StepStats(),
               "form": form, "open_settings": True}  # fmt: skip
    return render(request, "campaigns/automations/detail.html", context, status=400)


@login_required
@permission_required("campaigns.run_automation", raise_exception=True)
@require_POST
def automation_turn(request, pk: int):
    automation = get_object_or_404(Automation, pk=pk)
    if request.POST.get("on") == "1":
        try:
            automations.automation_activate(automation=automation)
        except (ValueError, TemplateProblem, CampaignNotSendable) as problem:
            messages.error(request, f"It cannot go live yet: {problem}")
        else:
            messages.success(request, "Live: from now on its trigger starts it.")
    else:
        automations.automation_pause(automation=automation)
        messages.success(request, "Paused. Contacts already in it wait until you turn it on.")
    return redirect("automations:detail", pk=automation.pk)


@login_required
@permission_required("campaigns.change_automation", raise_exception=True)
@require_POST
def step_add(request, pk: int):
    automation = get_object_or_404(Automation, pk=pk)
    form = StepDelayForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say how long to wait before the new mail.")
        return redirect("automations:detail", pk=automation.pk)
    with transaction.atomic():
        last = automation.steps.order_by("-position").first()
        position = (last.position if last else 0) + 1
        AutomationStep.objects.create(
            automation=automation,
            position=position,
            delay_minutes=form.minutes,
            campaign=_first_mail(automation, position),
        )
    messages.success(request, f"Mail {position} added: write it in the composer.")
    return redirect("automations:detail", pk=automation.pk)


@login_required
@permission_required("campaigns.change_automation", raise_exception=True)
@require_POST
def step_delay(request, pk: int, step_pk: int):
    step = get_object_or_404(AutomationStep, pk=step_pk, automation_id=pk)
    form = StepDelayForm(request.POST)
    if form.is_valid():
        step.delay_minutes = form.minutes
        step.save(update_fields=["delay_minutes"])
        messages.success(request, f"Mail {step.position}: {delay_text(step.delay_minutes)}.")
    else:
        messages.error(request, "The wait must be a whole number of minutes, hours or days.")
    return redirect("automations:detail", pk=pk)


@login_required
@permission_required("campaigns.change_automation", raise_exception=True)
@require_POST
def step_delete(request, pk: int, step_pk: int):
    step = get_object_or_404(AutomationStep, pk=step_pk, automation_id=pk)
    if Send.objects.filter(campaign_id=step.campaign_id).exists():
        messages.error(request, "This mail has gone out: its results stay. Pause instead.")
    elif step.automation.steps.count() == 1:
        messages.error(request, "An automation needs at least one mail.")
    else:
        step.campaign.delete()  # and the step with it
        messages.success(request, "Mail removed.")
    return redirect("automations:detail", pk=pk)
