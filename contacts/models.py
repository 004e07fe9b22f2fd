from pathlib import Path

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from contacts.addresses import FLAG_LABELS, address_flag_note, normalise_email


class NormalisedEmailField(models.EmailField):
    """An address stored trimmed and in lower case however it was typed, so
    Ann@Example.com and ann@example.com are one contact."""

    def to_python(self, value):
        value = super().to_python(value)
        return normalise_email(value) if isinstance(value, str) else value

    def pre_save(self, model_instance, add):
        value = self.to_python(getattr(model_instance, self.attname))
        setattr(model_instance, self.attname, value)
        return value

    def get_prep_value(self, value):
        return self.to_python(super().get_prep_value(value))


class NormalisedDomainField(models.CharField):
    """A domain stored trimmed, in lower case and without a leading @."""

    def to_python(self, value):
        value = super().to_python(value)
        return value.strip().lower().lstrip("@") if isinstance(value, str) else value

    def pre_save(self, model_instance, add):
        value = self.to_python(getattr(model_instance, self.attname))
        setattr(model_instance, self.attname, value)
        return value


class Group(models.Model):
    """A static list of contacts."""

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Consent: a topic shows in the preference centre and on signup forms,
    # under its public name, for recipients to pick.
    is_topic = models.BooleanField(
        default=False, help_text="Recipients may join or leave it in their preference centre."
    )
    public_name = models.CharField(
        max_length=200, blank=True, help_text="What recipients read; the name when empty."
    )
    public_description = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class EngagementTier(models.TextChoices):
    NEW = "new", "New"
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    DORMANT = "dormant", "Dormant"


class MailFrequency(models.TextChoices):
    ANY = "", "Every mail"
    WEEKLY = "weekly", "At most one a week"
    MONTHLY = "monthly", "At most one a month"


# Days that must pass after a marketing mail before the next, per choice.
MAIL_FREQUENCY_DAYS = {MailFrequency.WEEKLY: 7, MailFrequency.MONTHLY: 30}


class SuppressionSource(models.TextChoices):
    MANUAL = "manual", "Staff"
    BOUNCE = "bounce", "Bounce"
    COMPLAINT = "complaint", "Complaint"
    UNSUBSCRIBE = "unsubscribe", "Unsubscribe"
    IMPORT = "import", "Import"


