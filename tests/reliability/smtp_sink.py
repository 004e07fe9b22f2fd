"""A local SMTP server that takes mail like a real one and misbehaves on cue.

It runs in the test process (aiosmtpd, in a thread of its own) and records
every mail it accepts. Tests tell it to be slow, to answer an error code for a
while or for the next few mails, to refuse an address for good, or to go down
and come back on the same port.
"""

import asyncio
import logging
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

logging.getLogger("mail.log").setLevel(logging.WARNING)  # one line per connection otherwise

STAGES = ("MAIL", "RCPT", "DATA")
NO_SUCH_USER = "550 5.1.1 No such user"
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)
_TO = re.compile(rb"^To:[ \t]*([^\r\n]+)", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class Mail:
    """One mail the sink accepted, for one recipient."""

    recipient: str
    message_id: str
    to: str
    at: float  # time.monotonic() when the sink said 250


@dataclass
class _Fault:
    reply: str
    stage: str
    until: float | None  # time.monotonic(), or None
    left: int | None  # answers still to give, or None

    def take(self, stage: str, now: float) -> bool:
        if stage != self.stage or (self.until is not None and now >= self.until):
            return False
        if self.left is not None:
            if self.left <= 0:
                return False
            self.left -= 1
        return True


def _free_port(host: str) -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class _Server(SMTP):
    """aiosmtpd's server, keeping count of its open connections so that
    `SmtpSink.down()` can cut them like a crashed server would."""

    def connection_made(self, transport):
        super().connection_made(transport)
        self.event_handler.connections.add(self)

    def connection_lost(self, error):
        self.event_handler.connections.discard(self)
        super().connection_lost(error)


class _Controller(Controller):
    def factory(self):
        return _Server(self.handler, **self.SMTP_kwargs)


class SmtpSink:
    def __init__(self, host: str = "127.0.0.1"):
        self.host = host
        self.port = _free_port(host)
        self.delay = 0.0  # seconds before each mail is accepted
        self.fault_answers = 0
        self.connections: set[_Server] = set()  # touched in the sink's thread only
        self._lock = threading.Lock()
        self._mails: list[Mail] = []
        self._faults: list[_Fault] = []
        self._refused: set[str] = set()
        self._after: list[tuple[int, Callable[[], None]]] = []
        self._controller: _Controller | None = None

    # --- Up and down ---------------------------------------------------------

    @property
    def is_up(self) -> bool:
        return self._controller is not None

    def up(self) -> None:
        self._controller = _Controller(
            self, hostname=self.host, port=self.port, server_hostname="sink.test"
        )
        self._controller.start()

    def down(self) -> None:
        """Stop listening and drop every open connection mid-conversation."""
        controller, self._controller = self._controller, None
        dropped = threading.Event()

        def drop():
            for server in list(self.connections):
                if server.transport is not None:
                    server.transport.abort()
            controller.loop.call_soon(dropped.set)  # after the aborts took effect

        controller.loop.call_soon_threadsafe(drop)
        dropped.wait(5)
        controller.stop()

    # --- Cues ----------------------------------------------------------------

    def fail(
        self,
        reply: str,
        *,
        at: str = "RCPT",
        seconds: float | None = None,
        count: int | None = None,
    ) -> None:
        """Answer `reply` (e.g. "451 4.3.0 Try again later") at MAIL, RCPT or
        DATA for the next `seconds`, or to the next `count` mails. A 421 also
        closes the connection, as servers do."""
        assert at in STAGES and (seconds is not None or count is not None)
        until = time.monotonic() + seconds if seconds is not None else None
        with self._lock:
            self._faults.append(_Fault(reply, at, until, count))

    def refuse(self, *addresses: str) -> None:
        """Answer "550 5.1.1 No such user" at RCPT for these addresses, always."""
        with self._lock:
            self._refused.update(address.lower() for address in addresses)

    def after(self, count: int, action: Callable[[], None]) -> None:
        """Run `action` in the sink's thread the moment the `count`-th mail is
        accepted, before its sender hears the 250 (e.g. to kill the sender)."""
        with self._lock:
            self._after.append((count, action))

    # --- What it received ----------------------------------------------------

    def mails(self) -> list[Mail]:
        with self._lock:
            return list(self._mails)

    def count(self) -> int:
        with self._lock:
            return len(self._mails)

    def received(self) -> Counter:
        """How many mails each recipient got."""
        return Counter(mail.recipient for mail in self.mails())

    def duplicates(self) -> dict[str, int]:
        return {address: n for address, n in self.received().items() if n > 1}

    def summary(self) -> str:
        received = self.received()
        return (
            f"SMTP sink on port {self.port} ({'up' if self.is_up else 'down'}): "
            f"{sum(received.values())} mails to {len(received)} recipients, "
            f"{len(self.duplicates())} recipients more than once, "
            f"{self.fault_answers} error answers given"
        )

    # --- aiosmtpd's handler hooks ----------------------------------------------

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if reply := self._fault("MAIL", server):
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if reply := self._fault("RCPT", server):
            return reply
        with self._lock:
            refused = address.lower() in self._refused
        if refused:
            return NO_SUCH_USER
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)  # a client that leaves meanwhile cancels this
        if reply := self._fault("DATA", server):
            return reply
        self._accept(envelope)
        return "250 2.0.0 Ok: queued"

    def _fault(self, stage: str, server: _Server) -> str | None:
        now = time.monotonic()
        with self._lock:
            fault = next((f for f in self._faults if f.take(stage, now)), None)
            if fault is None:
                return None
            self.fault_answers += 1
        if fault.reply.startswith("421") and server.transport is not None:
            # Closes once the reply, written first, has gone out.
            asyncio.get_running_loop().call_soon(server.transport.close)
        return fault.reply

    def _accept(self, envelope) -> None:
        head = _HEAD_END.split(envelope.original_content, maxsplit=1)[0]
        message_id = _MESSAGE_ID.search(head)
        to = _TO.search(head)
        now = time.monotonic()
        with self._lock:
            for recipient in envelope.rcpt_tos:
                self._mails.append(
                    Mail(
                        recipient=recipient.lower(),
                        message_id=message_id[1].decode() if message_id else "",
                        to=to[1].decode().strip() if to else "",
                        at=now,
                    )
                )
            due = [action for n, action in self._after if n <= len(self._mails)]
            self._after = [(n, action) for n, action in self._after if n > len(self._mails)]
        for action in due:
            action()
