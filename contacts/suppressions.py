"""The suppression list: addresses and whole domains that never get mail.

Sending reads the two tables directly (campaigns.audience), at snapshot time
and again right before each batch goes, so an entry holds whatever a later
import says about the contact.
"""

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet

from contacts.addresses import email_problem, normalise_email
from contacts.audit import Action, audit_record
from contacts.models import DomainSuppression, Suppression, SuppressionSource

ADDRESSES, DOMAINS = "addresses", "domains"
_DOMAIN_LABEL = "a@"  # validates a domain as the domain of an address


class SuppressionRefused(ValueError):
    """What staff typed cannot be added; the message says why."""


def suppression_list(*, kind: str, search: str = "") -> QuerySet:
    if kind == DOMAINS:
        rows = DomainSuppression.objects.order_by("domain")
        for word in search.split():
            rows = rows.filter(Q(domain__icontains=word) | Q(note__icontains=word))
        return rows
    rows = Suppression.objects.order_by("-created_at", "-id")
    for word in search.split():
        rows = rows.filter(Q(email__icontains=word) | Q(note__icontains=word))
    return rows


def suppression_counts() -> dict[str, int]:
    return {ADDRESSES: Suppression.objects.count(), DOMAINS: DomainSuppression.objects.count()}


def _domain_of(value: str) -> str | None:
    """The domain staff meant by "example.com" or "@example.com", else None."""
    domain = value.removeprefix("@")
    if "@" in domain or email_problem(f"{_DOMAIN_LABEL}{domain}"):
        return None
    return domain


@transaction.atomic
def suppression_add(
    *, value: str, note: str = "", actor, source: str = SuppressionSource.MANUAL
) -> Suppression | DomainSuppression:
    """Add an address ("ann@example.com") or a whole domain ("example.com" or
    "@example.com"). Raises SuppressionRefused for anything else or a duplicate."""
    value = normalise_email(value)
    note = note.strip()[:300]
    is_domain = value.startswith("@") or "@" not in value
    try:
        with transaction.atomic():
            if is_domain:
                domain = _domain_of(value)
                if domain is None:
                    raise SuppressionRefused(f"“{value}” is neither an address nor a domain.")
                entry = DomainSuppression.objects.create(domain=domain, note=note, source=source)
            else:
                if problem := email_problem(value):
                    raise SuppressionRefused(f"“{value}” is not an address: {problem}")
                entry = Suppression.objects.create(email=value, note=note, source=source)
    except IntegrityError:
        raise SuppressionRefused(f"{value.removeprefix('@')} is already on the list.") from None
    audit_record(actor=actor, action=Action.SUPPRESSION_ADDED, target=entry, details={"note": note})
    return entry


@transaction.atomic
def suppression_remove(*, entry: Suppression | DomainSuppression, actor) -> None:
    audit_record(actor=actor, action=Action.SUPPRESSION_REMOVED, target=entry)
    entry.delete()
