"""Staff roles: admin > marketer > viewer, kept as auth groups.

A viewer reads everything, a marketer also composes and sends, an admin also
manages users and lists in the Django admin. Superusers are admins.
"""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied

ADMIN, MARKETER, VIEWER = "admin", "marketer", "viewer"
ROLES = [ADMIN, MARKETER, VIEWER]  # strongest first
_RANK = {role: len(ROLES) - i for i, role in enumerate(ROLES)}


def user_role(user) -> str | None:
    if not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return ADMIN
    cached = getattr(user, "_marketing_role", False)
    if cached is not False:
        return cached
    names = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
    role = next((r for r in ROLES if r in names), None)
    user._marketing_role = role
    return role


def has_role(user, role: str) -> bool:
    current = user_role(user)
    return current is not None and _RANK[current] >= _RANK[role]


def role_assign(user, role: str) -> None:
    """Give a user exactly one role. Admins also get into the Django admin."""
    if role not in ROLES:
        raise ValueError(f"Unknown role {role!r}")
    user.groups.remove(*Group.objects.filter(name__in=ROLES))
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    user.is_staff = role == ADMIN or user.is_superuser
    user.save(update_fields=["is_staff"])
    user._marketing_role = role


def role_required(role: str):
    """Login first, then the role (or a stronger one), else 403."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(request, *args, **kwargs):
            if not has_role(request.user, role):
                raise PermissionDenied(f"This page needs the {role} role.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def role_context(request) -> dict:
    user = getattr(request, "user", None)
    if user is None:
        return {}
    return {
        "user_role": user_role(user),
        "can_compose": has_role(user, MARKETER),
        "can_administer": has_role(user, ADMIN),
    }
