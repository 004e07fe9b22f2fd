"""An admin erases a contact's personal data; the ledger and the reports keep their counts."""

from datetime import timedelta

import pytest
from django.db.models import F
from django.urls import reverse

from campaigns.models import Message
from campaigns.services import campaign_send
from contacts.models import AuditEntry, Contact
from tests.factories import CampaignFactory, ContactFactory, GroupFactory, UserFactory
from tests.helpers import BROWSER
from tracking.models import Event
from tracking.reports import campaign_report
from tracking.services import message_record_click, message_record_open


@pytest.fixture
def sent(db, django_capture_on_commit_callbacks):
    """Ann, Ben and Cy got a campaign; Ann opened and clicked it."""
    group = GroupFactory(name="Newsletter")
    ann = ContactFactory(email="ann@example.com", groups=[group])
    for name in ["ben", "cy"]:
        ContactFactory(email=f"{name}@example.com", groups=[group])
    campaign = CampaignFactory(groups=[group])
    with django_capture_on_commit_callbacks(execute=True):
        send = campaign_send(campaign=campaign)
    message = Message.objects.get(send=send, contact=ann)
    # Read an hour later: hits seconds after sending are machines' (tracking.machine).
    Message.objects.filter(pk=message.pk).update(sent_at=F("sent_at") - timedelta(hours=1))
    message_record_open(message_id=message.pk, ip="203.0.113.7", user_agent=BROWSER)
    message_record_click(message_id=message.pk, link_index=0, ip="203.0.113.7", user_agent=BROWSER)
    return campaign, ann, message


def _assert_erased(campaign, ann, message, before, actor):
    assert not Contact.objects.filter(pk=ann.pk).exists()
    message.refresh_from_db()
    assert message.email == f"erased-{message.pk}@erased.invalid"
    assert message.status == Message.Status.SENT
    assert not Message.objects.filter(email="ann@example.com").exists()
    assert not Event.objects.filter(ip="203.0.113.7").exists()
    assert not Event.objects.exclude(user_agent="").filter(message=message).exists()
    assert campaign_report(campaign=campaign) == before
    entry = AuditEntry.objects.get(action=AuditEntry.Action.CONTACT_ERASED)
    assert (entry.actor, entry.object_id, entry.object_label) == (
        actor,
        str(ann.pk),
        f"Contact #{ann.pk}",
    )
    assert "ann@" not in str(AuditEntry.objects.values_list())


def test_an_admin_erases_a_contact_from_the_contact_page(client, sent, alice):
    campaign, ann, message = sent
    before = campaign_report(campaign=campaign)
    client.force_login(alice)

    page = client.get(reverse("contacts:detail", args=[ann.pk])).content.decode()
    response = client.post(reverse("contacts:erase", args=[ann.pk]), follow=True)

    assert "Erase personal data" in page
    assert "data-confirm=" in page
    assert f"Contact #{ann.pk} erased" in response.content.decode()
    assert (before.recipients, before.sent, before.opened, before.clicked) == (3, 3, 1, 1)
    _assert_erased(campaign, ann, message, before, alice)


@pytest.mark.parametrize("role", ["marketer", "viewer"])
def test_only_an_admin_may_erase(client, sent, role):
    _, ann, message = sent
    client.force_login(UserFactory(username=role, role=role))

    page = client.get(reverse("contacts:detail", args=[ann.pk])).content.decode()
    response = client.post(reverse("contacts:erase", args=[ann.pk]))

    assert "Erase personal data" not in page
    assert response.status_code == 403
    assert Contact.objects.filter(pk=ann.pk).exists()
    message.refresh_from_db()
    assert message.email == "ann@example.com"


def test_erasing_takes_a_post(client, sent, alice):
    client.force_login(alice)
    assert client.get(reverse("contacts:erase", args=[sent[1].pk])).status_code == 405


def test_a_staff_admin_who_is_no_superuser_erases_in_the_django_admin(client, sent, alice):
    campaign, ann, message = sent
    before = campaign_report(campaign=campaign)
    assert not alice.is_superuser
    client.force_login(alice)

    confirm = client.get(reverse("admin:contacts_contact_delete", args=[ann.pk]))
    response = client.post(reverse("admin:contacts_contact_delete", args=[ann.pk]), {"post": "yes"})

    assert confirm.status_code == 200
    assert not confirm.context["perms_lacking"]
    assert response.status_code == 302
    _assert_erased(campaign, ann, message, before, alice)


def test_the_admin_action_erases_the_selected_contacts(client, sent, alice):
    campaign, ann, message = sent
    before = campaign_report(campaign=campaign)
    client.force_login(alice)

    response = client.post(
        reverse("admin:contacts_contact_changelist"),
        {"action": "erase_selected", "_selected_action": [ann.pk]},
        follow=True,
    )

    assert "Erased 1 contact." in response.content.decode()
    _assert_erased(campaign, ann, message, before, alice)
