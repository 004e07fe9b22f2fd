"""Celery entry points of tracking: thin, each calls a service."""

from celery import shared_task

from tracking import facts


@shared_task
def events_flush_task() -> int:
    """Apply the buffered opens and clicks (run by beat every few seconds)."""
    return facts.events_flush_all()
