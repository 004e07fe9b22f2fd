from django import forms
from django.contrib import admin
from django.db import models
from django.db.models import Count, Q
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils.html import format_html

from campaigns.coupons import MAX_GENERATED, coupon_codes_generate, coupon_codes_import
from campaigns.models import (
    Campaign,
    Coupon,
    CouponCode,
    FrequencyPolicy,
    Message,
    Product,
    Send,
)
from campaigns.resources import CouponCodeResource, ProductResource
from contacts.admin import SpreadsheetAdmin
from contacts.audit import Action, audit_record

INLINE_CODES_SHOWN = 50


class ReadOnlyAdmin(admin.ModelAdmin):
    """The sending ledger: written by the pipeline, only read by people."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Product)
class ProductAdmin(SpreadsheetAdmin):
    # Shop links are https; Django 5.x would otherwise assume http and warn.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    resource_classes = [ProductResource]
    list_display = ["name", "sku", "price", "currency", "active"]
    list_filter = ["active", "currency"]
    search_fields = ["name", "sku"]


class FirstCodesFormSet(BaseInlineFormSet):
    # A pool can hold many thousands of codes; the page shows the first few
    # and links to the full, paginated list.
    def get_queryset(self):
        if not hasattr(self, "_first_codes"):
            self._first_codes = super().get_queryset()[:INLINE_CODES_SHOWN]
        return self._first_codes


class CouponCodeInline(admin.TabularInline):
    model = CouponCode
    formset = FirstCodesFormSet
    fields = ["code", "contact", "assigned_at"]
    readonly_fields = ["contact", "assigned_at"]
    extra = 0
    verbose_name_plural = f"Codes (the first {INLINE_CODES_SHOWN})"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("contact").order_by("pk")


class CouponAdminForm(forms.ModelForm):
    """The coupon, plus codes to generate or paste into its pool (campaigns.coupons)."""

    generate_count = forms.IntegerField(
        label="Generate codes",
        required=False,
        min_value=1,
        max_value=MAX_GENERATED,
        help_text="Add this many random codes to the pool (unique-code coupons).",
    )
    generate_prefix = forms.CharField(
        label="Prefix of generated codes", required=False, max_length=20
    )
    paste_codes = forms.CharField(
        label="Paste codes",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Codes from the shop, one per line or separated by commas.",
    )

    class Meta:
        model = Coupon
        fields = ["name", "kind", "code", "description", "expires_at"]

    def clean(self):
        data = super().clean()
        wants_codes = data.get("generate_count") or (data.get("paste_codes") or "").strip()
        if wants_codes and data.get("kind") != Coupon.Kind.UNIQUE:
            raise forms.ValidationError("Only a coupon with unique codes has a pool of codes.")
        return data


@admin.register(Coupon)
class CouponAdmin(admin.ModelAdmin):
    form = CouponAdminForm
    list_display = ["name", "kind", "code", "free_codes", "assigned_codes", "expires_at"]
    list_filter = ["kind"]
    search_fields = ["name", "code"]
    readonly_fields = ["pool"]
    inlines = [CouponCodeInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                free_code_count=Count("codes", filter=Q(codes__assigned_at__isnull=True)),
                assigned_code_count=Count("codes", filter=Q(codes__assigned_at__isnull=False)),
            )
        )

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        coupon, data = form.instance, form.cleaned_data
        if data.get("generate_count"):
            added = coupon_codes_generate(
                coupon=coupon, count=data["generate_count"], prefix=data.get("generate_prefix", "")
            )
            self.message_user(request, f"{added} codes generated.")
        if (data.get("paste_codes") or "").strip():
            result = coupon_codes_import(coupon=coupon, text=data["paste_codes"])
            note = f"{result.added} codes added, {result.duplicates} already there."
            if result.invalid:
                note += f" Refused (letters, digits, - and _ only): {', '.join(result.invalid)}."
            self.message_user(request, note)

    @admin.display(description="Free codes", ordering="free_code_count")
    def free_codes(self, coupon: Coupon) -> int:
        return coupon.free_code_count

    @admin.display(description="Assigned codes", ordering="assigned_code_count")
    def assigned_codes(self, coupon: Coupon) -> int:
        return coupon.assigned_code_count

    @admin.display(description="Code pool")
    def pool(self, coupon: Coupon) -> str:
        if not coupon.pk:
            return "Save the coupon first, then import its codes."
        codes_url = reverse("admin:campaigns_couponcode_changelist")
        return format_html(
            '{} free, {} assigned. <a href="{}?coupon__id__exact={}">All codes</a> · '
            '<a href="{}">Import codes</a> (a CSV or XLSX with columns “coupon” and “code”)',
            coupon.free_code_count,
            coupon.assigned_code_count,
            codes_url,
            coupon.pk,
            reverse("admin:campaigns_couponcode_import"),
        )


class AssignedFilter(admin.SimpleListFilter):
    title = "assigned"
    parameter_name = "assigned"

    def lookups(self, request, model_admin):
        return [("yes", "Assigned"), ("no", "Free")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(assigned_at__isnull=self.value() == "no")
        return queryset


@admin.register(CouponCode)
class CouponCodeAdmin(SpreadsheetAdmin):
    resource_classes = [CouponCodeResource]
    list_display = ["code", "coupon", "contact", "assigned_at"]
    list_select_related = ["coupon", "contact"]
    list_filter = [AssignedFilter, "coupon"]
    search_fields = ["code", "contact__email"]
    raw_id_fields = ["contact"]


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    """Campaigns are composed and sent in the dashboard; here they are looked up."""

    list_display = ["name", "kind", "status", "subject", "audience", "created_by", "created_at"]
    list_select_related = ["created_by"]
    list_filter = ["status", "kind"]
    search_fields = ["name", "subject"]
    filter_horizontal = ["groups", "products"]
    raw_id_fields = ["coupon"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # Once sending starts, the Send rows hold what was sent; keep the campaign as it was.
        return super().has_change_permission(request, obj) and (obj is None or obj.is_editable)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and (obj is None or obj.is_editable)

    def delete_model(self, request, obj):
        audit_record(actor=request.user, action=Action.CAMPAIGN_DELETED, target=obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for campaign in queryset:
            audit_record(actor=request.user, action=Action.CAMPAIGN_DELETED, target=campaign)
        super().delete_queryset(request, queryset)

    @admin.display(description="Audience")
    def audience(self, campaign: Campaign) -> str:
        return ", ".join(group.name for group in campaign.groups.all())


@admin.register(Send)
class SendAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "campaign", "status", "lane", "created_by", "created_at"]
    list_display += ["finished_at"]
    list_select_related = ["campaign", "created_by"]
    list_filter = ["status", "lane"]
    search_fields = ["campaign__name"]
    # The compiled content is large and unreadable; the campaign shows it better.
    exclude = ["content"]


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = ["email", "send", "status", "skip_reason", "error_class", "attempts"]
    list_display += ["sent_at"]
    list_select_related = ["send__campaign"]
    list_filter = ["status", "skip_reason", "error_class"]
    search_fields = ["email", "esp_message_id"]
    # Millions of rows: skip the unfiltered COUNT(*) on every page.
    show_full_result_count = False


@admin.register(FrequencyPolicy)
class FrequencyPolicyAdmin(admin.ModelAdmin):
    """One policy for the whole shop: edited, never added twice or deleted."""

    list_display = ["__str__", "max_messages", "window_days", "min_gap_days", "enabled"]

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not FrequencyPolicy.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False
