from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Count
from django.shortcuts import redirect
from django.template.defaultfilters import filesizeformat
from django.utils.html import format_html
from import_export.admin import ImportExportModelAdmin
from import_export.forms import ImportForm
from tablib import InvalidDimensions

from contacts import consent
from contacts.addresses import email_problem, normalise_email
from contacts.audit import Action, audit_record
from contacts.importing import FileProblem, import_job_create
from contacts.models import (
    AuditEntry,
    ConsentRecord,
    Contact,
    DomainSuppression,
    Group,
    SignupForm,
    Suppression,
)
from contacts.resources import (
    SPREADSHEET_FORMATS,
    ContactResource,
    GroupResource,
    SuppressionResource,
)
from contacts.services import contact_erase


class SizeLimitedImportForm(ImportForm):
    """A file over IMPORT_MAX_UPLOAD_BYTES is refused before any row is read.
    The format follows the file's name unless chosen."""

    def __init__(self, formats, resources, **kwargs):
        super().__init__(formats, resources, **kwargs)
        self._format_names = [format_class().get_title().lower() for format_class in formats]
        self.fields["format"].required = False

    def clean_format(self):
        chosen = self.cleaned_data.get("format")
        upload = self.files.get("import_file")
        if chosen in ("", None) and upload is not None:
            suffix = upload.name.rsplit(".", 1)[-1].lower()
            if suffix in self._format_names:
                return str(self._format_names.index(suffix))
            return "0"  # CSV, the likeliest
        return chosen

    def clean_import_file(self):
        upload = self.cleaned_data["import_file"]
        limit = settings.IMPORT_MAX_UPLOAD_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                f"This file is {filesizeformat(upload.size)}; files up to "
                f"{filesizeformat(limit)} can be imported. Split it into smaller files.",
                code="too_large",
            )
        return upload


class SpreadsheetAdmin(ImportExportModelAdmin):
    """Import and export as CSV or XLSX, all or nothing."""

    formats = import_formats = export_formats = SPREADSHEET_FORMATS
    import_form_class = SizeLimitedImportForm

    def get_import_data_kwargs(self, **kwargs):
        # The confirm step would otherwise save the valid rows and drop the
        # others if the data changed since the preview.
        return {**super().get_import_data_kwargs(**kwargs), "rollback_on_validation_errors": True}

    # The library lets anyone into the import page who reaches the admin.
    def has_import_permission(self, request):
        return self.has_add_permission(request) and self.has_change_permission(request)

    def has_export_permission(self, request):
        return self.has_view_permission(request)

    def process_result(self, result, request):
        totals = {kind: count for kind, count in result.totals.items() if count}
        file_name = request.POST.get("original_file_name", "")
        details = {"file": file_name, **totals}
        audit_record(actor=request.user, action=Action.IMPORTED, target=self.model, details=details)
        return super().process_result(result, request)

    def get_data_for_export(self, request, queryset, **kwargs):
        data = super().get_data_for_export(request, queryset, **kwargs)
        details = {"rows": data.height}
        audit_record(actor=request.user, action=Action.EXPORTED, target=self.model, details=details)
        return data

    def add_data_read_fail_error_to_form(self, form, e):
        form.add_error("import_file", file_read_problem(e))


def file_read_problem(error: Exception) -> str:
    """What a list admin can do about a file the format could not read."""
    if isinstance(error, UnicodeDecodeError):
        return (
            "This file is not UTF-8 text, or not a CSV file at all. In a spreadsheet, "
            "save it as “CSV UTF-8”, or choose the XLSX format for an Excel file."
        )
    if isinstance(error, InvalidDimensions):
        return "The rows of this file do not all have the same number of columns as its header."
    return (
        "This file could not be read in the chosen format. "
        "Check that it is a CSV or XLSX file and that the format matches it."
    )


class NormalisedEmailForm(forms.ModelForm):
    def clean_email(self):
        email = normalise_email(self.cleaned_data["email"])
        if problem := email_problem(email):
            raise forms.ValidationError(problem, code="invalid")
        return email


