"""The campaign report as staff read it: numbers from the message facts and
tallies, checked against a hand-computed send."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaigns.models import Campaign, Link, Message, Send
from tests.factories import CampaignFactory, ContactFactory, GroupFactory
from tests.helpers import BROWSER
from tracking import services
from tracking.facts import events_flush_all, message_fact_apply
from tracking.report_views import percent
from tracking.reports import campaign_report

pytestmark = pytest.mark.django_db(transaction=True)

SENT_AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
NOW = SENT_AT + timedelta(days=4)


def _hit(message, kind, *, hours, agent=BROWSER, link_index=None):
    services.hit_record(
        message_id=message.pk,
        kind=kind,
        ip="198.51.100.7",
        user_agent=agent,
        link_index=link_index,
        url="https://shop.example.com/sale" if link_index is not None else "",
        at=SENT_AT + timedelta(hours=hours),
    )


@pytest.fixture
def report_send():
    """Ten mails sent, two skipped, one failed. Of the ten: eight delivered,
    one hard and one soft bounce; five people opened (one only by clicking),
    two clicked, one unsubscribed, one complained (which unsubscribes too);
    one open by a scanner."""
    group = GroupFactory(name="Newsletter")
    campaign = CampaignFactory(groups=[group], status=Campaign.Status.SENT)
    send = Send.objects.create(campaign=campaign, status=Send.Status.DONE, started_at=SENT_AT)
    Link.objects.create(send=send, index=0, url="https://shop.example.com/sale")
    Link.objects.create(send=send, index=1, url="https://shop.example.com/", is_honeypot=True)
    sent = []
    for n in range(10):
        contact = ContactFactory(
            email=f"reader{n}@{'gmail.com' if n % 2 else 'example.com'}",
            first_name=f"Reader{n}",
            groups=[group],
        )
        sent.append(
            Message.objects.create(
                send=send,
                contact=contact,
                email=contact.email,
                status=Message.Status.SENT,
                sent_at=SENT_AT,
            )
        )
    for n, status in enumerate([Message.Status.SKIPPED, Message.Status.SKIPPED, "failed"]):
        contact = ContactFactory(email=f"other{n}@example.com", groups=[group])
        Message.objects.create(send=send, contact=contact, email=contact.email, status=status)
    at = SENT_AT + timedelta(minutes=1)
    for message in sent[:8]:
        message_fact_apply(message_id=message.pk, kind="delivered", at=at)
    message_fact_apply(message_id=sent[8].pk, kind="bounced", at=at, bounce_type="hard",
                       reason="=HYPERLINK(550 5.1.1 no such user)")  # fmt: skip
    message_fact_apply(message_id=sent[9].pk, kind="bounced", at=at, bounce_type="soft",
                       reason="452 mailbox full")  # fmt: skip
    for message in sent[:4]:
        _hit(message, "opened", hours=1)
    _hit(sent[0], "opened", hours=30)  # a second open: counted in opens, not openers
    _hit(sent[0], "clicked", hours=1, link_index=0)
    _hit(sent[4], "clicked", hours=2, link_index=0)  # a click proves the open
    _hit(sent[5], "opened", hours=1, agent="Barracuda Sentinel (EE) <script>alert(1)</script>")
    services.message_unsubscribe(message_id=sent[1].pk, ip=None, user_agent=BROWSER)
    message_fact_apply(message_id=sent[2].pk, kind="complained", at=SENT_AT + timedelta(hours=3))
    with time_machine.travel(NOW, tick=False):
        events_flush_all(settle_seconds=0)
    return campaign


def _figures(response) -> dict[str, object]:
    figures = response.context["figures"]
    return dict(figures["counts"] + figures["other_counts"] + figures["rates"])


def test_it_formats_rates_as_percentages_with_one_decimal():
    assert percent(None) == "—"
    assert percent(0) == "0.0%"
    assert percent(2 / 3) == "66.7%"


def test_every_rate_matches_the_hand_computed_send(client, charlie, report_send):
    client.force_login(charlie)
    with time_machine.travel(NOW, tick=False):
        figures = _figures(client.get(reverse("reports:campaign", args=[report_send.pk])))

    assert figures["Recipients"] == 13
    assert figures["Skipped"] == 2
    assert figures["Failed"] == 1
    assert figures["Sent"] == 10
    assert figures["Delivered"] == 8
    assert (figures["Hard bounces"], figures["Soft bounces"], figures["Bounced"]) == (1, 1, 2)
    assert figures["Opened"] == 5
    assert figures["Clicked"] == 2
    assert figures["Unsubscribed"] == 2  # a complaint unsubscribes too
    assert figures["Complained"] == 1
    assert figures["Opens (all, by people)"] == 5  # pixel loads by people, repeats included
    assert figures["Machine opens"] == 1
    assert figures["Delivery rate"] == "80.0%"  # 8 / 10
    assert figures["Bounce rate"] == "20.0%"  # 2 / 10
    assert figures["Open rate"] == "62.5%"  # 5 / 8
    assert figures["Click rate"] == "25.0%"  # 2 / 8
    assert figures["Click-to-open"] == "40.0%"  # 2 / 5
    assert figures["Unsubscribe rate"] == "25.0%"  # 2 / 8
    assert figures["Complaint rate"] == "12.5%"  # 1 / 8


def test_without_delivery_reports_delivered_is_sent_minus_bounced(charlie, report_send):
    Message.objects.filter(send__campaign=report_send).update(delivered_at=None)
    from tracking.models import Tally

    Tally.objects.filter(metric="delivered").delete()
    report = campaign_report(campaign=report_send)
    assert report.delivered == 8  # 10 sent - 2 bounced
    assert not report.has_delivery_reports


def test_the_report_shows_what_happened_to_each_message_and_filters_by_it(
    client, charlie, report_send
):
    client.force_login(charlie)
    url = reverse("reports:campaign", args=[report_send.pk])
    with time_machine.travel(NOW, tick=False):
        rows = {m.email: label for m, _, label in client.get(url).context["rows"]}
        clicked = client.get(url, {"outcome": "clicked"}).context["rows"]

    assert rows["reader0@example.com"] == "Clicked"
    assert rows["reader1@gmail.com"] == "Unsubscribed"  # opened, then left: not "Sent"
    assert rows["reader2@example.com"] == "Complained"
    assert rows["reader3@gmail.com"] == "Opened"
    assert rows["reader5@gmail.com"] == "Delivered"  # only a scanner opened it
    assert rows["reader8@example.com"] == "Bounced (hard)"
    assert rows["reader9@gmail.com"] == "Bounced (soft)"
    assert sorted(m.email for m, _, _ in clicked) == ["reader0@example.com", "reader4@example.com"]


def test_the_subject_shows_as_a_recipient_saw_it(client, charlie, report_send):
    client.force_login(charlie)
    response = client.get(reverse("reports:campaign", args=[report_send.pk]))
    assert response.context["example_subject"] == "Spring sale, Reader0!"
    assert "{{" not in response.context["example_subject"]


def test_charts_links_domains_and_clients_come_from_the_tallies(client, charlie, report_send):
    client.force_login(charlie)
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("reports:campaign", args=[report_send.pk]))
    context = response.context
    html = response.content.decode()

    assert '<svg viewBox="0 0 720 220" role="img" aria-label="Opens and clicks over time"' in html
    points = {label: values for label, values in context["timeline"]["rows"]}
    assert points["Nov 2 10:00"] == [4, 1]  # four first opens and one click in hour 1
    assert sum(values[0] for values in points.values()) == 5  # every opener once
    [link] = context["links"]  # the hidden honeypot link is not listed
    assert (link.url, link.clicks) == ("https://shop.example.com/sale", 2)
    domains = {row.key: row.values for row in context["domains"]}
    assert domains["example.com"]["delivered"] == 4
    assert domains["gmail.com"]["opened"] == 2  # reader1 and reader3
    assert sum(row.values.get("opened", 0) for row in context["clients"]) == 5


def test_a_user_agent_is_shown_escaped_behind_a_toggle(client, charlie, report_send):
    client.force_login(charlie)
    html = client.get(reverse("reports:campaign", args=[report_send.pk])).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<summary>User agent</summary>" in html


def test_the_message_list_exports_as_csv_safe_for_spreadsheets(client, charlie, report_send):
    client.force_login(charlie)
    response = client.get(
        reverse("reports:campaign_messages_csv", args=[report_send.pk]), {"outcome": "bounced"}
    )
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["email"] for row in rows] == ["reader8@example.com", "reader9@gmail.com"]
    assert rows[0]["bounce_reason"] == "'=HYPERLINK(550 5.1.1 no such user)"
    assert rows[0]["outcome"] == "Bounced (hard)"


def test_the_progress_poll_costs_the_same_few_queries_whatever_the_size(
    client, charlie, report_send
):
    client.force_login(charlie)
    url = reverse("reports:campaign_progress", args=[report_send.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    send = Send.objects.get(campaign=report_send)
    Message.objects.bulk_create(
        Message(send=send, email=f"more{n}@example.com", status=Message.Status.SENT)
        for n in range(500)
    )
    with CaptureQueriesContext(connection) as big:
        client.get(url)
    assert len(big) == len(small)


def test_a_viewer_reads_the_report_but_an_outsider_cannot(client, charlie, dave, report_send):
    url = reverse("reports:campaign", args=[report_send.pk])
    client.force_login(charlie)
    assert client.get(url).status_code == 200
    client.force_login(dave)
    assert client.get(url).status_code == 403
