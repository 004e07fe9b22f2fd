from datetime import timedelta

from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import render
from django.utils import timezone

from campaigns.models import Campaign, Send
from contacts.models import Contact, Group
from contacts.selectors import contact_status_counts
from tracking import guard, reports
from tracking.charts import Series, bar_chart
from tracking.report_views import percent

RECENT_CAMPAIGNS = 8
PERIOD_DAYS = 30
DASHBOARD_PERMISSIONS = ["contacts.view_contact", "campaigns.view_campaign", "tracking.view_report"]


def _alerts(rows: list[reports.CampaignRow]) -> list[dict]:
    """Paused sends, and campaigns whose complaints or bounces are too high."""
    alerts = [
        {"level": "warning", "campaign": send.campaign, "message": send.pause_reason or "Paused."}
        for send in Send.objects.filter(status=Send.Status.PAUSED).select_related("campaign")
    ]
    for row in rows:
        r = row.report
        rates = {
            "sent": r.sent,
            "delivered": r.delivered,
            "complaint_rate": 100 * (r.complaint_rate or 0),
            "bounce_rate": 100 * (r.bounce_rate or 0),
        }
        alerts += [{**w, "campaign": row.campaign} for w in guard.health_warnings(rates)]
    return alerts


@login_required
@permission_required(DASHBOARD_PERMISSIONS, raise_exception=True)
def dashboard(request):
    now = timezone.now()
    since = now - timedelta(days=PERIOD_DAYS)
    campaigns = list(
        Campaign.objects.filter(automation_step__isnull=True).order_by("-created_at")[
            :RECENT_CAMPAIGNS
        ]
    )
    recent = reports.campaign_reports(campaign_ids=[c.pk for c in campaigns])
    period_rows = reports.campaigns_since(since=since)
    period = reports.reports_total(period_rows)
    growth = reports.list_growth(since=since, now=now)
    status_counts = contact_status_counts()
    context = {
        "contact_total": sum(status_counts.values()),
        "contact_statuses": [
            (value, label, status_counts[value]) for value, label in Contact.Status.choices
        ],
        "group_count": Group.objects.count(),
        "period_days": PERIOD_DAYS,
        "period": period,
        "period_rates": [
            ("Delivery rate", percent(period.delivery_rate)),
            ("Open rate", percent(period.open_rate)),
            ("Click rate", percent(period.click_rate)),
            ("Unsubscribe rate", percent(period.unsubscribe_rate)),
            ("Bounce rate", percent(period.bounce_rate)),
            ("Complaint rate", percent(period.complaint_rate)),
        ],
        "growth_chart": bar_chart(
            title=f"New contacts and unsubscribes, last {PERIOD_DAYS} days",
            labels=[day for day, _, _ in growth],
            series=[
                Series("New contacts", [n for _, n, _ in growth], "chart-series-1"),
                Series("Unsubscribes", [n for _, _, n in growth], "chart-series-4"),
            ],
        ),
        "growth_totals": (sum(n for _, n, _ in growth), sum(n for _, _, n in growth)),
        "best": [
            {
                "campaign": row.campaign,
                "open_rate": percent(row.report.open_rate),
                "click_rate": percent(row.report.click_rate),
            }
            for row in reports.best_campaigns(period_rows)
        ],
        "alerts": _alerts(period_rows),
        "recent_campaigns": [
            {
                "campaign": c,
                "sent": recent[c.pk].sent,
                "open_rate": percent(recent[c.pk].open_rate),
                "click_rate": percent(recent[c.pk].click_rate),
            }
            for c in campaigns
        ],
    }
    return render(request, "marketing_site/dashboard.html", context)
