from datetime import date

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from contacts.models import AuditEntry
from marketing_site.roles import ADMIN, ROLES


def team_members() -> list[dict]:
    """Everyone with an account, the active first, with their role and status."""
    users = get_user_model().objects.prefetch_related("groups").order_by("-is_active", "username")
    rows = []
    for user in users:
        groups = {group.name for group in user.groups.all()}
        role = ADMIN if user.is_superuser else next((r for r in ROLES if r in groups), None)
        if not user.is_active:
            status = "deactivated"
        elif not user.has_usable_password() and user.last_login is None:
            status = "invited"
        else:
            status = "active"
        rows.append({"user": user, "role": role, "status": status})
    return rows


def audit_actor_names() -> list[str]:
    names = AuditEntry.objects.order_by("actor_name").values_list("actor_name", flat=True)
    return list(names.distinct())


def audit_entries(
    *,
    actor: str = "",
    action: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet:
    entries = AuditEntry.objects.all()
    if actor:
        entries = entries.filter(actor_name=actor)
    if action:
        entries = entries.filter(action=action)
    if date_from:
        entries = entries.filter(created_at__date__gte=date_from)
    if date_to:
        entries = entries.filter(created_at__date__lte=date_to)
    return entries
