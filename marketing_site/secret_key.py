"""Which SECRET_KEY a process may start with.

Every session and every recipient token is signed with the key, so a known or
guessable key lets anyone forge them. Kept free of Django imports: settings.py
reads it before Django is set up.
"""

import secrets
from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

MIN_LENGTH = 50
MIN_UNIQUE_CHARACTERS = 5
KNOWN_INSECURE = {"changeme", "change-me", "secret", "secret_key", "secretkey", "insecure"}
HOW_TO_MAKE_ONE = (
    "Make one with: python -c 'import secrets; print(secrets.token_urlsafe(50))' "
    "and set it as SECRET_KEY in the environment of every web and worker process."
)
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def secret_key_problem(key: str) -> str:
    """Why a key is unsafe, or "" when it is fine."""
    if not key:
        return "is missing"
    if key.lower() in KNOWN_INSECURE or key.startswith("django-insecure-"):
        return "is a well-known placeholder"
    if len(key) < MIN_LENGTH:
        return f"is shorter than {MIN_LENGTH} characters"
    if len(set(key)) < MIN_UNIQUE_CHARACTERS:
        return f"has fewer than {MIN_UNIQUE_CHARACTERS} different characters"
    return ""


def secret_key_check(key: str, *, name: str = "SECRET_KEY") -> str:
    if problem := secret_key_problem(key):
        raise ImproperlyConfigured(f"{name} {problem}. {HOW_TO_MAKE_ONE}")
    return key


def is_local_site(site_url: str) -> bool:
    """A site only this machine can reach: `make run`, tests, a laptop."""
    return urlsplit(site_url).hostname in LOCAL_HOSTS


def local_secret_key(var_dir: Path) -> str:
    """A key generated once per checkout, so a local run needs no setup but
    never ships a known key."""
    path = var_dir / "secret_key"
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
    return path.read_text().strip()
