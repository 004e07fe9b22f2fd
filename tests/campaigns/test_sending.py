import smtplib

import pytest
from django.core import mail as django_mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend

from campaigns import sending, services
from campaigns.models import Campaign, CouponCode, FrequencyPolicy, Message, Send
from campaigns.personalisation import TemplateProblem
from campaigns.services import CampaignNotSendable, campaign_send
from contacts.models import Suppression
from tests.factories import (
    CampaignFactory,
    ContactFactory,
    CouponCodeFactory,
    CouponFactory,
    GroupFactory,
    ProductFactory,
)
from tests.helpers import html_part, parsed, text_part

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def newsletter():
    return GroupFactory(name="Newsletter")


def sent_to() -> list[str]:
    return sorted(address for m in django_mail.outbox for address in m.to)


def test_it_sends_one_personalised_mail_per_subscribed_contact(newsletter):
    ContactFactory(email="ann@example.com", first_name="Ann", groups=[newsletter])
    ContactFactory(email="ben@example.com", first_name="Ben", groups=[newsletter])
    send = campaign_send(campaign=CampaignFactory(groups=[newsletter]))
    assert sent_to() == ["ann@example.com", "ben@example.com"]
    ann = next(m for m in django_mail.outbox if m.to == ["ann@example.com"])
    assert ann.subject == "Spring sale, Ann!"
    send.refresh_from_db()
    assert send.status == Send.Status.DONE
    assert send.campaign.status == Campaign.Status.SENT
    assert set(Message.objects.values_list("status", flat=True)) == {"sent"}


def test_a_contact_in_two_groups_gets_one_mail():
    a, b = GroupFactory(name="A"), GroupFactory(name="B")
    ContactFactory(email="both@example.com", groups=[a, b])
    campaign_send(campaign=CampaignFactory(groups=[a, b]))
    assert sent_to() == ["both@example.com"]


def test_it_skips_contacts_who_must_not_get_marketing_mail_and_says_why(newsletter):
    for status in ["subscribed", "unsubscribed", "bounced", "complained", "unconfirmed"]:
        ContactFactory(email=f"{status}@example.com", status=status, groups=[newsletter])
    ContactFactory(email="listed@example.com", groups=[newsletter])
    Suppression.objects.create(email="listed@example.com", reason="manual")
    ContactFactory(email="bad@@example..com", groups=[newsletter])
    campaign_send(campaign=CampaignFactory(groups=[newsletter]))
    assert sent_to() == ["subscribed@example.com"]
    reasons = dict(Message.objects.filter(status="skipped").values_list("email", "skip_reason"))
    assert reasons == {
        "unsubscribed@example.com": "unsubscribed",
        "bounced@example.com": "bounced",
        "complained@example.com": "complained",
        "unconfirmed@example.com": "unconfirmed",
        "listed@example.com": "suppressed",
        "bad@@example..com": "invalid",
    }


def test_transactional_mail_reaches_the_unsubscribed_but_never_a_bounced_address(newsletter):
    ContactFactory(email="left@example.com", status="unsubscribed", groups=[newsletter])
    ContactFactory(email="bounced@example.com", status="bounced", groups=[newsletter])
    campaign_send(campaign=CampaignFactory(kind="transactional", groups=[newsletter]))
    assert sent_to() == ["left@example.com"]


def test_every_mail_has_the_headers_good_senders_use(newsletter):
    ContactFactory(email="ann@example.com", groups=[newsletter])
    ContactFactory(email="ben@example.com", groups=[newsletter])
    campaign_send(campaign=CampaignFactory(groups=[newsletter]))
    messages = [m.message() for m in django_mail.outbox]
    for message in messages:
        assert message["From"] == "Demo Shop <news@shop.example.com>"
        assert message["Reply-To"] == "help@shop.example.com"
        assert message["List-Unsubscribe"].startswith("<http://127.0.0.1:8000/t/u/")
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message.get_content_type() == "multipart/alternative"
    message_ids = {m["Message-ID"] for m in messages}
    assert len(message_ids) == 2
    recorded = set(Message.objects.values_list("esp_message_id", flat=True))
    assert recorded == message_ids


def test_the_mail_shows_products_the_coupon_and_the_postal_address(newsletter):
    ContactFactory(groups=[newsletter])
    campaign = CampaignFactory(
        groups=[newsletter],
        products=[ProductFactory(name="Rain jacket")],
        coupon=CouponFactory(code="RAIN20"),
        postal_address="Demo Shop, 5 Harbour Road",
    )
    campaign_send(campaign=campaign)
    (mail,) = django_mail.outbox
    for part in (html_part(parsed(mail)), text_part(parsed(mail))):
        assert "Rain jacket" in part and "RAIN20" in part and "5 Harbour Road" in part


