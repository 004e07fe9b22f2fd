from django.urls import path

from campaigns import plan_views, views

app_name = "campaigns"
urlpatterns = [
    path("", views.campaign_list, name="list"),
    path("new/", views.campaign_create, name="create"),
    path("<int:pk>/", views.campaign_detail, name="detail"),
    path("<int:pk>/edit/", views.campaign_edit, name="edit"),
    path("<int:pk>/preview/", views.campaign_preview, name="preview"),
    path("preview-draft/", views.campaign_preview_draft, name="preview_draft"),
    path("<int:pk>/duplicate/", views.campaign_duplicate_view, name="duplicate"),
    path(
        "<int:pk>/save-as-template/",
        views.campaign_save_as_template_view,
        name="save_as_template",
    ),
    path("brand/", views.brand_settings, name="brand"),
    path("<int:pk>/send/", views.campaign_send_view, name="send"),
    path("<int:pk>/sending/", views.send_page, name="sending"),
    path(
        "<int:pk>/sending/<int:send_pk>/progress/",
        views.send_progress_view,
        name="sending_progress",
    ),
    path("<int:pk>/sending/<int:send_pk>/pause/", views.send_pause_view, name="send_pause"),
    path("<int:pk>/sending/<int:send_pk>/resume/", views.send_resume_view, name="send_resume"),
    path("<int:pk>/sending/<int:send_pk>/cancel/", views.send_cancel_view, name="send_cancel"),
    path(
        "<int:pk>/sending/<int:send_pk>/resend-in-doubt/",
        views.send_resend_in_doubt_view,
        name="send_resend_in_doubt",
    ),
    # The composer's sending side: test sends, schedules, A/B test and holdout.
    path("<int:pk>/test-send/", plan_views.campaign_test_send_view, name="test_send"),
    path("<int:pk>/schedule/", plan_views.campaign_schedule_view, name="schedule"),
    path("<int:pk>/schedule/pause/", plan_views.plan_pause_view, name="schedule_pause"),
    path("<int:pk>/schedule/resume/", plan_views.plan_resume_view, name="schedule_resume"),
    path("<int:pk>/schedule/cancel/", plan_views.plan_cancel_view, name="schedule_cancel"),
    path("<int:pk>/testing/", plan_views.campaign_testing, name="testing"),
]
