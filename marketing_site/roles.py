"""Staff roles: admin > marketer > viewer, kept as auth groups of permissions.

Each app declares its permissions (default model permissions, plus
`Meta.permissions` such as campaigns.send_campaign) and its views check them;
no app knows about roles. This module says, in one place, which permissions
each role's group holds. Superusers hold every permission and count as admins.

Changed ROLE_PERMISSIONS? Add a migration that runs `role_groups_sync` again
(see migrations/0002_role_permissions.py), and update the table in README.md.
"""

from django.apps import apps as global_apps
from django.contrib.auth.models import Group
from django.db.models import Q

ADMIN, MARKETER, VIEWER = "admin", "marketer", "viewer"
ROLES = [ADMIN, MARKETER, VIEWER]  # strongest first

_VIEWER = [
    "contacts.view_contact",
    "contacts.view_group",
    "campaigns.view_campaign",
    "tracking.view_report",
    # Consent: the suppression list is read by everyone, added to by marketers.
    "contacts.view_suppression",
    "contacts.view_domainsuppression",
    "contacts.view_segment",
    "campaigns.view_automation",
]
_MARKETER = [
    *_VIEWER,
    "campaigns.add_campaign",
    "campaigns.change_campaign",
    "campaigns.send_campaign",
    "contacts.add_suppression",
    "contacts.add_domainsuppression",
    # Segments are how marketers choose an audience.
    "contacts.add_segment",
    "contacts.change_segment",
    "contacts.delete_segment",
    "contacts.import_contacts",
    # Automations: marketers build them and switch them on and off.
    "campaigns.add_automation",
    "campaigns.change_automation",
    "campaigns.run_automation",
]
# "app.*" is every permission of that app. An admin also uses the Django
# admin (lists, imports, products, coupons, the frequency policy, periodic
# tasks), manages the team (auth.change_user), reads the audit trail
# (contacts.view_auditentry) and erases contacts (contacts.erase_contact).
_ADMIN = [*_MARKETER, "contacts.*", "campaigns.*", "tracking.*", "auth.*", "django_celery_beat.*"]

ROLE_PERMISSIONS: dict[str, list[str]] = {ADMIN: _ADMIN, MARKETER: _MARKETER, VIEWER: _VIEWER}


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


def role_assign(user, role: str) -> None:
    """Give a user exactly one role. Admins also get into the Django admin."""
    if role not in ROLES:
        raise ValueError(f"Unknown role {role!r}")
    user.groups.remove(*Group.objects.filter(name__in=ROLES))
    group, created = Group.objects.get_or_create(name=role)
    if created or not group.permissions.exists():
        # The group was lost (e.g. emptied tables): give every role its rights again.
        role_groups_sync()
    user.groups.add(group)
    user.is_staff = role == ADMIN or user.is_superuser
    user.save(update_fields=["is_staff"])
    user._marketing_role = role
    # ModelBackend caches the permissions on the user object.
    for cache in ("_perm_cache", "_group_perm_cache", "_user_perm_cache"):
        user.__dict__.pop(cache, None)


def _permission_filter(names: list[str]) -> Q:
    query = Q(pk__in=[])
    for name in names:
        app_label, codename = name.split(".", 1)
        if codename == "*":
            query |= Q(content_type__app_label=app_label)
        else:
            query |= Q(content_type__app_label=app_label, codename=codename)
    return query


def role_groups_sync(apps=global_apps) -> None:
    """Make each role's group hold exactly its permissions (run by migrations,
    with their historical `apps`). A name that matches no permission fails."""
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, names in ROLE_PERMISSIONS.items():
        permissions = Permission.objects.filter(_permission_filter(names))
        found = {
            f"{app}.{code}"
            for app, code in permissions.values_list("content_type__app_label", "codename")
        }
        missing = [name for name in names if not name.endswith(".*") and name not in found]
        if missing:
            raise LookupError(f"Role {role!r} names permissions that do not exist: {missing}")
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set(permissions)


def role_context(request) -> dict:
    """What the templates may show, from the user's permissions."""
    user = getattr(request, "user", None)
    if user is None:
        return {}
    return {
        "user_role": user_role(user),
        "can_compose": user.has_perm("campaigns.add_campaign"),
        "can_send": user.has_perm("campaigns.send_campaign"),
        "can_administer": user.is_staff and user.has_perm("contacts.change_contact"),
        "can_erase": user.has_perm("contacts.erase_contact"),
        "can_import": user.has_perm("contacts.import_contacts"),
        "can_manage_team": user.has_perm("auth.change_user"),
        "can_read_audit": user.has_perm("contacts.view_auditentry"),
    }
