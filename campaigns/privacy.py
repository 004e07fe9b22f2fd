"""A contact's personal data in campaigns: the address on each of their messages.

The Message rows stay (the ledger's counts and reports never change); only
the address goes. Registered with contacts.privacy by CampaignsConfig.ready.
"""

from django.db.models import CharField, F, Value
from django.db.models.functions import Cast, Concat

from campaigns.models import Message

ERASED_DOMAIN = "erased.invalid"


def messages_erase_contact(contact_id: int) -> int:
    """Replace the address on the contact's messages with erased-<id>@erased.invalid."""
    placeholder = Concat(
        Value("erased-"),
        Cast("id", CharField()),
        Value(f"@{ERASED_DOMAIN}"),
        output_field=CharField(),
    )
    return Message.objects.filter(contact_id=contact_id).update(email=placeholder)


def messages_export_contact(contact_id: int) -> list[dict]:
    """Every mail sent, or skipped, to the contact: for their data export."""
    return list(
        Message.objects.filter(contact_id=contact_id)
        .order_by("created_at", "id")
        .values(
            "id",
            "email",
            "status",
            "skip_reason",
            "created_at",
            "sent_at",
            campaign=F("send__campaign__name"),
            subject=F("send__campaign__subject"),
        )
    )
