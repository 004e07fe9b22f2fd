"""Exports of a group or a segment as CSV and XLSX: streamed, formulae
neutralised, numbers kept as numbers."""

import csv
import io
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse

from contacts.models import AuditEntry, Contact, Segment
from tests.factories import ContactFactory, GroupFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def vip():
    group = GroupFactory(name="VIP customers")
    ContactFactory(
        email="ann@example.com", first_name="=HYPERLINK(\"http://evil\")", last_name="+1",
        groups=[group], order_count=3, total_spent=Decimal("120.50"),
        attributes={"city": "@Riga"},
    )  # fmt: skip
    ContactFactory(email="ben@example.com", first_name="-2", last_name="\tTab", groups=[group])
    ContactFactory(email="cy@example.com", first_name="Not in the group")
    return group


def _csv(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(body)))


def test_a_group_exports_as_csv_with_formulae_neutralised(client, alice, vip):
    client.force_login(alice)

    response = client.get(reverse("contacts:export"), {"group": vip.pk, "format": "csv"})

    assert response.streaming  # sent as it is made
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="vip-customers-' in response["Content-Disposition"]
    rows = _csv(response)
    assert [row["email"] for row in rows] == ["ann@example.com", "ben@example.com"]
    ann, ben = rows
    assert ann["first_name"] == '\'=HYPERLINK("http://evil")'
    assert ann["last_name"] == "'+1"
    assert ben["first_name"] == "'-2"
    assert ben["last_name"] == "'\tTab"
    assert ann["groups"] == "VIP customers"
    assert ann["order_count"] == "3"
    assert ann["total_spent"] == "120.50"


def test_a_segment_exports_as_xlsx_with_numbers_as_numbers(client, alice, vip):
    segment = Segment.objects.create(
        name="Buyers",
        rules={"match": "all", "rules": [{"field": "order_count", "op": "gte", "value": 1}]},
    )
    client.force_login(alice)

    response = client.get(reverse("contacts:export"), {"segment": segment.pk, "format": "xlsx"})

    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    body = b"".join(response.streaming_content)
    sheet = openpyxl.load_workbook(io.BytesIO(body)).active
    rows = list(sheet.iter_rows(values_only=True))
    header, ann = rows[0], dict(zip(rows[0], rows[1], strict=True))
    assert len(rows) == 2
    assert "created_at (UTC)" in header
    assert ann["email"] == "ann@example.com"
    assert ann["order_count"] == 3 and isinstance(ann["order_count"], int)
    assert ann["total_spent"] == 120.5
    # A text cell, never a formula.
    cell = next(c for c in sheet[2] if c.value == '=HYPERLINK("http://evil")')
    assert cell.data_type == "s"
    assert ann["attributes"] == '{"city": "@Riga"}'


def test_an_export_is_audited_and_needs_the_export_permission(client, alice, bob, vip):
    client.force_login(bob)
    assert client.get(reverse("contacts:export"), {"group": vip.pk}).status_code == 403

    client.force_login(alice)
    response = client.get(reverse("contacts:export"), {"group": vip.pk, "format": "csv"})
    b"".join(response.streaming_content)

    entry = AuditEntry.objects.get(action=AuditEntry.Action.EXPORTED)
    assert entry.actor == alice
    assert entry.details == {"format": "csv", "of": "vip-customers"}


def test_a_large_export_reads_the_contacts_in_chunks(client, alice, django_assert_max_num_queries):
    group = GroupFactory(name="Everyone")
    Contact.objects.bulk_create(Contact(email=f"c{n}@example.com") for n in range(4500))
    Contact.groups.through.objects.bulk_create(
        Contact.groups.through(contact_id=pk, group_id=group.pk)
        for pk in Contact.objects.values_list("pk", flat=True)
    )
    client.force_login(alice)
    response = client.get(reverse("contacts:export"), {"group": group.pk})
    with django_assert_max_num_queries(8):  # 3 chunks of 2,000, each with its groups
        rows = _csv(response)
    assert len(rows) == 4500