class Contact(models.Model):
    EngagementTier = EngagementTier

    class Status(models.TextChoices):
        UNCONFIRMED = "unconfirmed", "Unconfirmed"
        SUBSCRIBED = "subscribed", "Subscribed"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        BOUNCED = "bounced", "Bounced"
        COMPLAINED = "complained", "Complained"
        # A customer the shop told us of who never agreed to marketing mail:
        # order and account mail only (Mailchimp's "non-subscribed").
        NOT_SUBSCRIBED = "not_subscribed", "Not subscribed"

    email = NormalisedEmailField(max_length=254, unique=True)
    # A warning about the address (contacts.addresses): role, disposable, typo.
    address_flag = models.CharField(
        max_length=12, blank=True, default="", db_default="", choices=list(FLAG_LABELS.items())
    )
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    locale = models.CharField(max_length=10, default="en")
    time_zone = models.CharField(max_length=64, default="UTC")
    attributes = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SUBSCRIBED)
    consent_at = models.DateTimeField(null=True, blank=True)
    consent_source = models.CharField(max_length=200, blank=True)
    groups = models.ManyToManyField(Group, related_name="contacts", blank=True)
    # The recipient's own cap on marketing mail, set in the preference centre;
    # the sending rules apply whichever of it and the frequency policy is stricter.
    mail_frequency = models.CharField(
        max_length=10,
        choices=MailFrequency.choices,
        default=MailFrequency.ANY,
        db_default=MailFrequency.ANY,
        blank=True,
    )
    # Engagement, written by the tracking services.
    last_opened_at = models.DateTimeField(null=True, blank=True)
    last_clicked_at = models.DateTimeField(null=True, blank=True)
    # Kept current by a periodic task from last_opened_at / last_clicked_at.
    engagement_tier = models.CharField(
        max_length=10,
        choices=EngagementTier.choices,
        default="new",
        db_default="new",
    )
    # Shop facts, written by the shop connection as orders arrive.
    order_count = models.PositiveIntegerField(default=0, db_default=0)
    total_spent = models.DecimalField(max_digits=12, decimal_places=2, default=0, db_default=0)
    last_order_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["email"]
        permissions = [
            ("import_contacts", "Can import contacts from a file"),
            ("export_contacts", "Can export contacts to a file"),
            ("erase_contact", "Can erase a contact's personal data"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(email=Lower("email")), name="contact_email_lowercase"
            )
        ]
        indexes = [
            # Declared here, not with db_index: on PostgreSQL db_index adds a
            # second, LIKE-pattern index to a text column, which no query of a
            # status uses and every import row pays for.
            models.Index(fields=["status"], name="contact_status"),
            models.Index(fields=["engagement_tier"], name="contact_engagement_tier"),
            # Small: only the few who chose a frequency (campaigns.audience asks).
            models.Index(
                fields=["mail_frequency"],
                condition=models.Q(mail_frequency__gt=""),
                name="contact_own_frequency",
            ),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def address_flag_text(self) -> str:
        return address_flag_note(self.email, self.address_flag)


class Suppression(models.Model):
    """An address that must never get marketing mail, contact or not."""

    class Reason(models.TextChoices):
        BOUNCED = "bounced", "Hard bounce"
        COMPLAINED = "complained", "Spam complaint"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        MANUAL = "manual", "Added by staff"

    email = NormalisedEmailField(max_length=254, unique=True)
    reason = models.CharField(max_length=20, choices=Reason.choices, default=Reason.MANUAL)
    note = models.CharField(max_length=300, blank=True)
    source = models.CharField(
        max_length=20, choices=SuppressionSource.choices, default=SuppressionSource.MANUAL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} ({self.get_reason_display()})"


class DomainSuppression(models.Model):
    """A whole domain that must never get marketing mail (e.g. a competitor or
    a domain that stopped accepting mail)."""

    domain = NormalisedDomainField(max_length=253, unique=True, help_text="e.g. example.com")
    note = models.CharField(max_length=300, blank=True)
    source = models.CharField(
        max_length=20, choices=SuppressionSource.choices, default=SuppressionSource.MANUAL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain


class AuditEntry(models.Model):
    """Who did what to which object, and when: appended by contacts.audit,
    never changed. It lives in the bottom app so that every app can write it."""

    class Action(models.TextChoices):
        CAMPAIGN_CREATED = "campaign_created", "Campaign created"
        CAMPAIGN_EDITED = "campaign_edited", "Campaign edited"
        CAMPAIGN_DELETED = "campaign_deleted", "Campaign deleted"
        CAMPAIGN_SENT = "campaign_sent", "Campaign sent"
        SEND_PAUSED = "send_paused", "Sending paused"
        SEND_RESUMED = "send_resumed", "Sending resumed"
        SEND_CANCELLED = "send_cancelled", "Sending cancelled"
        SEND_RESENT_IN_DOUBT = "send_resent_in_doubt", "Mails in doubt sent again"
        IMPORTED = "imported", "File imported"
        EXPORTED = "exported", "File exported"
        CONTACT_ERASED = "contact_erased", "Contact erased"
        USER_INVITED = "user_invited", "User invited"
        ROLE_CHANGED = "role_changed", "Role changed"
        USER_DEACTIVATED = "user_deactivated", "User deactivated"
        USER_REACTIVATED = "user_reactivated", "User reactivated"
        API_KEY_CREATED = "api_key_created", "API key created"
        API_KEY_REVOKED = "api_key_revoked", "API key revoked"
        SUPPRESSION_ADDED = "suppression_added", "Suppression added"
        SUPPRESSION_REMOVED = "suppression_removed", "Suppression removed"
        CONTACT_EXPORTED = "contact_exported", "Contact's data exported"
        UNCONFIRMED_EXPIRED = "unconfirmed_expired", "Unconfirmed contacts expired"

        # Contacts and segments in the staff UI.
        CONTACT_ADDED = "contact_added", "Contact added"
        CONTACT_EDITED = "contact_edited", "Contact edited"
        CONTACTS_BULK_CHANGED = "contacts_bulk_changed", "Contacts changed in bulk"
        SEGMENT_SAVED = "segment_saved", "Segment saved"
        SEGMENT_DELETED = "segment_deleted", "Segment deleted"

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # The name is kept apart so the entry still says who once the user is gone.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_name = models.CharField(max_length=150)
    action = models.CharField(max_length=40, choices=Action.choices)
    object_type = models.CharField(max_length=100, blank=True, help_text="e.g. campaigns.campaign")
    object_id = models.CharField(max_length=64, blank=True)
    object_label = models.CharField(max_length=200, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["action", "created_at"], name="audit_action_recent"),
            models.Index(fields=["actor", "created_at"], name="audit_actor_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.actor_name} · {self.get_action_display()} · {self.object_label}"

    def save(self, *args, **kwargs):
        # Append-only: an entry is written once, by audit_record.
        if not self._state.adding:
            raise ValueError("Audit entries are never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Audit entries are never deleted.")

    @property
    def details_text(self) -> str:
        details = dict(self.details)
        change = f"{details.pop('from')} → {details.pop('to')}" if "from" in details else ""
        return ", ".join(
            [change, *(f"{key}: {value}" for key, value in sorted(details.items()))]
        ).strip(", ")


# The shop's data about its customers, stored by the shop connection (events
# API) so that segments, recommendations and attribution can read it. Products
# are referred to by SKU and category, so contacts stays free of campaigns.


class Order(models.Model):
    class Status(models.TextChoices):
        CREATED = "created", "Created"
        PAID = "paid", "Paid"
        SHIPPED = "shipped", "Shipped"
        DELIVERED = "delivered", "Delivered"
        CANCELLED = "cancelled", "Cancelled"

    external_id = models.CharField(max_length=100, unique=True, help_text="The shop's order id.")
    contact = models.ForeignKey(
        Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="orders"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CREATED)
    total = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, default="USD")
    delivery_address = models.JSONField(default=dict, blank=True)
    placed_at = models.DateTimeField(default=timezone.now)
    paid_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-placed_at"]
        indexes = [models.Index(fields=["contact", "placed_at"], name="order_contact_placed")]

    def __str__(self) -> str:
        return self.external_id


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    sku = models.CharField(max_length=64, db_index=True)
    name = models.CharField(max_length=200, blank=True)
    category = models.CharField(max_length=100, blank=True, db_index=True)
    quantity = models.PositiveIntegerField(default=1)
    unit_price = models.DecimalField(max_digits=10, decimal_places=2, default=0)

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"


class Cart(models.Model):
    external_id = models.CharField(max_length=100, unique=True, help_text="The shop's cart id.")
    contact = models.ForeignKey(
        Contact, on_delete=models.SET_NULL, null=True, blank=True, related_name="carts"
    )
    # [{"sku", "name", "category", "quantity", "unit_price", "image_url", "url"}]
    items = models.JSONField(default=list, blank=True)
    total = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, default="USD")
    updated_at = models.DateTimeField(default=timezone.now)
    ordered_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.external_id


class ProductView(models.Model):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="product_views")
    sku = models.CharField(max_length=64)
    category = models.CharField(max_length=100, blank=True)
    seconds = models.PositiveIntegerField(default=0, help_text="Time on the product page.")
    viewed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["contact", "viewed_at"], name="productview_contact")]

    def __str__(self) -> str:
        return f"{self.sku} ({self.seconds}s)"


