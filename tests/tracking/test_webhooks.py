"""ESP webhooks with real payloads (shapes as each ESP posts them): delivered,
bounced, complained; credentials; replays; messages we do not know."""

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime

import pytest

from campaigns.models import Message, Send
from contacts.models import Contact, Suppression
from tests.factories import CampaignFactory, ContactFactory
from tracking.facts import tallies_of, tally_rebuild
from tracking.models import Event

pytestmark = pytest.mark.django_db

SECRET = "esp-user:esp-secret-8c1f"
SIGNING_KEY = "mailgun-signing-key-2b7e"
AUTH = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(SECRET.encode()).decode()}
WRONG = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(b"esp-user:guess").decode()}


@pytest.fixture(autouse=True)
def _webhook_settings(settings):
    settings.ANYMAIL = {"WEBHOOK_SECRET": SECRET, "MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY}


@pytest.fixture
def send():
    return Send.objects.create(campaign=CampaignFactory(), status=Send.Status.SENDING)


def message_for(send, email: str, esp_id: str) -> Message:
    contact = ContactFactory(email=email)
    return Message.objects.create(
        send=send,
        contact=contact,
        email=email,
        status=Message.Status.SENT,
        sent_at=datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
        esp_message_id=esp_id,
    )


def totals(send) -> dict[str, int]:
    return {metric: v for (dim, _k, metric), v in tallies_of(send.pk).items() if dim == "total"}


# --- Postmark: basic auth only, no signature; deliveries carry no event id -------------

POSTMARK_ID = "883953f4-6105-42a2-a16a-77a8eac79483"


def postmark(client, payload, auth=AUTH):
    return client.post(
        "/anymail/postmark/tracking/", json.dumps(payload), "application/json", **auth
    )


def postmark_delivery(email="ann@example.com", at="2026-11-02T09:00:10.2735393-05:00"):
    return {
        "RecordType": "Delivery",
        "ServerID": 23,
        "MessageID": POSTMARK_ID,
        "Recipient": email,
        "Tag": "marketing",
        "Metadata": {"message_id": "0"},
        "DeliveredAt": at,
        "Details": "smtp;250 2.0.0 OK",
    }


def postmark_bounce(kind="HardBounce", details="smtp;550 5.1.1 The email account does not exist."):
    return {
        "RecordType": "Bounce",
        "ID": 901542550 if kind == "HardBounce" else 901542551,
        "Type": kind,
        "TypeCode": 1,
        "Name": "Hard bounce",
        "MessageID": POSTMARK_ID,
        "Description": "The server was unable to deliver your message.",
        "Details": details,
        "Email": "ann@example.com",
        "From": "shop@example.com",
        "BouncedAt": "2026-11-02T09:01:50.3963933-05:00",
        "Inactive": True,
        "CanActivate": True,
        "Subject": "Autumn sale",
    }


def test_postmark_delivery_then_hard_bounce(client, send):
    message = message_for(send, "ann@example.com", POSTMARK_ID)

    assert postmark(client, postmark_delivery()).status_code == 200
    message.refresh_from_db()
    assert message.delivered_at == datetime(2026, 11, 2, 14, 0, 10, 273539, tzinfo=UTC)
    assert totals(send) == {"delivered": 1}

    assert postmark(client, postmark_bounce()).status_code == 200

    message.refresh_from_db()
    assert (message.bounce_type, message.delivered_at) == ("hard", None)
    assert "5.1.1" in message.bounce_reason
    assert Contact.objects.get(email="ann@example.com").status == "bounced"
    assert Suppression.objects.filter(email="ann@example.com", reason="bounced").exists()
    assert totals(send) == {"bounced_hard": 1}
    assert tallies_of(send.pk) == tally_rebuild(send.pk)


def test_postmark_deliveries_without_an_event_id_are_applied_once(client, send):
    message_for(send, "ann@example.com", POSTMARK_ID)
    for _ in range(3):
        assert postmark(client, postmark_delivery()).status_code == 200
    assert Event.objects.filter(kind="delivered").count() == 1
    assert totals(send) == {"delivered": 1}


def test_postmark_soft_bounce_counts_and_suppresses_after_the_limit(client, send, settings):
    settings.SOFT_BOUNCE_LIMIT = 2
    ann = message_for(send, "ann@example.com", POSTMARK_ID)
    postmark(client, postmark_bounce("SoftBounce", "smtp;452 4.2.2 Mailbox full"))
    ann.refresh_from_db()
    assert ann.bounce_type == "soft"
    assert Contact.objects.get(email="ann@example.com").status == "subscribed"
    assert not Suppression.objects.exists()

    # A second send, a second soft bounce in a row: the address is suppressed.
    other = Send.objects.create(campaign=CampaignFactory(), status=Send.Status.SENDING)
    Message.objects.create(
        send=other, contact=ann.contact, email=ann.email, status="sent", esp_message_id="pm-2"
    )
    bounce = postmark_bounce("SoftBounce", "smtp;452 4.2.2 Mailbox full") | {
        "ID": 7,
        "MessageID": "pm-2",
    }
    postmark(client, bounce)
    assert Contact.objects.get(email="ann@example.com").status == "bounced"


def test_a_policy_block_counts_as_soft_and_never_suppresses(client, send, settings):
    settings.SOFT_BOUNCE_LIMIT = 1
    message = message_for(send, "ann@example.com", POSTMARK_ID)
    postmark(client, postmark_bounce("SoftBounce", "smtp;550 5.7.1 Message rejected by policy"))
    message.refresh_from_db()
    assert message.bounce_type == "soft"
    assert Contact.objects.get(email="ann@example.com").status == "subscribed"
    assert not Suppression.objects.exists()


def test_postmark_complaint_suppresses_and_unsubscribes(client, send):
    message = message_for(send, "ann@example.com", POSTMARK_ID)
    complaint = postmark_bounce() | {
        "RecordType": "SpamComplaint",
        "Type": "SpamComplaint",
        "ID": 5,
    }
    assert postmark(client, complaint).status_code == 200
    message.refresh_from_db()
    assert message.complained_at is not None and message.unsubscribed_at is not None
    assert Contact.objects.get(email="ann@example.com").status == "complained"
    assert Suppression.objects.get(email="ann@example.com").reason == "complained"
    assert totals(send) == {"complained": 1, "unsubscribed": 1}


def test_a_request_without_or_with_wrong_credentials_gets_400_and_changes_nothing(client, send):
    message_for(send, "ann@example.com", POSTMARK_ID)
    assert postmark(client, postmark_bounce(), auth={}).status_code == 400
    assert postmark(client, postmark_bounce(), auth=WRONG).status_code == 400
    assert not Event.objects.exists()
    assert Contact.objects.get(email="ann@example.com").status == "subscribed"


def test_an_event_for_a_message_we_do_not_know_is_acknowledged(client, send):
    response = postmark(client, postmark_bounce() | {"MessageID": "someone-elses"})
    assert response.status_code == 200
    assert not Event.objects.exists()


# --- SendGrid: basic auth; "blocked" is a soft bounce ----------------------------------


def sendgrid(client, events, auth=AUTH):
    return client.post(
        "/anymail/sendgrid/tracking/", json.dumps(events), "application/json", **auth
    )


def sendgrid_event(event, email, anymail_id, event_id, **extra):
    return {
        "email": email,
        "timestamp": 1793610000,
        "smtp-id": "<wrfRRvF7Q0GgwUo2CvDmEA@ismtpd0006p1sjc2.sendgrid.net>",
        "sg_event_id": event_id,
        "sg_message_id": "wrfRRvF7Q0GgwUo2CvDmEA.filter0425p1mdw1.13037.57168B4A1D.0",
        "event": event,
        "anymail_id": anymail_id,
        **extra,
    }


def test_sendgrid_delivered_bounce_blocked_and_spamreport(client, send):
    ann = message_for(send, "ann@example.com", "sg-ann")
    bob = message_for(send, "bob@example.net", "sg-bob")
    cat = message_for(send, "cat@example.org", "sg-cat")
    events = [
        sendgrid_event("delivered", "ann@example.com", "sg-ann", "ev-1", response="250 OK"),
        sendgrid_event(
            "bounce", "bob@example.net", "sg-bob", "ev-2", type="bounce", status="5.1.1",
            reason="550 5.1.1 The email account that you tried to reach does not exist.",
        ),
        sendgrid_event(
            "bounce", "cat@example.org", "sg-cat", "ev-3", type="blocked", status="4.7.0",
            reason="421 4.7.0 Try again later",
        ),
        sendgrid_event("spamreport", "ann@example.com", "sg-ann", "ev-4"),
    ]  # fmt: skip

    assert sendgrid(client, events).status_code == 200
    assert sendgrid(client, events).status_code == 200  # replayed: changes nothing

    for message in (ann, bob, cat):
        message.refresh_from_db()
    assert ann.delivered_at is not None and ann.complained_at is not None
    assert (bob.bounce_type, cat.bounce_type) == ("hard", "soft")
    assert Contact.objects.get(email="bob@example.net").status == "bounced"
    assert Contact.objects.get(email="cat@example.org").status == "subscribed"
    assert totals(send) == {
        "delivered": 1, "bounced_hard": 1, "bounced_soft": 1, "complained": 1, "unsubscribed": 1,
    }  # fmt: skip
    assert Event.objects.count() == 4
    assert tallies_of(send.pk) == tally_rebuild(send.pk)


def test_sendgrid_finds_the_message_by_the_metadata_the_send_attached(client, send):
    ann = message_for(send, "ann@example.com", "")
    event = sendgrid_event("delivered", "ann@example.com", "unknown", "ev-9")
    event["message_id"] = str(ann.pk)  # our metadata, merged into the event by SendGrid
    sendgrid(client, [event])
    ann.refresh_from_db()
    assert ann.delivered_at is not None


def test_sendgrid_without_credentials_gets_400(client, send):
    message_for(send, "ann@example.com", "sg-ann")
    event = sendgrid_event("spamreport", "ann@example.com", "sg-ann", "ev-4")
    assert sendgrid(client, [event], auth={}).status_code == 400
    assert not Event.objects.exists()


# --- Mailgun: basic auth and its own signature ----------------------------------------

MAILGUN_ID = "<20261102090000.1.DF5966851B4BAA99@mg.example.com>"


def mailgun(client, event_data, token="6518693", key=SIGNING_KEY, auth=AUTH):
    timestamp = str(int(event_data["timestamp"]))
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256)
    payload = {
        "signature": {"timestamp": timestamp, "token": token, "signature": signature.hexdigest()},
        "event-data": event_data,
    }
    return client.post(
        "/anymail/mailgun/tracking/", json.dumps(payload), "application/json", **auth
    )


