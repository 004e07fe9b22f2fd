from celery import shared_task

from contacts.tiers import tiers_update


@shared_task
def tiers_update_task() -> dict[str, int]:
    return tiers_update()
