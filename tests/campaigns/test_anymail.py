"""Sending through an ESP with django-anymail (its test backend stands in for the ESP's API)."""

import pytest
from django.core import mail as django_mail

from campaigns.models import Message
from campaigns.services import campaign_send
from tests.factories import CampaignFactory, ContactFactory, GroupFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_sends_through_anymail_and_keeps_the_esps_message_id(settings):
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    group = GroupFactory()
    ContactFactory(email="ann@example.com", groups=[group])
    ContactFactory(email="ben@example.com", groups=[group])
    campaign_send(campaign=CampaignFactory(groups=[group]))

    assert len(django_mail.outbox) == 2
    for sent in django_mail.outbox:
        params = sent.anymail_test_params
        message = Message.objects.get(email=sent.to[0])
        # The metadata comes back in the ESP's webhooks and names the message.
        assert params["metadata"] == {"message_id": str(message.pk)}
        assert params["extra_headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert (params["track_opens"], params["track_clicks"]) == (False, False)
        assert message.esp_message_id == str(sent.anymail_status.message_id)
    assert {m.esp_message_id for m in Message.objects.all()} == {"0", "1"}
