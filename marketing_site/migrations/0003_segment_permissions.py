"""Viewers read segments; marketers also build, change and delete them."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

from marketing_site.roles import role_groups_sync


def sync_roles(apps, schema_editor):
    # The segment permissions are created after all migrations otherwise.
    for app_config in global_apps.get_app_configs():
        create_permissions(app_config, verbosity=0, apps=apps)
    role_groups_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("marketing_site", "0002_role_permissions"),
        ("contacts", "0007_segment_and_staff_audit_actions"),
    ]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
