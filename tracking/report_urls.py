from django.urls import path

from tracking import report_views

app_name = "reports"
urlpatterns = [
    path("campaigns/<int:pk>/", report_views.campaign_report_view, name="campaign"),
    path(
        "campaigns/<int:pk>/messages.csv",
        report_views.campaign_messages_csv,
        name="campaign_messages_csv",
    ),
    path("campaigns/<int:pk>/progress/", report_views.campaign_progress, name="campaign_progress"),
]
