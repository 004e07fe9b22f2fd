"""Consent: signing up, confirming by mail (double opt-in), the preference
centre, and the record of each of these.

Every step a person takes appends a ConsentRecord with its evidence (time,
client address, source, form and the words agreed to). Links in mails carry
tokens signed with django.core.signing, one salt per purpose, so they verify
against SECRET_KEY_FALLBACKS too and survive a key rotation.
"""

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta
from email.utils import formataddr
from functools import lru_cache

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Max, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from contacts import privacy
from contacts.audit import Action, audit_record
from contacts.models import (
    ConsentRecord,
    Contact,
    DomainSuppression,
    Group,
    MailFrequency,
    SignupForm,
    Suppression,
    SuppressionSource,
)

_CONFIRM_SALT = "contacts.consent.confirm"
_PREFERENCES_SALT = "contacts.consent.preferences"
# A second signup of the same address within this time sends no second mail,
# so the form cannot be used to flood someone's inbox.
RESEND_AFTER = timedelta(minutes=10)
PREFERENCES_WORDING = (
    "Send me mail about the topics I ticked, no more often than I chose. "
    "I can change this or unsubscribe at any time."
)
UNSUBSCRIBE_WORDING = "Send me no more marketing mail."
_OPTED_OUT = {Contact.Status.BOUNCED, Contact.Status.COMPLAINED}


@dataclass(frozen=True)
class Client:
    """Where a request came from: kept as evidence in the consent record."""

    ip: str | None = None
    user_agent: str = ""


# --- Tokens ------------------------------------------------------------------


def preferences_token(contact_id: int) -> str:
    """The same token as signing.Signer(salt=...).sign(str(contact_id)), made
    with the key derived once: it goes into every marketing mail, so its cost
    counts per recipient (about 2 us instead of 10)."""
    value = str(contact_id)
    key = _preferences_key(settings.SECRET_KEY)
    signature = base64.urlsafe_b64encode(hmac.digest(key, value.encode(), "sha256"))
    return f"{value}:{signature.rstrip(b'=').decode()}"


@lru_cache(maxsize=4)
def _preferences_key(secret: str) -> bytes:
    # What django.core.signing.salted_hmac derives for Signer(salt=...).signature.
    return hashlib.sha256(f"{_PREFERENCES_SALT}signer{secret}".encode()).digest()


@lru_cache(maxsize=4)
def _preferences_url_around(site_url: str) -> tuple[str, str]:
    url = site_url + reverse("consent:preferences", kwargs={"token": "TOKEN"})
    before, _, after = url.partition("TOKEN")
    return before, after


def preferences_url(contact: Contact) -> str:
    """The absolute link to a contact's preference centre, for every marketing mail."""
    before, after = _preferences_url_around(settings.SITE_URL)
    return f"{before}{preferences_token(contact.pk)}{after}"


def contact_from_preferences_token(token: str) -> Contact | None:
    try:
        contact_id = int(signing.Signer(salt=_PREFERENCES_SALT).unsign(token))
    except (signing.BadSignature, ValueError):
        return None
    return Contact.objects.filter(pk=contact_id).first()


def confirmation_token(record_id: int) -> str:
    return signing.TimestampSigner(salt=_CONFIRM_SALT).sign(str(record_id))


def confirmation_url(record_id: int) -> str:
    token = confirmation_token(record_id)
    return settings.SITE_URL + reverse("consent:confirm", kwargs={"token": token})


def request_from_confirmation_token(token: str) -> ConsentRecord | None:
    """The signup a genuine, unexpired confirmation link names, else None."""
    max_age = timedelta(days=settings.SIGNUP_CONFIRM_DAYS)
    try:
        record_id = int(signing.TimestampSigner(salt=_CONFIRM_SALT).unsign(token, max_age=max_age))
    except (signing.BadSignature, ValueError):
        return None
    return (
        ConsentRecord.objects.filter(pk=record_id, action=ConsentRecord.Action.REQUESTED)
        .select_related("contact", "form")
        .first()
    )


# --- Bots ----------------------------------------------------------------------


def signup_rate_allowed(*, ip: str | None) -> bool:
    """At most SIGNUP_RATE_LIMIT signups per client address per window,
    counted in the cache (Redis in production, shared by every web process)."""
    key = f"signup-rate:{ip or 'unknown'}"
    window = settings.SIGNUP_RATE_WINDOW_SECONDS
    cache.add(key, 0, timeout=window)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        count = 1
    return count <= settings.SIGNUP_RATE_LIMIT


# --- Signing up and confirming -----------------------------------------------


def _is_suppressed(email: str) -> bool:
    domain = email.rpartition("@")[2]
    return (
        Suppression.objects.filter(email=email).exists()
        or DomainSuppression.objects.filter(domain=domain).exists()
    )


