"""The campaign report page for staff. It lives in tracking because it reads events."""

from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render
from django_htmx.http import HttpResponseClientRefresh

from campaigns.abtest import campaign_testing_summary
from campaigns.models import Campaign, Message
from campaigns.selectors import campaign_latest_send
from tracking.reports import CampaignReport, campaign_recent_events, campaign_report

PAGE_SIZE = 50
POLL_SECONDS = 3


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def report_figures(report: CampaignReport) -> dict:
    """What the page shows, in the order it shows it."""
    counts = [
        ("Sent", report.sent),
        ("Delivered", report.delivered),
        ("Opened", report.opened),
        ("Clicked", report.clicked),
        ("Unsubscribed", report.unsubscribed),
    ]
    other_counts = [
        ("Recipients", report.recipients),
        ("Still queued", report.queued),
        ("Skipped", report.skipped),
        ("Failed", report.failed),
        ("In doubt", report.in_doubt),
        ("Bounced", report.bounced),
        ("Complained", report.complained),
    ]
    rates = [
        ("Delivery rate", percent(report.delivery_rate)),
        ("Open rate", percent(report.open_rate)),
        ("Click rate", percent(report.click_rate)),
        ("Click-to-open", percent(report.click_to_open_rate)),
        ("Unsubscribe rate", percent(report.unsubscribe_rate)),
        ("Bounce rate", percent(report.bounce_rate)),
        ("Complaint rate", percent(report.complaint_rate)),
    ]
    return {"counts": counts, "other_counts": other_counts, "rates": rates}


def _progress_context(campaign: Campaign) -> dict:
    report = campaign_report(campaign=campaign)
    return {
        "campaign": campaign,
        "report": report,
        "figures": report_figures(report),
        "is_sending": campaign.status == Campaign.Status.SENDING,
        "poll_seconds": POLL_SECONDS,
    }


@login_required
@permission_required("tracking.view_report", raise_exception=True)
def campaign_report_view(request, pk: int):
    campaign = get_object_or_404(Campaign.objects.select_related("ab_test", "plan"), pk=pk)
    messages = (
        Message.objects.filter(send__campaign=campaign)
        .only("email", "status", "skip_reason", "sent_at")
        .order_by("id")
    )
    context = {
        **_progress_context(campaign),
        # The send's own status: a campaign whose send failed was not "sent".
        "send": campaign_latest_send(campaign=campaign),
        "page": Paginator(messages, PAGE_SIZE).get_page(request.GET.get("page")),
        "events": campaign_recent_events(campaign=campaign),
        # The A/B test's variants with their intervals, and the holdout's lift.
        **campaign_testing_summary(campaign=campaign),
    }
    return render(request, "reports/campaign_report.html", context)


@login_required
@permission_required("tracking.view_report", raise_exception=True)
def campaign_progress(request, pk: int):
    """The live part of the report, polled while the campaign is sending."""
    campaign = get_object_or_404(Campaign, pk=pk)
    if request.htmx and campaign.status != Campaign.Status.SENDING:
        # Done: reload once so the message and event tables are complete too.
        return HttpResponseClientRefresh()
    return render(request, "reports/_progress.html", _progress_context(campaign))