def mailgun_event(event, **extra):
    return {
        "event": event,
        "id": f"mg-{event}",
        "timestamp": 1793610000.153125,
        "recipient": "ann@example.com",
        "recipient-domain": "example.com",
        "user-variables": {},
        "message": {
            "headers": {
                "to": "ann@example.com",
                "message-id": MAILGUN_ID.strip("<>"),
                "from": "shop@example.com",
                "subject": "Autumn sale",
            }
        },
        **extra,
    }


def test_mailgun_delivered_failed_and_complained(client, send):
    message = message_for(send, "ann@example.com", MAILGUN_ID)
    assert mailgun(client, mailgun_event("delivered"), token="t1").status_code == 200
    message.refresh_from_db()
    assert message.delivered_at is not None

    failed = mailgun_event(
        "failed",
        severity="permanent",
        reason="bounce",
        **{"delivery-status": {"code": 550, "message": "5.1.1 The email account does not exist"}},
    )
    assert mailgun(client, failed, token="t2").status_code == 200
    assert mailgun(client, mailgun_event("complained"), token="t3").status_code == 200

    message.refresh_from_db()
    assert (message.bounce_type, message.delivered_at) == ("hard", None)
    assert message.complained_at is not None
    assert Contact.objects.get(email="ann@example.com").status == "complained"
    assert totals(send) == {"bounced_hard": 1, "complained": 1, "unsubscribed": 1}


