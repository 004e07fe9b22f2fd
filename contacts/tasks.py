"""Celery entry points of contacts: thin, they take ids and call a service."""

import smtplib

from celery import shared_task

from contacts import consent, importing
from contacts.tiers import tiers_update


@shared_task(
    autoretry_for=(OSError, smtplib.SMTPException),
    retry_backoff=30,
    max_retries=5,
)
def consent_confirmation_send_task(record_id: int) -> None:
    consent.consent_confirmation_send(record_id=record_id)


@shared_task
def contacts_expire_unconfirmed_task() -> int:
    return consent.contacts_expire_unconfirmed()


@shared_task
def tiers_update_task() -> dict[str, int]:
    return tiers_update()


@shared_task(acks_late=False)
def import_contacts_task(job_id: int) -> None:
    # Not acks_late: a worker killed mid-import must not start the file again
    # from the top behind the user's back; imports_stalled_mark_task shows the
    # job as stopped and its page offers to run it again.
    importing.import_job_run(job_id=job_id)


@shared_task
def imports_stalled_mark_task() -> int:
    return importing.import_jobs_stalled_mark()
