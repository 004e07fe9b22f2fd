"""The import pages and the admin's hand-over of large files, as staff use them."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from contacts.models import AuditEntry, Contact, ImportJob
from tests.factories import ContactFactory, GroupFactory
from tests.spreadsheets import csv_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _imports_in_tmp(settings, tmp_path):
    settings.IMPORT_DIR = tmp_path / "imports"


def upload(client, content: bytes, name="list.csv"):
    return client.post(reverse("contacts:import"), {"file": SimpleUploadedFile(name, content)})


def test_a_marketer_uploads_maps_and_imports_a_file(
    client, bob, django_capture_on_commit_callbacks
):
    client.force_login(bob)
    ContactFactory(email="old@example.com", status=Contact.Status.UNSUBSCRIBED)
    group = GroupFactory(name="Customers")
    content = csv_bytes(
        ["E-mail", "Vorname", "City"],
        ["ann@example.com", "Ann", "Riga"],
        ["old@example.com", "Old", "Oslo"],
        ["broken", "Bad", "Nowhere"],
    )

    response = upload(client, content)
    job = ImportJob.objects.get()
    assert response.url == reverse("contacts:import_mapping", args=[job.pk])
    page = client.get(response.url)
    assert page.context["form"]["column_0"].initial == "email"
    assert page.context["form"]["column_1"].initial == "first_name"
    assert "Riga" in page.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("contacts:import_mapping", args=[job.pk]),
            {"column_0": "email", "column_1": "first_name", "column_2": "attribute",
             "groups": [group.pk], "new_group": "Spring fair", "existing": "update",
             "consent": "on"},
        )  # fmt: skip

    assert response.url == reverse("contacts:import_detail", args=[job.pk])
    job.refresh_from_db()
    assert (job.status, job.created, job.updated, job.rejected) == ("done", 1, 1, 1)
    ann = Contact.objects.get(email="ann@example.com")
    assert ann.attributes == {"City": "Riga"}
    assert sorted(ann.groups.values_list("name", flat=True)) == ["Customers", "Spring fair"]
    assert Contact.objects.get(email="old@example.com").status == Contact.Status.UNSUBSCRIBED
    page = client.get(response.url).content.decode()
    assert "Download the 1 rejected row" in page
    rejected = client.get(reverse("contacts:import_rejected", args=[job.pk]))
    assert b"broken" in b"".join(rejected.streaming_content)
    entry = AuditEntry.objects.get(action="imported")
    assert (entry.actor, entry.details["created"]) == (bob, 1)


def test_the_mapping_page_insists_on_consent_and_an_email_column(client, bob):
    client.force_login(bob)
    upload(client, csv_bytes(["email"], ["ann@example.com"]))
    job = ImportJob.objects.get()

    response = client.post(
        reverse("contacts:import_mapping", args=[job.pk]), {"column_0": "", "existing": "skip"}
    )

    page = response.content.decode()
    assert "Choose the column that holds the email addresses." in page
    assert "Import only people who agreed to receive your mail." in page
    assert not Contact.objects.exists()


def test_a_file_that_is_not_a_table_is_refused_at_upload_and_not_kept(client, bob, tmp_path):
    client.force_login(bob)

    response = upload(client, b"\x00\x01\x02\x03" * 500, "photo.csv")

    assert "not a table" in response.content.decode()
    assert not ImportJob.objects.exists()
    assert not any((tmp_path / "imports").rglob("*.*"))


def test_viewers_cannot_import(client, charlie):
    client.force_login(charlie)

    assert client.get(reverse("contacts:import")).status_code == 403
    assert upload(client, csv_bytes(["email"], ["a@example.com"])).status_code == 403


def test_the_sample_file_imports_as_it_is(client, bob):
    client.force_login(bob)
    sample = client.get(reverse("contacts:import_sample")).content

    upload(client, sample, "contacts-sample.csv")

    job = ImportJob.objects.get()
    page = client.get(reverse("contacts:import_mapping", args=[job.pk]))
    assert [page.context["form"][f"column_{i}"].initial for i in range(6)] == [
        "email", "first_name", "last_name", "locale", "time_zone", "status",
    ]  # fmt: skip


def test_the_admin_hands_a_large_file_to_the_background_import(client, alice, settings):
    settings.IMPORT_ADMIN_INLINE_MAX_BYTES = 100
    client.force_login(alice)
    rows = [["email"]] + [[f"c{i}@example.com"] for i in range(20)]

    response = client.post(
        reverse("admin:contacts_contact_import"),
        {"format": 0, "import_file": SimpleUploadedFile("big.csv", csv_bytes(*rows))},
    )

    job = ImportJob.objects.get()
    assert response.url == reverse("contacts:import_mapping", args=[job.pk])
    assert not Contact.objects.exists()  # nothing read in the request


def test_the_admin_picks_the_format_from_the_file_name(client, alice):
    client.force_login(alice)

    response = client.post(
        reverse("admin:contacts_contact_import"),
        {
            "format": "",  # the form's "---"
            "import_file": SimpleUploadedFile("list.csv", csv_bytes(["email"], ["a@example.com"])),
        },
    )

    assert "confirm_form" in response.context
    assert "last_opened_at" not in response.content.decode()  # not offered as a column


def test_a_running_import_shows_a_live_progress_bar_then_reloads_when_done(client, bob):
    client.force_login(bob)
    job = ImportJob.objects.create(
        file_name="big.csv", file_path="/nonexistent", status=ImportJob.Status.RUNNING,
        progress=0.42, rows=420_000, created=400_000,
    )  # fmt: skip
    url = reverse("contacts:import_detail", args=[job.pk])

    live = client.get(url, headers={"HX-Request": "true"}).content.decode()

    assert 'aria-valuenow="42"' in live and "420,000" in live and "hx-get" in live
    job.status, job.progress = ImportJob.Status.DONE, 1.0
    job.save()
    finished = client.get(url + "?active=1", headers={"HX-Request": "true"})
    assert (finished.status_code, finished["HX-Refresh"]) == (204, "true")


def test_reading_a_groups_cell_creates_no_group():
    from contacts.models import Group
    from contacts.resources import GroupNamesWidget

    assert GroupNamesWidget().clean("Brand new, VIP , Brand new") == ["Brand new", "VIP"]
    assert not Group.objects.exists()
