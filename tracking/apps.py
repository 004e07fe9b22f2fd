from django.apps import AppConfig


def recipient_path(purpose: str) -> str:
    """The path of a mail's recipient endpoint, with the token placeholder."""
    from django.urls import reverse

    from campaigns.recipient_urls import PLACEHOLDER

    name = {"open": "open", "click": "click", "unsubscribe": "unsubscribe", "web": "web_view"}
    return reverse(f"tracking:{name[purpose]}", kwargs={"token": PLACEHOLDER})


class TrackingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "tracking"

    def ready(self):
        from anymail.signals import tracking as anymail_tracking

        from campaigns.recipient_urls import recipient_paths_register
        from contacts.privacy import eraser_register, exporter_register
        from tracking.privacy import events_erase_contact, events_export_contact
        from tracking.webhooks import anymail_tracking_receiver

        eraser_register("events", events_erase_contact)
        exporter_register("events", events_export_contact)
        # campaigns builds every mail's URLs but never names our routes.
        recipient_paths_register(recipient_path)
        anymail_tracking.connect(anymail_tracking_receiver, dispatch_uid="tracking.webhooks")

        from contacts.panels import contact_panel_register
        from tracking.reports import contact_engagement

        contact_panel_register(
            "engagement", template="tracking/_contact_timeline.html", context=contact_engagement
        )
        from tracking.attribution import contact_orders

        contact_panel_register(
            "orders", template="tracking/_contact_orders.html", context=contact_orders
        )