def _record(contact, action, source, client: Client, form=None, wording="", details=None):
    return ConsentRecord.objects.create(
        contact=contact,
        action=action,
        source=source,
        form=form,
        form_name=form.name if form else "",
        wording=wording,
        ip=client.ip,
        user_agent=client.user_agent[:500],
        details=details or {},
    )


def _group_names(groups) -> list[str]:
    return [group.public_name or group.name for group in groups]


@transaction.atomic
def contact_signup(
    *,
    form: SignupForm,
    email: str,
    first_name: str = "",
    source: str,
    client: Client,
) -> None:
    """Someone typed an address into a signup form. With double opt-in the
    address gets a confirmation mail and nothing else until it is confirmed.
    The caller answers the same whatever happened here, so the form tells no
    one which addresses we hold."""
    contact, _ = Contact.objects.get_or_create(
        email=email,
        defaults={"first_name": first_name[:100], "status": Contact.Status.UNCONFIRMED},
    )
    if contact.status in _OPTED_OUT or _is_suppressed(contact.email):
        return
    groups = list(form.groups.all())
    details = {"groups": _group_names(groups)}
    # One who unsubscribed comes back only by confirming, whatever the form says.
    if not form.double_opt_in and contact.status != Contact.Status.UNSUBSCRIBED:
        _subscribe(contact, groups)
        action = ConsentRecord.Action.SUBSCRIBED
        _record(contact, action, source, client, form, form.consent_text, details)
        return
    recent = contact.consents.filter(
        action=ConsentRecord.Action.REQUESTED, created_at__gte=timezone.now() - RESEND_AFTER
    )
    if recent.exists():
        return
    record = _record(
        contact, ConsentRecord.Action.REQUESTED, source, client, form, form.consent_text, details
    )
    from contacts.tasks import consent_confirmation_send_task

    transaction.on_commit(lambda: consent_confirmation_send_task.delay(record.pk))


def _subscribe(contact: Contact, groups: list[Group]) -> None:
    contact.status = Contact.Status.SUBSCRIBED
    contact.consent_at = timezone.now()
    contact.save(update_fields=["status", "consent_at", "updated_at"])
    contact.groups.add(*groups)


def consent_confirmation_send(*, record_id: int) -> bool:
    """Mail the confirmation link of a signup; False if it is gone meanwhile."""
    record = ConsentRecord.objects.select_related("contact", "form").filter(pk=record_id).first()
    if record is None:
        return False
    context = {
        "shop_name": settings.SHOP_NAME,
        "shop_url": settings.SHOP_URL,
        "url": confirmation_url(record.pk),
        "contact": record.contact,
        "form": record.form,
        "topics": record.details.get("groups", []),
        "valid_days": settings.SIGNUP_CONFIRM_DAYS,
    }
    subject = render_to_string("emails/signup_confirm_subject.txt", context)
    mail = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=render_to_string("emails/signup_confirm_body.txt", context),
        from_email=formataddr((settings.SHOP_NAME, settings.DEFAULT_FROM_EMAIL)),
        to=[record.contact.email],
    )
    html = render_to_string("emails/signup_confirm_body.html", context)
    mail.attach_alternative(html, "text/html")
    mail.send()
    return True


@transaction.atomic
def contact_confirm(*, request_record: ConsentRecord, client: Client) -> Contact:
    """The person clicked the link in the confirmation mail and pressed the
    button: subscribed, in the form's groups, with the consent recorded.
    Confirming twice records it once."""
    contact = Contact.objects.select_for_update().get(pk=request_record.contact_id)
    already = contact.consents.filter(
        action=ConsentRecord.Action.CONFIRMED, details__request=request_record.pk
    ).exists()
    if already or contact.status in _OPTED_OUT:
        return contact
    form = request_record.form
    groups = list(form.groups.all()) if form else []
    _subscribe(contact, groups)
    contact.consent_source = (request_record.form_name or "Signup")[:200]
    contact.save(update_fields=["consent_source"])
    _record(
        contact,
        ConsentRecord.Action.CONFIRMED,
        ConsentRecord.Source.CONFIRMATION,
        client,
        form,
        request_record.wording,
        {**request_record.details, "request": request_record.pk},
    )
    return contact


# --- The preference centre -----------------------------------------------------


def topics():
    """The groups recipients may pick, in the order they read them."""
    return Group.objects.filter(is_topic=True).order_by("public_name", "name")


