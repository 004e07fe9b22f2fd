"""Batch sending through an ESP's API: a chunk of recipients in one call with
per-recipient merge data (anymail's SendGrid backend against a local fake)."""

import pytest

from campaigns.assembly import prepared_mail
from campaigns.models import Message, Send
from campaigns.services import campaign_send
from tests.factories import CampaignFactory, ContactFactory, GroupFactory
from tests.fake_esp import FakeSendGrid

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def esp(settings):
    server = FakeSendGrid()
    settings.EMAIL_BACKEND = "anymail.backends.sendgrid.EmailBackend"
    settings.ANYMAIL = {"SENDGRID_API_KEY": "test-key", "SENDGRID_API_URL": server.api_url}
    settings.SEND_CHUNK_SIZE = 50
    yield server
    server.shutdown()


@pytest.fixture
def newsletter():
    group = GroupFactory(name="Newsletter")
    for n in range(120):
        ContactFactory(email=f"c{n:03d}@example.com", first_name=f"Name{n}", groups=[group])
    return group


def test_a_chunk_goes_out_in_one_api_call_and_each_recipient_gets_their_own_mail(esp, newsletter):
    send = campaign_send(campaign=CampaignFactory(groups=[newsletter]))

    # 120 recipients, chunks of 50: three calls, not 120
    assert len(esp.requests) == 3
    assert esp.requests[0]["auth"] == "Bearer test-key"
    mails = {mail["to"]: mail for mail in esp.personalised()}
    assert len(mails) == 120
    prepared = prepared_mail(Send.objects.get(pk=send.pk))
    for message in Message.objects.select_related("contact").filter(send=send):
        mail, expected = mails[message.email], prepared.render(message)[0]
        # What the ESP builds from the merge data is the mail we would have built.
        assert (mail["subject"], mail["text"], mail["html"]) == (
            expected.subject,
            expected.text,
            expected.html,
        )
        assert mail["headers"]["Message-ID"] == prepared.message_id(message.pk)
        assert mail["headers"]["List-Unsubscribe"].startswith("<http://127.0.0.1:8000/t/u/")
        # The ESP's webhooks name the message through its metadata.
        assert mail["custom_args"]["message_id"] == str(message.pk)
        assert (
            message.status == "sent" and message.esp_message_id == mail["custom_args"]["anymail_id"]
        )
    assert "Name7" in mails["c007@example.com"]["subject"]


def test_an_esp_that_answers_429_then_recovers_gets_every_mail_once(esp, newsletter):
    esp.failures = [429, 503]
    send = campaign_send(campaign=CampaignFactory(groups=[newsletter]))
    addresses = [mail["to"] for mail in esp.personalised()]
    assert len(addresses) == len(set(addresses)) == 120
    assert set(Message.objects.filter(send=send).values_list("status", flat=True)) == {"sent"}


def test_a_rejected_api_key_pauses_the_send_with_the_reason(esp, newsletter):
    esp.failures = [401]
    send = campaign_send(campaign=CampaignFactory(groups=[newsletter]))
    send.refresh_from_db()
    assert send.status == Send.Status.PAUSED
    assert "401" in send.pause_reason
    assert set(Message.objects.filter(send=send).values_list("status", flat=True)) == {"queued"}
