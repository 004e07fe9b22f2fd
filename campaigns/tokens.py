"""Short signed tokens for recipient-facing URLs.

A token names a message (and for clicks, a link index) and carries an HMAC
over it keyed by SECRET_KEY, so nothing in a URL can be guessed or altered;
one signed with a key listed in SECRET_KEY_FALLBACKS still verifies.
"""

import base64
import hashlib
import hmac
from functools import lru_cache

from django.conf import settings
from django.utils.http import base36_to_int, int_to_base36

_SIGNATURE_BYTES = 12  # 96 bits: 16 URL characters


@lru_cache(maxsize=8)
def _key(salt: str, secret: str) -> bytes:
    # Derived once per salt, not per token: tokens are made per link per mail.
    return hashlib.sha256(f"campaigns.tokens.{salt}:{secret}".encode()).digest()


def _signature(salt: str, value: str, secret: str | None = None) -> str:
    key = _key(salt, secret or settings.SECRET_KEY)
    digest = hmac.digest(key, value.encode(), "sha256")[:_SIGNATURE_BYTES]
    return base64.urlsafe_b64encode(digest).decode()


def _sign(salt: str, value: str) -> str:
    return f"{value}.{_signature(salt, value)}"


def _unsign(salt: str, token: str) -> list[int] | None:
    value, _, signature = token.rpartition(".")
    # Mails signed with a key since rotated out stay valid while it is a fallback.
    secrets = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    if not value or not any(
        hmac.compare_digest(signature, _signature(salt, value, secret)) for secret in secrets
    ):
        return None
    try:
        return [base36_to_int(part) for part in value.split(".")]
    except ValueError:
        return None


def message_token(message_id: int) -> str:
    return _sign("message", int_to_base36(message_id))


def message_id_from_token(token: str) -> int | None:
    parts = _unsign("message", token)
    return parts[0] if parts and len(parts) == 1 else None


def click_token(message_id: int, link_index: int) -> str:
    return _sign("click", f"{int_to_base36(message_id)}.{int_to_base36(link_index)}")


def click_from_token(token: str) -> tuple[int, int] | None:
    """(message id, link index) of a genuine click token, else None."""
    parts = _unsign("click", token)
    return (parts[0], parts[1]) if parts and len(parts) == 2 else None