@transaction.atomic
def contact_preferences_save(
    *, contact: Contact, topic_ids: list[int], frequency: str, client: Client
) -> None:
    """Apply at once what the recipient picked: their topics (other groups
    stay as they are), their mail frequency, and a subscription again if they
    had left. Recorded as consent."""
    chosen = list(topics().filter(pk__in=topic_ids))
    contact.groups.remove(*topics().exclude(pk__in=[group.pk for group in chosen]))
    contact.groups.add(*chosen)
    contact.mail_frequency = frequency
    fields = ["mail_frequency", "updated_at"]
    if contact.status == Contact.Status.UNSUBSCRIBED:
        contact.status = Contact.Status.SUBSCRIBED
        contact.consent_at = timezone.now()
        contact.consent_source = "Preference centre"
        fields += ["status", "consent_at", "consent_source"]
    contact.save(update_fields=fields)
    details = {"groups": _group_names(chosen), "frequency": MailFrequency(frequency).label}
    _record(
        contact,
        ConsentRecord.Action.PREFERENCES,
        ConsentRecord.Source.PREFERENCES,
        client,
        wording=PREFERENCES_WORDING,
        details=details,
    )


@transaction.atomic
def contact_unsubscribe_all(*, contact: Contact, client: Client) -> None:
    if contact.status in (
        Contact.Status.SUBSCRIBED,
        Contact.Status.UNCONFIRMED,
        Contact.Status.NOT_SUBSCRIBED,
    ):
        Contact.objects.filter(pk=contact.pk).update(
            status=Contact.Status.UNSUBSCRIBED, updated_at=timezone.now()
        )
        contact.status = Contact.Status.UNSUBSCRIBED
    _record(
        contact,
        ConsentRecord.Action.UNSUBSCRIBED,
        ConsentRecord.Source.PREFERENCES,
        client,
        wording=UNSUBSCRIBE_WORDING,
    )


RESUBSCRIBE_WORDING = "That was a mistake: keep sending me marketing mail."


@transaction.atomic
def contact_resubscribe(*, contact: Contact, client: Client) -> bool:
    """Undo an unsubscribe from the page right after it ("that was a
    mistake"), with the consent recorded. A bounced or complained address, or
    one on the suppression list for another reason, stays as it is."""
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    if contact.status != Contact.Status.UNSUBSCRIBED:
        return False
    if (
        Suppression.objects.filter(email=contact.email)
        .exclude(source=SuppressionSource.UNSUBSCRIBE)
        .exists()
    ):
        return False
    Suppression.objects.filter(email=contact.email, source=SuppressionSource.UNSUBSCRIBE).delete()
    now = timezone.now()
    Contact.objects.filter(pk=contact.pk).update(
        status=Contact.Status.SUBSCRIBED,
        consent_at=now,
        consent_source="unsubscribe page: that was a mistake",
        updated_at=now,
    )
    _record(
        contact,
        ConsentRecord.Action.RESUBSCRIBED,
        ConsentRecord.Source.UNSUBSCRIBE_PAGE,
        client,
        wording=RESUBSCRIBE_WORDING,
    )
    return True


# --- Expiry ----------------------------------------------------------------------


def contacts_expire_unconfirmed(*, now=None) -> int:
    """Delete contacts who signed up and never confirmed within
    SIGNUP_CONFIRM_DAYS, with their copies in other apps (as an erasure
    would): we hold no address we may not mail. Returns how many."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.SIGNUP_CONFIRM_DAYS)
    expired = list(
        Contact.objects.filter(status=Contact.Status.UNCONFIRMED, created_at__lt=cutoff)
        .annotate(last_request=Max("consents__created_at"))
        .filter(Q(last_request__isnull=True) | Q(last_request__lt=cutoff))
        .values_list("pk", flat=True)
    )
    count = sum(_contact_expire(contact_id) for contact_id in expired)
    if count:
        audit_record(
            actor=None,
            action=Action.UNCONFIRMED_EXPIRED,
            target=Contact,
            details={"contacts": count, "days": settings.SIGNUP_CONFIRM_DAYS},
        )
    return count


@transaction.atomic
def _contact_expire(contact_id: int) -> bool:
    # Locked first: one who confirms at this very moment is kept.
    unconfirmed = Contact.objects.select_for_update().filter(
        pk=contact_id, status=Contact.Status.UNCONFIRMED
    )
    if not unconfirmed.exists():
        return False
    for eraser in privacy.erasers().values():
        eraser(contact_id)
    unconfirmed.delete()
    return True


# --- What staff copy into the shop's site ----------------------------------------


def signup_form_urls(form: SignupForm) -> dict[str, str]:
    return {
        "page": settings.SITE_URL + reverse("consent:signup", kwargs={"key": form.key}),
        "json": settings.SITE_URL + reverse("consent:signup_api", kwargs={"key": form.key}),
    }


def signup_form_embed_html(form: SignupForm) -> str:
    """The HTML form to paste into the shop's pages: it posts to the hosted
    page, which answers with the shop-branded "check your inbox" page."""
    context = {"form": form, "action": signup_form_urls(form)["page"]}
    return render_to_string("contacts/public/embed_snippet.html", context)
