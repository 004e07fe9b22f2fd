from celery import shared_task

from campaigns import sending


@shared_task(acks_late=True)
def send_prepare_task(send_id: int) -> None:
    sending.send_prepare(send_id=send_id)


@shared_task(
    acks_late=True,
    autoretry_for=(OSError,),
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=10,
)
def send_batch_task(send_id: int) -> int:
    return sending.send_batch(send_id=send_id)
