"""The campaign report pages for staff. They live in tracking because they
read tracking's tallies and events."""

import csv

from django.conf import settings
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django_htmx.http import HttpResponseClientRefresh

from campaigns.abtest import campaign_testing_summary
from campaigns.models import Campaign
from campaigns.selectors import campaign_latest_send
from contacts.audit import Action, audit_record
from contacts.resources import csv_cell_escape
from tracking import guard, reports
from tracking.charts import Series, line_chart
from tracking.models import Tally

M = Tally.Metric
PAGE_SIZE = 50
POLL_SECONDS = 5


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def report_figures(report: reports.CampaignReport) -> dict:
    """What the page shows, in the order it shows it."""
    counts = [
        ("Sent", report.sent),
        ("Delivered", report.delivered),
        ("Opened", report.opened),
        ("Clicked", report.clicked),
        ("Unsubscribed", report.unsubscribed),
        ("Bounced", report.bounced),
        ("Complained", report.complained),
    ]
    other_counts = [
        ("Recipients", report.recipients),
        ("Still queued", report.queued),
        ("Skipped", report.skipped),
        ("Failed", report.failed),
        ("In doubt", report.in_doubt),
        ("Hard bounces", report.bounced_hard),
        ("Soft bounces", report.bounced_soft),
        ("Opens (all, by people)", report.opens),
        ("Clicks (all, by people)", report.clicks),
        ("Machine opens", report.machine_opens),
        ("Machine clicks", report.machine_clicks),
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
    per_recipient = report.revenue_per_recipient
    shop = [
        ("Orders", report.orders),
        ("Revenue", f"{report.revenue:,.2f}"),
        ("Revenue per recipient", "—" if per_recipient is None else f"{per_recipient:,.2f}"),
        ("Conversion rate", percent(reports.rate(report.orders, report.delivered))),
    ]
    return {"counts": counts, "other_counts": other_counts, "rates": rates, "shop": shop}


def _progress_context(campaign: Campaign) -> dict:
    report = reports.campaign_report(campaign=campaign)
    return {
        "campaign": campaign,
        "report": report,
        "figures": report_figures(report),
        "attribution_days": settings.ATTRIBUTION_WINDOW_DAYS,
        "is_sending": campaign.status == Campaign.Status.SENDING,
        "poll_seconds": POLL_SECONDS,
    }


def _timeline_chart(campaign: Campaign, machines: bool):
    metrics = [M.OPENED, M.CLICKED] + ([M.MACHINE_OPENS, M.MACHINE_CLICKS] if machines else [])
    points = reports.report_timeline(campaign=campaign, metrics=metrics)
    if not any(any(p.values.values()) for p in points):
        return None
    names = {
        M.OPENED: "People who opened",
        M.CLICKED: "People who clicked",
        M.MACHINE_OPENS: "Machine opens",
        M.MACHINE_CLICKS: "Machine clicks",
    }
    series = [
        Series(names[metric], [p.values[metric] for p in points], f"chart-series-{n}")
        for n, metric in enumerate(metrics, start=1)
    ]
    hourly = len(points) <= 49
    return {
        "svg": line_chart(
            title="Opens and clicks over time",
            labels=[p.label for p in points],
            series=series,
        ),
        "rows": [
            (p.label, [p.values[m] for m in metrics]) for p in points if any(p.values.values())
        ],
        "headers": [names[m] for m in metrics],
        "hourly": hourly,
    }


@login_required
@permission_required("tracking.view_report", raise_exception=True)
def campaign_report_view(request, pk: int):
    campaign = get_object_or_404(Campaign.objects.select_related("ab_test", "plan"), pk=pk)
    machines = request.GET.get("machines") == "1"
    outcome = request.GET.get("outcome", "")
    search = request.GET.get("q", "")[:200]
    send = campaign_latest_send(campaign=campaign)
    messages = reports.campaign_messages(campaign=campaign, outcome=outcome, search=search)
    paginator = Paginator(messages, PAGE_SIZE)
    progress = _progress_context(campaign)
    if not outcome and not search:
        # Every message of the campaign: the report counted them already.
        paginator.count = progress["report"].recipients
    page = paginator.get_page(request.GET.get("page"))
    subject, subject_for = reports.campaign_example_subject(campaign=campaign)
    context = {
        **progress,
        # The send's own status: a campaign whose send failed was not "sent".
        "send": send,
        "health": guard.send_health(send) if send else [],
        "machines": machines,
        "example_subject": subject,
        "example_subject_for": subject_for,
        "timeline": _timeline_chart(campaign, machines),
        "links": reports.report_links(campaign=campaign),
        "domains": reports.report_domains(campaign=campaign),
        "clients": reports.report_breakdown(campaign=campaign, dimension="client"),
        "devices": reports.report_breakdown(campaign=campaign, dimension="device"),
        "page": page,
        "rows": [(m, *reports.message_outcome(m)) for m in page.object_list],
        "outcomes": [(key, label) for key, label, _ in reports.OUTCOMES],
        "outcome": outcome,
        "search": search,
        "events": reports.campaign_recent_events(campaign=campaign),
        # The A/B test's variants with their intervals, and the holdout's lift.
        **campaign_testing_summary(campaign=campaign),
    }
    return render(request, "reports/campaign_report.html", context)


@login_required
@permission_required("tracking.view_report", raise_exception=True)
def campaign_progress(request, pk: int):
    """The live part of the report, polled while the campaign is sending:
    two indexed reads, whatever the size of the send."""
    campaign = get_object_or_404(Campaign, pk=pk)
    if request.htmx and campaign.status != Campaign.Status.SENDING:
        # Done: reload once so the tables below are complete too.
        return HttpResponseClientRefresh()
    return render(request, "reports/_progress.html", _progress_context(campaign))


class _Echo:
    def write(self, value):
        return value


_CSV_COLUMNS = [
    "email", "outcome", "status", "skip_reason", "sent_at", "delivered_at", "opened_at",
    "clicked_at", "opens", "clicks", "machine_opens", "machine_clicks", "unsubscribed_at",
    "bounced_at", "bounce_type", "bounce_reason", "complained_at",
]  # fmt: skip


def _csv_rows(messages):
    writer = csv.writer(_Echo())
    yield writer.writerow(_CSV_COLUMNS)
    for message in messages.iterator(chunk_size=2000):
        outcome = reports.message_outcome(message)[1]
        values = [getattr(message, name, "") for name in _CSV_COLUMNS]
        values[1] = outcome
        yield writer.writerow(
            [csv_cell_escape("" if value is None else str(value)) for value in values]
        )


@login_required
@permission_required("tracking.view_report", raise_exception=True)
def campaign_messages_csv(request, pk: int):
    """The message list as CSV, streamed, with the page's filters."""
    campaign = get_object_or_404(Campaign, pk=pk)
    outcome = request.GET.get("outcome", "")
    messages = reports.campaign_messages(
        campaign=campaign, outcome=outcome, search=request.GET.get("q", "")[:200]
    )
    audit_record(
        actor=request.user,
        action=Action.EXPORTED,
        target=campaign,
        label=campaign.name,
        details={"what": "report messages", "outcome": outcome or "all"},
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response = StreamingHttpResponse(_csv_rows(messages), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="campaign-{campaign.pk}-{stamp}.csv"'
    return response
