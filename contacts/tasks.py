"""Celery entry points of contacts: thin, they take ids and call a service."""

from celery import shared_task

from contacts import importing


@shared_task(acks_late=False)
def import_contacts_task(job_id: int) -> None:
    # Not acks_late: a worker killed mid-import must not start the file again
    # from the top behind the user's back; the job stays "running" and says so.
    importing.import_job_run(job_id=job_id)
