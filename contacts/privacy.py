"""Erasing a contact's personal data across the apps.

Apps above contacts keep copies of a contact's data (the address on each
Message, the client address on each Event). contacts cannot import them, so
each registers an eraser at start-up (its AppConfig.ready); the erasure
service calls every one inside its transaction, then deletes the contact.
"""

import json
from collections.abc import Callable

# Each takes the contact's id and returns how many rows it blanked.
Eraser = Callable[[int], int]
_erasers: dict[str, Eraser] = {}


def eraser_register(name: str, eraser: Eraser) -> None:
    _erasers[name] = eraser


def erasers() -> dict[str, Eraser]:
    return dict(_erasers)


# --- Export: everything held on one contact -----------------------------------
# Each app that keeps data about a contact registers an exporter too: it takes
# the contact's id and returns that data as JSON-ready rows.
Exporter = Callable[[int], list[dict]]
_exporters: dict[str, Exporter] = {}


def exporter_register(name: str, exporter: Exporter) -> None:
    _exporters[name] = exporter


def exporters() -> dict[str, Exporter]:
    return dict(_exporters)


_CONTACT_FIELDS = [
    "id", "email", "first_name", "last_name", "locale", "time_zone", "status", "attributes",
    "mail_frequency", "consent_at", "consent_source", "last_opened_at", "last_clicked_at",
    "created_at", "updated_at",
]  # fmt: skip


def contact_export_data(contact) -> dict:
    """The contact's file: their fields, groups, consent records, and what
    every other app holds on them."""
    from contacts.models import ConsentRecord

    consents = ConsentRecord.objects.filter(contact=contact).order_by("created_at", "id")
    return {
        "contact": {field: getattr(contact, field) for field in _CONTACT_FIELDS},
        "groups": list(contact.groups.order_by("name").values_list("name", flat=True)),
        "consents": [
            {
                "at": record.created_at,
                "action": record.action,
                "source": record.source,
                "form": record.form_name,
                "wording": record.wording,
                "ip": record.ip,
                "user_agent": record.user_agent,
                "details": record.details,
            }
            for record in consents
        ],
        **{name: exporter(contact.pk) for name, exporter in exporters().items()},
    }


def contact_export(*, contact, actor) -> str:
    """The contact's file as JSON, the export audited (by id: the file itself
    holds the personal data)."""
    from django.core.serializers.json import DjangoJSONEncoder

    from contacts.audit import Action, audit_record

    data = contact_export_data(contact)
    audit_record(
        actor=actor,
        action=Action.CONTACT_EXPORTED,
        target=contact,
        label=f"Contact #{contact.pk}",
        details={name: len(rows) for name, rows in data.items() if isinstance(rows, list)},
    )
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
