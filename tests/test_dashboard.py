import pytest
from django.urls import reverse

from campaigns.models import Campaign, Message, Send
from contacts.models import Contact
from tests.factories import CampaignFactory, ContactFactory, GroupFactory
from tracking.models import Event


def _sent_campaign(name: str, opened: int, recipients: int = 4) -> Campaign:
    group = GroupFactory(name=f"{name} list")
    campaign = CampaignFactory(name=name, groups=[group], status=Campaign.Status.SENT)
    send = Send.objects.create(campaign=campaign, status=Send.Status.DONE)
    for index in range(recipients):
        contact = ContactFactory(groups=[group])
        message = Message.objects.create(
            send=send, contact=contact, email=contact.email, status=Message.Status.SENT
        )
        if index < opened:
            Event.objects.create(message=message, contact=contact, kind=Event.Kind.OPENED)
    return campaign


def test_it_shows_contact_counts_by_status_and_the_groups(client, charlie):
    newsletter = GroupFactory(name="Newsletter")
    ContactFactory.create_batch(3, groups=[newsletter])
    ContactFactory(status=Contact.Status.UNSUBSCRIBED)
    GroupFactory(name="VIP")
    client.force_login(charlie)

    page = client.get(reverse("dashboard"))

    assert page.status_code == 200
    statuses = {label: count for _, label, count in page.context["contact_statuses"]}
    assert statuses["Subscribed"] == 3
    assert statuses["Unsubscribed"] == 1
    assert page.context["contact_total"] == 4
    assert page.context["group_count"] == 2


def test_it_lists_recent_campaigns_with_their_open_and_click_rates(client, charlie):
    _sent_campaign("Spring sale", opened=1)
    _sent_campaign("Summer sale", opened=3)
    client.force_login(charlie)

    page = client.get(reverse("dashboard")).content.decode()

    assert "Spring sale" in page
    assert "25.0%" in page  # 1 of 4 opened
    assert "75.0%" in page
    assert "0.0%" in page  # nobody clicked


def test_it_offers_a_new_campaign_only_to_those_who_may_compose(client, alice, bob, charlie):
    for user, can_compose in [(alice, True), (bob, True), (charlie, False)]:
        client.force_login(user)
        page = client.get(reverse("dashboard")).content.decode()
        assert (reverse("campaigns:create") in page) is can_compose, user


def test_it_explains_what_to_do_when_there_are_no_campaigns(client, bob):
    client.force_login(bob)
    page = client.get(reverse("dashboard")).content.decode()
    assert "No campaigns yet" in page
    assert "Create a campaign" in page


@pytest.mark.parametrize("campaigns", [3, 8])
def test_it_reads_the_dashboard_in_a_fixed_number_of_queries(
    client, charlie, django_assert_max_num_queries, campaigns
):
    for number in range(campaigns):
        _sent_campaign(f"Campaign {number}", opened=1, recipients=2)
    client.force_login(charlie)

    with django_assert_max_num_queries(10):
        assert client.get(reverse("dashboard")).status_code == 200
