"""Reading sent mails the way a recipient's mail client would."""

import email
import email.policy
import re
from email.message import EmailMessage
from urllib.parse import urlsplit

BROWSER = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/130.0 Safari/537.36"
)


def parsed(django_message) -> EmailMessage:
    """A Django EmailMessage as the recipient's client reads it."""
    return email.message_from_bytes(
        django_message.message().as_bytes(), policy=email.policy.default
    )


def html_part(mail: EmailMessage) -> str:
    return mail.get_body(preferencelist=("html",)).get_content()


def text_part(mail: EmailMessage) -> str:
    return mail.get_body(preferencelist=("plain",)).get_content()


def pixel_path(html: str) -> str:
    (url,) = re.findall(r'<img src="([^"]*/t/o/[^"]+)"', html)
    return urlsplit(url).path


def click_paths(html: str) -> list[str]:
    """The tracked links a person can see and follow (not the hidden honeypot)."""
    return [path for path, hidden in _click_links(html) if not hidden]


def honeypot_path(html: str) -> str:
    (path,) = [path for path, hidden in _click_links(html) if hidden]
    return path


def _click_links(html: str) -> list[tuple[str, bool]]:
    return [
        (urlsplit(url).path, "aria-hidden" in tag)
        for tag in re.findall(r"<a\b[^>]*>", html)
        for url in re.findall(r'href="([^"]*/t/c/[^"]+)"', tag)
    ]


def unsubscribe_path(mail: EmailMessage) -> str:
    return urlsplit(mail["List-Unsubscribe"].strip("<>")).path


def web_view_path(html: str) -> str:
    (url,) = set(re.findall(r'href="([^"]*/t/v/[^"]+)"', html))
    return urlsplit(url).path
