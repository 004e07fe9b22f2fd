from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLE_APPS = ["contacts", "campaigns", "tracking", "auth", "django_celery_beat"]


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations; the admin role
    # needs them now.
    for app_config in global_apps.get_app_configs():
        create_permissions(app_config, verbosity=0, apps=apps)
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    admin, _ = Group.objects.get_or_create(name="admin")
    admin.permissions.set(Permission.objects.filter(content_type__app_label__in=ROLE_APPS))
    for name in ("marketer", "viewer"):
        Group.objects.get_or_create(name=name)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(
        name__in=["admin", "marketer", "viewer"]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contacts", "0001_initial"),
        ("campaigns", "0001_initial"),
        ("tracking", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
