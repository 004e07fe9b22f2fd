"""The suppression list page: addresses and domains with reason and source,
added by marketers, removed by admins, applied at send time even after a
re-import."""

import pytest
from django.urls import reverse

from campaigns.models import Message
from campaigns.services import campaign_send
from contacts.models import AuditEntry, Contact, DomainSuppression, Suppression
from contacts.services import contacts_suppress_bounced
from tests.factories import CampaignFactory, ContactFactory, GroupFactory
from tests.spreadsheets import admin_import, csv_bytes


def add(client, value: str, note: str = ""):
    return client.post(
        reverse("contacts:suppression_add"), {"value": value, "note": note}, follow=True
    )


def test_a_marketer_suppresses_an_address_and_a_domain(client, bob):
    client.force_login(bob)

    first = add(client, " Ann@Example.com ", "Asked by phone").content.decode()
    second = add(client, "@Competitor.example", "Their staff sign up").content.decode()

    assert "ann@example.com is now suppressed" in first
    assert "Every address at competitor.example is now suppressed" in second
    ann = Suppression.objects.get()
    assert (ann.email, ann.reason, ann.source, ann.note) == (
        "ann@example.com",
        "manual",
        "manual",
        "Asked by phone",
    )
    assert DomainSuppression.objects.get().domain == "competitor.example"
    entries = AuditEntry.objects.filter(action="suppression_added", actor=bob)
    assert sorted(entries.values_list("object_type", flat=True)) == [
        "contacts.domainsuppression",
        "contacts.suppression",
    ]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("ann@", "is not an address"),
        ("not a domain", "is neither an address nor a domain"),
        ("ann@@example.com", "is not an address"),
        ("", "Type an address"),
    ],
)
def test_what_is_neither_an_address_nor_a_domain_is_refused(client, bob, value, message):
    client.force_login(bob)

    page = add(client, value).content.decode()

    assert message in page
    assert not Suppression.objects.exists() and not DomainSuppression.objects.exists()


def test_a_duplicate_is_refused_with_a_message(client, bob):
    Suppression.objects.create(email="ann@example.com")
    DomainSuppression.objects.create(domain="example.org")
    client.force_login(bob)

    assert (
        "ann@example.com is already on the list" in add(client, "ANN@example.com").content.decode()
    )
    assert "example.org is already on the list" in add(client, "example.org").content.decode()
    assert Suppression.objects.count() == 1


def test_the_list_shows_reason_and_source_and_searches(client, charlie):
    Suppression.objects.create(email="ann@example.com", note="Asked by phone")
    contacts_suppress_bounced(emails=["ben@example.com"])
    DomainSuppression.objects.create(domain="competitor.example", note="Competitor")
    client.force_login(charlie)

    page = client.get(reverse("contacts:suppressions")).content.decode()
    found = client.get(reverse("contacts:suppressions"), {"q": "BEN"}).content.decode()
    domains = client.get(reverse("contacts:suppressions"), {"kind": "domains"}).content.decode()
    nothing = client.get(reverse("contacts:suppressions"), {"q": "zed"}).content.decode()

    assert "ann@example.com" in page and "Asked by phone" in page
    assert "Hard bounce" in page and ">Bounce<" in page
    assert "ben@example.com" in found and "ann@example.com" not in found
    assert "@competitor.example" in domains and "ann@example.com" not in domains
    assert "Nothing matches “zed”" in nothing
    # a viewer reads, and neither adds nor removes
    assert "Add to the list" not in page and ">Remove<" not in page
    assert (
        client.post(reverse("contacts:suppression_add"), {"value": "x@example.com"}).status_code
        == 403
    )


def test_an_empty_list_says_what_it_is_for(client, charlie):
    client.force_login(charlie)

    page = client.get(reverse("contacts:suppressions")).content.decode()

    assert "No addresses suppressed" in page


def test_only_an_admin_removes_an_entry(client, alice, bob):
    entry = Suppression.objects.create(email="ann@example.com")
    url = reverse("contacts:suppression_remove", args=["addresses", entry.pk])
    client.force_login(bob)
    assert ">Remove<" not in client.get(reverse("contacts:suppressions")).content.decode()
    assert client.post(url).status_code == 403

    client.force_login(alice)
    page = client.post(url, follow=True).content.decode()

    assert "ann@example.com was removed from the suppression list" in page
    assert not Suppression.objects.exists()
    assert AuditEntry.objects.get(action="suppression_removed").actor == alice
    assert client.get(url).status_code == 405
    bad = reverse("contacts:suppression_remove", args=["people", entry.pk])
    assert client.post(bad).status_code == 404


def test_someone_without_a_role_sees_nothing(client, dave):
    client.force_login(dave)

    assert client.get(reverse("contacts:suppressions")).status_code == 403


def test_a_suppression_holds_at_send_time_even_after_a_re_import(
    client, alice, django_capture_on_commit_callbacks
):
    # given Ann is suppressed and later comes back in the shop's customer file
    newsletter = GroupFactory(name="Newsletter")
    ContactFactory(email="ann@example.com", status=Contact.Status.UNSUBSCRIBED)
    client.force_login(alice)
    add(client, "ann@example.com", "Asked by phone")
    add(client, "example.net")
    admin_import(
        client,
        "contacts_contact",
        csv_bytes(
            ["email", "status", "groups"],
            ["ann@example.com", "subscribed", "Newsletter"],
            ["cy@example.net", "subscribed", "Newsletter"],
            ["ben@example.com", "subscribed", "Newsletter"],
        ),
        "customers.csv",
    )
    assert newsletter.contacts.count() == 3

    # when a campaign goes to the group
    with django_capture_on_commit_callbacks(execute=True):
        send = campaign_send(campaign=CampaignFactory(groups=[newsletter]))

    # then only Ben gets it
    reasons = dict(Message.objects.filter(send=send).values_list("email", "skip_reason"))
    assert reasons == {
        "ann@example.com": "suppressed",
        "cy@example.net": "suppressed",
        "ben@example.com": "",
    }


def test_imported_suppressions_say_they_came_from_a_file(client, alice):
    client.force_login(alice)

    admin_import(
        client,
        "contacts_suppression",
        csv_bytes(["email", "reason", "note"], ["spam@example.com", "complained", "Old ESP"]),
        "suppressions.csv",
    )

    assert Suppression.objects.get().source == "import"
