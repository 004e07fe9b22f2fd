"""Celery entry points of contacts: thin, they call contacts' services."""

import smtplib

from celery import shared_task

from contacts import consent
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
