"""A background import whose worker is killed: shown as stopped, run again
from its page, and no contact is doubled or lost."""

import time

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from contacts import importing
from contacts.models import Contact, ImportJob

ROWS = 150_000


def big_file() -> bytes:
    lines = ["email,first_name"] + [f"customer{n}@example.com,Ann{n}" for n in range(ROWS)]
    return "\n".join(lines).encode()


def test_an_import_whose_worker_died_is_shown_stopped_and_runs_again_to_the_end(
    workers, client, bob, settings, tmp_path
):
    settings.IMPORT_DIR = tmp_path / "imports"
    settings.IMPORT_STALLED_SECONDS = 1  # the page's check, as beat would after 5 minutes
    job = importing.import_job_create(
        upload=SimpleUploadedFile("customers.csv", big_file()), actor=bob
    )
    first = workers.start("first")

    # when the worker dies part-way through the file
    importing.import_job_start(
        job=job, mapping=["email", "first_name"], group_ids=[],
        update_existing=False, consent_confirmed=True,
    )  # fmt: skip
    workers.wait_for(
        lambda: ImportJob.objects.get(pk=job.pk).created > 0, what="the first rows", timeout=60
    )
    first.kill()
    imported_before = Contact.objects.count()
    assert 0 < imported_before < ROWS
    time.sleep(1.5)

    # then its page says it stopped, and offers to run it again
    client.force_login(bob)
    page = client.get(reverse("contacts:import_detail", args=[job.pk])).content.decode()
    assert "The import stopped" in page and "Run the import again" in page
    job.refresh_from_db()
    assert (job.status, job.stalled) == (ImportJob.Status.FAILED, True)

    # when it is run again, on another worker
    workers.start("second")
    response = client.post(reverse("contacts:import_run_again", args=[job.pk]))
    assert response.status_code == 302
    workers.wait_for(
        lambda: ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.DONE,
        what="the import to finish",
        timeout=120,
    )

    # then every row is a contact, once
    job.refresh_from_db()
    assert Contact.objects.count() == ROWS
    assert job.created == ROWS - imported_before and job.skipped == imported_before
    assert not job.stalled and job.error == ""
    page = client.get(reverse("contacts:import_detail", args=[job.pk])).content.decode()
    assert "Run the import again" not in page
