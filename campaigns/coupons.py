"""Handing out the codes of a unique-code coupon, one per contact."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from campaigns.models import Coupon, CouponCode


def coupon_codes_assign(*, coupon: Coupon, contact_ids: list[int]) -> dict[int, str]:
    """The code of each contact: the one it already holds, else a free one
    (free means never assigned). Contacts left out got none: the pool ran dry."""
    for _ in range(3):
        try:
            return _assign(coupon, contact_ids)
        except IntegrityError:
            # Another send gave one of these contacts a code at the same moment.
            continue
    return _assign(coupon, contact_ids)


@transaction.atomic
def _assign(coupon: Coupon, contact_ids: list[int]) -> dict[int, str]:
    held = dict(
        CouponCode.objects.filter(coupon=coupon, contact_id__in=contact_ids).values_list(
            "contact_id", "code"
        )
    )
    needing = [pk for pk in contact_ids if pk not in held]
    if not needing:
        return held
    free = list(
        CouponCode.objects.select_for_update(skip_locked=True)
        .filter(coupon=coupon, assigned_at__isnull=True)
        .order_by("id")[: len(needing)]
    )
    now = timezone.now()
    for contact_id, code in zip(needing, free, strict=False):
        code.contact_id, code.assigned_at = contact_id, now
        held[contact_id] = code.code
    CouponCode.objects.bulk_update(free, ["contact", "assigned_at"])
    return held
