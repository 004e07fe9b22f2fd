"""In the browser: Bob, a marketer, imports a Mailchimp export with a bad row
through the import wizard; screenshots at desktop and phone widths."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from contacts.models import Contact
from tests.e2e.shots import SHOTS
from tests.factories import ContactFactory, GroupFactory, UserFactory

PASSWORD = "correct horse battery staple"  # the factories' password

WIDTHS = (1280, 390)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

MAILCHIMP = (
    '"Email Address","First Name","Last Name",MEMBER_RATING,TIMEZONE\n'
    "ann@example.com,Ann,Lee,4,Europe/Riga\n"
    "info@shop.example.org,Shop,Front desk,2,\n"
    "carl@gmial.com,Carl,Typo,1,\n"
    "not-an-address,Bad,Row,1,\n"
    "old@example.com,Old,Customer,3,\n"
)


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=SHOTS / f"import-{name}-{width}.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_bob_imports_a_mailchimp_export_through_the_wizard(live_server, page, tmp_path, settings):
    settings.IMPORT_DIR = tmp_path / "imports"
    UserFactory(username="bob", role="marketer")
    GroupFactory(name="Newsletter")
    ContactFactory(email="old@example.com", status=Contact.Status.UNSUBSCRIBED)
    export = tmp_path / "members_export.csv"
    export.write_text(MAILCHIMP, encoding="utf-8")

    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Contacts").first.click()
    page.get_by_role("link", name="Import contacts").first.click()
    expect(page.get_by_role("heading", name="Import contacts")).to_be_visible()
    shoot(page, "upload")

    page.get_by_label("Spreadsheet file").set_input_files(str(export))
    page.get_by_role("button", name="Upload and check the columns").click()
    expect(page.get_by_role("heading", name="Check the columns")).to_be_visible()
    expect(page.get_by_label("Email Address")).to_have_value("email")
    expect(page.get_by_label("TIMEZONE")).to_have_value("time_zone")
    expect(page.get_by_text("Europe/Riga")).to_be_visible()
    page.get_by_label("MEMBER_RATING").select_option("attribute")
    page.get_by_label("Newsletter").check()
    page.get_by_role("button", name="Import contacts").click()
    expect(page.get_by_text("Import only people who agreed to receive your mail.")).to_be_visible()
    shoot(page, "mapping-error")

    page.get_by_label("These people agreed to receive marketing mail from us.").check()
    page.get_by_role("button", name="Import contacts").click()
    expect(page.get_by_text("Done", exact=True)).to_be_visible()
    tally = page.locator(".tally")
    expect(tally.locator("div", has_text="Created")).to_contain_text("3")
    expect(tally.locator("div", has_text="Skipped")).to_contain_text("1")
    expect(tally.locator("div", has_text="Rejected")).to_contain_text("1")
    shoot(page, "done")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the 1 rejected row with reasons").click()
    rejected = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert "not-an-address" in rejected and "@-sign" in rejected

    assert Contact.objects.get(email="old@example.com").status == Contact.Status.UNSUBSCRIBED
    assert Contact.objects.get(email="ann@example.com").attributes == {"MEMBER_RATING": "4"}
    page.goto(f"{live_server.url}/contacts/")
    expect(page.get_by_text("Likely typo")).to_be_visible()
    expect(page.get_by_text("Role address")).to_be_visible()
    shoot(page, "contact-list")


def test_an_import_that_stopped_with_its_worker_is_run_again_from_its_page(
    live_server, page, tmp_path, settings
):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from contacts import importing
    from contacts.models import ImportJob

    settings.IMPORT_DIR = tmp_path / "imports"
    bob = UserFactory(username="bob", role="marketer")
    upload = SimpleUploadedFile("spring.csv", b"email\nann@example.com\nben@example.com\n")
    job = importing.import_job_create(upload=upload, actor=bob)
    # as a worker killed after the first row leaves it: running, silent since
    ContactFactory(email="ann@example.com")
    quiet = timezone.now() - timezone.timedelta(hours=1)
    ImportJob.objects.filter(pk=job.pk).update(
        status="running", mapping=["email"], consent_confirmed=True, rows=1, created=1,
        progress=0.5, started_at=quiet, heartbeat_at=quiet,
    )  # fmt: skip

    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/contacts/import/{job.pk}/")
    expect(page.get_by_text("The import stopped")).to_be_visible()
    shoot(page, "stopped")

    page.get_by_role("button", name="Run the import again").click()
    expect(page.get_by_text("Finished")).to_be_visible()
    assert sorted(Contact.objects.values_list("email", flat=True)) == [
        "ann@example.com", "ben@example.com",
    ]  # fmt: skip
