from django.apps import AppConfig


class TrackingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tracking"

    def ready(self):
        from contacts.privacy import eraser_register, exporter_register
        from tracking.privacy import events_erase_contact, events_export_contact

        eraser_register("events", events_erase_contact)
        exporter_register("events", events_export_contact)
