"""Admins manage the shop's API keys (tracking.manage_api_keys), as roles.py says."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

from marketing_site.roles import role_groups_sync


def sync_roles(apps, schema_editor):
    for app_config in global_apps.get_app_configs():
        create_permissions(app_config, verbosity=0, apps=apps)
    role_groups_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("marketing_site", "0005_merge_20261123_2355"),
        ("tracking", "0007_api_keys"),
    ]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
