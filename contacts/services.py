"""Writes to contacts. Other apps change a contact only through these."""

from datetime import datetime

from django.db import transaction
from django.db.models import Case, F, Q, Value, When

from contacts import privacy
from contacts.audit import Action, audit_record
from contacts.models import Contact, Suppression, SuppressionSource

_UNSUBSCRIBABLE = [
    Contact.Status.SUBSCRIBED,
    Contact.Status.UNCONFIRMED,
    Contact.Status.NOT_SUBSCRIBED,
]


@transaction.atomic
def contact_unsubscribe(*, contact_id: int) -> bool:
    """Unsubscribe a contact; True only the first time, so callers can record
    one event however often the link is followed."""
    changed = Contact.objects.filter(id=contact_id, status__in=_UNSUBSCRIBABLE).update(
        status=Contact.Status.UNSUBSCRIBED
    )
    return bool(changed)


def contact_record_engagement(
    *, contact_id: int, opened_at: datetime | None = None, clicked_at: datetime | None = None
) -> None:
    """Move the contact's last open/click forward (never back)."""
    if opened_at:
        Contact.objects.filter(id=contact_id).filter(
            Q(last_opened_at__isnull=True) | Q(last_opened_at__lt=opened_at)
        ).update(last_opened_at=opened_at)
    if clicked_at:
        Contact.objects.filter(id=contact_id).filter(
            Q(last_clicked_at__isnull=True) | Q(last_clicked_at__lt=clicked_at)
        ).update(last_clicked_at=clicked_at)


def contacts_record_engagement(
    *, opened: dict[int, datetime], clicked: dict[int, datetime]
) -> None:
    """Move many contacts' last open and click forward (never back), one
    UPDATE each: {contact id: when}."""
    for field, latest in (("last_opened_at", opened), ("last_clicked_at", clicked)):
        if not latest:
            continue
        later = [
            When(
                Q(pk=pk) & (Q(**{f"{field}__isnull": True}) | Q(**{f"{field}__lt": at})),
                then=Value(at),
            )
            for pk, at in latest.items()
        ]
        Contact.objects.filter(pk__in=sorted(latest)).update(
            **{field: Case(*later, default=F(field))}
        )


def suppressed_emails(emails: list[str]) -> set[str]:
    return set(Suppression.objects.filter(email__in=emails).values_list("email", flat=True))


@transaction.atomic
def contacts_suppress_bounced(*, emails: list[str]) -> None:
    """Addresses the receiving server says do not exist: never mailed again."""
    bounce = SuppressionSource.BOUNCE
    Suppression.objects.bulk_create(
        [
            Suppression(email=email, reason=Suppression.Reason.BOUNCED, source=bounce)
            for email in emails
        ],
        ignore_conflicts=True,
    )
    Contact.objects.filter(email__in=emails).exclude(status=Contact.Status.COMPLAINED).update(
        status=Contact.Status.BOUNCED
    )


@transaction.atomic
def contact_record_complaint(*, contact_id: int) -> bool:
    """A spam complaint: the contact is marked complained (never mailed again,
    not even transactional mail's bounced/complained rule lets it through)
    and the address suppressed. True the first time."""
    contact = Contact.objects.filter(pk=contact_id).first()
    if contact is None:
        return False
    Suppression.objects.update_or_create(
        email=contact.email, defaults={"reason": Suppression.Reason.COMPLAINED}
    )
    return bool(
        Contact.objects.filter(pk=contact_id)
        .exclude(status=Contact.Status.COMPLAINED)
        .update(status=Contact.Status.COMPLAINED)
    )


@transaction.atomic
def contact_erase(*, contact: Contact, actor) -> dict[str, int]:
    """Erase a contact's personal data: every app's copies first (see
    contacts.privacy), then the Contact row itself. The ledger rows stay, so
    reports keep their counts; the audit entry names the contact by id only."""
    contact_id = contact.pk
    erased = {name: eraser(contact_id) for name, eraser in privacy.erasers().items()}
    Contact.objects.filter(pk=contact_id).delete()
    audit_record(
        actor=actor,
        action=Action.CONTACT_ERASED,
        target=contact,
        label=f"Contact #{contact_id}",
        details=erased,
    )
    return erased
