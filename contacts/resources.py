"""Spreadsheet import and export of lists, through django-import-export.

Two things here are stricter than the library's defaults, on purpose:

- The formats escape spreadsheet formulae themselves. In 4.4.3
  IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT only strips one leading "=": it
  changes the data, leaves "==cmd" a live formula and ignores "+", "-" and "@",
  which Excel and LibreOffice also evaluate in a CSV.
- An import with a column we do not know is refused, so a file meant for
  another tool, or with a misspelt header, changes nothing instead of
  importing half its data.
"""

import json
import zoneinfo
from functools import cached_property
from io import BytesIO

import tablib
from django.core.exceptions import ValidationError
from import_export import fields, resources, results, widgets
from import_export.formats import base_formats
from import_export.results import RowResult
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from contacts.addresses import email_problem, normalise_email
from contacts.importing import contact_import_status
from contacts.models import Contact, Group, Suppression, SuppressionSource

# What makes a spreadsheet read a CSV cell as a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell_escape(value):
    """A leading apostrophe makes spreadsheets show the text instead of running it."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_cell_unescape(value):
    """Undo csv_cell_escape, so an exported file imports back unchanged."""
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


def _dataset_map(dataset: tablib.Dataset, function) -> tablib.Dataset:
    rows = [tuple(function(cell) for cell in row) for row in dataset]
    return tablib.Dataset(*rows, headers=dataset.headers, title=dataset.title)


class SafeCSV(base_formats.CSV):
    def export_data(self, dataset, **kwargs):
        # Not super(): its own escaping would strip the "=" before ours runs.
        return _dataset_map(dataset, csv_cell_escape).export("csv", **kwargs)

    def create_dataset(self, in_stream, **kwargs):
        return _dataset_map(super().create_dataset(in_stream, **kwargs), csv_cell_unescape)


class SafeXLSX(base_formats.XLSX):
    """Every text cell is written as text: openpyxl would otherwise store a
    string that starts with "=" as a formula."""

    def export_data(self, dataset, **kwargs):
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(title=(dataset.title or "Export")[:31])
        sheet.append(dataset.headers)
        for row in dataset:
            sheet.append([_xlsx_cell(sheet, value) for value in row])
        stream = BytesIO()
        workbook.save(stream)
        return stream.getvalue()


def _xlsx_cell(sheet, value) -> WriteOnlyCell:
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("\N{REPLACEMENT CHARACTER}", value)
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


SPREADSHEET_FORMATS = [SafeCSV, SafeXLSX]


class ChoiceWidget(widgets.Widget):
    """A choices field, accepting its value or its label in any case."""

    def __init__(self, choices, **kwargs):
        self.choices = choices
        super().__init__(**kwargs)

    def clean(self, value, row=None, **kwargs):
        text = str(value or "").strip().lower()
        if not text:
            return None
        for choice in self.choices:
            if text in (choice.value, str(choice.label).lower()):
                return choice.value
        known = ", ".join(self.choices.values)
        raise ValueError(f"“{value}” is not one of: {known}.")

    def render(self, value, obj=None, **kwargs):
        return value or ""


class JSONObjectWidget(widgets.Widget):
    def clean(self, value, row=None, **kwargs):
        if value in (None, ""):
            return None
        try:
            parsed = json.loads(value)
        except (TypeError, ValueError):
            parsed = None
        if not isinstance(parsed, dict):
            raise ValueError('must be a JSON object, e.g. {"vip": true, "city": "Riga"}.')
        return parsed

    def render(self, value, obj=None, **kwargs):
        return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else ""


class KeepIfBlankWidget(widgets.CharWidget):
    """Text where a blank cell keeps the contact's value (or the default)."""

    def clean(self, value, row=None, **kwargs):
        return str(value if value is not None else "").strip() or None


class TimeZoneWidget(KeepIfBlankWidget):
    def clean(self, value, row=None, **kwargs):
        name = super().clean(value)
        if name and name not in zoneinfo.available_timezones():
            raise ValueError(f"“{name}” is not a time zone; use a name like Europe/Berlin.")
        return name


class GroupNamesWidget(widgets.ManyToManyWidget):
    """Comma-separated group names. Cleaning only reads them; the resource
    creates the groups it lacks when it saves the row (ContactResource)."""

    def __init__(self, **kwargs):
        super().__init__(Group, separator=",", field="name", **kwargs)

    def clean(self, value, row=None, **kwargs):
        return list(dict.fromkeys(n.strip() for n in str(value or "").split(",") if n.strip()))


class FileProblem(ValueError):
    """What is wrong with a file as a whole, written for the list admin."""


class ImportErrorResult(results.Error):
    @cached_property
    def traceback(self):
        # The import page prints a traceback under every file-wide error;
        # for a problem we explain ourselves it is only noise.
        return "" if isinstance(self.error, FileProblem) else super().traceback


