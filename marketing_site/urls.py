from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from marketing_site import accounts, team_views, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("login/", accounts.StaffLoginView.as_view(), name="login"),
    path("login/code/", accounts.login_code, name="login_code"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("security/", accounts.security, name="security"),
    path("password-reset/", accounts.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        accounts.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("team/", team_views.team, name="team"),
    path("team/invite/", team_views.team_invite, name="team_invite"),
    path("team/<int:pk>/role/", team_views.team_set_role, name="team_set_role"),
    path("team/<int:pk>/deactivate/", team_views.team_deactivate, name="team_deactivate"),
    path("team/<int:pk>/reactivate/", team_views.team_reactivate, name="team_reactivate"),
    path("team/<int:pk>/invite-again/", team_views.team_invite_again, name="team_invite_again"),
    path("audit/", team_views.audit_log, name="audit_log"),
    path("contacts/", include("contacts.urls")),
    path("campaigns/", include("campaigns.urls")),
    path("automations/", include("campaigns.automation_urls")),
    path("reports/", include("tracking.report_urls")),
    path("t/", include("tracking.urls")),
    path("api/v1/", include("tracking.api_urls")),
    path("integrations/", include("tracking.integration_urls")),
    path("", include("contacts.public_urls")),
    path("admin/", admin.site.urls),
    # ESP tracking webhooks: /anymail/<esp>/tracking/ (tracking.webhooks).
    path("anymail/", include("anymail.urls")),
]

admin.site.site_header = "Marketing admin"
admin.site.site_title = "Marketing admin"
