"""Each role's group holds exactly the permissions marketing_site.roles lists."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

from marketing_site.roles import role_groups_sync


def sync_roles(apps, schema_editor):
    # Permissions are normally created after all migrations; the groups need
    # the new ones (send_campaign, view_report, ...) now.
    for app_config in global_apps.get_app_configs():
        create_permissions(app_config, verbosity=0, apps=apps)
    role_groups_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("marketing_site", "0001_roles"),
        ("contacts", "0004_audit_entry_and_contact_permissions"),
        ("campaigns", "0004_campaign_send_permission"),
        ("tracking", "0003_report_permission"),
    ]

    operations = [migrations.RunPython(sync_roles, migrations.RunPython.noop)]
