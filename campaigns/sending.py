"""The sending pipeline: snapshot the audience into Message rows, then send
them in claimed batches. The Message row is the ledger: every recipient ends
up sent, failed or skipped with a reason.
"""

import logging
from email.utils import formataddr, make_msgid

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.utils import timezone

from campaigns.models import Campaign, CouponCode, Message, Send
from campaigns.personalisation import TemplateProblem, recipient_values
from campaigns.rendering import CompiledContent, TrackedUrls, compile_campaign, personalise
from contacts.addresses import email_problem
from contacts.models import Contact
from contacts.services import suppressed_emails

logger = logging.getLogger(__name__)
SNAPSHOT_CHUNK = 2000
PARALLEL_BATCHES = 4


class CampaignNotSendable(Exception):
    pass


def campaign_send(*, campaign: Campaign, user=None) -> Send:
    """Start a send of a draft campaign. Raises TemplateProblem for content
    that cannot be rendered and CampaignNotSendable otherwise."""
    if not campaign.groups.exists():
        raise CampaignNotSendable("Pick at least one group to send to.")
    compile_campaign(campaign)  # fail now, in front of the user, not in a worker
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if locked.status != Campaign.Status.DRAFT:
            raise CampaignNotSendable("This campaign has already been sent.")
        send = Send.objects.create(campaign=locked, created_by=user)
        locked.status = Campaign.Status.SENDING
        locked.save(update_fields=["status", "updated_at"])
        from campaigns.tasks import send_prepare_task

        transaction.on_commit(lambda: send_prepare_task.delay(send.pk))
    campaign.status = locked.status
    return send


def skip_reason(campaign: Campaign, status: str, email: str, suppressed: bool) -> str:
    """Why a contact gets no mail from this campaign ('' when it does)."""
    if status in (Contact.Status.BOUNCED, Contact.Status.COMPLAINED):
        return status  # never, whatever the kind of mail
    if email_problem(email):
        return Message.SkipReason.INVALID
    if suppressed:
        return Message.SkipReason.SUPPRESSED
    if campaign.kind == Campaign.Kind.TRANSACTIONAL:
        return ""
    if status == Contact.Status.UNSUBSCRIBED:
        return Message.SkipReason.UNSUBSCRIBED
    if status == Contact.Status.UNCONFIRMED:
        return Message.SkipReason.UNCONFIRMED
    return ""


def send_prepare(*, send_id: int) -> None:
    """Freeze the content and the audience of a send, then start the batches.
    Safe to run again after a crash: rows already made are kept."""
    send = Send.objects.select_related("campaign", "campaign__coupon").get(pk=send_id)
    if send.status not in (Send.Status.QUEUED, Send.Status.PREPARING):
        return
    campaign = send.campaign
    send.status = Send.Status.PREPARING
    send.started_at = send.started_at or timezone.now()
    try:
        content = compile_campaign(campaign)
    except TemplateProblem as problem:  # e.g. a product changed since the check
        _send_fail(send, str(problem))
        return
    send.content = content.to_json()
    send.save(update_fields=["status", "started_at", "content"])
    send.links.all().delete()
    send.links.bulk_create(
        [send.links.model(send=send, index=i, url=url) for i, url in enumerate(content.links)]
    )
    _snapshot_audience(send)
    if campaign.coupon and campaign.coupon.kind == campaign.coupon.Kind.UNIQUE:
        _assign_unique_codes(send)
    Send.objects.filter(pk=send.pk).update(status=Send.Status.SENDING)
    _start_batches(send.pk)


def _send_fail(send: Send, error: str) -> None:
    Send.objects.filter(pk=send.pk).update(
        status=Send.Status.FAILED, error=error, finished_at=timezone.now()
    )
    Campaign.objects.filter(pk=send.campaign_id).update(status=Campaign.Status.FAILED)


def _snapshot_audience(send: Send) -> None:
    campaign = send.campaign
    audience = (
        Contact.objects.filter(groups__in=campaign.groups.all())
        .distinct()
        .order_by("id")
        .values_list("id", "email", "status")
    )
    chunk: list[tuple] = []
    for row in audience.iterator(chunk_size=SNAPSHOT_CHUNK):
        chunk.append(row)
        if len(chunk) == SNAPSHOT_CHUNK:
            _insert_messages(send, chunk)
            chunk = []
    if chunk:
        _insert_messages(send, chunk)


def _insert_messages(send: Send, rows: list[tuple]) -> None:
    suppressed = suppressed_emails([email for _, email, _ in rows])
    messages = []
    for contact_id, email, status in rows:
        reason = skip_reason(send.campaign, status, email, email in suppressed)
        messages.append(
            Message(
                send=send,
                contact_id=contact_id,
                email=email,
                status=Message.Status.SKIPPED if reason else Message.Status.QUEUED,
                skip_reason=reason,
            )
        )
    Message.objects.bulk_create(messages, ignore_conflicts=True)


