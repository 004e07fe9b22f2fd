"""Who may get the mail is checked again right before each chunk goes."""

import pytest

from campaigns.models import Message
from campaigns.services import campaign_send
from contacts.models import DomainSuppression, Suppression
from contacts.services import contact_unsubscribe
from tests.factories import CampaignFactory, ContactFactory
from tests.reliability.helpers import audience, statuses

pytestmark = pytest.mark.worker


def test_who_unsubscribes_or_is_suppressed_during_a_send_gets_nothing_more(sink, workers):
    # given a slow send whose last recipients are Yann, Zoe and Xavier
    group, contacts = audience(120)
    yann = ContactFactory(email="yann@example.com", groups=[group])
    zoe = ContactFactory(email="zoe@example.com", groups=[group])
    xavier = ContactFactory(email="xavier@competitor.example", groups=[group])
    sink.delay = 0.02
    workers.start(SEND_BATCH_SIZE=40, SEND_CHUNK_SIZE=10)
    send = campaign_send(campaign=CampaignFactory(groups=[group]))
    workers.wait_for(lambda: sink.count() >= 10, what="the first mails", send=send)

    # when, with the send under way, Yann unsubscribes, Zoe's address is
    # suppressed and so is Xavier's whole domain
    contact_unsubscribe(contact_id=yann.pk)
    Suppression.objects.create(email=zoe.email, reason=Suppression.Reason.MANUAL)
    DomainSuppression.objects.create(domain="competitor.example")
    assert sink.count() < len(contacts)  # their turn had not come
    workers.wait_for_send(send)

    # then they get nothing, and the ledger says why
    assert not {yann.email, zoe.email, xavier.email} & set(sink.received())
    skipped = Message.objects.filter(send=send, status=Message.Status.SKIPPED)
    assert dict(skipped.values_list("email", "skip_reason")) == {
        yann.email: "unsubscribed",
        zoe.email: "suppressed",
        xavier.email: "suppressed",
    }
    assert sink.received() == {contact.email: 1 for contact in contacts}
    assert statuses(send) == {"sent": 120, "skipped": 3}
