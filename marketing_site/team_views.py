"""The Team page (who has an account, with which role) and the Audit log, for admins."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from marketing_site import selectors, services
from marketing_site.forms import AuditFilterForm, InviteForm, RoleForm

PAGE_SIZE = 50
MANAGE_TEAM = "auth.change_user"


def _get_member_for_user(pk: int):
    return get_object_or_404(get_user_model(), pk=pk)


def _team_page(request, invite_form: InviteForm, status: int = 200):
    context = {"members": selectors.team_members(), "invite_form": invite_form}
    return render(request, "marketing_site/team.html", context, status=status)


@login_required
@permission_required(MANAGE_TEAM, raise_exception=True)
def team(request):
    return _team_page(request, InviteForm())


@login_required
@permission_required(MANAGE_TEAM, raise_exception=True)
@require_POST
def team_invite(request):
    form = InviteForm(request.POST)
    if not form.is_valid():
        return _team_page(request, form, status=400)
    user = services.user_invite(**form.cleaned_data, invited_by=request.user)
    messages.success(request, f"Invitation sent to {user.email}.")
    return redirect("team")


def _team_change(request, pk: int, change, done: str):
    member = _get_member_for_user(pk)
    try:
        change(member)
    except services.TeamChangeRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(request, done.format(name=member.get_username()))
    return redirect("team")


@login_required
@permission_required(MANAGE_TEAM, raise_exception=True)
@require_POST
def team_set_role(request, pk: int):
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose admin, marketer or viewer.")
        return redirect("team")
    role = form.cleaned_data["role"]
    return _team_change(
        request, pk,
        lambda member: services.user_set_role(user=member, role=role, actor=request.user),
        f"{{name}} is now {role}.",
    )  # fmt: skip


@login_required
@permission_required(MANAGE_TEAM, raise_exception=True)
@require_POST
def team_deactivate(request, pk: int):
    return _team_change(
        request, pk,
        lambda member: services.user_deactivate(user=member, actor=request.user),
        "{name} can no longer sign in.",
    )  # fmt: skip


@login_required
@permission_required(MANAGE_TEAM, raise_exception=True)
@require_POST
def team_reactivate(request, pk: int):
    return _team_change(
        request, pk,
        lambda member: services.user_reactivate(user=member, actor=request.user),
        "{name} can sign in again.",
    )  # fmt: skip


@login_required
@permission_required(MANAGE_TEAM, raise_exception=True)
@require_POST
def team_invite_again(request, pk: int):
    return _team_change(
        request, pk,
        lambda member: services.user_invite_again(user=member, invited_by=request.user),
        "A new invitation is on its way to {name}.",
    )  # fmt: skip


@login_required
@permission_required("contacts.view_auditentry", raise_exception=True)
def audit_log(request):
    form = AuditFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    entries = selectors.audit_entries(**{k: v for k, v in filters.items() if v})
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "actor_names": selectors.audit_actor_names(),
        "is_filtered": any(filters.values()),
        "filter_query": query.urlencode(),
    }
    return render(request, "marketing_site/audit_log.html", context)