def test_mailgun_with_a_bad_signature_or_no_credentials_gets_400(client, send):
    message_for(send, "ann@example.com", MAILGUN_ID)
    assert mailgun(client, mailgun_event("complained"), key="forged").status_code == 400
    assert mailgun(client, mailgun_event("complained"), auth={}).status_code == 400
    assert not Event.objects.exists()


def test_mailgun_replayed_webhook_is_applied_once(client, send):
    message_for(send, "ann@example.com", MAILGUN_ID)
    for _ in range(2):
        assert mailgun(client, mailgun_event("delivered"), token="same").status_code == 200
    assert Event.objects.count() == 1


# --- Amazon SES: SNS notifications; "Transient" is soft; delays arrive as "unknown" -------

SES_ID = "0100017f0b5c8f2e-6c3bd6b3-2f42-4a63-9dbe-8b6c7f6d7a11-000000"


def ses(client, ses_event, sns_id, auth=AUTH):
    notification = {
        "Type": "Notification",
        "MessageId": sns_id,
        "TopicArn": "arn:aws:sns:us-east-1:111122223333:ses-events",
        "Message": json.dumps(ses_event),
        "Timestamp": "2026-11-02T09:01:00.000Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLE",
    }
    return client.post(
        "/anymail/amazon_ses/tracking/",
        json.dumps(notification),
        "text/plain; charset=UTF-8",
        HTTP_X_AMZ_SNS_MESSAGE_TYPE="Notification",
        HTTP_X_AMZ_SNS_MESSAGE_ID=sns_id,
        **auth,
    )


