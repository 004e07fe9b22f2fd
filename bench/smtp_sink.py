"""A local SMTP server (aiosmtpd) that accepts and discards mail, counting it,
in a process of its own so its CPU is not spent in the measuring process.

    sink = SinkProcess()          # starts `python -m bench.smtp_sink`
    sink.port                     # where it listens, on 127.0.0.1
    sink.stats()                  # Stats(mails, bytes, recipients)
    sink.reset()
    sink.stop()

The child reads one command a line on stdin ("stats", "reset") and answers
one line on stdout; it exits when stdin closes, so it never outlives the
benchmark. The baseline and the product talk to the same sinks, so the
ratio is what the product adds.
"""

import asyncio
import logging
import socket
import subprocess
import sys
from dataclasses import dataclass

READY = "ready"


@dataclass(frozen=True)
class Stats:
    mails: int  # mails accepted (one per recipient)
    bytes: int  # of their content
    recipients: int  # distinct recipient addresses


class _Counter:
    """aiosmtpd handler: take every mail, keep nothing but counts."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.mails = 0
        self.bytes = 0
        self.recipients: set[str] = set()

    async def handle_DATA(self, server, session, envelope):
        self.mails += len(envelope.rcpt_tos)
        self.bytes += len(envelope.original_content or b"")
        self.recipients.update(envelope.rcpt_tos)
        return "250 2.0.0 Ok: queued"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve() -> None:
    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)
    counter = _Counter()
    port = _free_port()
    controller = Controller(counter, hostname="127.0.0.1", port=port, server_hostname="sink")
    controller.start()
    print(READY, port, flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "stats":
            # Read in the sink's own loop, so no mail is half counted.
            future = asyncio.run_coroutine_threadsafe(_stats(counter), controller.loop)
            print(*future.result(10), flush=True)
        elif command == "reset":
            controller.loop.call_soon_threadsafe(counter.reset)
            print("ok", flush=True)
    controller.stop()


async def _stats(counter: _Counter) -> tuple[int, int, int]:
    return counter.mails, counter.bytes, len(counter.recipients)


class SinkProcess:
    def __init__(self):
        from bench.harness import child_start

        self.process = child_start(
            [sys.executable, "-m", "bench.smtp_sink"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        word, port = self.process.stdout.readline().split()
        assert word == READY, word
        self.port = int(port)

    def _ask(self, command: str) -> str:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self.process.stdout.readline().strip()

    def stats(self) -> Stats:
        return Stats(*(int(n) for n in self._ask("stats").split()))

    def reset(self) -> None:
        self._ask("reset")

    def stop(self) -> None:
        from bench.harness import child_stop

        if self.process.poll() is None:
            self.process.stdin.close()
        child_stop(self.process, grace=5)

    @property
    def pid(self) -> int:
        return self.process.pid


if __name__ == "__main__":
    serve()
