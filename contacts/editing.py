"""Staff changes to contacts: one contact (add, edit) or many at once (bulk
actions on a filtered list). Bulk actions are set-based statements, never a
loop over contacts, and each writes one audit entry."""

from django.db import connection, transaction
from django.db.models import QuerySet

from contacts.audit import Action, audit_record
from contacts.models import Contact, Group

_UNSUBSCRIBABLE = [
    Contact.Status.SUBSCRIBED,
    Contact.Status.UNCONFIRMED,
    Contact.Status.NOT_SUBSCRIBED,
]


@transaction.atomic
def contact_create(*, actor, groups: list[Group], **fields) -> Contact:
    contact = Contact.objects.create(**fields)
    contact.groups.set(groups)
    audit_record(actor=actor, action=Action.CONTACT_ADDED, target=contact)
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, actor, groups: list[Group], **fields) -> Contact:
    changed = sorted(name for name, value in fields.items() if getattr(contact, name) != value)
    for name, value in fields.items():
        setattr(contact, name, value)
    contact.save()
    before = set(contact.groups.values_list("pk", flat=True))
    contact.groups.set(groups)
    if before != {group.pk for group in groups}:
        changed.append("groups")
    audit_record(
        actor=actor, action=Action.CONTACT_EDITED, target=contact, details={"fields": changed}
    )
    return contact


def _ids(contacts: QuerySet) -> QuerySet:
    return contacts.order_by().values("id")


def _add_to_group(contacts: QuerySet, group: Group) -> int:
    """INSERT ... SELECT of the members not in the group yet."""
    members = Contact.groups.through._meta.db_table
    select, params = _ids(contacts).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {members} (contact_id, group_id) SELECT s.id, %s FROM ({select}) s "
            f"WHERE NOT EXISTS (SELECT 1 FROM {members} m "
            "WHERE m.contact_id = s.id AND m.group_id = %s)",
            [group.pk, *params, group.pk],
        )
        return cursor.rowcount


def _remove_from_group(contacts: QuerySet, group: Group) -> int:
    through = Contact.groups.through.objects
    deleted, _ = through.filter(group=group, contact_id__in=_ids(contacts)).delete()
    return deleted


def _unsubscribe(contacts: QuerySet) -> int:
    return Contact.objects.filter(pk__in=_ids(contacts), status__in=_UNSUBSCRIBABLE).update(
        status=Contact.Status.UNSUBSCRIBED
    )


def _delete(contacts: QuerySet) -> int:
    _, counts = Contact.objects.filter(pk__in=_ids(contacts)).delete()
    return counts.get(Contact._meta.label, 0)


@transaction.atomic
def contacts_bulk_apply(
    *, contacts: QuerySet, action: str, actor, group: Group | None = None
) -> int:
    """Apply one bulk action to every contact of `contacts`; returns how many
    changed (contacts already in the group, or already unsubscribed, do not
    count)."""
    if action == "add_to_group":
        changed = _add_to_group(contacts, group)
    elif action == "remove_from_group":
        changed = _remove_from_group(contacts, group)
    elif action == "unsubscribe":
        changed = _unsubscribe(contacts)
    elif action == "delete":
        changed = _delete(contacts)
    else:
        raise ValueError(f"Unknown bulk action {action!r}")
    details = {"action": action, "contacts": changed}
    if group is not None:
        details["group"] = group.name
    audit_record(actor=actor, action=Action.CONTACTS_BULK_CHANGED, target=Contact, details=details)
    return changed
