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
    return [urlsplit(url).path for url in re.findall(r'href="([^"]*/t/c/[^"]+)"', html)]


def unsubscribe_path(mail: EmailMessage) -> str:
    return urlsplit(mail["List-Unsubscribe"].strip("<>")).path
