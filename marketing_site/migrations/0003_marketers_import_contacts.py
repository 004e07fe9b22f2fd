"""Marketers may import contacts (the import page), as roles.py now says."""

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
        ("marketing_site", "0002_role_permissions"),
        ("contacts", "0007_import_job_and_address_flag"),
    ]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
