"""The audit trail: one call per staff action, from any app.

It lives in the bottom app so campaigns and tracking can write it without
importing the project; marketing_site shows it to admins.
"""

from typing import Any

from django.db import models

from contacts.models import AuditEntry

Action = AuditEntry.Action
SYSTEM = "system"


def audit_record(
    *,
    actor,
    action: str,
    target: models.Model | type[models.Model] | None = None,
    details: dict[str, Any] | None = None,
    label: str | None = None,
) -> AuditEntry:
    """Append one entry. `target` is the object acted on, or a model class for
    an action on many rows (an import); `label` replaces str(target) where
    that would keep personal data the action removed."""
    is_person = actor is not None and actor.is_authenticated
    entry = AuditEntry(
        actor=actor if is_person else None,
        actor_name=actor.get_username() if is_person else SYSTEM,
        action=action,
        details=details or {},
    )
    if target is not None:
        is_row = isinstance(target, models.Model)
        entry.object_type = target._meta.label_lower
        entry.object_id = str(target.pk) if is_row else ""
        name = str(target) if is_row else str(target._meta.verbose_name_plural).capitalize()
        entry.object_label = (label or name)[:200]
    entry.save()
    return entry
