import pytest
from django.urls import reverse

from campaigns.models import Campaign, Message, Send
from tests.factories import CampaignFactory, ContactFactory, GroupFactory
from tracking.models import Event
from tracking.report_views import percent


@pytest.fixture
def sent_campaign(db):
    """A campaign sent to four contacts; one more was skipped."""
    group = GroupFactory(name="Newsletter")
    campaign = CampaignFactory(groups=[group], status=Campaign.Status.SENT)
    send = Send.objects.create(campaign=campaign, status=Send.Status.DONE)
    for number in range(4):
        contact = ContactFactory(email=f"reader{number}@example.com", groups=[group])
        Message.objects.create(
            send=send, contact=contact, email=contact.email, status=Message.Status.SENT
        )
    gone = ContactFactory(email="gone@example.com", status="unsubscribed", groups=[group])
    Message.objects.create(
        send=send,
        contact=gone,
        email=gone.email,
        status=Message.Status.SKIPPED,
        skip_reason=Message.SkipReason.UNSUBSCRIBED,
    )
    return campaign


def _event(campaign, email: str, kind: str, **fields) -> Event:
    message = Message.objects.get(send__campaign=campaign, email=email)
    return Event.objects.create(message=message, contact=message.contact, kind=kind, **fields)


def _figures(response) -> dict[str, object]:
    figures = response.context["figures"]
    return dict(figures["counts"] + figures["other_counts"] + figures["rates"])


def test_it_formats_rates_as_percentages_with_one_decimal():
    assert percent(None) == "—"
    assert percent(0) == "0.0%"
    assert percent(2 / 3) == "66.7%"
    assert percent(1) == "100.0%"


def test_it_shows_counts_and_rates_that_move_with_events(client, charlie, sent_campaign):
    client.force_login(charlie)
    url = reverse("reports:campaign", args=[sent_campaign.pk])

    before = _figures(client.get(url))
    _event(sent_campaign, "reader0@example.com", Event.Kind.OPENED)
    _event(sent_campaign, "reader1@example.com", Event.Kind.CLICKED)
    _event(sent_campaign, "reader2@example.com", Event.Kind.OPENED, is_machine=True)
    _event(sent_campaign, "reader3@example.com", Event.Kind.BOUNCED)
    _event(sent_campaign, "reader0@example.com", Event.Kind.UNSUBSCRIBED)
    response = client.get(url)
    after = _figures(response)

    assert (before["Sent"], before["Delivered"], before["Opened"]) == (4, 4, 0)
    assert before["Open rate"] == "0.0%"
    assert before["Skipped"] == 1
    assert after["Delivered"] == 3
    assert after["Opened"] == 2  # the machine open is not counted; the click proves an open
    assert after["Clicked"] == 1
    assert after["Bounced"] == 1
    assert after["Delivery rate"] == "75.0%"
    assert after["Open rate"] == "66.7%"
    assert after["Click rate"] == "33.3%"
    assert after["Click-to-open"] == "50.0%"
    assert after["Unsubscribe rate"] == "33.3%"
    assert after["Bounce rate"] == "25.0%"
    assert after["Complaint rate"] == "0.0%"
    page = response.content.decode()
    assert "66.7%" in page
    assert "Machine" in page


def test_it_shows_a_dash_for_rates_of_a_campaign_not_sent_yet(client, charlie):
    campaign = CampaignFactory()
    client.force_login(charlie)

    response = client.get(reverse("reports:campaign", args=[campaign.pk]))

    assert _figures(response)["Open rate"] == "—"
    assert "This campaign has not been sent." in response.content.decode()


def test_it_lists_every_message_with_its_status_and_skip_reason(client, charlie, sent_campaign):
    client.force_login(charlie)

    page = client.get(reverse("reports:campaign", args=[sent_campaign.pk])).content.decode()

    table = page.split("<h2>Messages</h2>")[1].split("<h2>Recent events</h2>")[0]
    assert "reader3@example.com" in table
    assert table.count('<span class="badge badge-sent">Sent</span>') == 4
    assert "gone@example.com" in table
    assert '<span class="badge badge-skipped">Skipped</span>' in table
    assert "Unsubscribed" in table


def test_it_escapes_a_hostile_user_agent(client, charlie, sent_campaign):
    _event(
        sent_campaign,
        "reader0@example.com",
        Event.Kind.OPENED,
        user_agent="<script>alert(1)</script>",
    )
    client.force_login(charlie)

    page = client.get(reverse("reports:campaign", args=[sent_campaign.pk])).content.decode()

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_it_refreshes_itself_while_the_campaign_is_sending(client, charlie, sent_campaign):
    client.force_login(charlie)
    progress_url = reverse("reports:campaign_progress", args=[sent_campaign.pk])
    Campaign.objects.filter(pk=sent_campaign.pk).update(status=Campaign.Status.SENDING)

    sending = client.get(reverse("reports:campaign", args=[sent_campaign.pk]))
    polled = client.get(progress_url, headers={"HX-Request": "true"})
    Campaign.objects.filter(pk=sent_campaign.pk).update(status=Campaign.Status.SENT)
    finished = client.get(progress_url, headers={"HX-Request": "true"})
    sent = client.get(reverse("reports:campaign", args=[sent_campaign.pk]))

    assert f'hx-get="{progress_url}"' in sending.content.decode()
    assert 'http-equiv="refresh"' in sending.content.decode()  # for browsers without JS
    assert "Sending now" in polled.content.decode()
    assert 'hx-trigger="every' in polled.content.decode()
    assert finished["HX-Refresh"] == "true"  # one reload shows the final tables
    assert "hx-get" not in sent.content.decode()


def test_it_reads_the_report_in_a_bounded_number_of_queries(
    client, charlie, sent_campaign, django_assert_max_num_queries
):
    send = Send.objects.get(campaign=sent_campaign)
    for _ in range(30):
        contact = ContactFactory()
        message = Message.objects.create(
            send=send, contact=contact, email=contact.email, status=Message.Status.SENT
        )
        Event.objects.create(message=message, contact=contact, kind=Event.Kind.OPENED)
    client.force_login(charlie)

    with django_assert_max_num_queries(12):
        response = client.get(reverse("reports:campaign", args=[sent_campaign.pk]))

    assert len(response.context["page"].object_list) == 35
    assert len(response.context["events"]) == 30


def test_it_answers_404_for_a_missing_campaign(client, charlie):
    client.force_login(charlie)
    assert client.get(reverse("reports:campaign", args=[404])).status_code == 404
