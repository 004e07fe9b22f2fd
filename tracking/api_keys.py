"""API keys of the shop's events API: made and revoked by staff, sent by the
shop as `Authorization: Bearer <key>`. A key is 43 random URL-safe
characters after a readable prefix; only its SHA-256 is stored, which is
enough for a secret of that entropy (no slow hash needed, unlike passwords)."""

import hashlib
import secrets

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from tracking.models import ApiKey

PREFIX = "mk_"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_key_create(*, name: str, actor) -> tuple[ApiKey, str]:
    """A new key and its secret, which is shown once and never again."""
    secret = PREFIX + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        name=name.strip()[:100] or "API key",
        prefix=secret[:10],
        secret_hash=_hash(secret),
        created_by=actor if actor and actor.is_authenticated else None,
    )
    return key, secret


def api_key_revoke(*, key: ApiKey) -> None:
    ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def api_key_from_header(authorization: str) -> ApiKey | None:
    """The live key an Authorization header carries, else None."""
    scheme, _, secret = authorization.strip().partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret.startswith(PREFIX) or len(secret) > 100:
        return None
    key = ApiKey.objects.filter(secret_hash=_hash(secret), revoked_at__isnull=True).first()
    if key is not None:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
    return key


def api_rate_allowed(key: ApiKey) -> int:
    """0 when the key may make this request, else the seconds to wait: at most
    SHOP_API_RATE_LIMIT requests per key per SHOP_API_RATE_WINDOW_SECONDS,
    counted in the cache (shared by every web process when it is Redis)."""
    window = settings.SHOP_API_RATE_WINDOW_SECONDS
    now = int(timezone.now().timestamp())
    slot = now // window
    name = f"shop-api-rate:{key.pk}:{slot}"
    cache.add(name, 0, timeout=window * 2)
    try:
        count = cache.incr(name)
    except ValueError:  # expired between add and incr
        cache.set(name, 1, timeout=window * 2)
        count = 1
    return 0 if count <= settings.SHOP_API_RATE_LIMIT else (slot + 1) * window - now
