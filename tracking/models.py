from django.conf import settings
from django.db import models

from campaigns.models import Message, Send
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
        DEFERRED = "deferred", "Deferred"
        REJECTED = "rejected", "Rejected"

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
    # Why a hit was judged a machine: "apple_proxy", "scanner", "head",
    # "too_fast", "all_links", "honeypot", "image_proxy", "agent"; empty for a person.
    machine_reason = models.CharField(max_length=20, blank=True)
    # Hits of the recipient endpoints are written here first, unapplied, in
    # one INSERT each: this table is the durable buffer. The flush
    # (tracking.facts) classifies them and applies them to the message's facts,
    # the report tallies and the contact, then marks them applied.
    applied = models.BooleanField(default=True, db_default=True)
    link_index = models.PositiveIntegerField(null=True, blank=True)
    # ESP webhook events: a key of the ESP's event id (or of its content when
    # the ESP sends none), unique, so a replayed webhook changes nothing.
    esp_event_key = models.CharField(max_length=64, blank=True, default="", db_default="")

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["message", "kind", "is_machine"]),
            models.Index(fields=["id"], condition=models.Q(applied=False), name="event_unapplied"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["esp_event_key"],
                condition=~models.Q(esp_event_key=""),
                name="event_esp_key_unique",
            )
        ]
        permissions = [("view_report", "Can view campaign reports")]

    def __str__(self) -> str:
        return f"{self.kind} ({self.created_at:%Y-%m-%d %H:%M})"

    @property
    def machine_reason_label(self) -> str:
        from tracking.machine import REASON_LABELS

        return REASON_LABELS.get(self.machine_reason, self.machine_reason)


class Tally(models.Model):
    """One counter of a send's report, kept by tracking's services as facts
    arrive, so a report reads a few hundred rows whatever the send's size.

    dimension "total" has key ""; "hour" and "day" have keys such as
    "2026-11-23T14" and "2026-11-23" (UTC); "link" the link index; "domain"
    the recipient's domain; "client" and "device" the mail client and device
    of the first human open; "variant" the A/B variant.
    Metrics: see Tally.Metric."""

    class Metric(models.TextChoices):
        SENT = "sent"  # per domain, counted once a send has finished
        DELIVERED = "delivered"
        BOUNCED_HARD = "bounced_hard"
        BOUNCED_SOFT = "bounced_soft"
        COMPLAINED = "complained"
        UNSUBSCRIBED = "unsubscribed"
        OPENED = "opened"  # unique human openers (a human click counts)
        CLICKED = "clicked"  # unique human clickers
        OPENS = "opens"  # all human opens
        CLICKS = "clicks"  # all human clicks
        MACHINE_OPENS = "machine_opens"
        MACHINE_CLICKS = "machine_clicks"
        ORDERS = "orders"
        REVENUE = "revenue"  # in cents of the shop's currency

    send = models.ForeignKey(Send, on_delete=models.CASCADE, related_name="+", db_index=False)
    dimension = models.CharField(max_length=12, default="total")
    key = models.CharField(max_length=200, blank=True)
    metric = models.CharField(max_length=16, choices=Metric.choices)
    value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["send", "dimension", "key", "metric"], name="tally_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.dimension}:{self.key}:{self.metric}={self.value}"


class MachineNetwork(models.Model):
    """An address range whose opens and clicks are machines': Apple's privacy
    proxy egress (load_apple_proxy_ranges) or a mail security scanner's."""

    class Kind(models.TextChoices):
        APPLE_PROXY = "apple_proxy", "Apple Mail Privacy Protection"
        SCANNER = "scanner", "Link scanner"

    network = models.CharField(max_length=50)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["network", "kind"], name="machine_network_unique")
        ]

    def __str__(self) -> str:
        return f"{self.network} ({self.kind})"


class ApiKey(models.Model):
    """A key the shop's backend sends with its events (tracking.shop_api).
    Only a hash of the secret is kept: staff see the key once, when it is made."""

    name = models.CharField(max_length=100, help_text="Where it is used, e.g. “Shop backend”.")
    prefix = models.CharField(max_length=16, help_text="The key's first characters.")
    secret_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("manage_api_keys", "Can create and revoke API keys")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class Attribution(models.Model):
    """An order credited to the mail that brought it (tracking.attribution)."""

    order = models.OneToOneField(
        "contacts.Order", on_delete=models.CASCADE, related_name="attribution"
    )
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+")
    send = models.ForeignKey(Send, on_delete=models.CASCADE, related_name="+")
    revenue = models.DecimalField(max_digits=12, decimal_places=2)
    # How: "click" (the latest human click in the window) or "token" (the
    # click token the shop passed back from the landing page).
    by = models.CharField(max_length=8)
    credited_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.order} ← message {self.message_id}"
