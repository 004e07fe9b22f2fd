from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "campaigns"

    def ready(self):
        from campaigns.privacy import messages_erase_contact, messages_export_contact
        from contacts.privacy import eraser_register, exporter_register

        eraser_register("messages", messages_erase_contact)
        exporter_register("messages", messages_export_contact)

        from campaigns.audience import segment_operators_register

        segment_operators_register()

        from campaigns.automations import contact_automations
        from contacts.panels import contact_panel_register

        contact_panel_register(
            "automations",
            template="campaigns/_contact_automations.html",
            context=lambda contact: {"steps": contact_automations(contact)},
        )
