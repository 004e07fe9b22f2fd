"""Viewers read automations; marketers build them and turn them on and off
(campaigns.*_automation, campaigns.run_automation), as roles.py says."""

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
        ("marketing_site", "0006_admins_manage_api_keys"),
        ("campaigns", "0015_automations"),
    ]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