@transaction.atomic
def _assign_unique_codes(send: Send) -> None:
    """One code of the pool per recipient; a contact who already holds a code
    of this coupon gets the same one again."""
    coupon = send.campaign.coupon
    waiting = list(
        Message.objects.select_for_update()
        .filter(send=send, status=Message.Status.QUEUED, coupon_code="")
        .order_by("id")
    )
    held = dict(
        CouponCode.objects.filter(
            coupon=coupon, contact_id__in=[m.contact_id for m in waiting]
        ).values_list("contact_id", "code")
    )
    needing = [m for m in waiting if m.contact_id not in held]
    free = list(
        CouponCode.objects.select_for_update(skip_locked=True)
        .filter(coupon=coupon, contact__isnull=True)
        .order_by("id")[: len(needing)]
    )
    now = timezone.now()
    for message, code in zip(needing, free, strict=False):
        code.contact_id, code.assigned_at = message.contact_id, now
        held[message.contact_id] = code.code
    CouponCode.objects.bulk_update(free, ["contact", "assigned_at"])
    for message in waiting:
        message.coupon_code = held.get(message.contact_id, "")
        if not message.coupon_code:
            message.status = Message.Status.SKIPPED
            message.skip_reason = Message.SkipReason.NO_COUPON_CODE
    Message.objects.bulk_update(waiting, ["coupon_code", "status", "skip_reason"])


def _start_batches(send_id: int) -> None:
    from campaigns.tasks import send_batch_task

    queued = Message.objects.filter(send_id=send_id, status=Message.Status.QUEUED).count()
    batches = -(-queued // settings.SEND_BATCH_SIZE)
    if not batches:
        send_finish_if_done(send_id=send_id)
    for _ in range(min(batches, PARALLEL_BATCHES)):
        send_batch_task.delay(send_id)


def _claim_batch(send_id: int) -> list[int]:
    with transaction.atomic():
        ids = list(
            Message.objects.select_for_update(skip_locked=True)
            .filter(send_id=send_id, status=Message.Status.QUEUED)
            .order_by("id")
            .values_list("id", flat=True)[: settings.SEND_BATCH_SIZE]
        )
        Message.objects.filter(id__in=ids).update(status=Message.Status.SENDING)
    return ids


def send_batch(*, send_id: int) -> int:
    """Claim one batch of queued messages, send them over one connection and
    record each result. Returns how many were sent."""
    ids = _claim_batch(send_id)
    if not ids:
        send_finish_if_done(send_id=send_id)
        return 0
    send = Send.objects.select_related("campaign").get(pk=send_id)
    content = CompiledContent.from_json(send.content)
    messages = Message.objects.filter(id__in=ids).select_related("contact").order_by("id")
    connection = get_connection()
    try:
        connection.open()
    except Exception:
        # Nothing left: hand the batch back and let the task retry later.
        Message.objects.filter(id__in=ids).update(status=Message.Status.QUEUED)
        raise
    sent = 0
    try:
        for message in messages:
            sent += _send_one(connection, send.campaign, content, message)
    finally:
        connection.close()
    if Message.objects.filter(send_id=send_id, status=Message.Status.QUEUED).exists():
        from campaigns.tasks import send_batch_task

        send_batch_task.delay(send_id)
    else:
        send_finish_if_done(send_id=send_id)
    return sent


def message_values(campaign: Campaign, message: Message) -> dict[str, str]:
    """What the merge fields of one message show: its contact and its coupon code."""
    return recipient_values(message.contact, message.coupon_code or _shared_code(campaign))


def build_email(campaign: Campaign, content: CompiledContent, message: Message):
    urls = TrackedUrls(message.pk)
    mail = personalise(content, message_values(campaign, message), urls)
    unsubscribe_url = urls.slot("unsubscribe")
    domain = campaign.from_email.rpartition("@")[2]
    email = EmailMultiAlternatives(
        subject=mail.subject,
        body=mail.text,
        from_email=formataddr((campaign.from_name, campaign.from_email)),
        to=[message.email],
        reply_to=[campaign.reply_to] if campaign.reply_to else None,
        headers={
            "Message-ID": make_msgid(idstring=str(message.pk), domain=domain),
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    email.attach_alternative(mail.html, "text/html")
    # Read by anymail backends, so ESP webhooks can name the message.
    email.metadata = {"message_id": str(message.pk)}
    email.tags = [campaign.kind]
    # Opens and clicks are tracked here; the ESP's own tracking would wrap them twice.
    email.track_opens = email.track_clicks = False
    return email


def _shared_code(campaign: Campaign) -> str:
    coupon = campaign.coupon
    return coupon.code if coupon and coupon.kind == coupon.Kind.SHARED else ""


def _send_one(connection, campaign: Campaign, content: CompiledContent, message: Message) -> int:
    email = build_email(campaign, content, message)
    try:
        delivered = connection.send_messages([email])
    except Exception as error:  # the ESP refused this one; the rest go on
        logger.warning("Message %s failed: %s", message.pk, error)
        Message.objects.filter(pk=message.pk).update(
            status=Message.Status.FAILED, error=str(error)[:1000]
        )
        return 0
    if not delivered:
        Message.objects.filter(pk=message.pk).update(
            status=Message.Status.FAILED, error="The mail backend did not accept the message."
        )
        return 0
    Message.objects.filter(pk=message.pk).update(
        status=Message.Status.SENT, sent_at=timezone.now(), esp_message_id=_esp_id(email)
    )
    return 1


def _esp_id(email) -> str:
    status = getattr(email, "anymail_status", None)
    if status is not None and status.message_id is not None:
        return str(status.message_id)
    return email.extra_headers["Message-ID"]


def send_finish_if_done(*, send_id: int) -> bool:
    """Close the send once no message is waiting or in flight."""
    pending = Message.objects.filter(
        send_id=send_id, status__in=[Message.Status.QUEUED, Message.Status.SENDING]
    )
    if pending.exists():
        return False
    finished = Send.objects.filter(pk=send_id, status=Send.Status.SENDING).update(
        status=Send.Status.DONE, finished_at=timezone.now()
    )
    if finished:
        Campaign.objects.filter(sends__pk=send_id).update(status=Campaign.Status.SENT)
    return bool(finished)
