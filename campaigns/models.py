from django.conf import settings
from django.db import models

from campaigns.tokens import message_token
from contacts.models import Contact, Group


def default_postal_address() -> str:
    return settings.SENDER_POSTAL_ADDRESS


class Product(models.Model):
    sku = models.CharField("SKU", max_length=64, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    url = models.URLField("Product page", max_length=500)
    image_url = models.URLField(max_length=500, blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Coupon(models.Model):
    """A shared code everyone gets, or a pool of codes handed out one per recipient."""

    class Kind(models.TextChoices):
        SHARED = "shared", "One shared code"
        UNIQUE = "unique", "One unique code per recipient"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.SHARED)
    code = models.CharField(max_length=64, blank=True, help_text="The shared code.")
    description = models.CharField(
        max_length=200, blank=True, help_text="Shown in the mail, e.g. “10% off your next order”."
    )
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="shared") | ~models.Q(code=""),
                name="coupon_shared_has_code",
            )
        ]

    def __str__(self) -> str:
        return self.name


class CouponCode(models.Model):
    """One code of a unique-code coupon; `contact` is set when it is handed out."""

    coupon = models.ForeignKey(Coupon, on_delete=models.CASCADE, related_name="codes")
    code = models.CharField(max_length=64)
    contact = models.ForeignKey(Contact, on_delete=models.SET_NULL, null=True, blank=True)
    assigned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["coupon", "code"], name="couponcode_unique"),
        ]
        indexes = [models.Index(fields=["coupon", "assigned_at"])]

    def __str__(self) -> str:
        return self.code


class Campaign(models.Model):
    class Kind(models.TextChoices):
        MARKETING = "marketing", "Marketing"
        TRANSACTIONAL = "transactional", "Transactional"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.MARKETING)
    subject = models.CharField(max_length=200)
    preheader = models.CharField(
        max_length=200, blank=True, help_text="The preview line inbox lists show after the subject."
    )
    from_name = models.CharField(max_length=100)
    from_email = models.EmailField()
    reply_to = models.EmailField(blank=True)
    body = models.TextField(
        help_text='HTML. Personalise with {{ contact.first_name|default:"there" }}.'
    )
    postal_address = models.CharField(max_length=300, default=default_postal_address)
    groups = models.ManyToManyField(Group, related_name="campaigns", blank=True)
    products = models.ManyToManyField(Product, related_name="campaigns", blank=True)
    coupon = models.ForeignKey(
        Coupon, on_delete=models.PROTECT, null=True, blank=True, related_name="campaigns"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_editable(self) -> bool:
        return self.status == self.Status.DRAFT


class Send(models.Model):
    """One execution of a campaign."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        PREPARING = "preparing", "Preparing audience"
        SENDING = "sending", "Sending"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="sends")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True)
    # The compiled content (campaigns.rendering.CompiledContent), frozen at
    # send time so every worker sends the same mail.
    content = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.campaign} #{self.pk}"


class Link(models.Model):
    """A link of a send's content, recorded at send time; clicks redirect only here."""

    send = models.ForeignKey(Send, on_delete=models.CASCADE, related_name="links")
    index = models.PositiveIntegerField()
    url = models.URLField(max_length=2000)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["send", "index"], name="link_unique_index")]

    def __str__(self) -> str:
        return self.url


class Message(models.Model):
    """One mail to one contact in one send: the ledger of what was sent."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    class SkipReason(models.TextChoices):
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        UNCONFIRMED = "unconfirmed", "Not confirmed"
        BOUNCED = "bounced", "Bounced before"
        COMPLAINED = "complained", "Complained before"
        SUPPRESSED = "suppressed", "On the suppression list"
        INVALID = "invalid", "Invalid address"
        NO_COUPON_CODE = "no_coupon_code", "No coupon code left"

    send = models.ForeignKey(Send, on_delete=models.CASCADE, related_name="messages")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="messages")
    email = models.EmailField(max_length=254)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    skip_reason = models.CharField(max_length=20, choices=SkipReason.choices, blank=True)
    coupon_code = models.CharField(max_length=64, blank=True)
    esp_message_id = models.CharField(max_length=255, blank=True, db_index=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["send", "contact"], name="message_once_per_send")
        ]
        indexes = [models.Index(fields=["send", "status"])]

    def __str__(self) -> str:
        return f"{self.email} ({self.status})"

    @property
    def token(self) -> str:
        """The signed token of this message's open, unsubscribe and web-view URLs."""
        return message_token(self.pk)
