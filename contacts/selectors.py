"""Reads of contacts and groups for the staff pages."""

from django.db.models import Count, Prefetch, Q, QuerySet

from contacts.models import Contact, Group, Segment
from contacts.segments import segment_filter

# Sortable columns of the contact list: ?sort=<key> or -<key>.
CONTACT_SORTS = {
    "email": ["email"],
    "name": ["last_name", "first_name", "email"],
    "status": ["status", "email"],
    "tier": ["engagement_tier", "email"],
    "orders": ["order_count", "email"],
    "spent": ["total_spent", "email"],
    "added": ["created_at", "id"],
}


def contact_list(
    *,
    search: str = "",
    status: str = "",
    group_id: int | None = None,
    tier: str = "",
    segment: Segment | None = None,
    sort: str = "email",
) -> QuerySet:
    contacts = Contact.objects.prefetch_related(
        Prefetch("groups", queryset=Group.objects.only("id", "name"))
    )
    if segment is not None:
        contacts = contacts.filter(segment_filter(segment.rules))
    if tier:
        contacts = contacts.filter(engagement_tier=tier)
    # Every word must match somewhere, so "ann lee" finds Ann Lee.
    for word in search.split():
        contacts = contacts.filter(
            Q(email__icontains=word) | Q(first_name__icontains=word) | Q(last_name__icontains=word)
        )
    if status:
        contacts = contacts.filter(status=status)
    if group_id:
        contacts = contacts.filter(groups__id=group_id)
    descending = sort.startswith("-")
    columns = CONTACT_SORTS.get(sort.lstrip("-"), CONTACT_SORTS["email"])
    return contacts.order_by(*(f"-{c}" if descending else c for c in columns))


def contact_status_counts() -> dict[str, int]:
    """Contacts per status, every status present (0 when none)."""
    counts = dict(Contact.objects.order_by().values_list("status").annotate(n=Count("id")))
    return {status: counts.get(status, 0) for status in Contact.Status.values}


def group_list() -> QuerySet:
    return Group.objects.annotate(
        contact_count=Count("contacts", distinct=True),
        subscribed_count=Count(
            "contacts", filter=Q(contacts__status=Contact.Status.SUBSCRIBED), distinct=True
        ),
    ).order_by("name")


def group_contacts(*, group: Group) -> QuerySet:
    return group.contacts.order_by("email")