def test_each_recipient_gets_their_own_unique_code_and_keeps_it(newsletter):
    ann = ContactFactory(email="ann@example.com", groups=[newsletter])
    ContactFactory(email="ben@example.com", groups=[newsletter])
    coupon = CouponFactory(kind="unique", code="")
    for n in range(3):
        CouponCodeFactory(coupon=coupon, code=f"CODE-{n}")
    campaign_send(campaign=CampaignFactory(groups=[newsletter], coupon=coupon))
    codes = dict(Message.objects.values_list("email", "coupon_code"))
    assert sorted(codes.values()) == ["CODE-0", "CODE-1"]
    for mail in django_mail.outbox:
        assert codes[mail.to[0]] in mail.body
    # A second campaign with the same coupon gives Ann the code she already holds.
    FrequencyPolicy.objects.update_or_create(pk=1, defaults={"enabled": False})
    django_mail.outbox.clear()
    campaign_send(campaign=CampaignFactory(name="Again", groups=[newsletter], coupon=coupon))
    assert (
        Message.objects.filter(email="ann@example.com")
        .values_list("coupon_code", flat=True)
        .distinct()
        .count()
        == 1
    )
    assert CouponCode.objects.filter(contact=ann).count() == 1


def test_a_recipient_left_without_a_code_is_skipped_not_sent_a_blank(newsletter):
    ContactFactory(email="ann@example.com", groups=[newsletter])
    ContactFactory(email="ben@example.com", groups=[newsletter])
    coupon = CouponFactory(kind="unique", code="")
    CouponCodeFactory(coupon=coupon, code="ONLY-ONE")
    campaign_send(campaign=CampaignFactory(groups=[newsletter], coupon=coupon))
    assert len(django_mail.outbox) == 1
    assert Message.objects.get(status="skipped").skip_reason == "no_coupon_code"


def test_a_campaign_is_sent_only_once(newsletter):
    ContactFactory(groups=[newsletter])
    campaign = CampaignFactory(groups=[newsletter])
    campaign_send(campaign=campaign)
    with pytest.raises(CampaignNotSendable):
        campaign_send(campaign=campaign)
    assert len(django_mail.outbox) == 1


def test_a_broken_template_stops_the_send_before_anything_happens(newsletter):
    ContactFactory(groups=[newsletter])
    campaign = CampaignFactory(groups=[newsletter], body="<p>{{ contact.first_name</p>")
    with pytest.raises(TemplateProblem):
        campaign_send(campaign=campaign)
    assert not Send.objects.exists() and not django_mail.outbox
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT


def test_a_campaign_without_an_audience_is_refused():
    with pytest.raises(CampaignNotSendable, match="group"):
        campaign_send(campaign=CampaignFactory())


class RefusingBackend(LocmemBackend):
    """A mail server that refuses one address and takes the rest."""

    def send_messages(self, messages):
        if any(m.to == ["refused@example.com"] for m in messages):
            raise smtplib.SMTPRecipientsRefused(
                {"refused@example.com": (550, b"5.1.1 mailbox unavailable")}
            )
        return super().send_messages(messages)


def test_a_refused_recipient_is_marked_failed_and_the_rest_are_sent(newsletter, settings):
    settings.EMAIL_BACKEND = f"{__name__}.RefusingBackend"
    for name in ["ann", "refused", "ben"]:
        ContactFactory(email=f"{name}@example.com", groups=[newsletter])
    send = campaign_send(campaign=CampaignFactory(groups=[newsletter]))
    assert sent_to() == ["ann@example.com", "ben@example.com"]
    failed = Message.objects.get(status="failed")
    assert failed.email == "refused@example.com" and "550" in failed.error
    assert failed.error_class == "refused"
    # The address does not exist: it is never mailed again.
    assert Suppression.objects.filter(email="refused@example.com", reason="bounced").exists()
    send.refresh_from_db()
    assert send.status == Send.Status.DONE


def test_running_a_batch_again_sends_nothing_twice(newsletter):
    ContactFactory.create_batch(3, groups=[newsletter])
    send = campaign_send(campaign=CampaignFactory(groups=[newsletter]))
    assert not sending.send_prepare(send_id=send.pk)  # a re-delivered task
    assert sending.send_batch(send_id=send.pk) == sending.BatchOutcome()
    assert len(django_mail.outbox) == 3
    assert Message.objects.count() == 3


def test_many_recipients_are_sent_in_several_batches(newsletter, settings):
    settings.SEND_BATCH_SIZE = 4
    ContactFactory.create_batch(10, groups=[newsletter])
    campaign_send(campaign=CampaignFactory(groups=[newsletter]))
    assert len(django_mail.outbox) == 10
    assert len(set(sent_to())) == 10


class UnreachableBackend(LocmemBackend):
    """An SMTP server or ESP that cannot be reached at all."""

    def open(self):
        raise ConnectionRefusedError("Connection refused")


def test_when_the_mail_server_is_down_the_send_retries_then_pauses_and_resumes(
    newsletter, settings
):
    # given a mail server that stays down for every retry
    ContactFactory.create_batch(3, groups=[newsletter])
    settings.EMAIL_BACKEND = f"{__name__}.UnreachableBackend"
    settings.SEND_RETRY_LIMIT = 2

    # when
    send = campaign_send(campaign=CampaignFactory(groups=[newsletter]))

    # then nothing is lost or failed: the send pauses and says why
    send.refresh_from_db()
    assert send.status == Send.Status.PAUSED
    assert "Connection refused" in send.pause_reason
    assert send.campaign.status == Campaign.Status.PAUSED
    assert list(Message.objects.values_list("status", flat=True)) == ["queued"] * 3

    # when the server is back and staff resume
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert services.send_resume(send=send)

    # then
    assert len(django_mail.outbox) == 3
    send.refresh_from_db()
    assert (send.status, send.pause_reason) == (Send.Status.DONE, "")
