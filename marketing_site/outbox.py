"""An email backend that writes each mail as an .eml file into a folder.

The default for a local run: every mail can be opened in a mail client, and
its links point at the running site.
"""

import os
import uuid
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone


class OutboxEmailBackend(BaseEmailBackend):
    def __init__(self, *args, outbox_dir=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.outbox_dir = Path(outbox_dir or settings.EMAIL_OUTBOX_DIR)

    def send_messages(self, email_messages) -> int:
        for message in email_messages:
            self._write(message.message().as_bytes(linesep="\r\n"))
        return len(email_messages)

    def send_raw(self, envelope_from: str, recipients: list[str], data: bytes) -> None:
        """A finished mail (the sending pipeline prepares its own bytes)."""
        self._write(data)

    def _write(self, data: bytes) -> None:
        self.outbox_dir.mkdir(parents=True, exist_ok=True)
        name = f"{timezone.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:12]}.eml"
        # Write then rename, so a reader never sees half a mail.
        partial = self.outbox_dir / f".{name}.part"
        partial.write_bytes(data)
        os.replace(partial, self.outbox_dir / name)