@admin.register(Contact)
class ContactAdmin(SpreadsheetAdmin):
    resource_classes = [ContactResource]
    form = NormalisedEmailForm
    list_display = ["email", "first_name", "last_name", "status", "locale", "group_names"]
    list_display += ["created_at"]
    list_filter = ["status", "groups", "locale"]
    search_fields = ["email", "first_name", "last_name"]
    filter_horizontal = ["groups"]
    readonly_fields = ["last_opened_at", "last_clicked_at", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["email", "first_name", "last_name", "status", "groups"]}),
        ("Preferences", {"fields": ["locale", "time_zone", "attributes"]}),
        ("Consent", {"fields": ["consent_at", "consent_source"]}),
        ("Engagement", {"fields": readonly_fields}),
    ]

    actions = ["erase_selected"]

    def get_queryset(self, request):
        # One query for every listed contact's groups (and for the export).
        return super().get_queryset(request).prefetch_related("groups")

    def import_action(self, request, **kwargs):
        # The library reads a whole file in the request; a large one goes to
        # the background import (contacts.importing) instead.
        upload = request.FILES.get("import_file") if request.method == "POST" else None
        inline_max = settings.IMPORT_ADMIN_INLINE_MAX_BYTES
        if upload is not None and upload.size > inline_max and self.has_import_permission(request):
            try:
                job = import_job_create(upload=upload, actor=request.user)
            except FileProblem as problem:
                messages.error(request, f"{upload.name} cannot be imported: {problem}")
                return redirect("admin:contacts_contact_import")
            messages.info(
                request,
                f"{upload.name} is larger than {filesizeformat(inline_max)}, so it is imported "
                "in the background: check its columns, then follow the import here.",
            )
            return redirect("contacts:import_mapping", job.pk)
        return super().import_action(request, **kwargs)

    # A contact's whole file leaves or enters only with these permissions.
    def has_import_permission(self, request):
        return request.user.has_perm("contacts.import_contacts")

    def has_export_permission(self, request):
        return request.user.has_perm("contacts.export_contacts")

    # Deleting a contact is erasing it: their messages keep no address and
    # the audit trail records it.
    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and request.user.has_perm(
            "contacts.erase_contact"
        )

    def delete_model(self, request, obj):
        contact_erase(contact=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for contact in queryset:
            contact_erase(contact=contact, actor=request.user)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # the erase action does it, and says so
        return actions

    @admin.action(
        description="Erase personal data of the selected contacts", permissions=["delete"]
    )
    def erase_selected(self, request, queryset):
        count = 0
        for contact in queryset:
            contact_erase(contact=contact, actor=request.user)
            count += 1
        self.message_user(
            request,
            f"Erased {count} contact{'s' if count != 1 else ''}. Their past mails stay counted "
            "in the reports, without an address.",
        )

    @admin.display(description="Groups")
    def group_names(self, contact: Contact) -> str:
        return ", ".join(group.name for group in contact.groups.all())


@admin.register(Group)
class GroupAdmin(SpreadsheetAdmin):
    resource_classes = [GroupResource]
    list_display = ["name", "contact_count", "is_topic", "created_at"]
    list_filter = ["is_topic"]
    search_fields = ["name", "description"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(contact_count=Count("contacts"))

    @admin.display(description="Contacts", ordering="contact_count")
    def contact_count(self, group: Group) -> int:
        return group.contact_count


@admin.register(Suppression)
class SuppressionAdmin(SpreadsheetAdmin):
    resource_classes = [SuppressionResource]
    form = NormalisedEmailForm
    list_display = ["email", "reason", "source", "note", "created_at"]
    list_filter = ["reason", "source"]
    search_fields = ["email", "note"]


@admin.register(DomainSuppression)
class DomainSuppressionAdmin(admin.ModelAdmin):
    list_display = ["domain", "note", "source", "created_at"]
    search_fields = ["domain", "note"]


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The audit trail: read here or on the Audit log page, never changed."""

    list_display = ["created_at", "actor_name", "action", "object_type", "object_label"]
    list_filter = ["action", "object_type"]
    search_fields = ["actor_name", "object_label", "object_id"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# --- Consent: signup forms and the consent records (contacts.consent) ---------


@admin.register(SignupForm)
class SignupFormAdmin(admin.ModelAdmin):
    list_display = ["name", "key", "double_opt_in", "is_active", "created_at"]
    prepopulated_fields = {"key": ["name"]}
    filter_horizontal = ["groups"]
    readonly_fields = ["addresses", "embed_code"]
    fieldsets = [
        (None, {"fields": ["name", "key", "is_active", "double_opt_in", "groups"]}),
        ("What subscribers read", {"fields": ["title", "introduction", "consent_text"]}),
        ("On the shop's site", {"fields": ["addresses", "embed_code"]}),
    ]

    @admin.display(description="Addresses")
    def addresses(self, form: SignupForm) -> str:
        if not form.pk:
            return "Shown once the form is saved."
        urls = consent.signup_form_urls(form)
        return format_html(
            "Hosted page: <a href='{}'>{}</a><br>JSON endpoint (POST): <code>{}</code>",
            urls["page"],
            urls["page"],
            urls["json"],
        )

    @admin.display(description="HTML to embed")
    def embed_code(self, form: SignupForm) -> str:
        if not form.pk:
            return "Shown once the form is saved."
        return format_html(
            "<textarea readonly rows='9' cols='90' style='font-family:monospace'>{}</textarea>",
            consent.signup_form_embed_html(form),
        )


@admin.register(ConsentRecord)
class ConsentRecordAdmin(admin.ModelAdmin):
    """Evidence of consent: read here or on the contact's page, never changed."""

    list_display = ["created_at", "contact", "action", "source", "form_name", "ip"]
    list_filter = ["action", "source"]
    search_fields = ["contact__email", "form_name"]
    list_select_related = ["contact"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
