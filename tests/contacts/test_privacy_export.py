"""An admin downloads everything held on one contact as JSON."""

import json

import pytest
from django.urls import reverse

from campaigns.models import Message
from campaigns.services import campaign_send
from contacts.models import AuditEntry, ConsentRecord
from tests.factories import CampaignFactory, ContactFactory, GroupFactory, UserFactory
from tests.helpers import BROWSER
from tracking.services import message_record_click


@pytest.fixture
def ann(db, django_capture_on_commit_callbacks):
    """Ann signed up, got a campaign and clicked it."""
    group = GroupFactory(name="Newsletter")
    ann = ContactFactory(
        email="ann@example.com", first_name="Ann", attributes={"city": "Riga"}, groups=[group]
    )
    ContactFactory(email="ben@example.com", groups=[group])
    ConsentRecord.objects.create(
        contact=ann,
        action="confirmed",
        source="confirmation",
        form_name="Footer form",
        wording="Yes, send me news.",
        ip="203.0.113.9",
    )
    with django_capture_on_commit_callbacks(execute=True):
        send = campaign_send(campaign=CampaignFactory(name="Spring sale", groups=[group]))
    message = Message.objects.get(send=send, contact=ann)
    message_record_click(message_id=message.pk, link_index=0, ip="203.0.113.9", user_agent=BROWSER)
    return ann


def test_an_admin_downloads_a_contacts_data(client, alice, ann):
    client.force_login(alice)
    page = client.get(reverse("contacts:detail", args=[ann.pk])).content.decode()
    assert "Download data (JSON)" in page

    response = client.post(reverse("contacts:data_export", args=[ann.pk]))

    assert response["Content-Type"].startswith("application/json")
    assert response["Content-Disposition"] == f'attachment; filename="contact-{ann.pk}.json"'
    data = json.loads(response.content)
    assert data["contact"]["email"] == "ann@example.com"
    assert data["contact"]["attributes"] == {"city": "Riga"}
    assert data["groups"] == ["Newsletter"]
    (consent,) = data["consents"]
    assert (consent["action"], consent["wording"], consent["ip"]) == (
        "confirmed",
        "Yes, send me news.",
        "203.0.113.9",
    )
    (message,) = data["messages"]
    assert (message["campaign"], message["status"], message["email"]) == (
        "Spring sale",
        "sent",
        "ann@example.com",
    )
    assert [event["kind"] for event in data["events"]] == ["clicked"]
    assert "ben@example.com" not in response.content.decode()
    entry = AuditEntry.objects.get(action=AuditEntry.Action.CONTACT_EXPORTED)
    assert (entry.actor, entry.object_label) == (alice, f"Contact #{ann.pk}")
    assert entry.details == {"groups": 1, "consents": 1, "messages": 1, "events": 1}


@pytest.mark.parametrize("role", ["marketer", "viewer"])
def test_only_an_admin_may_export(client, ann, role):
    client.force_login(UserFactory(username=role, role=role))

    page = client.get(reverse("contacts:detail", args=[ann.pk])).content.decode()

    assert "Download data (JSON)" not in page
    assert client.post(reverse("contacts:data_export", args=[ann.pk])).status_code == 403
    assert not AuditEntry.objects.filter(action="contact_exported").exists()


def test_exporting_takes_a_post(client, alice, ann):
    client.force_login(alice)

    assert client.get(reverse("contacts:data_export", args=[ann.pk])).status_code == 405


def test_erasing_removes_the_consent_records_too(client, alice, ann):
    client.force_login(alice)

    client.post(reverse("contacts:erase", args=[ann.pk]))

    assert not ConsentRecord.objects.exists()
