"""Test sends and the preview as a contact."""

import pytest
from django.core import mail as django_mail
from django.urls import reverse

from campaigns import abtest, testsend
from campaigns.models import Message, Send
from contacts.models import AuditEntry
from tests.factories import CampaignFactory, ContactFactory, GroupFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign():
    group = GroupFactory(name="Newsletter")
    ContactFactory(
        email="aaron@example.com", first_name="Aaron", status="unsubscribed", groups=[group]
    )
    ContactFactory(email="ann@example.com", first_name="Ann", groups=[group])
    return CampaignFactory(groups=[group])


def test_a_test_goes_to_a_few_addresses_marked_and_outside_the_ledger(client, bob, campaign):
    ann = campaign.groups.get().contacts.get(email="ann@example.com")
    client.force_login(bob)

    response = client.post(
        reverse("campaigns:test_send", args=[campaign.pk]),
        {"addresses": "me@shop.example.com,\nboss@shop.example.com", "contact": ann.pk},
        follow=True,
    )

    assert "Test sent to me@shop.example.com, boss@shop.example.com" in response.content.decode()
    assert sorted(m.to[0] for m in django_mail.outbox) == [
        "boss@shop.example.com",
        "me@shop.example.com",
    ]
    mail = django_mail.outbox[0]
    assert mail.subject == "[Test] Spring sale, Ann!"
    assert mail.extra_headers["X-Campaign-Test"] == "yes"
    assert "Hello Ann" in mail.alternatives[0][0]
    # not a send: no ledger rows, so no report, cap or coupon code sees it
    assert not Send.objects.exists() and not Message.objects.exists()
    assert AuditEntry.objects.filter(details__test_sent_to__icontains="boss@").exists()


def test_a_test_of_a_variant_shows_that_variant(client, bob, campaign):
    abtest.ab_test_configure(
        campaign=campaign,
        variants=[
            abtest.VariantInput(),
            abtest.VariantInput(subject="B: {{ contact.first_name }}"),
        ],
        test_percent=20,
        metric="open_rate",
        wait_hours=4,
        confidence=95,
    )
    client.force_login(bob)
    client.post(
        reverse("campaigns:test_send", args=[campaign.pk]),
        {"addresses": "me@shop.example.com", "variant": "B"},
    )
    assert django_mail.outbox[0].subject == "[Test] B:"  # a sample contact has no name


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "at least one"),
        ("a@x.com b@x.com c@x.com d@x.com e@x.com f@x.com", "at most 5"),
        ("me@shop.example.com, nonsense", "“nonsense” is not an email address"),
    ],
)
def test_bad_addresses_are_refused(text, problem):
    with pytest.raises(testsend.TestSendProblem, match=problem):
        testsend.test_addresses_parse(text)


def test_too_many_addresses_send_nothing(client, bob, campaign):
    client.force_login(bob)
    response = client.post(
        reverse("campaigns:test_send", args=[campaign.pk]),
        {"addresses": ", ".join(f"p{i}@shop.example.com" for i in range(6))},
        follow=True,
    )
    assert "Test not sent: A test goes to at most 5 addresses." in response.content.decode()
    assert django_mail.outbox == []


def test_a_viewer_cannot_send_tests(client, charlie, campaign):
    client.force_login(charlie)
    response = client.post(
        reverse("campaigns:test_send", args=[campaign.pk]), {"addresses": "me@shop.example.com"}
    )
    assert response.status_code == 403
    assert django_mail.outbox == []


def test_the_preview_shows_a_contact_who_will_get_it_in_a_sandbox(client, bob, campaign):
    client.force_login(bob)
    page = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    # Aaron comes first by address but unsubscribed: the preview shows Ann
    assert "Spring sale, Ann!" in page
    assert 'sandbox="allow-popups allow-popups-to-escape-sandbox"' in page

    preview = client.get(reverse("campaigns:preview", args=[campaign.pk]))
    assert "Hello Ann" in preview.content.decode()
    policy = preview["Content-Security-Policy"]
    assert "sandbox" in policy and "script-src 'none'" in policy and "default-src 'none'" in policy

    aaron = client.get(
        reverse("campaigns:preview", args=[campaign.pk]) + "?email=aaron@example.com"
    )
    assert "Hello Aaron" in aaron.content.decode()  # any contact on request
