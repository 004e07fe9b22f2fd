"""Unique-code coupons: filling a pool (generated or imported codes) and
handing its codes out, one per contact. A coupon's expiry (Coupon.expires_at)
is checked by the campaign checklist: an expired coupon is refused."""

import re
import secrets
from dataclasses import dataclass

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


# --- Filling a pool: generated or imported codes -----------------------------------

# No 0/O, 1/I/L: codes are typed in by hand at the shop's checkout.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
MAX_GENERATED = 100_000
_CODE = re.compile(r"^[A-Za-z0-9_-]{3,64}$")


@dataclass(frozen=True)
class PoolImport:
    added: int
    duplicates: int  # already in the pool, or twice in the text
    invalid: list[str]  # refused, as typed (the first few)


def coupon_codes_generate(*, coupon: Coupon, count: int, prefix: str = "", length: int = 8) -> int:
    """Add `count` new random codes to a unique-code coupon's pool."""
    if coupon.kind != Coupon.Kind.UNIQUE:
        raise ValueError("Only a coupon with unique codes has a pool.")
    if not 1 <= count <= MAX_GENERATED:
        raise ValueError(f"Generate between 1 and {MAX_GENERATED:,} codes at a time.")
    prefix = prefix.strip().upper()
    if prefix and not _CODE.match(prefix + "X" * 3):
        raise ValueError("A prefix has letters, digits, - and _ only.")
    if len(prefix) + length > 64:
        raise ValueError("Prefix and code together are at most 64 characters.")
    added = 0
    for _ in range(10):  # collisions are rare; each round fills what is missing
        wanted = count - added
        codes = {prefix + _random_code(length) for _ in range(wanted)}
        before = CouponCode.objects.filter(coupon=coupon).count()
        CouponCode.objects.bulk_create(
            [CouponCode(coupon=coupon, code=code) for code in codes],
            ignore_conflicts=True,
            batch_size=2000,
        )
        added += CouponCode.objects.filter(coupon=coupon).count() - before
        if added >= count:
            break
    return added


def _random_code(length: int) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def coupon_codes_import(*, coupon: Coupon, text: str) -> PoolImport:
    """Add the codes in `text` (one per line, or separated by commas) to the pool."""
    if coupon.kind != Coupon.Kind.UNIQUE:
        raise ValueError("Only a coupon with unique codes has a pool.")
    typed = [code.strip() for code in re.split(r"[\s,;]+", text) if code.strip()]
    invalid = [code for code in typed if not _CODE.match(code)]
    codes = list(dict.fromkeys(code for code in typed if _CODE.match(code)))
    before = CouponCode.objects.filter(coupon=coupon).count()
    CouponCode.objects.bulk_create(
        [CouponCode(coupon=coupon, code=code) for code in codes],
        ignore_conflicts=True,
        batch_size=2000,
    )
    added = CouponCode.objects.filter(coupon=coupon).count() - before
    return PoolImport(
        added=added, duplicates=len(typed) - len(invalid) - added, invalid=invalid[:5]
    )


def coupon_is_expired(coupon: Coupon, now=None) -> bool:
    return bool(coupon.expires_at and coupon.expires_at <= (now or timezone.now()))
