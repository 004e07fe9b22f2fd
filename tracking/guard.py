"""The deliverability guard: a send whose complaints or bounces climb past
what mailbox providers tolerate warns on its page and the dashboard, then
pauses itself (through the ledger's pause) before the sender's reputation
is hurt. Complaints above 0.1% hurt deliverability; above 0.3% Gmail and
Yahoo block mail (DOMAIN.md)."""

from django.conf import settings
from django.db import transaction

from campaigns import ledger
from campaigns.models import Message, Send
from contacts.audit import Action, audit_record
from tracking.models import Tally

M = Tally.Metric


def send_rates(*, send_id: int) -> dict[str, float | int]:
    """Counts and rates (per cent) the guard judges: complaint rate over
    delivered mail (over sent while the ESP reports no deliveries), bounce
    rate over sent."""
    totals = dict(
        Tally.objects.filter(send_id=send_id, dimension="total", key="").values_list(
            "metric", "value"
        )
    )
    sent = Message.objects.filter(
        send_id=send_id, status__in=[Message.Status.SENT, Message.Status.IN_DOUBT]
    ).count()
    delivered = totals.get(M.DELIVERED, 0)
    bounced = totals.get(M.BOUNCED_HARD, 0) + totals.get(M.BOUNCED_SOFT, 0)
    complained = totals.get(M.COMPLAINED, 0)
    base = delivered or sent
    return {
        "sent": sent,
        "delivered": delivered,
        "bounced": bounced,
        "complained": complained,
        "complaint_rate": 100 * complained / base if base else 0.0,
        "bounce_rate": 100 * bounced / sent if sent else 0.0,
    }


def send_health(send: Send) -> list[dict[str, str]]:
    """Warnings for a send's page and the dashboard: [{level, message}], level
    "warning" or "danger"; empty when all is well."""
    return health_warnings(send_rates(send_id=send.pk))


def health_warnings(rates: dict) -> list[dict[str, str]]:
    """The warnings for counts and rates as send_rates gives them; reports that
    already hold the counts judge them here without reading them again."""
    if max(rates["sent"], rates["delivered"]) < settings.GUARD_MIN_MESSAGES:
        return []
    out = []
    checks = [
        ("complaint", rates["complaint_rate"], settings.GUARD_COMPLAINT_WARN_PERCENT,
         settings.GUARD_COMPLAINT_PAUSE_PERCENT),
        ("bounce", rates["bounce_rate"], settings.GUARD_BOUNCE_WARN_PERCENT,
         settings.GUARD_BOUNCE_PAUSE_PERCENT),
    ]  # fmt: skip
    for name, rate, warn, pause in checks:
        if rate > pause:
            out.append(
                {
                    "level": "danger",
                    "message": f"The {name} rate is {rate:.2f}%, above {pause:g}%: "
                    "the send pauses itself. Clean the list before resuming.",
                }
            )
        elif rate > warn:
            out.append(
                {
                    "level": "warning",
                    "message": f"The {name} rate is {rate:.2f}%, above {warn:g}%: "
                    "mailbox providers start sending this mail to spam.",
                }
            )
    return out


def send_guard_check(*, send_id: int) -> bool:
    """Pause the send if its complaint or bounce rate is past the pause
    threshold; True when it paused it now."""
    send = Send.objects.filter(pk=send_id).first()
    if send is None:
        return False
    danger = [w for w in send_health(send) if w["level"] == "danger"]
    if not danger:
        return False
    with transaction.atomic():
        paused = ledger.send_pause(send_id=send_id, reason=danger[0]["message"])
        if paused:
            audit_record(
                actor=None,
                action=Action.SEND_PAUSED,
                target=send,
                label=str(send),
                details={"by": "deliverability guard", "reason": danger[0]["message"]},
            )
    return paused
