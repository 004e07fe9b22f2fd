"""The audit trail: every staff action of note leaves one entry, nobody edits them."""

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns import ledger
from campaigns.models import Campaign, Message, Send
from campaigns.resources import ProductResource
from contacts.audit import audit_record
from contacts.models import AuditEntry, Contact
from contacts.resources import ContactResource
from tests.factories import CampaignFactory, ContactFactory, GroupFactory
from tests.spreadsheets import admin_export, admin_import, csv_bytes

Action = AuditEntry.Action


def _entries() -> list[tuple]:
    return list(
        AuditEntry.objects.order_by("id").values_list(
            "actor_name", "action", "object_type", "object_label"
        )
    )


def _sending(campaign: Campaign, **counts) -> Send:
    send = Send.objects.create(campaign=campaign, status=Send.Status.SENDING)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENDING)
    Message.objects.bulk_create(
        Message(send=send, email=f"{status}{n}@example.com", status=status)
        for status, count in counts.items()
        for n in range(count)
    )
    return send


def _send_url(name: str, send: Send) -> str:
    return reverse(f"campaigns:{name}", args=[send.campaign_id, send.pk])


def test_it_records_a_campaign_created_and_edited_by_a_marketer(client, bob):
    client.force_login(bob)
    data = {
        "name": "Autumn sale",
        "kind": "marketing",
        "subject": "Hello",
        "from_name": "Demo Shop",
        "from_email": "news@shop.example.com",
        "body": "<p>Hi</p>",
        "postal_address": "1 Market Street",
    }
    client.post(reverse("campaigns:create"), data)
    campaign = Campaign.objects.get()
    client.post(reverse("campaigns:edit", args=[campaign.pk]), {**data, "subject": "Hi there"})

    assert _entries() == [
        ("bob", Action.CAMPAIGN_CREATED, "campaigns.campaign", "Autumn sale"),
        ("bob", Action.CAMPAIGN_EDITED, "campaigns.campaign", "Autumn sale"),
    ]
    edited = AuditEntry.objects.get(action=Action.CAMPAIGN_EDITED)
    assert (edited.actor, edited.object_id) == (bob, str(campaign.pk))
    assert "subject" in edited.details["fields"]


def test_it_records_a_campaign_sent(client, bob):
    group = GroupFactory(name="Newsletter")
    ContactFactory(groups=[group])
    campaign = CampaignFactory(groups=[group])
    client.force_login(bob)

    client.post(reverse("campaigns:send", args=[campaign.pk]))

    entry = AuditEntry.objects.get()
    send = Send.objects.get()
    assert (entry.actor, entry.action, entry.object_id) == (
        bob,
        Action.CAMPAIGN_SENT,
        str(campaign.pk),
    )
    assert entry.details == {"send": send.pk}


def test_it_records_pause_resume_and_cancel_but_not_a_click_that_changed_nothing(client, bob):
    send = _sending(CampaignFactory(), queued=3)
    client.force_login(bob)

    for action in ["send_pause", "send_pause", "send_resume", "send_cancel", "send_cancel"]:
        client.post(_send_url(action, send))

    assert [action for _, action, _, _ in _entries()] == [
        Action.SEND_PAUSED,
        Action.SEND_RESUMED,
        Action.SEND_CANCELLED,
    ]
    assert AuditEntry.objects.filter(actor=bob, details={"send": send.pk}).count() == 3


def test_it_records_the_mails_in_doubt_sent_again(client, bob):
    send = _sending(CampaignFactory(), sent=2, in_doubt=2)
    ledger.send_finish_if_done(send_id=send.pk)
    client.force_login(bob)

    client.post(_send_url("send_resend_in_doubt", send))

    entry = AuditEntry.objects.get()
    assert entry.action == Action.SEND_RESENT_IN_DOUBT
    assert entry.details == {"send": send.pk, "messages": 2}


@pytest.mark.django_db
def test_audit_record_without_an_actor_names_the_system():
    campaign = CampaignFactory()
    entry = audit_record(actor=None, action=Action.SEND_PAUSED, target=campaign)
    assert (entry.actor, entry.actor_name, entry.object_label) == (None, "system", "Spring sale")


def test_it_records_a_campaign_deleted_in_the_admin(client, alice):
    campaign = CampaignFactory(name="Old draft")
    client.force_login(alice)

    response = client.post(
        reverse("admin:campaigns_campaign_delete", args=[campaign.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not Campaign.objects.exists()
    assert _entries() == [("alice", Action.CAMPAIGN_DELETED, "campaigns.campaign", "Old draft")]


def test_it_records_contacts_imported_and_exported_in_the_admin(client, alice):
    client.force_login(alice)
    content = csv_bytes(
        ["email", "first_name"], ["ann@example.com", "Ann"], ["ben@example.com", "Ben"]
    )

    admin_import(client, "contacts_contact", content, "list.csv")
    admin_export(client, "contacts_contact", ContactResource)

    assert Contact.objects.count() == 2
    assert _entries() == [
        ("alice", Action.IMPORTED, "contacts.contact", "Contacts"),
        ("alice", Action.EXPORTED, "contacts.contact", "Contacts"),
    ]
    imported, exported = AuditEntry.objects.order_by("id")
    assert imported.details == {"file": "list.csv", "new": 2}
    assert exported.details == {"rows": 2}


def test_it_records_other_spreadsheets_too(client, alice):
    client.force_login(alice)
    admin_export(client, "campaigns_product", ProductResource)
    assert _entries() == [("alice", Action.EXPORTED, "campaigns.product", "Products")]


def test_a_marketer_can_neither_import_nor_export_contacts(client, bob):
    client.force_login(bob)
    for page in ["import", "export"]:
        assert client.get(reverse(f"admin:contacts_contact_{page}")).status_code in (302, 403)
    assert not AuditEntry.objects.exists()


def test_entries_are_never_changed_or_deleted(db, alice):
    entry = audit_record(actor=alice, action=Action.CAMPAIGN_CREATED, target=CampaignFactory())
    entry.object_label = "Something else"
    with pytest.raises(ValueError):
        entry.save()
    with pytest.raises(ValueError):
        entry.delete()
    assert AuditEntry.objects.get().object_label == "Spring sale"


def test_the_django_admin_shows_entries_read_only_even_to_a_superuser(
    client, alice, django_user_model
):
    root = django_user_model.objects.create_superuser("root", "root@example.org", "x" * 20)
    entry = audit_record(actor=alice, action=Action.CAMPAIGN_CREATED, target=CampaignFactory())
    for user in (alice, root):
        client.force_login(user)
        listing = client.get(reverse("admin:contacts_auditentry_changelist"))
        assert listing.status_code == 200
        assert b"Spring sale" in listing.content
        change = client.post(
            reverse("admin:contacts_auditentry_change", args=[entry.pk]), {"object_label": "x"}
        )
        assert change.status_code in (200, 403)  # the read-only view, or refused
        assert client.get(reverse("admin:contacts_auditentry_add")).status_code == 403
        delete = client.post(
            reverse("admin:contacts_auditentry_delete", args=[entry.pk]), {"post": "yes"}
        )
        assert delete.status_code == 403
    entry.refresh_from_db()
    assert entry.object_label == "Spring sale"


def test_a_deleted_user_keeps_their_name_on_their_entries(db, bob):
    audit_record(actor=bob, action=Action.CAMPAIGN_CREATED, target=CampaignFactory())
    bob.delete()
    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.actor_name) == (None, "bob")
    assert entry.created_at <= timezone.now()
