"""Spreadsheet import and export, driven through the admin pages as a list admin."""

import csv
import io
import json
import zipfile

import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts.models import Contact, Group, Suppression
from contacts.resources import ContactResource, GroupResource
from tests.factories import ContactFactory, GroupFactory
from tests.spreadsheets import CSV, XLSX, admin_export, admin_import, csv_bytes, xlsx_bytes


@pytest.fixture
def admin_client_alice(client, alice):
    client.force_login(alice)
    return client


def test_it_imports_contacts_with_normalised_emails_and_groups(admin_client_alice):
    GroupFactory(name="Newsletter")
    content = csv_bytes(
        ["email", "first_name", "last_name", "status", "groups", "locale", "attributes"],
        ["  Alice@Example.COM ", "Alice", "Archer", "Subscribed", "Newsletter, VIP", "", ""],
        ["bob@example.com", "Bob", "Baker", "unconfirmed", "VIP", "de", '{"city": "Berlin"}'],
    )

    response = admin_import(admin_client_alice, "contacts_contact", content, "list.csv")

    assert response.redirect_chain[-1][0] == reverse("admin:contacts_contact_changelist")
    assert "Import finished: 2 new, 0 updated" in response.content.decode()
    alice = Contact.objects.get(email="alice@example.com")
    assert sorted(alice.groups.values_list("name", flat=True)) == ["Newsletter", "VIP"]
    assert alice.status == Contact.Status.SUBSCRIBED
    assert alice.locale == "en"  # a blank cell keeps the default
    bob = Contact.objects.get(email="bob@example.com")
    assert (bob.status, bob.locale, bob.attributes) == ("unconfirmed", "de", {"city": "Berlin"})
    assert Group.objects.filter(name="VIP").count() == 1


def test_it_updates_rather_than_duplicates_when_the_case_differs(admin_client_alice):
    ContactFactory(email="alice@example.com", first_name="Alice")
    content = csv_bytes(["email", "first_name"], ["ALICE@example.com", "Alicia"])

    response = admin_import(admin_client_alice, "contacts_contact", content, "again.csv")

    assert "0 new, 1 updated" in response.content.decode()
    assert Contact.objects.count() == 1
    assert Contact.objects.get().first_name == "Alicia"


def test_it_rejects_the_whole_file_when_one_address_is_malformed(admin_client_alice):
    content = csv_bytes(
        ["email", "first_name"],
        ["good@example.com", "Good"],
        ["not-an-email", "Bad"],
    )

    response = admin_import(admin_client_alice, "contacts_contact", content, "list.csv")

    page = response.content.decode()
    assert "Some rows failed to validate" in page
    assert "Row 2 (line 3 of the file): “not-an-email” is not valid." in page
    assert "must have an @-sign" in page
    assert "confirm_form" not in response.context
    assert not Contact.objects.exists()


def test_it_reports_an_unknown_status_time_zone_or_attributes(admin_client_alice):
    content = csv_bytes(
        ["email", "status", "time_zone", "attributes"],
        ["a@example.com", "maybe", "Europe/Berlin", ""],
        ["b@example.com", "subscribed", "Mars/Olympus", ""],
        ["c@example.com", "", "", "[1, 2]"],
    )

    response = admin_import(admin_client_alice, "contacts_contact", content, "list.csv")

    page = response.content.decode()
    assert "“maybe” is not one of: unconfirmed, subscribed" in page
    assert "“Mars/Olympus” is not a time zone" in page
    assert "must be a JSON object" in page
    assert not Contact.objects.exists()


def test_it_never_resubscribes_an_unsubscribed_contact(admin_client_alice):
    ContactFactory(email="gone@example.com", status=Contact.Status.UNSUBSCRIBED)
    content = csv_bytes(["email", "status"], ["gone@example.com", "subscribed"])

    admin_import(admin_client_alice, "contacts_contact", content, "old-list.csv")

    assert Contact.objects.get().status == Contact.Status.UNSUBSCRIBED


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (csv_bytes(["name", "mail"], ["Alice", "a@example.com"]), "missing column(s): email"),
        (csv_bytes(["email", "nickname"], ["a@example.com", "Al"]), "unknown column(s): nickname"),
        ("email,first_name\nzoë@example.com,Zoë\n".encode("latin-1"), "is not UTF-8 text"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\xff\xfe", "is not UTF-8 text"),
        (b"email,first_name\na@example.com,A,extra\n", "do not all have the same number"),
    ],
    ids=["wrong-columns", "unknown-column", "latin-1", "binary", "ragged"],
)
def test_it_explains_a_broken_file_and_changes_nothing(admin_client_alice, content, message):
    ContactFactory(email="keep@example.com", first_name="Keep")

    response = admin_import(admin_client_alice, "contacts_contact", content, "broken.csv")

    assert message in response.content.decode()
    assert "confirm_form" not in response.context
    assert list(Contact.objects.values_list("email", "first_name")) == [
        ("keep@example.com", "Keep")
    ]


def test_it_explains_a_csv_chosen_as_xlsx(admin_client_alice):
    content = csv_bytes(["email"], ["a@example.com"])

    response = admin_import(admin_client_alice, "contacts_contact", content, "list.csv", XLSX)

    assert "could not be read in the chosen format" in response.content.decode()
    assert not Contact.objects.exists()


