"""Test sends: the mail as a chosen contact would get it, to a few staff
addresses, marked as a test. It never enters the ledger, so reports,
frequency caps and coupon pools do not see it."""

import re
from email.utils import formataddr

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.validators import validate_email

from campaigns.abtest import campaign_with_variant
from campaigns.models import Campaign, Variant
from campaigns.selectors import campaign_preview
from contacts.audit import Action, audit_record
from contacts.models import Contact

SUBJECT_PREFIX = "[Test] "
TEST_HEADER = "X-Campaign-Test"


class TestSendProblem(ValueError):
    """Addresses that cannot be used; the message is for staff."""


def test_addresses_parse(text: str) -> list[str]:
    """The addresses in what staff typed (commas, spaces or lines between)."""
    addresses = list(dict.fromkeys(a.strip().lower() for a in re.split(r"[\s,;]+", text) if a))
    if not addresses:
        raise TestSendProblem("Give at least one address.")
    limit = settings.CAMPAIGN_TEST_SEND_MAX
    if len(addresses) > limit:
        raise TestSendProblem(f"A test goes to at most {limit} addresses.")
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError:
            raise TestSendProblem(f"“{address}” is not an email address.") from None
    return addresses


def campaign_test_send(
    *,
    campaign: Campaign,
    addresses: list[str],
    contact: Contact,
    variant: Variant | None = None,
    user=None,
) -> int:
    """Send the mail, personalised for `contact`, to each address. Raises
    TemplateProblem when the content cannot be built."""
    version = campaign_with_variant(campaign, variant)
    mail = campaign_preview(campaign=version, contact=contact)
    from_header = formataddr((" ".join(version.from_name.split()), version.from_email))
    messages = []
    for address in addresses:
        email = EmailMultiAlternatives(
            subject=SUBJECT_PREFIX + mail.subject,
            body=mail.text,
            from_email=from_header,
            to=[address],
            reply_to=[version.reply_to] if version.reply_to else None,
            headers={TEST_HEADER: "yes"},
        )
        email.attach_alternative(mail.html, "text/html")
        messages.append(email)
    sent = get_connection().send_messages(messages) or 0
    audit_record(
        actor=user,
        action=Action.CAMPAIGN_EDITED,
        target=campaign,
        details={"test_sent_to": ", ".join(addresses), "as": contact.email},
    )
    return sent
