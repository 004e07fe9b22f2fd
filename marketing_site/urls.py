from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from marketing_site import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("contacts/", include("contacts.urls")),
    path("campaigns/", include("campaigns.urls")),
    path("reports/", include("tracking.report_urls")),
    path("t/", include("tracking.urls")),
    path("admin/", admin.site.urls),
]

admin.site.site_header = "Marketing admin"
admin.site.site_title = "Marketing admin"
