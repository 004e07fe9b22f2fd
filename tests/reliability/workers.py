"""Real `celery worker` processes that send through the SMTP sink, each with
its own settings and queues, and waits that say what went wrong."""

import time
from collections.abc import Callable
from pathlib import Path

from campaigns.models import Send
from campaigns.tasks import send_recover_task
from tests.conftest import WorkerProcess, worker_env
from tests.reliability.helpers import statuses
from tests.reliability.smtp_sink import SmtpSink

FINISHED = (Send.Status.DONE, Send.Status.FAILED, Send.Status.CANCELLED, Send.Status.PAUSED)


class Workers:
    def __init__(self, tmp_path: Path, sink: SmtpSink):
        self.tmp_path = tmp_path
        self.sink = sink
        self.started: list[WorkerProcess] = []

    def start(self, name: str = "worker", *, queues: list[str] | None = None, **settings):
        """A solo worker (one task at a time, in the worker process itself)
        on `queues` (default: all), with settings such as SEND_BATCH_SIZE=20
        passed through its environment: the test process's settings do not
        reach it."""
        worker = WorkerProcess(
            outbox=self.tmp_path / f"{name}-outbox", log=self.tmp_path / f"{name}.log", name=name
        )
        env = worker_env(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST=self.sink.host,
            EMAIL_PORT=str(self.sink.port),
            EMAIL_TIMEOUT="5",
            **{setting: str(value) for setting, value in settings.items()},
        )
        self.started.append(worker)
        worker.start(env, queues=queues, solo=True)
        return worker

    def stop_all(self) -> None:
        for worker in self.started:
            worker.stop(grace=3)

    def logs(self, lines: int = 40) -> str:
        return "\n".join(
            f"--- last {lines} lines of {worker.log.name} ---\n"
            + "\n".join(worker.log.read_text(errors="replace").splitlines()[-lines:])
            for worker in self.started
        )

    def wait_for(
        self,
        condition: Callable,
        *,
        what: str,
        timeout: float = 30,
        send: Send | None = None,
        every: Callable[[], None] | None = None,
        stop_early: bool = True,
    ):
        """Poll `condition` until it is true. On time-out, or when `send`
        stops for good meanwhile (unless not `stop_early`), fail with the
        state of the send, the sink and the workers' logs. `every` runs at
        each poll."""
        __tracebackhide__ = True
        deadline = time.monotonic() + timeout
        while not (result := condition()):
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"Timed out after {timeout} s waiting for {what}.\n{self.state(send)}"
                )
            if stop_early and send is not None and _stopped(send):
                raise AssertionError(f"The send stopped before {what}.\n{self.state(send)}")
            if every is not None:
                every()
            time.sleep(0.1)
        return result

    def wait_for_send(
        self,
        send: Send,
        expect: str = Send.Status.DONE,
        *,
        timeout: float = 45,
        recover: bool = False,
    ) -> Send:
        """Wait until the send has finished or paused and its batches have let
        go of their messages; fail with the whole story unless it is `expect`.
        `recover` runs the recovery task here every second, as beat would
        (with the test process's settings.SEND_CLAIM_STALE_SECONDS)."""
        __tracebackhide__ = True

        def settled():
            send.refresh_from_db()
            counts = statuses(send)
            # A batch in flight puts back what it holds at its next chunk;
            # only a paused send keeps queued messages.
            left = counts["sending"] or (send.status != Send.Status.PAUSED and counts["queued"])
            return send.status in FINISHED and not left

        self.wait_for(
            settled,
            what=f"send #{send.pk} to finish",
            timeout=timeout,
            send=send,
            every=_at_most_every(1.0, send_recover_task) if recover else None,
            stop_early=False,
        )
        if send.status != expect:
            raise AssertionError(
                f"Send #{send.pk} ended {send.status}, not {expect}.\n{self.state(send)}"
            )
        return send

    def state(self, send: Send | None) -> str:
        lines = []
        if send is not None:
            send.refresh_from_db()
            lines.append(
                f"Send #{send.pk}: {send.status}, pause reason {send.pause_reason!r}, "
                f"error {send.error!r}; messages {dict(statuses(send))}"
            )
        lines += [self.sink.summary(), self.logs()]
        return "\n".join(lines)


def _at_most_every(seconds: float, action: Callable[[], None]) -> Callable[[], None]:
    last = -seconds

    def tick():
        nonlocal last
        if time.monotonic() - last >= seconds:
            last = time.monotonic()
            action()

    return tick


def _stopped(send: Send) -> bool:
    """Paused, failed or cancelled: no more mail will come without staff."""
    stopped = [Send.Status.PAUSED, Send.Status.FAILED, Send.Status.CANCELLED]
    return Send.objects.filter(pk=send.pk, status__in=stopped).exists()
