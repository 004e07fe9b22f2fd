from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class MarketingSiteConfig(AppConfig):
    name = "marketing_site"
    default = True


class StaffAdminConfig(admin_apps.AdminConfig):
    """Django's admin, with our site: it asks for the second factor too."""

    default = False
    default_site = "marketing_site.admin_site.StaffAdminSite"
