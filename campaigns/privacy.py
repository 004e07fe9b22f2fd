"""A contact's personal data in campaigns: the address on each of their messages.

The Message rows stay (the ledger's counts and reports never change); only
the address goes. Registered with contacts.privacy by CampaignsConfig.ready.
"""

from django.db.models import CharField, Value
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