def test_it_imports_xlsx(admin_client_alice):
    content = xlsx_bytes(
        ["Email", "First_Name", "groups", "status"],
        ["Carol@Example.com", "Carol", "VIP", None],
        [None, None, None, None],  # the blank rows spreadsheets end with
    )

    response = admin_import(admin_client_alice, "contacts_contact", content, "list.xlsx", XLSX)

    assert "1 new" in response.content.decode()
    carol = Contact.objects.get()
    assert (carol.email, carol.first_name, carol.status) == (
        "carol@example.com",
        "Carol",
        "subscribed",
    )
    assert list(carol.groups.values_list("name", flat=True)) == ["VIP"]


EVIL = '=HYPERLINK("http://evil","x")'
ALSO_EVIL = ["==cmd|' /C calc'!A0", "+SUM(1,2)", "-2+3", "@SUM(1)"]


def test_it_exports_csv_with_formulae_escaped(admin_client_alice):
    ContactFactory(
        email="eve@example.com",
        first_name=EVIL,
        last_name=ALSO_EVIL[0],
        groups=[GroupFactory(name="VIP")],
        attributes={"city": "Zürich"},
    )
    ContactFactory(email="frank@example.com", first_name=ALSO_EVIL[1], last_name=ALSO_EVIL[2])

    content = admin_export(admin_client_alice, "contacts_contact", ContactResource)

    rows = {row["email"]: row for row in csv.DictReader(io.StringIO(content.decode("utf-8-sig")))}
    eve, frank = rows["eve@example.com"], rows["frank@example.com"]
    assert eve["first_name"] == "'" + EVIL
    assert eve["last_name"] == "'" + ALSO_EVIL[0]
    assert (frank["first_name"], frank["last_name"]) == ("'+SUM(1,2)", "'-2+3")
    assert eve["groups"] == "VIP"
    assert json.loads(eve["attributes"]) == {"city": "Zürich"}
    assert not any(
        cell.startswith(("=", "+", "-", "@")) for row in rows.values() for cell in row.values()
    )


def test_it_exports_xlsx_with_formulae_as_plain_text(admin_client_alice):
    ContactFactory(email="eve@example.com", first_name=EVIL, last_name=ALSO_EVIL[3])

    content = admin_export(admin_client_alice, "contacts_contact", ContactResource, XLSX)

    # As Excel sees the file: no cell holds a formula, the text is intact.
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert all(cell.data_type != "f" for cell in cells)
    values = {cell.value for cell in cells}
    assert {"eve@example.com", EVIL, "@SUM(1)"} <= values
    assert b"<f>" not in _sheet_xml(content)


def test_it_imports_back_what_it_exported(admin_client_alice):
    ContactFactory(email="eve@example.com", first_name=EVIL, groups=[GroupFactory(name="VIP")])
    for file_format, filename in [(CSV, "contacts.csv"), (XLSX, "contacts.xlsx")]:
        content = admin_export(admin_client_alice, "contacts_contact", ContactResource, file_format)
        Contact.objects.update(first_name="changed")

        response = admin_import(
            admin_client_alice, "contacts_contact", content, filename, file_format
        )

        assert "0 new, 1 updated" in response.content.decode()
        eve = Contact.objects.get()
        assert eve.first_name == EVIL
        assert list(eve.groups.values_list("name", flat=True)) == ["VIP"]


def test_it_imports_suppressions_and_groups(admin_client_alice):
    admin_import(
        admin_client_alice,
        "contacts_suppression",
        csv_bytes(["email", "reason", "note"], [" Spam@Example.com", "complained", "ESP report"]),
        "suppressions.csv",
    )
    admin_import(
        admin_client_alice,
        "contacts_group",
        csv_bytes(["name", "description"], ["Autumn leads", "From the autumn fair"]),
        "groups.csv",
    )

    suppression = Suppression.objects.get()
    assert (suppression.email, suppression.reason) == ("spam@example.com", "complained")
    assert Group.objects.get().description == "From the autumn fair"


def test_it_exports_groups_with_their_contact_counts(admin_client_alice):
    vip = GroupFactory(name="VIP")
    ContactFactory.create_batch(3, groups=[vip])

    content = admin_export(admin_client_alice, "contacts_group", GroupResource)

    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert [(row["name"], row["contacts"]) for row in rows] == [("VIP", "3")]


def test_it_keeps_bob_out_of_import_and_export(client, bob):
    client.force_login(bob)

    for name in ("import", "export"):
        response = client.get(reverse(f"admin:contacts_contact_{name}"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


def _sheet_xml(content: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return b"".join(archive.read(name) for name in archive.namelist() if "worksheets" in name)


def test_it_exports_any_number_of_contacts_in_the_same_queries(admin_client_alice):
    groups = [GroupFactory(name="VIP"), GroupFactory(name="Newsletter")]
    ContactFactory.create_batch(2, groups=groups)
    with CaptureQueriesContext(connection) as few:
        admin_export(admin_client_alice, "contacts_contact", ContactResource)

    ContactFactory.create_batch(30, groups=groups)
    with CaptureQueriesContext(connection) as many:
        content = admin_export(admin_client_alice, "contacts_contact", ContactResource, XLSX)

    assert len(many) == len(few)
    assert openpyxl.load_workbook(io.BytesIO(content)).active.max_row == 33
