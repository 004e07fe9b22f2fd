"""A send's mail, prepared once, and each recipient's copy of it.

Everything that is the same for every recipient (the compiled content, the
From and Reply-To headers, the MIME skeleton) is prepared once per send and
kept per worker process. Per recipient only the personal fields, the signed
URLs and a few headers are filled in, and the two parts are encoded as
quoted-printable by the C codec: no email package, no MIME tree. Building a
MIME message with Python's email package costs several times more than the
SMTP exchange itself (ARCHITECTURE.md, decision 1).
"""

import binascii
import copy
import hashlib
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.utils import formataddr, formatdate
from functools import lru_cache

from django.core.mail import EmailMultiAlternatives

from campaigns.event_content import event_values, uses_event_fields
from campaigns.models import Campaign, Message, Send
from campaigns.personalisation import recipient_values
from campaigns.recommendations import picker_for, picks_values, shop_histories
from campaigns.rendering import CompiledContent, RenderedMail, TrackedUrls, fill, personalise


@dataclass
class PreparedMail:
    send_id: int
    kind: str
    content: CompiledContent
    envelope_from: str
    from_header: str
    reply_to: str
    domain: str
    shared_code: str
    nonce: str  # the same in every worker, so a message's Message-ID never varies
    coupon_expires_at: datetime | None = None

    def __post_init__(self):
        self.boundary = f"=_{self.nonce}"  # "=_" never occurs in quoted-printable text
        self._head = _header_lines(
            [
                ("From", self.from_header),
                *([("Reply-To", self.reply_to)] if self.reply_to else []),
                ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
                ("MIME-Version", "1.0"),
                ("Content-Type", f'multipart/alternative; boundary="{self.boundary}"'),
            ]
        )
        part = (
            'Content-Type: text/{}; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable'
        )
        self._text_head = f"\r\n--{self.boundary}\r\n{part.format('plain')}\r\n\r\n".encode()
        self._html_head = f"\r\n--{self.boundary}\r\n{part.format('html')}\r\n\r\n".encode()
        self._end = f"\r\n--{self.boundary}--\r\n".encode()
        # The fixed text of each part, encoded once per send and language.
        self._encoded: dict[int, tuple[list, list]] = {}
        self._merge_templates: dict[str, MergeTemplate] = {}
        self._picker = picker_for(self.content.picks)
        self._shop_histories: dict = {}
        every = [self.content, *self.content.locales.values()]
        self._uses_event = uses_event_fields(
            part for c in every for part in (c.subject, c.html, c.text)
        )
        self._event_values: dict[int, dict[str, str]] = {}

    def batch_prepare(self, messages: list[Message]) -> None:
        """Load what the per-recipient parts need for a whole batch at once
        (the shop histories behind personal product picks, the events behind
        an automation's mails)."""
        if self._picker is not None:
            ids = [m.contact_id for m in messages if m.contact_id]
            self._shop_histories = shop_histories(ids)
        if self._uses_event:
            self._event_values = _events_of([m.pk for m in messages])

    def _event_of(self, message: Message) -> dict[str, str]:
        if not self._uses_event:
            return {}
        if message.pk not in self._event_values:  # a single mail (web view, test)
            self._event_values.update(_events_of([message.pk]))
        return self._event_values.get(message.pk, {})

    def _parts(self, content: CompiledContent) -> tuple[list, list]:
        key = id(content)
        if key not in self._encoded:
            self._encoded[key] = (_pre_encoded(content.text), _pre_encoded(content.html))
        return self._encoded[key]

    def message_id(self, message_id: int) -> str:
        prefix, suffix = self.message_id_parts
        return f"{prefix}{message_id}{suffix}"

    @property
    def message_id_parts(self) -> tuple[str, str]:
        """What comes before and after the message's id in its Message-ID."""
        return "<", f".{self.send_id}.{self.nonce}@{self.domain}>"

    def render(self, message: Message) -> tuple[RenderedMail, TrackedUrls]:
        urls = TrackedUrls(message.pk, self.send_id)
        values = self.values(message)
        return personalise(self.content, values, urls), urls

    def values(self, message: Message) -> dict[str, str]:
        """What the merge fields show for this recipient."""
        values = recipient_values(
            message.contact, message.coupon_code or self.shared_code, self.coupon_expires_at
        )
        values.update(picks_values(self._picker, message.contact, self._shop_histories))
        values.update(self._event_of(message))
        return values

    def personal_headers(self, message: Message, urls: TrackedUrls) -> dict[str, str]:
        return {
            "Message-ID": self.message_id(message.pk),
            "List-Unsubscribe": f"<{urls.slot('unsubscribe')}>",
        }

    def as_bytes(self, message: Message) -> bytes:
        """The whole mail for one recipient, CRLF line ends, ready for SMTP.
        Only the personal segments are encoded here; the rest was encoded once."""
        if not message.email.isascii():
            return _email_package_bytes(self.as_email(message))
        urls = TrackedUrls(message.pk, self.send_id)
        values = self.values(message)
        content = self.content.for_locale(values.get("contact.locale", ""))
        links = content.links
        text_parts, html_parts = self._parts(content)
        subject = " ".join(fill(content.subject, values, urls, links, escape=False).split())
        head = _header_lines(
            [
                ("Date", formatdate()),
                ("To", message.email),
                ("Subject", _encoded_header(subject)),
                *self.personal_headers(message, urls).items(),
            ]
        )
        return b"".join(
            [
                head,
                self._head,
                b"\r\n",  # end of the headers
                self._text_head,
                *_filled_encoded(text_parts, values, urls, links, escape=False),
                self._html_head,
                *_filled_encoded(html_parts, values, urls, links, escape=True),
                self._end,
            ]
        )

    def merge_template(self, locale: str = "") -> "MergeTemplate":
        """The content with a merge key in place of each personal segment, for
        ESPs that fill in each recipient's copy themselves (one per language)."""
        content = self.content.for_locale(locale)
        key = next((code for code, c in self.content.locales.items() if c is content), "")
        if key not in self._merge_templates:
            self._merge_templates[key] = MergeTemplate.build(content, self.nonce)
        return self._merge_templates[key]

    def message_locale(self, message: Message) -> str:
        """The language version a message gets ("" for the main one)."""
        content = self.content.for_locale(message.contact.locale if message.contact else "")
        return next((code for code, c in self.content.locales.items() if c is content), "")

    def merge_values(self, message: Message) -> tuple[dict[str, str], dict[str, str]]:
        """One recipient's merge data and personal headers."""
        urls = TrackedUrls(message.pk, self.send_id)
        values = self.values(message)
        template = self.merge_template(values.get("contact.locale", ""))
        merge = {
            key: " ".join(text.split()) if part == "subject" else text
            for key, part, segment, escape in template.keys
            for text in [fill([segment], values, urls, self.content.links, escape=escape)]
        }
        return merge, self.personal_headers(message, urls)

    def as_email(self, message: Message) -> EmailMultiAlternatives:
        """The same mail as a Django message, for backends that take those
        (anymail's ESP APIs, tests' in-memory outbox)."""
        mail, urls = self.render(message)
        email = EmailMultiAlternatives(
            subject=mail.subject,
            body=mail.text,
            from_email=self.from_header,
            to=[message.email],
            reply_to=[self.reply_to] if self.reply_to else None,
            headers={
                **self.personal_headers(message, urls),
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        )
        email.attach_alternative(mail.html, "text/html")
        email_annotate(email, kind=self.kind, message_ids=[message.pk])
        return email


def _events_of(message_ids: list[int]) -> dict[int, dict[str, str]]:
    """The event values of an automation's messages (empty for the others)."""
    rows = Message.objects.filter(pk__in=message_ids, pending__isnull=False).values_list(
        "pk", "pending__context"
    )
    out = {pk: {} for pk in message_ids}
    out.update({pk: event_values(context or {}) for pk, context in rows})
    return out


@dataclass
class MergeTemplate:
    subject: str
    text: str
    html: str
    keys: list[tuple[str, str, tuple, bool]]  # (key, part, segment, html-escaped)

    @classmethod
    def build(cls, content: CompiledContent, nonce: str) -> "MergeTemplate":
        keys: list[tuple[str, str, tuple, bool]] = []
        seen: dict[tuple, str] = {}

        def template(part: str, segments: list, escape: bool) -> str:
            out = []
            for segment in segments:
                if isinstance(segment, str):
                    out.append(segment)
                    continue
                if (part, segment) not in seen:
                    seen[part, segment] = f":mk{nonce}m{len(keys)}k:"
                    keys.append((seen[part, segment], part, segment, escape))
                out.append(seen[part, segment])
            return "".join(out)

        return cls(
            subject=template("subject", content.subject, False),
            text=template("text", content.text, False),
            html=template("html", content.html, True),
            keys=keys,
        )


def email_annotate(email, *, kind: str, message_ids: list[int]) -> None:
    """What anymail backends read: metadata naming the message for the ESP's
    webhooks, a tag, and the ESP's own tracking off (ours is in the links)."""
    if len(message_ids) == 1:
        email.metadata = {"message_id": str(message_ids[0])}
    email.tags = [kind]
    email.track_opens = email.track_clicks = False


def _header_lines(headers: list[tuple[str, str]]) -> bytes:
    return "".join(f"{name}: {value}\r\n" for name, value in headers).encode("ascii")


def _encoded_header(value: str) -> str:
    if value.isascii() and len(value) < 900:
        return value
    return Header(value, "utf-8").encode()


def _quoted_printable(text: str) -> bytes:
    data = text.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
    return binascii.b2a_qp(data, quotetabs=False, istext=True).replace(b"\n", b"\r\n")


def _qp_piece(text: str) -> bytes:
    """One piece of a part, quoted-printable, closed by a soft line break so
    that pieces encoded apart join into valid lines of at most 76 characters."""
    encoded = _quoted_printable(text)
    return encoded if not encoded or encoded.endswith(b"\r\n") else encoded + b"=\r\n"


def _pre_encoded(segments: list) -> list:
    """A part's segments with every literal one already encoded (bytes)."""
    return [_qp_piece(segment) if isinstance(segment, str) else segment for segment in segments]


def _filled_encoded(parts: list, values, urls, links, escape: bool) -> list[bytes]:
    return [
        part if isinstance(part, bytes) else _qp_piece(fill([part], values, urls, links, escape))
        for part in parts
    ]


def _email_package_bytes(email: EmailMultiAlternatives) -> bytes:
    return email.message().as_bytes(linesep="\r\n")


def _safe_header_text(value: str) -> str:
    # Names come from staff; a line break would start a header of its own.
    return " ".join(value.split())


@lru_cache(maxsize=16)
def prepared_mail_for(send_id: int) -> PreparedMail:
    """The prepared mail of a send, built once per worker process: a send's
    content is frozen when it starts, so it never changes under the cache."""
    send = Send.objects.select_related("campaign", "campaign__coupon", "variant").get(pk=send_id)
    return prepared_mail(send)


def campaign_shared_code(campaign: Campaign) -> str:
    """The code every recipient sees: a shared coupon's, else none."""
    coupon = campaign.coupon
    return coupon.code if coupon and coupon.kind == coupon.Kind.SHARED else ""


def prepared_mail(send: Send) -> PreparedMail:
    campaign: Campaign = send.campaign
    if send.variant_id and send.variant.from_name:  # an A/B test of the sender name
        campaign = copy.copy(campaign)
        campaign.from_name = send.variant.from_name
    from_header = formataddr(
        (_safe_header_text(campaign.from_name), campaign.from_email), charset="utf-8"
    )
    return PreparedMail(
        send_id=send.pk,
        kind=campaign.kind,
        content=CompiledContent.from_json(send.content),
        envelope_from=campaign.from_email,
        from_header=from_header,
        reply_to=campaign.reply_to,
        domain=campaign.from_email.rpartition("@")[2],
        shared_code=campaign_shared_code(campaign),
        coupon_expires_at=campaign.coupon.expires_at if campaign.coupon else None,
        nonce=hashlib.sha256(f"{send.pk}:{send.created_at.isoformat()}".encode()).hexdigest()[:12],
    )