def ses_mail(*recipients):
    return {
        "timestamp": "2026-11-02T09:00:00.000Z",
        "source": "shop@example.com",
        "messageId": SES_ID,
        "destination": list(recipients),
        "headers": [{"name": "X-Metadata", "value": "{}"}],
    }


def test_ses_delivery_transient_bounce_permanent_bounce_and_complaint(client, send):
    ann = message_for(send, "ann@example.com", SES_ID)
    delivery = {
        "eventType": "Delivery",
        "mail": ses_mail("ann@example.com"),
        "delivery": {"recipients": ["ann@example.com"], "smtpResponse": "250 2.6.0 OK"},
    }
    delay = {
        "eventType": "DeliveryDelay",
        "mail": ses_mail("ann@example.com"),
        "deliveryDelay": {"delayType": "MailboxFull", "delayedRecipients": []},
    }

    def bounce(kind, status):
        return {
            "eventType": "Bounce",
            "mail": ses_mail("ann@example.com"),
            "bounce": {
                "bounceType": kind,
                "bounceSubType": "General",
                "bouncedRecipients": [
                    {"emailAddress": "ann@example.com", "status": status,
                     "diagnosticCode": f"smtp; 550 {status} user unknown"}
                ],
            },
        }  # fmt: skip

    assert ses(client, delay, "sns-0").status_code == 200
    assert ses(client, delivery, "sns-1").status_code == 200
    assert ses(client, bounce("Transient", "4.4.7"), "sns-2").status_code == 200
    ann.refresh_from_db()
    assert (ann.bounce_type, ann.delivered_at) == ("soft", None)
    assert ses(client, bounce("Permanent", "5.1.1"), "sns-3").status_code == 200
    ann.refresh_from_db()
    assert ann.bounce_type == "hard"  # a hard bounce outranks the soft one
    assert Event.objects.filter(kind="deferred").count() == 1
    assert totals(send) == {"bounced_hard": 1}
    assert tallies_of(send.pk) == tally_rebuild(send.pk)

    complaint = {
        "eventType": "Complaint",
        "mail": ses_mail("ann@example.com"),
        "complaint": {
            "complainedRecipients": [{"emailAddress": "ann@example.com"}],
            "complaintFeedbackType": "abuse",
        },
    }
    assert ses(client, complaint, "sns-4").status_code == 200
    assert ses(client, complaint, "sns-4").status_code == 200  # replayed
    assert Contact.objects.get(email="ann@example.com").status == "complained"
    assert Event.objects.filter(kind="complained").count() == 1


def test_ses_with_wrong_credentials_gets_400(client, send):
    message_for(send, "ann@example.com", SES_ID)
    complaint = {
        "eventType": "Complaint",
        "mail": ses_mail("ann@example.com"),
        "complaint": {"complainedRecipients": [{"emailAddress": "ann@example.com"}]},
    }
    assert ses(client, complaint, "sns-9", auth=WRONG).status_code == 400
    # Without any credentials SNS is first asked for them (401), as SNS requires.
    assert ses(client, complaint, "sns-9", auth={}).status_code == 401
    assert not Event.objects.exists()


# --- Out of order ------------------------------------------------------------------------


def test_a_delivery_arriving_after_the_bounce_does_not_undo_it(client, send):
    message = message_for(send, "ann@example.com", POSTMARK_ID)
    postmark(client, postmark_bounce())
    postmark(client, postmark_delivery())
    message.refresh_from_db()
    assert (message.bounce_type, message.delivered_at) == ("hard", None)
    assert totals(send) == {"bounced_hard": 1}
    assert Event.objects.filter(kind="delivered").count() == 1  # kept in the log


def test_an_address_the_esp_rejects_as_invalid_is_suppressed_like_a_hard_bounce(client, send):
    message = message_for(send, "ann@example.com", POSTMARK_ID)
    invalid = postmark_bounce("BadEmailAddress", "Invalid email address") | {"ID": 11}
    assert postmark(client, invalid).status_code == 200
    message.refresh_from_db()
    assert message.bounce_type == "hard"
    assert Contact.objects.get(email="ann@example.com").status == "bounced"


def test_a_policy_rejection_is_logged_but_suppresses_nobody(client, send):
    message = message_for(send, "ann@example.com", POSTMARK_ID)
    blocked = postmark_bounce("Blocked", "smtp;550 5.7.1 Rejected by policy") | {"ID": 12}
    assert postmark(client, blocked).status_code == 200
    message.refresh_from_db()
    assert message.bounced_at is None
    assert Event.objects.get().kind == "rejected"
    assert Contact.objects.get(email="ann@example.com").status == "subscribed"
