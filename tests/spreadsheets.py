"""Driving the admin's spreadsheet import and export as a list admin would."""

import csv
import io

import openpyxl
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

CSV, XLSX = 0, 1  # the order of the admin's formats


def admin_import(client, admin_name: str, content: bytes, filename: str, file_format=CSV):
    """Upload a file on an admin import page and, when the preview has no
    errors, confirm it; returns the last response."""
    preview = client.post(
        reverse(f"admin:{admin_name}_import"),
        {"format": file_format, "import_file": SimpleUploadedFile(filename, content)},
    )
    assert preview.status_code == 200
    if "confirm_form" not in preview.context:
        return preview
    confirm_form = preview.context["confirm_form"]
    return client.post(
        reverse(f"admin:{admin_name}_process_import"), confirm_form.initial, follow=True
    )


def admin_export(client, admin_name: str, resource_class, file_format=CSV) -> bytes:
    prefix = resource_class.__name__.lower()
    data = {"format": file_format, "resource": 0}
    data.update({f"{prefix}_{name}": "on" for name in resource_class().fields})
    response = client.post(reverse(f"admin:{admin_name}_export"), data)
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Disposition"].startswith("attachment")
    return response.content


def csv_bytes(*rows: list) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


def xlsx_bytes(*rows: list) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
