"""Handing mail to the configured backend, and reading what it answered.

Every answer becomes one of: sent (with the backend's id), failed for good
(this recipient or this message), deferred (this recipient's server said
"later": the message waits, the others go on), in doubt (it may have left),
or a stop: a problem of the server as a whole (4xx at MAIL or DATA, 421, a
lost connection, an ESP's 429 or 5xx) after which the unsent rest goes back
to the queue and the send backs off, or a configuration problem that pauses
the send until staff fix it. A stop never counts against a message's tries:
the recipient is not at fault.

- SMTP (Django's SMTP backend): the prepared bytes over its connection, one
  MAIL/RCPT/DATA exchange per message, so each reply is read where it arises.
- The local outbox: the prepared bytes into a file.
- anymail ESPs that send batches (settings.SEND_BATCH_ESPS): a chunk is one
  API call with per-recipient merge data.
- Any other backend (other ESPs, test backends): one Django message each.
"""

import contextlib
import re
import smtplib
from dataclasses import dataclass, field

import requests
from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused
from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend

from campaigns.assembly import PreparedMail, email_annotate
from campaigns.models import Message

ErrorClass = Message.ErrorClass
_ENHANCED = re.compile(rb"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_THROTTLE_WORDS = re.compile(rb"rate|too many|throttl|slow down", re.IGNORECASE)


@dataclass(frozen=True)
class Stop:
    """A problem that stops the chunk: everything not yet sent goes back."""

    error_class: str
    error: str
    pause: bool = False  # retrying will not help until someone fixes a setting
    retry: float | None = None  # our own limit: come back after this many seconds


@dataclass
class ChunkResult:
    sent: dict[int, str] = field(default_factory=dict)  # message id -> backend's id
    failed: dict[int, tuple[str, str]] = field(default_factory=dict)  # id -> (class, error)
    in_doubt: list[int] = field(default_factory=list)
    deferred: dict[int, tuple[str, str]] = field(default_factory=dict)  # id -> (class, error)
    suppress: list[str] = field(default_factory=list)  # addresses that do not exist
    stop: Stop | None = None
    untried: list[int] = field(default_factory=list)  # handed over, not answered for


class TransportDown(Exception):
    def __init__(self, stop: Stop):
        super().__init__(stop.error)
        self.stop = stop


def smtp_stop_or_failure(code: int, reply: bytes, stage: str) -> tuple[str, str, bool]:
    """(error class, error text, whether it is temporary) of an SMTP reply."""
    text = f"{code} {reply.decode(errors='replace')}".strip()
    if 400 <= code < 500:
        throttled = code in (421, 454) or bool(_THROTTLE_WORDS.search(reply))
        return (ErrorClass.THROTTLED if throttled else ErrorClass.TEMPORARY), text, True
    if stage == "rcpt":
        return ErrorClass.REFUSED, text, False
    return ErrorClass.REJECTED, text, False


def is_hard_bounce(code: int, reply: bytes) -> bool:
    """A 5.1.x answer: the mailbox or domain does not exist. Policy blocks
    (5.7.x) and full mailboxes are not reasons to drop an address."""
    enhanced = _ENHANCED.search(reply)
    if enhanced:
        return enhanced[1] == b"5" and enhanced[2] == b"1"
    return code in (550, 551, 553) and b"unknown" in reply.lower()


def transport_for_settings():
    backend = get_connection()
    if isinstance(backend, SmtpBackend):
        return SmtpTransport(backend)
    if hasattr(backend, "send_raw"):
        return RawTransport(backend)
    if getattr(backend, "esp_name", "").lower() in settings.SEND_BATCH_ESPS:
        return EspBatchTransport(backend)
    return DjangoTransport(backend)


class _Transport:
    def __init__(self, backend):
        self.backend = backend

    def open(self) -> None:
        try:
            self._open()
        except smtplib.SMTPResponseException as error:
            kind, text, temporary = smtp_stop_or_failure(
                error.smtp_code, _as_bytes(error.smtp_error), "connect"
            )
            raise TransportDown(Stop(kind, f"Connecting: {text}", pause=not temporary)) from None
        except (OSError, smtplib.SMTPException) as error:
            raise TransportDown(Stop(ErrorClass.CONNECTION, f"Connecting: {error}")) from None

    def _open(self) -> None:
        self.backend.open()

    def close(self) -> None:
        # A connection that broke cannot be closed politely.
        with contextlib.suppress(Exception):
            self.backend.close()


def _as_bytes(value) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


class SmtpTransport(_Transport):
    def _open(self) -> None:
        self.backend.open()
        # Django greets the server only when it needs TLS or a login; MAIL
        # before EHLO is refused by most servers.
        self.backend.connection.ehlo_or_helo_if_needed()

    def deliver(self, prepared: PreparedMail, messages: list[Message]) -> ChunkResult:
        result = ChunkResult()
        smtp = self.backend.connection
        for index, message in enumerate(messages):
            data = prepared.as_bytes(message)
            try:
                stop = self._one(smtp, prepared, message, data, result)
            except (smtplib.SMTPServerDisconnected, OSError) as error:
                # Before DATA the server took nothing: safe to try again.
                stop = Stop(ErrorClass.CONNECTION, f"Connection lost: {error}")
            if stop:
                result.stop = stop
                result.untried = [m.pk for m in messages[index:] if m.pk not in result.in_doubt]
                break
        return result

    def _one(self, smtp, prepared, message, data, result) -> Stop | None:
        code, reply = smtp.mail(prepared.envelope_from)
        if code != 250:
            kind, text, temporary = smtp_stop_or_failure(code, reply, "mail")
            _reset(smtp)
            if temporary:
                return Stop(kind, text)
            return Stop(ErrorClass.CONFIGURATION, f"Sender refused: {text}", pause=True)
        code, reply = smtp.rcpt(message.email)
        if code not in (250, 251):
            kind, text, temporary = smtp_stop_or_failure(code, reply, "rcpt")
            _reset(smtp)
            if code == 421:  # the server is closing the connection
                return Stop(kind, text)
            if temporary:
                result.deferred[message.pk] = (kind, text)
                return None
            result.failed[message.pk] = (kind, text)
            if is_hard_bounce(code, reply):
                result.suppress.append(message.email)
            return None
        try:
            code, reply = smtp.data(data)
        except smtplib.SMTPDataError as error:  # DATA itself refused: nothing sent
            code, reply = error.smtp_code, _as_bytes(error.smtp_error)
            _reset(smtp)
        except (smtplib.SMTPServerDisconnected, OSError) as error:
            # The mail may have reached the server before the line broke.
            result.in_doubt.append(message.pk)
            return Stop(ErrorClass.CONNECTION, f"Connection lost during DATA: {error}")
        if code == 250:
            result.sent[message.pk] = prepared.message_id(message.pk)
            return None
        kind, text, temporary = smtp_stop_or_failure(code, reply, "data")
        if temporary:
            return Stop(kind, text)
        result.failed[message.pk] = (kind, text)
        return None


def _reset(smtp) -> None:
    # If the connection broke, the next command says so.
    with contextlib.suppress(smtplib.SMTPException, OSError):
        smtp.rset()


class RawTransport(_Transport):
    """A backend that takes finished bytes (the local outbox)."""

    def deliver(self, prepared: PreparedMail, messages: list[Message]) -> ChunkResult:
        result = ChunkResult()
        for message in messages:
            self.backend.send_raw(
                prepared.envelope_from, [message.email], prepared.as_bytes(message)
            )
            result.sent[message.pk] = prepared.message_id(message.pk)
        return result


def _esp_stop_or_failure(error: AnymailAPIError) -> Stop | tuple:
    """A Stop for what retrying may fix, else (class, text) failing the message."""
    status = error.status_code
    text = str(error).splitlines()[0][:500]
    if status is None:
        return Stop(ErrorClass.CONNECTION, text)
    if status == 429:
        return Stop(ErrorClass.THROTTLED, text)
    if status >= 500:
        return Stop(ErrorClass.TEMPORARY, text)
    if status in (401, 403):
        return Stop(ErrorClass.CONFIGURATION, text, pause=True)
    return (ErrorClass.REJECTED, text)


def _timed_out(error: Exception) -> bool:
    # The request went out and no answer came: the ESP may have taken it.
    return isinstance(error.__cause__ or error.__context__, requests.Timeout)


class DjangoTransport(_Transport):
    """One Django message per mail, for any backend."""

    def deliver(self, prepared: PreparedMail, messages: list[Message]) -> ChunkResult:
        result = ChunkResult()
        for index, message in enumerate(messages):
            stop = self._one(prepared, message, result)
            if stop:
                result.stop = stop
                result.untried = [m.pk for m in messages[index:] if m.pk not in result.in_doubt]
                break
        return result

    def _one(self, prepared, message, result) -> Stop | None:
        email = prepared.as_email(message)
        try:
            accepted = self.backend.send_messages([email])
        except AnymailRecipientsRefused as error:
            result.failed[message.pk] = (ErrorClass.REFUSED, str(error).splitlines()[0])
            return None
        except AnymailAPIError as error:
            if _timed_out(error):
                result.in_doubt.append(message.pk)
                return Stop(ErrorClass.UNKNOWN, f"No answer from the ESP: {error}")
            outcome = _esp_stop_or_failure(error)
            if isinstance(outcome, Stop):
                return outcome
            result.failed[message.pk] = outcome
            return None
        except smtplib.SMTPRecipientsRefused as error:
            code, reply = next(iter(error.recipients.values()))
            kind, text, temporary = smtp_stop_or_failure(code, _as_bytes(reply), "rcpt")
            if code == 421:
                return Stop(kind, text)
            if temporary:
                result.deferred[message.pk] = (kind, text)
                return None
            result.failed[message.pk] = (kind, text)
            if is_hard_bounce(code, _as_bytes(reply)):
                result.suppress.append(message.email)
            return None
        except smtplib.SMTPResponseException as error:
            kind, text, temporary = smtp_stop_or_failure(
                error.smtp_code, _as_bytes(error.smtp_error), "data"
            )
            if temporary:
                return Stop(kind, text)
            result.failed[message.pk] = (kind, text)
            return None
        except (smtplib.SMTPServerDisconnected, OSError) as error:
            return Stop(ErrorClass.CONNECTION, f"Connection lost: {error}")
        if not accepted:
            result.failed[message.pk] = (ErrorClass.REJECTED, "The backend did not take the mail.")
            return None
        status = getattr(email, "anymail_status", None)
        recipient = status.recipients.get(message.email) if status else None
        if recipient is not None and recipient.status in ("rejected", "invalid"):
            result.failed[message.pk] = (ErrorClass.REFUSED, f"The ESP {recipient.status} it.")
            return None
        esp_id = recipient.message_id if recipient is not None else None
        result.sent[message.pk] = str(
            esp_id if esp_id is not None else email.extra_headers["Message-ID"]
        )
        return None


class EspBatchTransport(_Transport):
    """A whole chunk in one API call: the content once, with the ESP filling in
    each recipient's fields, tokens and headers from merge data."""

    def deliver(self, prepared: PreparedMail, messages: list[Message]) -> ChunkResult:
        # One API call per language version of the mail.
        by_locale: dict[str, list[Message]] = {}
        for message in messages:
            by_locale.setdefault(prepared.message_locale(message), []).append(message)
        result = ChunkResult()
        for locale, group in by_locale.items():
            if result.stop:
                result.untried += [m.pk for m in group]
                continue
            part = self._deliver_locale(prepared, group, locale)
            result.sent.update(part.sent)
            result.failed.update(part.failed)
            result.in_doubt += part.in_doubt
            result.untried += part.untried
            result.stop = part.stop
        return result

    def _deliver_locale(self, prepared: PreparedMail, messages: list[Message], locale: str):
        result = ChunkResult()
        template = prepared.merge_template(locale)
        by_email = {message.email: message for message in messages}
        email = EmailMultiAlternatives(
            subject=template.subject,
            body=template.text,
            from_email=prepared.from_header,
            to=list(by_email),
            reply_to=[prepared.reply_to] if prepared.reply_to else None,
            headers={"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
        )
        email.attach_alternative(template.html, "text/html")
        email_annotate(email, kind=prepared.kind, message_ids=[m.pk for m in messages])
        email.merge_data, email.merge_metadata, email.merge_headers = {}, {}, {}
        for address, message in by_email.items():
            values, headers = prepared.merge_values(message)
            email.merge_data[address] = values
            email.merge_metadata[address] = {"message_id": str(message.pk)}
            email.merge_headers[address] = headers
        try:
            self.backend.send_messages([email])
        except AnymailRecipientsRefused as error:
            text = str(error).splitlines()[0]
            result.failed = {m.pk: (ErrorClass.REFUSED, text) for m in messages}
            return result
        except AnymailAPIError as error:
            if _timed_out(error):
                result.in_doubt = [m.pk for m in messages]
                result.stop = Stop(ErrorClass.UNKNOWN, f"No answer from the ESP: {error}")
                return result
            outcome = _esp_stop_or_failure(error)
            if isinstance(outcome, Stop):
                result.stop = outcome
                result.untried = [m.pk for m in messages]
            else:
                result.failed = {m.pk: outcome for m in messages}
            return result
        for address, status in email.anymail_status.recipients.items():
            message = by_email.get(address)
            if message is None:
                continue
            if status.status in ("rejected", "invalid"):
                result.failed[message.pk] = (ErrorClass.REFUSED, f"The ESP {status.status} it.")
            else:
                esp_id = status.message_id
                result.sent[message.pk] = str(
                    esp_id if esp_id is not None else prepared.message_id(message.pk)
                )
        return result
