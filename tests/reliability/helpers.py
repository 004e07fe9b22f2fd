"""Audiences made fast, and the ledger read the way the tests assert on it."""

from collections import Counter

from campaigns.models import Message, Send
from contacts.models import Contact, Group
from tests.factories import GroupFactory


def audience(
    size: int, *, group: str = "Newsletter", prefix: str = "reader"
) -> tuple[Group, list[Contact]]:
    """A group of `size` subscribed contacts (in id order), made in a few INSERTs."""
    members = GroupFactory(name=group)
    contacts = Contact.objects.bulk_create(
        [Contact(email=f"{prefix}{n:05d}@example.com", first_name=f"R{n}") for n in range(size)],
        batch_size=5000,
    )
    membership = Contact.groups.through
    membership.objects.bulk_create(
        [membership(contact_id=contact.pk, group_id=members.pk) for contact in contacts],
        batch_size=5000,
    )
    return members, contacts


def statuses(send: Send) -> Counter:
    """How many of the send's messages are in each status."""
    return Counter(Message.objects.filter(send=send).values_list("status", flat=True))


def emails_in(send: Send, status: str) -> set[str]:
    return set(Message.objects.filter(send=send, status=status).values_list("email", flat=True))