class ShopEvent(models.Model):
    """One event the shop posted through the events API, kept as the log that
    automations start from. The shop's own event id makes a repeated post a
    no-op. Written by tracking's shop API; read by campaigns' automations."""

    class Type(models.TextChoices):
        CUSTOMER_REGISTERED = "customer.registered", "Customer registered"
        CUSTOMER_UPDATED = "customer.updated", "Customer updated"
        ORDER_CREATED = "order.created", "Order created"
        ORDER_PAID = "order.paid", "Order paid"
        ORDER_SHIPPED = "order.shipped", "Order shipped"
        ORDER_DELIVERED = "order.delivered", "Order delivered"
        ORDER_CANCELLED = "order.cancelled", "Order cancelled"
        CART_UPDATED = "cart.updated", "Cart updated"
        PRODUCT_VIEWED = "product.viewed", "Product viewed"
        PRODUCT_UPSERTED = "product.upserted", "Product updated"

    external_id = models.CharField(
        max_length=100, unique=True, help_text="The shop's own id of the event."
    )
    type = models.CharField(max_length=32, choices=Type.choices)
    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, null=True, blank=True, related_name="shop_events"
    )
    # The order or cart the event is about, by the shop's id, for exit conditions.
    subject_id = models.CharField(max_length=100, blank=True, default="", db_default="")
    payload = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)
    received_at = models.DateTimeField(default=timezone.now, db_default=models.functions.Now())

    class Meta:
        indexes = [
            models.Index(fields=["contact", "type", "occurred_at"], name="shopevent_contact"),
            models.Index(fields=["type", "subject_id"], name="shopevent_subject"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.external_id}"


class SignupForm(models.Model):
    """A subscription form: the hosted page, the HTML to embed in the shop's
    site and the JSON endpoint all post to it, and it names the groups a new
    subscriber joins and the words they agree to."""

    name = models.CharField(max_length=200, help_text="For staff, e.g. “Footer form”.")
    key = models.SlugField(
        max_length=50, unique=True, help_text="In the form's address: /subscribe/<key>/."
    )
    title = models.CharField(max_length=200, default="Subscribe to our newsletter")
    introduction = models.TextField(blank=True)
    consent_text = models.TextField(
        default="Yes, send me news and offers by email. I can unsubscribe at any time.",
        help_text="The wording a subscriber agrees to; kept with each consent record.",
    )
    groups = models.ManyToManyField(Group, related_name="signup_forms", blank=True)
    double_opt_in = models.BooleanField(
        default=True, help_text="Send a confirmation mail; subscribe only once it is confirmed."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Segment(models.Model):
    """A saved rule over contacts, evaluated whenever it is read (a live count,
    a campaign's audience at send time): see contacts.segments for the rules
    and how they become one SQL query."""

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    # {"match": "all" | "any", "rules": [{"field", "op", "value"[, "key"]}]}
    rules = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ConsentRecord(models.Model):
    """One thing a person said about getting our mail, with the evidence:
    when, from which address, through which form and agreeing to which words.
    Appended by contacts.consent, never changed."""

    class Action(models.TextChoices):
        REQUESTED = "requested", "Signed up, confirmation mail sent"
        CONFIRMED = "confirmed", "Confirmed the subscription"
        SUBSCRIBED = "subscribed", "Subscribed (single opt-in)"
        PREFERENCES = "preferences", "Changed preferences"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed from all"
        RESUBSCRIBED = "resubscribed", "Subscribed again after unsubscribing"

    class Source(models.TextChoices):
        HOSTED = "hosted", "Signup page"
        EMBEDDED = "embedded", "Form on the shop's site"
        API = "api", "Subscribe API"
        CONFIRMATION = "confirmation", "Confirmation link"
        PREFERENCES = "preferences", "Preference centre"
        UNSUBSCRIBE_PAGE = "unsubscribe_page", "Unsubscribe page"

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="consents")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    action = models.CharField(max_length=20, choices=Action.choices)
    source = models.CharField(max_length=20, choices=Source.choices)
    form = models.ForeignKey(SignupForm, on_delete=models.SET_NULL, null=True, blank=True)
    form_name = models.CharField(max_length=200, blank=True)
    wording = models.TextField(blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    # What was chosen: group names, a mail frequency.
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} ({self.created_at:%Y-%m-%d %H:%M})"


class ImportJob(models.Model):
    """One file of contacts imported in the background (contacts.importing)."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", "Waiting for the column mapping"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Importing"
        DONE = "done", "Done"
        FAILED = "failed", "Refused"

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UPLOADED)
    file_name = models.CharField(max_length=255)
    file_path = models.CharField(max_length=500, help_text="The stored upload.")
    file_size = models.BigIntegerField(default=0)
    # What the column mapping page chose: {"columns": [target per column], ...}.
    mapping = models.JSONField(default=list, blank=True)
    groups = models.ManyToManyField(Group, blank=True, related_name="+")
    update_existing = models.BooleanField(default=False)
    consent_confirmed = models.BooleanField(default=False)
    progress = models.FloatField(default=0, help_text="0 to 1, of the file read.")
    rows = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    flagged = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    rejected_path = models.CharField(max_length=500, blank=True)
    # Touched by the running import at every chunk: an import whose worker
    # died stops touching it, and is then shown as stopped (importing.py).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    stalled = models.BooleanField(default=False, db_default=False)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.file_name

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def can_run_again(self) -> bool:
        """Stopped with its worker: its file is still here to import again."""
        return self.stalled and bool(self.file_path) and Path(self.file_path).is_file()

    @property
    def percent(self) -> int:
        return 100 if self.status == self.Status.DONE else int(self.progress * 100)
