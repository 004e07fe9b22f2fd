"""Exports of a filtered contact list, a group or a segment, as CSV or XLSX,
streamed so that a list of a million contacts never sits in memory.

Spreadsheet safety: a CSV cell that starts with =, +, -, @, tab or carriage
return gets a leading apostrophe (contacts.resources.csv_cell_escape, the
same rule as the admin's exports), so a spreadsheet shows the text instead of
running it. In XLSX every text cell is stored as a string cell, which a
spreadsheet never evaluates, and numbers and dates stay numbers and dates.
"""

import csv
import json
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

from django.db.models import Prefetch, QuerySet
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from contacts.models import Contact, Group
from contacts.resources import FORMULA_STARTS, csv_cell_escape

CSV, XLSX = "csv", "xlsx"
FORMATS = {CSV: "text/csv; charset=utf-8",
           XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}  # fmt: skip
CHUNK = 2000

COLUMNS = [
    "email", "first_name", "last_name", "status", "engagement_tier", "groups", "locale",
    "time_zone", "order_count", "total_spent", "last_order_at", "last_opened_at",
    "last_clicked_at", "consent_at", "consent_source", "created_at", "attributes",
]  # fmt: skip

__all__ = ["CSV", "FORMATS", "FORMULA_STARTS", "XLSX", "csv_stream", "export_rows", "xlsx_file"]


def _value(contact: Contact, column: str):
    if column == "groups":
        return ", ".join(group.name for group in contact.groups.all())
    if column == "attributes":
        return (
            json.dumps(contact.attributes, ensure_ascii=False, sort_keys=True)
            if contact.attributes
            else ""
        )
    return getattr(contact, column)


def export_rows(contacts: QuerySet) -> Iterator[list]:
    """The header, then one row per contact, read in chunks (with their
    groups, one more query per chunk)."""
    yield list(COLUMNS)
    contacts = contacts.prefetch_related(None).prefetch_related(
        Prefetch("groups", queryset=Group.objects.only("id", "name").order_by("name"))
    )
    for contact in contacts.iterator(chunk_size=CHUNK):
        yield [_value(contact, column) for column in COLUMNS]


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return csv_cell_escape(str(value))


def csv_stream(contacts: QuerySet) -> Iterator[str]:
    """CSV lines, each made as it is sent. Starts with a byte-order mark so
    that Excel reads the file as UTF-8."""
    writer = csv.writer(_Echo())
    yield "\ufeff"
    for row in export_rows(contacts):
        yield writer.writerow([_csv_text(value) for value in row])


def _xlsx_cell(sheet, value) -> WriteOnlyCell:
    if isinstance(value, datetime):
        # Spreadsheets have no time zones: UTC, said so in the header.
        value = value.astimezone(UTC).replace(tzinfo=None)
    elif isinstance(value, Decimal):
        value = float(value)
    elif isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("\N{REPLACEMENT CHARACTER}", value)
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # text, never a formula
    return cell


def xlsx_file(contacts: QuerySet, *, title: str = "Contacts"):
    """An XLSX workbook written row by row (openpyxl's write-only mode) into
    a temporary file, returned open at its start for streaming."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=_sheet_title(title))
    rows = export_rows(contacts)
    header = next(rows)
    sheet.append([h + " (UTC)" if h.endswith("_at") else h for h in header])
    for row in rows:
        sheet.append([_xlsx_cell(sheet, value) for value in row])
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    workbook.save(spool)
    spool.seek(0)
    return spool


def _sheet_title(title: str) -> str:
    for character in "[]:*?/\\":
        title = title.replace(character, " ")
    return title.strip()[:31] or "Contacts"
