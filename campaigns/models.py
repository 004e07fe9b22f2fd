from django.conf import settings
from django.db import models
from django.utils import timezone

from campaigns import tokens
from campaigns.validators import hex_colour_validator, http_url_validator
from contacts.models import Contact, Group, Segment


def default_postal_address() -> str:
    return settings.SENDER_POSTAL_ADDRESS


class Product(models.Model):
    sku = models.CharField("SKU", max_length=64, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    url = models.URLField("Product page", max_length=500, validators=[http_url_validator])
    image_url = models.URLField(max_length=500, blank=True, validators=[http_url_validator])
    price = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    active = models.BooleanField(default=True)
    # The composer's catalogue: the shop sync keeps these current.
    category = models.CharField(max_length=100, blank=True, db_index=True)
    stock = models.IntegerField(
        null=True, blank=True, help_text="Items in stock; empty when the shop does not count them."
    )
    sales_count = models.PositiveIntegerField(
        default=0, help_text="Items sold lately; the bestsellers rule ranks by it."
    )
    added_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def in_stock(self) -> bool:
        return self.stock is None or self.stock > 0


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
    # A code is free only while this is empty: deleting its holder keeps it spent.
    assigned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["coupon", "code"], name="couponcode_unique"),
            models.UniqueConstraint(
                fields=["coupon", "contact"],
                condition=models.Q(contact__isnull=False),
                name="couponcode_one_per_contact",
            ),
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
        PAUSED = "paused", "Paused"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        SCHEDULED = "scheduled", "Scheduled"

    name = models.CharField(max_length=200)
    kind = models.CharField(
        max_length=20,
        choices=Kind.choices,
        default=Kind.MARKETING,
        help_text="Marketing mail respects unsubscribes and the frequency cap. Transactional "
        "mail (an order confirmation, a password reset) reaches every contact who has not "
        "bounced or complained, and goes ahead of marketing mail.",
    )
    subject = models.CharField(max_length=200)
    preheader = models.CharField(
        max_length=200, blank=True, help_text="The preview line inbox lists show after the subject."
    )
    from_name = models.CharField(max_length=100)
    from_email = models.EmailField()
    reply_to = models.EmailField(blank=True)
    body = models.TextField(
        blank=True, help_text='HTML. Personalise with {{ contact.first_name|default:"there" }}.'
    )
    postal_address = models.CharField(max_length=300, default=default_postal_address)
    groups = models.ManyToManyField(Group, related_name="campaigns", blank=True)
    # The audience is (groups + segments) - (excluded groups + excluded
    # segments), decided in one SQL statement by campaigns.audience.
    segments = models.ManyToManyField(Segment, related_name="campaigns", blank=True)
    excluded_groups = models.ManyToManyField(Group, related_name="excluding_campaigns", blank=True)
    excluded_segments = models.ManyToManyField(
        Segment, related_name="excluding_campaigns", blank=True
    )
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
    # The composer (campaigns.blocks): an ordered list of blocks. Empty for a
    # campaign written as one piece of HTML in `body`.
    content_blocks = models.JSONField(default=list, blank=True)
    locale = models.CharField(
        "Main language",
        max_length=10,
        default="en",
        help_text="The language of the main content; contacts without a version in their "
        "own language get this one.",
    )
    # Other languages: {"ru": {"subject": ..., "preheader": ..., "blocks": [...]}}.
    locale_content = models.JSONField(default=dict, blank=True)
    text_body = models.TextField(
        "Plain-text part",
        blank=True,
        help_text="Leave empty to have it written from the blocks.",
    )

    class Meta:
        ordering = ["-created_at"]
        # Composing is add/change; this covers starting a send and steering it.
        permissions = [("send_campaign", "Can send, pause, resume, cancel and re-send a campaign")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_editable(self) -> bool:
        # A scheduled campaign may still be changed until its send starts.
        return self.status in (self.Status.DRAFT, self.Status.SCHEDULED)


class Send(models.Model):
    """One execution of a campaign."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        PREPARING = "preparing", "Preparing audience"
        SENDING = "sending", "Sending"
        PAUSED = "paused", "Paused"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    class Lane(models.TextChoices):
        """Celery queues, most urgent first: an order confirmation never waits
        behind a newsletter."""

        TRANSACTIONAL = "transactional", "Transactional"
        AUTOMATION = "automation", "Automation"
        BULK = "bulk", "Bulk"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="sends")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    lane = models.CharField(max_length=20, choices=Lane.choices, default=Lane.BULK)
    is_marketing = models.BooleanField(default=True)
    error = models.TextField(blank=True)
    # Why the send is paused (by staff, or by itself when the backend stayed down).
    pause_reason = models.TextField(blank=True)
    # Consecutive batches that hit a temporary error, for the back-off; reset
    # by any batch that gets through.
    retry_streak = models.PositiveIntegerField(default=0)
    # While set, one retry of the send is already scheduled for this time, so
    # the other batches of the send stop instead of hammering a failing backend.
    retry_at = models.DateTimeField(null=True, blank=True)
    # Touched by every worker that claims or hands over a batch of this send.
    last_activity_at = models.DateTimeField(null=True, blank=True)
    # The compiled content (campaigns.rendering.CompiledContent), frozen at
    # send time so every worker sends the same mail.
    content = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # A/B tests (campaigns.abtest): the variant this send carries, and whether
    # it is one of the test sends (else the main send, or the winner's).
    variant = models.ForeignKey(
        "Variant", on_delete=models.SET_NULL, null=True, blank=True, related_name="sends"
    )
    is_ab_test = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.campaign} #{self.pk}"


class Link(models.Model):
    """A link of a send's content, recorded at send time; clicks redirect only here."""

    send = models.ForeignKey(Send, on_delete=models.CASCADE, related_name="links")
    index = models.PositiveIntegerField()
    url = models.URLField(max_length=2000)
    # The hidden link of every mail that no person sees: only machines follow it.
    is_honeypot = models.BooleanField(default=False, db_default=False)

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
        IN_DOUBT = "in_doubt", "In doubt"
        SKIPPED = "skipped", "Skipped"

    class SkipReason(models.TextChoices):
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        UNCONFIRMED = "unconfirmed", "Not confirmed"
        NOT_SUBSCRIBED = "not_subscribed", "Never subscribed to marketing"
        BOUNCED = "bounced", "Bounced before"
        COMPLAINED = "complained", "Complained before"
        SUPPRESSED = "suppressed", "On the suppression list"
        INVALID = "invalid", "Invalid address"
        FREQUENCY_CAP = "frequency_cap", "Frequency cap"
        NO_COUPON_CODE = "no_coupon_code", "No coupon code left"
        CANCELLED = "cancelled", "Send cancelled"
        CONTACT_DELETED = "contact_deleted", "Contact deleted"
        HOLDOUT = "holdout", "Held out (control group)"

    class BounceType(models.TextChoices):
        HARD = "hard", "Hard bounce"
        SOFT = "soft", "Soft bounce"

    class ErrorClass(models.TextChoices):
        TEMPORARY = "temporary", "Temporary (retried)"
        THROTTLED = "throttled", "Throttled by the provider (retried)"
        CONNECTION = "connection", "Connection lost (retried)"
        REFUSED = "refused", "Recipient refused"
        REJECTED = "rejected", "Message rejected"
        CONFIGURATION = "configuration", "Sending configuration"
        UNKNOWN = "unknown", "Outcome unknown"

    # Both foreign keys are served by the composite indexes below; one index
    # less per key makes every snapshot INSERT cheaper.
    send = models.ForeignKey(
        Send, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    # The ledger outlives the contact: a deleted contact's messages stay, so
    # past reports never change.
    contact = models.ForeignKey(
        Contact,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messages",
        db_index=False,
    )
    email = models.EmailField(max_length=254)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    skip_reason = models.CharField(max_length=20, choices=SkipReason.choices, blank=True)
    coupon_code = models.CharField(max_length=64, blank=True)
    esp_message_id = models.CharField(max_length=255, blank=True)
    error = models.TextField(blank=True)
    error_class = models.CharField(max_length=20, choices=ErrorClass.choices, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set when a worker claims the message, and refreshed while its batch runs.
    claimed_at = models.DateTimeField(null=True, blank=True)
    # The claim's own random id: a worker writes only rows it still holds.
    batch = models.CharField(max_length=32, blank=True)
    # Set right before the message is handed to the mail backend: from then on
    # it may have left, and a crash makes it "in doubt", never "queued".
    handed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # A recipient's server said "later" (e.g. 450 greylisting, 452 mailbox
    # full): the message waits in the queue until then, the others go on.
    retry_after = models.DateTimeField(null=True, blank=True)

    # Database defaults too: the ledger and imports insert rows with raw SQL.
    # Facts, written by tracking's services as events arrive (the events are
    # the detailed log; reports read these). Opens and clicks here are human
    # ones: a human click counts as an open. Machine hits are counted apart.
    delivered_at = models.DateTimeField(null=True, blank=True)
    bounced_at = models.DateTimeField(null=True, blank=True)
    bounce_type = models.CharField(
        max_length=4, choices=BounceType.choices, blank=True, default="", db_default=""
    )
    bounce_reason = models.CharField(max_length=300, blank=True, default="", db_default="")
    complained_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    clicked_at = models.DateTimeField(null=True, blank=True)
    opens = models.PositiveIntegerField(default=0, db_default=0)
    clicks = models.PositiveIntegerField(default=0, db_default=0)
    machine_opens = models.PositiveIntegerField(default=0, db_default=0)
    machine_clicks = models.PositiveIntegerField(default=0, db_default=0)
    # Orders credited to this message (tracking.attribution) and their total,
    # in the shop's currency.
    orders = models.PositiveIntegerField(default=0, db_default=0)
    revenue = models.DecimalField(max_digits=14, decimal_places=2, default=0, db_default=0)
    # Not claimed before this time: a send at each recipient's local time, or
    # an A/B variant that tests a later send time (campaigns.scheduling).
    due_at = models.DateTimeField(null=True, blank=True)
    # The automation step this mail carries out (campaigns.automations): an
    # automation's send mails one contact once per trigger, not once in all.
    pending = models.ForeignKey(
        "PendingStep",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messages",
        db_index=False,
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["send", "contact"],
                condition=models.Q(pending__isnull=True),
                name="message_once_per_send",
            ),
            models.UniqueConstraint(
                fields=["pending"],
                condition=models.Q(pending__isnull=False),
                name="message_once_per_pending_step",
            ),
        ]
        indexes = [
            models.Index(fields=["send", "status"]),
            # Claims: the next queued messages of a send, in id order.
            models.Index(
                fields=["send", "id"],
                condition=models.Q(status="queued"),
                name="message_queued",
            ),
            # ESP webhooks find a message by the id the ESP gave it.
            models.Index(
                fields=["esp_message_id"],
                condition=~models.Q(esp_message_id=""),
                name="message_esp_id",
            ),
            # The frequency cap: a contact's recent mails.
            models.Index(fields=["contact", "created_at"], name="message_contact_recent"),
            # Recovery: claims that went quiet.
            models.Index(
                fields=["claimed_at"],
                condition=models.Q(status="sending"),
                name="message_sending_claimed",
            ),
            # Segments: who opened / clicked in the last N campaigns (a small
            # share of the messages, read by send).
            models.Index(
                fields=["send", "contact"],
                condition=models.Q(opened_at__isnull=False),
                name="message_opened",
            ),
            models.Index(
                fields=["send", "contact"],
                condition=models.Q(clicked_at__isnull=False),
                name="message_clicked",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.status})"

    @property
    def unsubscribe_token(self) -> str:
        return tokens.unsubscribe_token(self.pk)

    @property
    def web_view_token(self) -> str:
        return tokens.web_view_token(self.pk)


class FrequencyPolicy(models.Model):
    """How often one contact may get marketing mail. One row, edited by staff;
    transactional mail is exempt."""

    max_messages = models.PositiveSmallIntegerField(
        default=2, help_text="At most this many marketing mails per contact in the window."
    )
    window_days = models.PositiveSmallIntegerField(default=7)
    min_gap_days = models.PositiveSmallIntegerField(
        default=2, help_text="At least this many days between two marketing mails (0: no gap)."
    )
    enabled = models.BooleanField(default=True)

    class Meta:
        verbose_name_plural = "frequency policy"

    def __str__(self) -> str:
        if not self.enabled:
            return "No frequency cap"
        return (
            f"At most {self.max_messages} in {self.window_days} days, "
            f"{self.min_gap_days} days apart"
        )

    @classmethod
    def current(cls) -> "FrequencyPolicy":
        """The saved policy, or the default one (unsaved: reading writes nothing)."""
        return cls.objects.filter(pk=1).first() or cls(pk=1)


class ThrottleBucket(models.Model):
    """A sending limit shared by every worker (campaigns.throttling)."""

    key = models.CharField(max_length=200, unique=True)
    tokens = models.FloatField(default=0)
    refilled_at = models.FloatField(default=0)  # epoch seconds
    period_start = models.DateTimeField(null=True, blank=True)
    period_count = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return self.key


class Brand(models.Model):
    """How every mail looks: one row, edited by staff on the brand page."""

    FONTS = {
        "system": "-apple-system, 'Segoe UI', Helvetica, Arial, sans-serif",
        "georgia": "Georgia, 'Times New Roman', serif",
        "verdana": "Verdana, Geneva, sans-serif",
        "trebuchet": "'Trebuchet MS', Helvetica, sans-serif",
    }

    class Font(models.TextChoices):
        SYSTEM = "system", "System sans-serif (Helvetica, Arial)"
        GEORGIA = "georgia", "Georgia (serif)"
        VERDANA = "verdana", "Verdana (wide sans-serif)"
        TREBUCHET = "trebuchet", "Trebuchet MS"

    name = models.CharField("Shop name", max_length=100, default="Our shop")
    logo_url = models.URLField(
        "Logo", max_length=500, blank=True, validators=[http_url_validator],
        help_text="An https address of a PNG or JPG, about 300 px wide.",
    )  # fmt: skip
    logo_width = models.PositiveSmallIntegerField(default=140, help_text="Width in the mail, px.")
    website_url = models.URLField(max_length=500, blank=True, validators=[http_url_validator])
    primary_color = models.CharField(
        "Button colour", max_length=7, default="#4f46e5", validators=[hex_colour_validator]
    )
    button_text_color = models.CharField(
        max_length=7, default="#ffffff", validators=[hex_colour_validator]
    )
    link_color = models.CharField(
        max_length=7, default="#4338ca", validators=[hex_colour_validator]
    )
    text_color = models.CharField(
        max_length=7, default="#1f2937", validators=[hex_colour_validator]
    )
    background_color = models.CharField(
        "Page colour", max_length=7, default="#f3f4f6", validators=[hex_colour_validator]
    )
    font = models.CharField(max_length=20, choices=Font.choices, default=Font.SYSTEM)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "brand"

    def __str__(self) -> str:
        return self.name

    @property
    def font_family(self) -> str:
        return self.FONTS.get(self.font, self.FONTS["system"])

    @classmethod
    def current(cls) -> "Brand":
        """The saved brand, or the default one (unsaved: reading writes nothing)."""
        return cls.objects.filter(pk=1).first() or cls(pk=1)


class CampaignTemplate(models.Model):
    """Content to start a campaign from: a starter or one saved by staff."""

    name = models.CharField(max_length=200)
    description = models.CharField(max_length=300, blank=True)
    # Starters are written by campaigns.starters and keyed by this slug.
    slug = models.SlugField(max_length=50, blank=True)
    subject = models.CharField(max_length=200, blank=True)
    preheader = models.CharField(max_length=200, blank=True)
    content_blocks = models.JSONField(default=list, blank=True)
    locale = models.CharField(max_length=10, default="en")
    locale_content = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-slug", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["slug"], condition=~models.Q(slug=""), name="campaigntemplate_slug"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_starter(self) -> bool:
        return bool(self.slug)


# --- A/B tests, schedules, holdout (campaigns.abtest, campaigns.scheduling) -------


class Variant(models.Model):
    """One version of an A/B-tested campaign. An empty field keeps the campaign's own."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="variants")
    label = models.CharField(max_length=1)  # A, B, C, D
    subject = models.CharField(max_length=200, blank=True)
    from_name = models.CharField("Sender name", max_length=100, blank=True)
    body = models.TextField(blank=True)
    send_delay_minutes = models.PositiveIntegerField(
        default=0, help_text="Sent this many minutes after the test starts (to test send times)."
    )

    class Meta:
        ordering = ["campaign", "label"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "label"], name="variant_unique_label")
        ]

    def __str__(self) -> str:
        return f"Variant {self.label}"


class ABTest(models.Model):
    """How a campaign's variants are tested, and what was decided."""

    class Metric(models.TextChoices):
        OPEN_RATE = "open_rate", "Human open rate"
        CLICK_RATE = "click_rate", "Human click rate"
        REVENUE = "revenue", "Revenue per recipient"

    class State(models.TextChoices):
        SETUP = "setup", "Being set up"
        TESTING = "testing", "Testing"
        DECIDING = "deciding", "Deciding"
        DECIDED = "decided", "Decided"

    campaign = models.OneToOneField(Campaign, on_delete=models.CASCADE, related_name="ab_test")
    test_percent = models.PositiveSmallIntegerField(
        default=20, help_text="Share of the audience that gets the test, split evenly."
    )
    metric = models.CharField(max_length=12, choices=Metric.choices, default=Metric.OPEN_RATE)
    wait_hours = models.PositiveSmallIntegerField(default=4)
    confidence = models.PositiveSmallIntegerField(
        default=95, help_text="A winner needs this confidence (in %), else the default goes."
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.SETUP)
    decide_at = models.DateTimeField(null=True, blank=True)
    winner = models.ForeignKey(
        Variant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The reasoning shown on the page: the test, the p-value, the confidence.
    decision = models.TextField(blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "decide_at"], name="abtest_due")]

    def __str__(self) -> str:
        return f"A/B test of {self.campaign}"


class SendPlan(models.Model):
    """When a campaign goes, and to whom not: its schedule and its holdout.
    The row is durable: a periodic task claims it once it is due, so a send
    missed while beat was down runs once when beat is back (never twice)."""

    class Mode(models.TextChoices):
        NOW = "now", "Now"
        AT = "at", "At a date and time"
        LOCAL = "local", "At a local time in each recipient's time zone"
        WEEKLY = "weekly", "Every week"

    class Status(models.TextChoices):
        DRAFT = "draft", "Not scheduled"
        SCHEDULED = "scheduled", "Scheduled"
        PAUSED = "paused", "Paused"
        STARTED = "started", "Started"
        CANCELLED = "cancelled", "Cancelled"
        FAILED = "failed", "Could not start"

    campaign = models.OneToOneField(Campaign, on_delete=models.CASCADE, related_name="plan")
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.NOW)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    # A wall-clock date and time: read in `time_zone` (AT, WEEKLY) or in each
    # recipient's own zone (LOCAL). WEEKLY runs on that weekday from that date on.
    local_date = models.DateField(null=True, blank=True)
    local_time = models.TimeField(null=True, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    # The next time the periodic task starts a send (UTC).
    next_run_at = models.DateTimeField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    runs = models.PositiveIntegerField(default=0)
    holdout_percent = models.PositiveSmallIntegerField(
        default=0, help_text="Share of the audience kept from the mail to measure its lift."
    )
    error = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_run_at"], name="sendplan_due")]

    def __str__(self) -> str:
        return f"Plan of {self.campaign}"


# --- Automations (campaigns.automations) -----------------------------------------


class Automation(models.Model):
    """Mails that a shop event or a time rule starts, one series per contact
    and trigger: a welcome series, an order confirmation, an abandoned cart."""

    class Trigger(models.TextChoices):
        CUSTOMER_REGISTERED = "customer.registered", "A customer registers"
        ORDER_CREATED = "order.created", "An order is placed"
        ORDER_PAID = "order.paid", "An order is paid"
        ORDER_SHIPPED = "order.shipped", "An order is shipped"
        ORDER_DELIVERED = "order.delivered", "An order is delivered"
        ORDER_CANCELLED = "order.cancelled", "An order is cancelled"
        CART_UPDATED = "cart.updated", "A cart is filled"
        PRODUCT_VIEWED = "product.viewed", "A product is viewed"
        NO_ORDER = "time.no_order", "No order for a number of days"
        DATE = "time.date", "A date of the contact's comes round (e.g. a birthday)"
        ON_DATE = "time.on_date", "On a date, once (e.g. a holiday promotion)"

    class Exit(models.TextChoices):
        ORDER_CREATED = "order.created", "The contact places an order"
        ORDER_PAID = "order.paid", "The order is paid"
        ORDER_CANCELLED = "order.cancelled", "The order is cancelled"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Live"
        PAUSED = "paused", "Paused"

    name = models.CharField(max_length=200)
    description = models.CharField(max_length=300, blank=True)
    # The ready-made recipe it was made from (campaigns.recipes), if any.
    recipe = models.SlugField(max_length=50, blank=True)
    trigger = models.CharField(max_length=32, choices=Trigger.choices)
    kind = models.CharField(
        max_length=20,
        choices=Campaign.Kind.choices,
        default=Campaign.Kind.MARKETING,
        help_text="Marketing mail respects consent, the frequency cap and quiet hours. "
        "Transactional mail (an order confirmation) goes to every contact who has not "
        "bounced or complained.",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    segment = models.ForeignKey(
        Segment,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="automations",
        help_text="Only contacts in this segment when a mail is due get it.",
    )
    exit_on = models.JSONField(
        default=list, blank=True, help_text="Events that end the series before its next mail."
    )
    # Trigger settings: days without an order, or days before a date; the
    # date attribute's name; the least seconds on a product page; the date.
    days = models.PositiveIntegerField(default=0)
    date_attribute = models.CharField(max_length=50, blank=True)
    min_seconds = models.PositiveIntegerField(default=0)
    run_on = models.DateField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    activated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["name"]
        permissions = [("run_automation", "Can turn automations on and off")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_marketing(self) -> bool:
        return self.kind == Campaign.Kind.MARKETING


class AutomationStep(models.Model):
    """One mail of an automation, sent `delay_minutes` after the trigger.
    Its content is a campaign edited in the composer; each version of it is
    frozen into a send of its own when the first mail of that version goes."""

    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(default=1)
    delay_minutes = models.PositiveIntegerField(default=0)
    campaign = models.OneToOneField(
        Campaign, on_delete=models.CASCADE, related_name="automation_step"
    )
    send = models.ForeignKey(
        Send, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The campaign's `updated_at` when `send` froze it: an edit starts a new send.
    content_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["automation", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["automation", "position"], name="automationstep_position"
            )
        ]

    def __str__(self) -> str:
        return f"{self.automation}: step {self.position}"


class PendingStep(models.Model):
    """A mail an automation owes one contact: a durable row with its due time,
    claimed once by the periodic run (no broker ETA is its only record). Unique
    per step, contact and trigger, so a repeated event schedules nothing twice."""

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting"
        DONE = "done", "Mail made"
        EXITED = "exited", "Left the automation"
        SKIPPED = "skipped", "Not in the segment"

    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="pending")
    step = models.ForeignKey(AutomationStep, on_delete=models.CASCADE, related_name="pending")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="pending_steps")
    # What started it: the trigger and the order, cart, product or date it is about.
    trigger_key = models.CharField(max_length=150)
    subject_id = models.CharField(max_length=100, blank=True)
    triggered_at = models.DateTimeField()
    # The event's data the mail shows (order lines, cart items, the product).
    context = models.JSONField(default=dict, blank=True)
    due_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WAITING)
    outcome = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["step", "contact", "trigger_key"], name="pendingstep_once"
            )
        ]
        indexes = [
            models.Index(
                fields=["due_at"],
                condition=models.Q(status="waiting"),
                name="pendingstep_due",
            ),
            models.Index(fields=["contact", "status"], name="pendingstep_contact"),
            models.Index(fields=["automation", "subject_id"], name="pendingstep_subject"),
        ]

    def __str__(self) -> str:
        return f"{self.step} for {self.contact_id} ({self.status})"
