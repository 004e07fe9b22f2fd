from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, Message, Send
from contacts.models import Contact
from tests.factories import CampaignFactory, ContactFactory, GroupFactory
from tests.helpers import BROWSER
from tracking import services
from tracking.facts import events_flush_all, message_fact_apply


def _sent_campaign(
    name: str, opened: int, recipients: int = 4, complained: int = 0, days_ago: int = 1
) -> Campaign:
    group = GroupFactory(name=f"{name} list")
    campaign = CampaignFactory(name=name, groups=[group], status=Campaign.Status.SENT)
    started = timezone.now() - timedelta(days=days_ago)
    send = Send.objects.create(campaign=campaign, status=Send.Status.DONE, started_at=started)
    for index in range(recipients):
        contact = ContactFactory(groups=[group])
        message = Message.objects.create(
            send=send, contact=contact, email=contact.email, status="sent", sent_at=started
        )
        if index < opened:
            services.hit_record(
                message_id=message.pk, kind="opened", ip=None, user_agent=BROWSER,
                at=started + timedelta(hours=1),
            )  # fmt: skip
        if index < complained:
            message_fact_apply(message_id=message.pk, kind="complained", at=started)
    events_flush_all(settle_seconds=0)
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

    with django_assert_max_num_queries(18):
        assert client.get(reverse("dashboard")).status_code == 200


def test_it_sums_the_last_30_days_and_ranks_the_best_campaigns(client, charlie):
    _sent_campaign("Spring sale", opened=5, recipients=10)
    _sent_campaign("Summer sale", opened=9, recipients=10)
    _sent_campaign("Last year", opened=10, recipients=10, days_ago=60)
    client.force_login(charlie)

    page = client.get(reverse("dashboard"))

    period = page.context["period"]
    assert (period.sent, period.opened) == (20, 14)  # last year's send is outside
    assert dict(page.context["period_rates"])["Open rate"] == "70.0%"
    assert [row["campaign"].name for row in page.context["best"]] == ["Summer sale", "Spring sale"]
    assert page.context["best"][0]["open_rate"] == "90.0%"


def test_it_charts_list_growth_against_unsubscribes(client, charlie):
    ContactFactory.create_batch(3)
    client.force_login(charlie)
    page = client.get(reverse("dashboard"))
    assert page.context["growth_totals"] == (3, 0)
    assert 'aria-label="New contacts and unsubscribes, last 30 days"' in page.content.decode()


def test_it_alerts_on_complaints_and_paused_sends(client, charlie, settings):
    settings.GUARD_MIN_MESSAGES = 10
    _sent_campaign("Risky", opened=0, recipients=200, complained=1)  # 0.5%
    paused = CampaignFactory(name="Held back")
    Send.objects.create(campaign=paused, status=Send.Status.PAUSED, pause_reason="Paused by Bob.")
    client.force_login(charlie)

    page = client.get(reverse("dashboard")).content.decode()

    assert "The complaint rate is 0.50%, above 0.3%" in page
    assert "Held back" in page and "Paused by Bob." in page
