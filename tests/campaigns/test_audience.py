"""Who gets a campaign: frequency caps, suppressions, and the summary staff
read before sending, which always agrees with what the send then does."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail as django_mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.utils import timezone

from campaigns.audience import audience_summary
from campaigns.models import FrequencyPolicy, Message
from campaigns.services import campaign_send
from contacts.models import DomainSuppression, Suppression
from contacts.services import contact_unsubscribe
from tests.factories import (
    CampaignFactory,
    ContactFactory,
    CouponCodeFactory,
    CouponFactory,
    GroupFactory,
)
from tracking.reports import campaign_report

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def newsletter():
    return GroupFactory(name="Newsletter")


def mails_to(address: str) -> int:
    return sum(1 for m in django_mail.outbox if m.to == [address])


def test_the_third_marketing_mail_in_a_week_is_skipped_for_the_cap(newsletter):
    # given the default policy: at most 2 in 7 days, at least 2 days apart
    ContactFactory(email="ann@example.com", groups=[newsletter])
    start = timezone.now()

    # when three campaigns go out on Monday, Thursday and Saturday
    for day in (0, 3, 5):
        with time_machine.travel(start + timedelta(days=day, minutes=1)):
            campaign_send(campaign=CampaignFactory(name=f"Day {day}", groups=[newsletter]))

    # then only the first two reach Ann; the third says why
    assert mails_to("ann@example.com") == 2
    third = Message.objects.get(send__campaign__name="Day 5")
    assert (third.status, third.skip_reason) == ("skipped", "frequency_cap")

    # and an order confirmation still goes that day
    with time_machine.travel(start + timedelta(days=5, minutes=2)):
        campaign_send(campaign=CampaignFactory(kind="transactional", groups=[newsletter]))
    assert mails_to("ann@example.com") == 3


def test_two_mails_closer_than_the_minimum_gap_are_capped(newsletter):
    ContactFactory(email="ann@example.com", groups=[newsletter])
    campaign_send(campaign=CampaignFactory(name="Monday", groups=[newsletter]))
    with time_machine.travel(timezone.now() + timedelta(days=1)):
        campaign_send(campaign=CampaignFactory(name="Tuesday", groups=[newsletter]))
    assert Message.objects.get(send__campaign__name="Tuesday").skip_reason == "frequency_cap"


def test_the_cap_is_configurable_and_can_be_switched_off(newsletter):
    FrequencyPolicy.objects.update_or_create(
        pk=1, defaults={"max_messages": 3, "window_days": 7, "min_gap_days": 0}
    )
    ContactFactory(email="ann@example.com", groups=[newsletter])
    for name in ["One", "Two", "Three", "Four"]:
        campaign_send(campaign=CampaignFactory(name=name, groups=[newsletter]))
    assert mails_to("ann@example.com") == 3
    FrequencyPolicy.objects.filter(pk=1).update(enabled=False)
    campaign_send(campaign=CampaignFactory(name="Five", groups=[newsletter]))
    assert mails_to("ann@example.com") == 4


def test_a_suppressed_domain_gets_no_mail(newsletter):
    ContactFactory(email="ann@competitor.example", groups=[newsletter])
    ContactFactory(email="ben@example.com", groups=[newsletter])
    DomainSuppression.objects.create(domain="@Competitor.example ")
    campaign_send(campaign=CampaignFactory(groups=[newsletter]))
    assert [m.to for m in django_mail.outbox] == [["ben@example.com"]]
    assert Message.objects.get(email="ann@competitor.example").skip_reason == "suppressed"


def test_the_summary_before_sending_agrees_with_the_send(newsletter):
    # given
    for status in ["subscribed", "subscribed", "unsubscribed", "unconfirmed", "bounced"]:
        ContactFactory(status=status, groups=[newsletter])
    listed = ContactFactory(groups=[newsletter])
    Suppression.objects.create(email=listed.email)
    campaign = CampaignFactory(groups=[newsletter])

    # when
    summary = audience_summary(campaign=campaign)
    campaign_send(campaign=campaign)

    # then
    assert (summary.total, summary.recipients, summary.skipped_total) == (6, 2, 4)
    assert {reason: n for reason, _, n in summary.skipped} == {
        "unsubscribed": 1,
        "unconfirmed": 1,
        "bounced": 1,
        "suppressed": 1,
    }
    report = campaign_report(campaign=campaign)
    assert (report.recipients, report.sent, report.skipped) == (6, 2, 4)


def test_the_summary_warns_when_the_code_pool_is_smaller_than_the_audience(newsletter):
    ContactFactory.create_batch(5, groups=[newsletter])
    coupon = CouponFactory(kind="unique", code="")
    CouponCodeFactory.create_batch(2, coupon=coupon)
    summary = audience_summary(campaign=CampaignFactory(groups=[newsletter], coupon=coupon))
    assert (summary.free_codes, summary.code_shortfall) == (2, 3)


class UnsubscribingBackend(LocmemBackend):
    """While the first mail goes, the last contact unsubscribes and another
    address is put on the suppression list."""

    def send_messages(self, messages):
        if messages[0].to == ["first@example.com"]:
            from contacts.models import Contact

            contact_unsubscribe(contact_id=Contact.objects.get(email="late@example.com").pk)
            Suppression.objects.create(email="listed@example.com")
        return super().send_messages(messages)


def test_an_unsubscribe_during_the_send_counts_for_every_mail_not_yet_gone(newsletter, settings):
    settings.EMAIL_BACKEND = f"{__name__}.UnsubscribingBackend"
    settings.SEND_CHUNK_SIZE = 1
    for name in ["first", "second", "listed", "late"]:
        ContactFactory(email=f"{name}@example.com", groups=[newsletter])
    campaign_send(campaign=CampaignFactory(groups=[newsletter]))
    assert sorted(m.to[0] for m in django_mail.outbox) == [
        "first@example.com",
        "second@example.com",
    ]
    reasons = dict(Message.objects.filter(status="skipped").values_list("email", "skip_reason"))
    assert reasons == {"late@example.com": "unsubscribed", "listed@example.com": "suppressed"}


def test_a_customer_who_never_subscribed_gets_order_mail_but_no_marketing(newsletter):
    ContactFactory(email="buyer@example.com", status="not_subscribed", groups=[newsletter])
    ContactFactory(email="fan@example.com", groups=[newsletter])

    campaign_send(campaign=CampaignFactory(groups=[newsletter]))
    assert mails_to("buyer@example.com") == 0 and mails_to("fan@example.com") == 1
    skipped = Message.objects.get(email="buyer@example.com")
    assert skipped.get_skip_reason_display() == "Never subscribed to marketing"

    campaign_send(campaign=CampaignFactory(groups=[newsletter], kind="transactional"))
    assert mails_to("buyer@example.com") == 1
