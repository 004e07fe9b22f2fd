from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import render

from campaigns.models import Campaign
from contacts.models import Contact, Group
from contacts.selectors import contact_status_counts
from tracking.report_views import percent
from tracking.reports import campaign_reports

RECENT_CAMPAIGNS = 8
DASHBOARD_PERMISSIONS = ["contacts.view_contact", "campaigns.view_campaign", "tracking.view_report"]


@login_required
@permission_required(DASHBOARD_PERMISSIONS, raise_exception=True)
def dashboard(request):
    campaigns = list(Campaign.objects.order_by("-created_at")[:RECENT_CAMPAIGNS])
    reports = campaign_reports(campaign_ids=[c.pk for c in campaigns])
    status_counts = contact_status_counts()
    context = {
        "contact_total": sum(status_counts.values()),
        "contact_statuses": [
            (value, label, status_counts[value]) for value, label in Contact.Status.choices
        ],
        "group_count": Group.objects.count(),
        "recent_campaigns": [
            {
                "campaign": c,
                "sent": reports[c.pk].sent,
                "open_rate": percent(reports[c.pk].open_rate),
                "click_rate": percent(reports[c.pk].click_rate),
            }
            for c in campaigns
        ],
    }
    return render(request, "marketing_site/dashboard.html", context)
