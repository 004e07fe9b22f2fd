"""Short signed tokens for recipient-facing URLs, one kind per purpose.

A token names a message (and for clicks, its send and a link index) and
carries an HMAC over it keyed by SECRET_KEY and salted by its purpose: an
open token cannot unsubscribe, a web-view token cannot count as an open.
A token signed with a key listed in SECRET_KEY_FALLBACKS still verifies, so
the key can be rotated without breaking mails already sent.

Mails sent before tokens had purposes carry one "message" token for the
pixel, the unsubscribe link and the web view; those are still taken for the
unsubscribe link and the web view (a recipient must always be able to
leave), never for an open.
"""

import base64
import hashlib
import hmac
from functools import lru_cache

from django.conf import settings
from django.utils.http import base36_to_int, int_to_base36

_SIGNATURE_BYTES = 12  # 96 bits: 16 URL characters
_SIGNATURE_CHARS = 16
_MAX_TOKEN_CHARS = 80  # far above any genuine token; longer ones are not even hashed

OPEN = "open"
CLICK = "click"
UNSUBSCRIBE = "unsubscribe"
WEB_VIEW = "web"
PREFERENCES = "preferences"
PURPOSES = (OPEN, CLICK, UNSUBSCRIBE, WEB_VIEW, PREFERENCES)
_LEGACY = "message"  # the one token of mails sent before purposes
_LEGACY_ACCEPTED_FOR = {UNSUBSCRIBE, WEB_VIEW, PREFERENCES}


@lru_cache(maxsize=32)
def _key(salt: str, secret: str) -> bytes:
    # Derived once per salt, not per token: tokens are made per link per mail.
    return hashlib.sha256(f"campaigns.tokens.{salt}:{secret}".encode()).digest()


def _signature(salt: str, value: str, secret: str | None = None) -> str:
    key = _key(salt, secret or settings.SECRET_KEY)
    digest = hmac.digest(key, value.encode(), "sha256")[:_SIGNATURE_BYTES]
    return base64.urlsafe_b64encode(digest).decode()


def _sign(salt: str, value: str) -> str:
    return f"{value}.{_signature(salt, value)}"


def _verified(salt: str, value: str, signature: str) -> bool:
    # Mails signed with a key since rotated out stay valid while it is a fallback.
    secrets = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return any(
        hmac.compare_digest(signature, _signature(salt, value, secret)) for secret in secrets
    )


def _unsign(salts: tuple[str, ...], token: str) -> list[int] | None:
    """The numbers of a genuine token, else None; never raises, whatever the input
    (a URL may hold any character: compare_digest refuses non-ASCII strings)."""
    if not isinstance(token, str) or not token.isascii() or len(token) > _MAX_TOKEN_CHARS:
        return None
    value, _, signature = token.rpartition(".")
    if not value or len(signature) != _SIGNATURE_CHARS:
        return None
    if not any(_verified(salt, value, signature) for salt in salts):
        return None
    try:
        return [base36_to_int(part) for part in value.split(".")]
    except ValueError:
        return None


def message_token(message_id: int, *, purpose: str) -> str:
    """The token of a message's open, unsubscribe, web-view or preferences URL."""
    if purpose not in PURPOSES or purpose == CLICK:
        raise ValueError(f"No message token for {purpose!r}")
    return _sign(purpose, int_to_base36(message_id))


def message_id_from_token(token: str, *, purpose: str) -> int | None:
    """The message a genuine token of this purpose names, else None."""
    salts = (purpose, _LEGACY) if purpose in _LEGACY_ACCEPTED_FOR else (purpose,)
    parts = _unsign(salts, token)
    return parts[0] if parts and len(parts) == 1 else None


def open_token(message_id: int) -> str:
    return message_token(message_id, purpose=OPEN)


def unsubscribe_token(message_id: int) -> str:
    return message_token(message_id, purpose=UNSUBSCRIBE)


def web_view_token(message_id: int) -> str:
    return message_token(message_id, purpose=WEB_VIEW)


def click_token(message_id: int, link_index: int, send_id: int = 0) -> str:
    """A click names its send too, so the endpoint finds the link's URL in a
    per-process cache keyed by (send, link), without reading the message."""
    value = ".".join(int_to_base36(n) for n in (message_id, link_index, send_id))
    return _sign(CLICK, value)


def click_from_token(token: str) -> tuple[int, int, int] | None:
    """(message id, link index, send id) of a genuine click token, else None."""
    parts = _unsign((CLICK,), token)
    if parts and len(parts) == 2:  # sent before clicks named their send
        return parts[0], parts[1], 0
    return (parts[0], parts[1], parts[2]) if parts and len(parts) == 3 else None
