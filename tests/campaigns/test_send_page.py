"""The staff pages that steer a send: the summary before it, the send page during it."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

import campaigns.services
import campaigns.views
from campaigns import ledger, selectors, sending
from campaigns.models import Campaign, Coupon, Message, Send
from contacts.models import Contact
from tests.factories import (
    CampaignFactory,
    ContactFactory,
    CouponCodeFactory,
    CouponFactory,
    GroupFactory,
)

Status = Message.Status


@pytest.fixture
def newsletter(db):
    group = GroupFactory(name="Newsletter")
    for name in ["ann", "ben", "cy", "di"]:
        ContactFactory(email=f"{name}@example.com", first_name=name.title(), groups=[group])
    return group


@pytest.fixture
def campaign(newsletter):
    return CampaignFactory(groups=[newsletter])


def _prepared_send(campaign: Campaign, user=None) -> Send:
    """A send whose audience is in the ledger, all queued, none sent yet."""
    send = campaigns.services.campaign_send(campaign=campaign, user=user)
    # The test runs in a transaction, so the enqueued preparation never runs by itself.
    assert sending.send_prepare(send_id=send.pk)
    send.refresh_from_db()
    return send


def _ledger(campaign: Campaign, status: str = Send.Status.SENDING, **counts) -> Send:
    """A send with messages created directly: counts by status, e.g. sent=3."""
    send = Send.objects.create(campaign=campaign, status=status, started_at=timezone.now())
    Campaign.objects.filter(pk=campaign.pk).update(status=ledger._CAMPAIGN_STATUS[status])
    rows = []
    for message_status, count in counts.items():
        for number in range(count):
            rows.append(
                Message(
                    send=send,
                    email=f"{message_status}{number}@example.com",
                    status=message_status,
                    sent_at=timezone.now() if message_status == Status.SENT else None,
                )
            )
    Message.objects.bulk_create(rows)
    return send


def _url(name: str, send: Send) -> str:
    if name == "sending":
        return reverse("campaigns:sending", args=[send.campaign_id])
    return reverse(f"campaigns:{name}", args=[send.campaign_id, send.pk])


ACTIONS = ["send_pause", "send_resume", "send_cancel", "send_resend_in_doubt"]


# --- Who may read and act --------------------------------------------------------


def test_a_viewer_reads_the_send_page_but_gets_no_controls(client, charlie, campaign):
    send = _ledger(campaign, sent=2, queued=3)
    client.force_login(charlie)

    response = client.get(_url("sending", send))

    page = response.content.decode()
    assert response.status_code == 200
    assert "Sending: Spring sale" in page
    for action in ACTIONS:
        assert _url(action, send) not in page


def test_a_viewer_cannot_pause_a_send(client, charlie, campaign):
    send = _ledger(campaign, sent=2, queued=3)
    client.force_login(charlie)

    response = client.post(_url("send_pause", send))

    assert response.status_code == 403
    send.refresh_from_db()
    assert send.status == Send.Status.SENDING


def test_an_outsider_gets_403_everywhere(client, dave, campaign):
    send = _ledger(campaign, sent=2, queued=3)
    client.force_login(dave)

    assert client.get(_url("sending", send)).status_code == 403
    assert client.get(_url("sending_progress", send)).status_code == 403
    for action in ACTIONS:
        assert client.post(_url(action, send)).status_code == 403
    send.refresh_from_db()
    assert send.status == Send.Status.SENDING


def test_an_anonymous_visitor_is_sent_to_log_in(client, campaign):
    send = _ledger(campaign, sent=2, queued=3)

    for response in [
        client.get(_url("sending", send)),
        client.post(_url("send_cancel", send)),
    ]:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    send.refresh_from_db()
    assert send.status == Send.Status.SENDING


def test_the_controls_take_only_posts(client, bob, campaign):
    send = _ledger(campaign, status=Send.Status.PAUSED, queued=3)
    client.force_login(bob)
    for action in ACTIONS:
        assert client.get(_url(action, send)).status_code == 405


def test_a_send_of_another_campaign_is_not_found(client, bob, campaign):
    send = _ledger(campaign, queued=3)
    other = CampaignFactory(name="Other")
    client.force_login(bob)

    response = client.post(reverse("campaigns:send_pause", args=[other.pk, send.pk]))

    assert response.status_code == 404


# --- Pause, resume, cancel, send again ----------------------------------------------


def test_a_marketer_pauses_a_send_and_sees_why_it_is_paused(client, bob, campaign):
    send = _ledger(campaign, sent=2, queued=3)
    client.force_login(bob)

    response = client.post(_url("send_pause", send), follow=True)

    assert response.redirect_chain == [(_url("sending", send), 302)]
    send.refresh_from_db()
    campaign.refresh_from_db()
    assert send.status == Send.Status.PAUSED
    assert send.pause_reason == "Paused by bob."
    assert campaign.status == Campaign.Status.PAUSED
    page = response.content.decode()
    assert "Paused. Mails already with the mail server still go out" in page
    assert '<span class="badge badge-paused">Paused</span>' in page
    assert "Paused by bob." in page
    assert "3 mails wait until the send is resumed" in page
    assert _url("send_resume", send) in page
    assert _url("send_pause", send) not in page


def test_a_marketer_resumes_a_paused_send_and_it_finishes(
    client, bob, campaign, django_capture_on_commit_callbacks
):
    send = _prepared_send(campaign, user=bob)
    ledger.send_pause(send_id=send.pk, reason="Paused by bob.")
    client.force_login(bob)

    # The batches start after commit; Celery runs them eagerly in tests.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(_url("send_resume", send), follow=True)

    assert len(callbacks) == 1
    send.refresh_from_db()
    assert send.status == Send.Status.DONE
    assert send.pause_reason == ""
    assert sorted(m.to[0] for m in mail.outbox) == [
        "ann@example.com",
        "ben@example.com",
        "cy@example.com",
        "di@example.com",
    ]
    assert "Resumed." in response.content.decode()


def test_resuming_a_send_that_is_not_paused_changes_nothing(client, bob, campaign):
    send = _ledger(campaign, status=Send.Status.DONE, sent=4)
    client.force_login(bob)

    response = client.post(_url("send_resume", send), follow=True)

    send.refresh_from_db()
    assert send.status == Send.Status.DONE
    assert "Nothing to resume: the send is done." in response.content.decode()


def test_a_marketer_cancels_a_send_and_the_unsent_mails_are_skipped(client, bob, campaign):
    send = _ledger(campaign, sent=2, queued=3)
    client.force_login(bob)

    response = client.post(_url("send_cancel", send), follow=True)

    send.refresh_from_db()
    assert send.status == Send.Status.CANCELLED
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.CANCELLED
    statuses = sorted(Message.objects.filter(send=send).values_list("status", "skip_reason"))
    assert statuses == [("sent", "")] * 2 + [("skipped", "cancelled")] * 3
    page = response.content.decode()
    assert "Cancelled. Nothing more goes out" in page
    assert "Send cancelled" in page  # the skip reason's label, in the skipped table
    assert _url("send_cancel", send) not in page  # nothing left to cancel


def test_the_cancel_button_asks_first(client, bob, campaign):
    send = _ledger(campaign, sent=2, queued=3)
    client.force_login(bob)

    page = client.get(_url("sending", send)).content.decode()

    assert (
        'data-confirm="Cancel this send? Mails already sent stay sent; the 3 not sent yet '
        'will never go. This cannot be undone."' in page
    )
    assert 'name="csrfmiddlewaretoken"' in page


def test_a_marketer_sends_the_mails_in_doubt_again(
    client, bob, campaign, django_capture_on_commit_callbacks
):
    send = _prepared_send(campaign, user=bob)
    # A worker died after handing over two mails; the other two got through.
    Message.objects.filter(send=send, email__in=["ann@example.com", "ben@example.com"]).update(
        status=Status.IN_DOUBT, error_class=Message.ErrorClass.UNKNOWN, handed_at=timezone.now()
    )
    Message.objects.filter(send=send, status=Status.QUEUED).update(
        status=Status.SENT, sent_at=timezone.now()
    )
    ledger.send_finish_if_done(send_id=send.pk)
    client.force_login(bob)

    before = client.get(_url("sending", send)).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_url("send_resend_in_doubt", send), follow=True)

    assert "2 mails in doubt" in before
    assert "they may or may not have arrived" in before
    assert "Send these 2 again" in before
    assert "<li>ann@example.com</li>" in before
    assert "<li>ben@example.com</li>" in before
    assert "Sending the 2 mails in doubt again." in response.content.decode()
    assert sorted(m.to[0] for m in mail.outbox) == ["ann@example.com", "ben@example.com"]
    send.refresh_from_db()
    assert send.status == Send.Status.DONE
    assert Message.objects.filter(send=send, status=Status.SENT).count() == 4


def test_the_mails_in_doubt_of_a_cancelled_send_are_not_sent_again(client, bob, campaign):
    send = _ledger(campaign, status=Send.Status.CANCELLED, sent=2, in_doubt=1)
    client.force_login(bob)

    page = client.get(_url("sending", send)).content.decode()
    response = client.post(_url("send_resend_in_doubt", send), follow=True)

    assert _url("send_resend_in_doubt", send) not in page
    assert "This send was cancelled, so nothing can be sent again." in response.content.decode()
    assert Message.objects.filter(send=send, status=Status.IN_DOUBT).count() == 1


def test_the_page_lists_the_first_50_addresses_in_doubt(client, charlie, campaign):
    send = _ledger(campaign, status=Send.Status.DONE, in_doubt=60)
    client.force_login(charlie)

    response = client.get(_url("sending", send))

    assert len(response.context["in_doubt_emails"]) == 50
    assert "Showing 50 of 60." in response.content.decode()


# --- What the page shows -------------------------------------------------------------


def test_the_counts_add_up_and_failures_are_grouped_by_reason(client, charlie, campaign):
    send = _ledger(campaign, sent=5, queued=4, sending=2, in_doubt=1)
    failures = [
        ("refused", "550 5.1.1 No such user"),
        ("refused", "550 5.1.1 No such user"),
        ("refused", "550 5.1.1 No such user"),
        ("rejected", "554 Looks like spam"),
    ]
    for number, (error_class, error) in enumerate(failures):
        Message.objects.create(
            send=send,
            email=f"failed{number}@example.com",
            status=Status.FAILED,
            error_class=error_class,
            error=error,
        )
    for number, reason in enumerate(["unsubscribed", "unsubscribed", "frequency_cap"]):
        Message.objects.create(
            send=send, email=f"skipped{number}@example.com", status=Status.SKIPPED,
            skip_reason=reason,
        )  # fmt: skip
    client.force_login(charlie)

    response = client.get(_url("sending", send))

    progress = response.context["progress"]
    assert (progress.sent, progress.failed, progress.in_doubt, progress.skipped) == (5, 4, 1, 3)
    assert progress.remaining == 6  # queued and with a worker
    assert progress.recipients == Message.objects.filter(send=send).count() == 19
    assert progress.recipients == (
        progress.sent + progress.failed + progress.in_doubt + progress.skipped + progress.remaining
    )
    assert progress.percent_settled == 68  # 13 of 19, rounded down
    assert [(f.label, f.error, f.count) for f in response.context["failures"]] == [
        ("Recipient refused", "550 5.1.1 No such user", 3),
        ("Message rejected", "554 Looks like spam", 1),
    ]
    assert response.context["skip_reasons"] == [
        ("unsubscribed", "Unsubscribed", 2),
        ("frequency_cap", "Frequency cap", 1),
    ]
    page = response.content.decode()
    assert "<dt>Recipients</dt><dd>19</dd>" in page
    assert "add up to the 19 recipients; 2 of the remaining are with a worker" in page
    assert "550 5.1.1 No such user" in page
    assert "Frequency cap" in page
    assert '<span class="badge badge-sending pulse">Sending</span>' in page


def test_it_reads_the_send_page_in_a_bounded_number_of_queries(
    client, charlie, campaign, django_assert_max_num_queries
):
    send = _ledger(campaign, sent=200, queued=100, failed=30, skipped=20, in_doubt=10)
    client.force_login(charlie)

    with django_assert_max_num_queries(12):
        response = client.get(_url("sending", send))
    with django_assert_max_num_queries(7):
        client.get(_url("sending_progress", send), headers={"HX-Request": "true"})

    assert response.context["progress"].recipients == 360


def test_the_rate_is_read_over_the_last_minute_and_gives_an_eta(campaign):
    now = timezone.now()
    send = _ledger(campaign, queued=120)
    # 30 mails in the last 30 seconds: 60 a minute, so the 120 left take 2 minutes.
    Message.objects.bulk_create(
        Message(send=send, email=f"s{n}@example.com", status=Status.SENT,
                sent_at=now - timedelta(seconds=30 - n))
        for n in range(30)
    )  # fmt: skip

    progress = selectors.send_progress(send=send, now=now)

    assert progress.rate_per_minute == pytest.approx(60)
    assert progress.rate_is_recent
    assert progress.eta == timedelta(minutes=2)
    assert progress.finish_at == now + timedelta(minutes=2)


def test_a_finished_send_shows_its_average_rate_and_no_eta(campaign):
    start = timezone.now() - timedelta(hours=1)
    send = _ledger(campaign, status=Send.Status.DONE)
    Message.objects.bulk_create(
        Message(send=send, email=f"s{n}@example.com", status=Status.SENT,
                sent_at=start + timedelta(seconds=n * 6))
        for n in range(11)
    )  # fmt: skip

    progress = selectors.send_progress(send=send)

    assert progress.rate_per_minute == pytest.approx(11)  # 11 mails in one minute
    assert not progress.rate_is_recent
    assert progress.eta is None


def test_the_live_part_polls_while_sending_and_reloads_once_the_status_changes(
    client, charlie, campaign
):
    send = _ledger(campaign, sent=2, queued=3)
    client.force_login(charlie)
    progress_url = _url("sending_progress", send)
    htmx = {"HX-Request": "true"}

    page = client.get(_url("sending", send)).content.decode()
    polled = client.get(progress_url, {"status": "sending", "in_doubt": "0"}, headers=htmx)
    ledger.send_pause(send_id=send.pk, reason="Paused by bob.")
    changed = client.get(progress_url, {"status": "sending", "in_doubt": "0"}, headers=htmx)
    paused_page = client.get(_url("sending", send)).content.decode()

    assert f'hx-get="{progress_url}?status=sending&amp;in_doubt=0"' in page
    assert 'hx-trigger="every 3s"' in page
    assert 'http-equiv="refresh"' in page  # for browsers without JavaScript
    assert polled.status_code == 200
    assert "hx-trigger" in polled.content.decode()
    assert "<dt>Recipients</dt><dd>5</dd>" in polled.content.decode()
    assert changed["HX-Refresh"] == "true"
    assert "hx-get" not in paused_page  # nothing moves until someone resumes


def test_a_campaign_not_sent_yet_has_an_empty_send_page(client, charlie, campaign):
    client.force_login(charlie)

    response = client.get(reverse("campaigns:sending", args=[campaign.pk]))

    assert response.status_code == 200
    assert "Not sent yet" in response.content.decode()
    assert "hx-get" not in response.content.decode()


def test_a_failed_send_says_why(client, charlie, campaign):
    send = _ledger(campaign, status=Send.Status.FAILED, sent=1, failed=3)
    Send.objects.filter(pk=send.pk).update(error="3 of 4 mails failed.")
    client.force_login(charlie)

    page = client.get(_url("sending", send)).content.decode()

    assert '<span class="badge badge-failed">Failed</span>' in page
    assert "This send failed" in page
    assert "3 of 4 mails failed." in page


# --- Starting a send, and the links to the send page ---------------------------------


def test_the_views_start_a_send_through_the_service():
    assert campaigns.views.campaign_send is campaigns.services.campaign_send


def test_starting_a_send_leads_to_the_send_page(
    client, bob, campaign, django_capture_on_commit_callbacks
):
    client.force_login(bob)

    # The pipeline starts after commit, at the end of the block.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("campaigns:send", args=[campaign.pk]))
    page = client.get(response["Location"]).content.decode()

    assert response["Location"] == reverse("campaigns:sending", args=[campaign.pk])
    assert "is on its way" in page
    assert '<span class="badge badge-done">Done</span>' in page
    assert "Sent</dt><dd>4</dd>" in page


def test_the_report_shows_the_real_status_of_a_failed_send_and_links_to_it(
    client, charlie, campaign
):
    _ledger(campaign, status=Send.Status.FAILED, sent=1, failed=3)
    client.force_login(charlie)

    page = client.get(reverse("reports:campaign", args=[campaign.pk])).content.decode()

    subtitle = page.split('class="subtitle">')[1].split("</p>")[0]
    assert '<span class="badge badge-failed">Failed</span>' in subtitle
    assert "Sent" not in subtitle
    assert "This send failed" in page
    assert reverse("campaigns:sending", args=[campaign.pk]) in page


def test_the_campaign_list_links_sending_and_paused_badges_to_the_send_page(
    client, charlie, newsletter
):
    sending_campaign = CampaignFactory(name="Going out", groups=[newsletter])
    paused_campaign = CampaignFactory(name="On hold", groups=[newsletter])
    draft = CampaignFactory(name="Not yet")
    _ledger(sending_campaign, queued=1)
    _ledger(paused_campaign, status=Send.Status.PAUSED, queued=1)
    client.force_login(charlie)

    page = client.get(reverse("campaigns:list")).content.decode()

    for campaign in (sending_campaign, paused_campaign):
        assert f'href="{reverse("campaigns:sending", args=[campaign.pk])}"' in page
    assert reverse("campaigns:sending", args=[draft.pk]) not in page


def test_the_detail_page_of_a_sent_campaign_links_its_send(client, charlie, campaign):
    _ledger(campaign, status=Send.Status.PAUSED, sent=1, queued=3)
    client.force_login(charlie)

    page = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()

    assert reverse("campaigns:sending", args=[campaign.pk]) in page
    assert "<strong>1</strong> of 4 recipients sent, 3 to go." in page


# --- Before sending: who gets it ------------------------------------------------------


@pytest.fixture
def mixed_audience(db):
    """Eight contacts: four who may get marketing mail, four who may not, one of
    whom had a marketing mail today (the frequency policy wants two days between)."""
    group = GroupFactory(name="Customers")
    for name in ["ann", "ben", "cy", "di"]:
        ContactFactory(email=f"{name}@example.com", groups=[group])
    for name in ["eve", "fay"]:
        ContactFactory(email=f"{name}@example.com", status="unsubscribed", groups=[group])
    ContactFactory(email="gus@example.com", status="unconfirmed", groups=[group])
    busy = ContactFactory(email="hal@example.com", groups=[group])
    earlier = _ledger(CampaignFactory(name="Earlier"), status=Send.Status.DONE)
    Message.objects.create(send=earlier, contact=busy, email=busy.email, status=Status.SENT)
    return group


def test_the_send_button_names_who_gets_it_and_who_is_skipped_and_why(client, bob, mixed_audience):
    coupon = CouponFactory(kind=Coupon.Kind.UNIQUE, code="", name="Welcome codes")
    CouponCodeFactory(coupon=coupon, code="ONLY-ONE")
    campaign = CampaignFactory(groups=[mixed_audience], coupon=coupon)
    client.force_login(bob)

    response = client.get(reverse("campaigns:detail", args=[campaign.pk]))

    page = response.content.decode()
    summary = response.context["summary"]
    assert (summary.total, summary.recipients, summary.free_codes) == (8, 4, 1)
    assert "Send to 4 of 8 contacts</button>" in page
    assert "<strong>4</strong> skipped: 2 unsubscribed, 1 frequency cap, 1 not confirmed." in page
    assert "Only 1 code left for 4 recipients: 3 will be skipped." in page
    assert "Ask an admin to add codes." in page
    assert "Skipped: 2 unsubscribed, 1 frequency cap, 1 not confirmed." in page  # the confirm
    assert "respects the frequency cap" in page  # what a marketing mail is
    assert "disabled" not in page.split("Send to 4 of 8")[0].rsplit("<button", 1)[1]


def test_an_admin_is_sent_to_the_coupon_to_add_codes(client, alice, mixed_audience):
    coupon = CouponFactory(kind=Coupon.Kind.UNIQUE, code="", name="Welcome codes")
    campaign = CampaignFactory(groups=[mixed_audience], coupon=coupon)
    client.force_login(alice)

    page = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()

    assert "Only 0 codes left for 4 recipients: 4 will be skipped." in page
    assert reverse("admin:campaigns_coupon_change", args=[coupon.pk]) in page
    assert "has no codes left, so nobody would get this." in page
    assert 'disabled aria-describedby="send-blocker"' in page


def test_the_send_button_is_disabled_when_nobody_would_get_the_mail(client, bob):
    group = GroupFactory(name="Former customers")
    for name in ["eve", "fay"]:
        ContactFactory(email=f"{name}@example.com", status="unsubscribed", groups=[group])
    campaign = CampaignFactory(groups=[group])
    client.force_login(bob)

    page = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()

    assert 'disabled aria-describedby="send-blocker"' in page
    assert "Send to 0 of 2 contacts</button>" in page
    assert "Nobody can get this mail: all 2 contacts would be skipped." in page
    assert "2 unsubscribed" in page


def test_a_transactional_mail_explains_whom_it_reaches(client, charlie, newsletter):
    ContactFactory(
        email="left@example.com", status=Contact.Status.UNSUBSCRIBED, groups=[newsletter]
    )
    campaign = CampaignFactory(kind="transactional", groups=[newsletter])
    client.force_login(charlie)

    page = client.get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()

    assert "Goes to every contact who has not bounced or complained" in page
    assert "It would go to <strong>5</strong> of 5 contacts." in page
    assert "Nobody in the audience is skipped." in page
