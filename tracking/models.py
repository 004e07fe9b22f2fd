from django.db import models

from campaigns.models import Message
from contacts.models import Contact


class Event(models.Model):
    """Something that happened to a message (or to a contact)."""

    class Kind(models.TextChoices):
        DELIVERED = "delivered", "Delivered"
        OPENED = "opened", "Opened"
        CLICKED = "clicked", "Clicked"
        BOUNCED = "bounced", "Bounced"
        COMPLAINED = "complained", "Complained"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        ORDERED = "ordered", "Ordered"
        REGISTERED = "registered", "Registered"

    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    contact = models.ForeignKey(
        Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    url = models.URLField(max_length=2000, blank=True)
    # Privacy proxies and link scanners fetch pixels and links with no person
    # behind them; their events are kept but counted apart.
    is_machine = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["message", "kind", "is_machine"])]
        permissions = [("view_report", "Can view campaign reports")]

    def __str__(self) -> str:
        return f"{self.kind} ({self.created_at:%Y-%m-%d %H:%M})"
