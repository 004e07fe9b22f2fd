from django import forms
from django.contrib import admin
from django.db.models import Count
from import_export.admin import ImportExportModelAdmin
from tablib import InvalidDimensions

from contacts.addresses import email_problem, normalise_email
from contacts.models import Contact, DomainSuppression, Group, Suppression
from contacts.resources import (
    SPREADSHEET_FORMATS,
    ContactResource,
    GroupResource,
    SuppressionResource,
)


class SpreadsheetAdmin(ImportExportModelAdmin):
    """Import and export as CSV or XLSX, all or nothing."""

    formats = import_formats = export_formats = SPREADSHEET_FORMATS

    def get_import_data_kwargs(self, **kwargs):
        # The confirm step would otherwise save the valid rows and drop the
        # others if the data changed since the preview.
        return {**super().get_import_data_kwargs(**kwargs), "rollback_on_validation_errors": True}

    # The library lets anyone into the import page who reaches the admin.
    def has_import_permission(self, request):
        return self.has_add_permission(request) and self.has_change_permission(request)

    def has_export_permission(self, request):
        return self.has_view_permission(request)

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

    def get_queryset(self, request):
        # One query for every listed contact's groups (and for the export).
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description="Groups")
    def group_names(self, contact: Contact) -> str:
        return ", ".join(group.name for group in contact.groups.all())


@admin.register(Group)
class GroupAdmin(SpreadsheetAdmin):
    resource_classes = [GroupResource]
    list_display = ["name", "contact_count", "created_at"]
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
    list_display = ["email", "reason", "note", "created_at"]
    list_filter = ["reason"]
    search_fields = ["email", "note"]


@admin.register(DomainSuppression)
class DomainSuppressionAdmin(admin.ModelAdmin):
    list_display = ["domain", "note", "created_at"]
    search_fields = ["domain", "note"]
