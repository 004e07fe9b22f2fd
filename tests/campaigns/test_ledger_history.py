"""What the ledger keeps: codes handed out stay spent, reports never change."""

import pytest
from django.core import mail as django_mail
from django.db import IntegrityError

from campaigns.models import CouponCode, Message
from campaigns.services import campaign_send
from tests.factories import (
    CampaignFactory,
    ContactFactory,
    CouponCodeFactory,
    CouponFactory,
    GroupFactory,
)
from tracking.reports import campaign_report

pytestmark = pytest.mark.django_db(transaction=True)


def test_deleting_a_contact_after_a_send_leaves_the_report_unchanged():
    group = GroupFactory()
    ann = ContactFactory(email="ann@example.com", groups=[group])
    ContactFactory(email="ben@example.com", groups=[group])
    campaign = CampaignFactory(groups=[group])
    campaign_send(campaign=campaign)
    before = campaign_report(campaign=campaign)

    ann.delete()

    assert campaign_report(campaign=campaign) == before
    assert Message.objects.filter(email="ann@example.com", contact=None).exists()


def test_a_code_of_a_deleted_contact_is_never_handed_to_someone_else():
    group = GroupFactory()
    ann = ContactFactory(email="ann@example.com", groups=[group])
    coupon = CouponFactory(kind="unique", code="")
    CouponCodeFactory(coupon=coupon, code="ONLY-ONE")
    campaign_send(campaign=CampaignFactory(groups=[group], coupon=coupon))
    ann.delete()

    ContactFactory(email="ben@example.com", groups=[group])
    campaign_send(campaign=CampaignFactory(name="Again", groups=[group], coupon=coupon))

    ben = Message.objects.get(email="ben@example.com")
    assert (ben.status, ben.skip_reason, ben.coupon_code) == ("skipped", "no_coupon_code", "")
    assert [m.to for m in django_mail.outbox] == [["ann@example.com"]]


def test_the_database_forbids_two_codes_of_one_coupon_for_one_contact():
    ann = ContactFactory()
    coupon = CouponFactory(kind="unique", code="")
    CouponCodeFactory(coupon=coupon, contact=ann)
    with pytest.raises(IntegrityError):
        CouponCodeFactory(coupon=coupon, contact=ann)


def test_codes_are_handed_out_per_batch_until_the_pool_runs_dry(settings):
    settings.SEND_BATCH_SIZE = 2
    group = GroupFactory()
    ContactFactory.create_batch(5, groups=[group])
    coupon = CouponFactory(kind="unique", code="")
    CouponCodeFactory.create_batch(3, coupon=coupon)
    campaign_send(campaign=CampaignFactory(groups=[group], coupon=coupon))
    assert Message.objects.filter(status="sent").count() == 3
    assert Message.objects.filter(skip_reason="no_coupon_code").count() == 2
    assert CouponCode.objects.filter(assigned_at__isnull=True).count() == 0
    sent_codes = set(Message.objects.filter(status="sent").values_list("coupon_code", flat=True))
    assert sent_codes == set(CouponCode.objects.values_list("code", flat=True))