class StrictColumnsMixin:
    """Header checks shared by every list resource; see the module docstring."""

    @classmethod
    def get_error_result_class(cls):
        return ImportErrorResult

    def before_import(self, dataset, **kwargs):
        dataset.headers = [str(header or "").strip().lower() for header in dataset.headers or []]
        known = [field.column_name for field in self.fields.values()]
        importable = [field.column_name for field in self.get_import_fields()]
        missing = [name for name in self.required_columns() if name not in dataset.headers]
        # A blank header is an empty column that spreadsheets like to add.
        unknown = [name for name in dataset.headers if name and name not in known]
        if missing or unknown:
            problems = []
            if missing:
                problems.append(f"missing column(s): {', '.join(missing)}")
            if unknown:
                problems.append(f"unknown column(s): {', '.join(unknown)}")
            raise FileProblem(
                f"The file's columns do not fit: {'; '.join(problems)}. "
                f"The columns to import are: {', '.join(importable)}."
            )
        super().before_import(dataset, **kwargs)

    def required_columns(self) -> list[str]:
        return [self.fields[name].column_name for name in self.get_import_id_fields()]

    def import_row(self, row, instance_loader, **kwargs):
        # Spreadsheets often end in blank rows; they are not mistakes to report.
        if all(value in (None, "") for value in row.values()):
            result = self.get_row_result_class()()
            result.import_type = RowResult.IMPORT_TYPE_SKIP
            return result
        return super().import_row(row, instance_loader, **kwargs)


def readonly_datetime(attribute: str) -> fields.Field:
    """Exported for reference, ignored on import: the system writes it."""
    return fields.Field(attribute=attribute, widget=widgets.DateTimeWidget(), readonly=True)


def row_where(row_number: int) -> str:
    """Both numbers: the preview's rows count from 1, a spreadsheet's lines
    count the header too."""
    return f"Row {row_number} (line {row_number + 1} of the file)"


def row_email_clean(row, row_number: int) -> None:
    """Normalise the row's address before the lookup, so "Alice@Example.COM "
    finds alice@example.com; reject it when it cannot receive mail."""
    raw = str(row.get("email") or "")
    email = normalise_email(raw)
    where = row_where(row_number)
    if not email:
        raise ValidationError({"email": f"{where}: the email address is missing."})
    if problem := email_problem(email):
        raise ValidationError({"email": f"{where}: “{raw.strip()}” is not valid. {problem}"})
    row["email"] = email


class EmailKeyedMixin(StrictColumnsMixin):
    def before_import_row(self, row, **kwargs):
        row_email_clean(row, kwargs["row_number"])
        super().before_import_row(row, **kwargs)


class ContactResource(EmailKeyedMixin, resources.ModelResource):
    """One row per address, matched on the normalised address.

    A `groups` column sets exactly the groups it lists (creating new ones), so
    a blank cell takes the contact out of every group; a file without the
    column leaves memberships alone. Blank status, locale, time zone and
    attributes cells keep what the contact has.
    """

    status = fields.Field(
        attribute="status",
        column_name="status",
        widget=ChoiceWidget(Contact.Status),
        saves_null_values=False,
    )
    groups = fields.Field(attribute="groups", column_name="groups", widget=GroupNamesWidget())
    attributes = fields.Field(
        attribute="attributes",
        column_name="attributes",
        widget=JSONObjectWidget(),
        saves_null_values=False,
    )
    locale = fields.Field(attribute="locale", widget=KeepIfBlankWidget(), saves_null_values=False)
    time_zone = fields.Field(
        attribute="time_zone", widget=TimeZoneWidget(), saves_null_values=False
    )
    last_opened_at = readonly_datetime("last_opened_at")
    last_clicked_at = readonly_datetime("last_clicked_at")
    created_at = readonly_datetime("created_at")

    class Meta:
        model = Contact
        import_id_fields = ["email"]
        fields = [
            "email", "first_name", "last_name", "status", "groups", "locale", "time_zone",
            "consent_at", "consent_source", "attributes",
            "last_opened_at", "last_clicked_at", "created_at",
        ]  # fmt: skip

    def get_import_fields(self):
        # What the system writes (last open, ...) is exported, never imported.
        return [field for field in super().get_import_fields() if not field.readonly]

    def after_init_instance(self, instance, new, row, **kwargs):
        instance._status_before_import = None if new else instance.status

    def before_save_instance(self, instance, row, **kwargs):
        instance.status = contact_import_status(
            before=getattr(instance, "_status_before_import", None),
            wanted=instance.status,
            suppression_reason=Suppression.objects.filter(email=instance.email)
            .values_list("reason", flat=True)
            .first(),
        )

    def import_field(self, field, instance, row, is_m2m=False, **kwargs):
        if field.attribute == "groups" and is_m2m and field.column_name in row:
            names = field.clean(row)
            instance.groups.set([Group.objects.get_or_create(name=name)[0] for name in names])
            return
        super().import_field(field, instance, row, is_m2m, **kwargs)


class GroupResource(StrictColumnsMixin, resources.ModelResource):
    contacts = fields.Field(column_name="contacts", readonly=True)

    class Meta:
        model = Group
        import_id_fields = ["name"]
        fields = ["name", "description", "contacts"]

    def dehydrate_contacts(self, group: Group) -> int:
        count = getattr(group, "contact_count", None)
        return group.contacts.count() if count is None else count


class SuppressionResource(EmailKeyedMixin, resources.ModelResource):
    reason = fields.Field(
        attribute="reason",
        column_name="reason",
        widget=ChoiceWidget(Suppression.Reason),
        saves_null_values=False,
    )
    created_at = readonly_datetime("created_at")

    class Meta:
        model = Suppression
        import_id_fields = ["email"]
        fields = ["email", "reason", "note", "created_at"]

    def after_init_instance(self, instance, new, row, **kwargs):
        # Consent: an address that arrives by a file says so on the list.
        if new:
            instance.source = SuppressionSource.IMPORT
