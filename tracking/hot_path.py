"""The open pixel and the click redirect, answered before Django's request
handling: the hottest URLs of the product, hit by mail clients, privacy
proxies and link scanners by the thousand per second.

`HotPathApp` wraps the site's WSGI application (marketing_site.wsgi). For a
pixel or a click with a genuine token it verifies the token, appends the hit
to the event buffer (the same single INSERT as tracking.services.hit_record)
and answers the GIF or the redirect itself: no request object, no middleware,
no ORM. Everything else, and every case it does not settle alone (a click on
a link not yet cached, a message that no longer exists, a database without
PostgreSQL), goes on to Django, which answers exactly as it always does.

The buffer is written over a connection of its own per thread, on which the
INSERT is a prepared statement and commits do not wait for the disk when
TRACKING_ASYNC_COMMIT is on (the crash window is the same as the endpoint's:
the last fraction of a second of hits if the database server itself dies).
"""

import logging
import threading

import psycopg
from django.conf import settings
from django.db import connections
from django.utils.encoding import iri_to_uri

from campaigns import tokens
from campaigns.recipient_urls import recipient_url_parts
from tracking import services
from tracking.machine import HEAD
from tracking.views import NO_STORE, PIXEL

logger = logging.getLogger(__name__)

_GIF_HEADERS = [
    ("Content-Type", "image/gif"),
    ("Content-Length", str(len(PIXEL))),
    ("Cache-Control", NO_STORE),
]
_DJANGO = object()  # "let Django answer this one"


class _Buffer(threading.local):
    connection: psycopg.Connection | None = None


def _connect() -> psycopg.Connection:
    params = connections["default"].settings_dict
    options = "-c synchronous_commit=off" if settings.TRACKING_ASYNC_COMMIT else ""
    return psycopg.connect(
        dbname=params["NAME"],
        user=params.get("USER") or None,
        password=params.get("PASSWORD") or None,
        host=params.get("HOST") or None,
        port=params.get("PORT") or None,
        options=options,
        autocommit=True,
        prepare_threshold=0,  # prepared from the first INSERT on
        connect_timeout=5,
    )


class HitBuffer:
    """Appends hits over one connection per thread; reconnects once when the
    kept connection has died."""

    def __init__(self):
        self.local = _Buffer()

    def append(self, params: list) -> str:
        for attempt in (1, 2):
            try:
                if self.local.connection is None or self.local.connection.closed:
                    self.local.connection = _connect()
                cursor = self.local.connection.execute(services.HIT_SQL, params)
                return services.RECORDED if cursor.rowcount else services.CAPPED
            except psycopg.errors.ForeignKeyViolation:
                return services.UNKNOWN_MESSAGE
            except psycopg.OperationalError as error:
                self.close()
                if attempt == 2:
                    logger.warning("Could not record a hit of message %s: %s", params[0], error)
            except psycopg.Error as error:
                logger.warning("Could not record a hit of message %s: %s", params[0], error)
                break
        return services.FAILED

    def close(self) -> None:
        if self.local.connection is not None:
            try:
                self.local.connection.close()
            finally:
                self.local.connection = None


class HotPathApp:
    def __init__(self, application):
        self.application = application
        self.buffer = HitBuffer()
        self.routes = None

    def _routes(self):
        site = len(settings.SITE_URL)

        def around(purpose: str) -> tuple[str, str]:
            before, after = recipient_url_parts(purpose)
            return before[site:], after

        return [(*around("open"), self._open), (*around("click"), self._click)]

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            if self.routes is None:
                enabled = connections["default"].vendor == "postgresql"
                self.routes = self._routes() if enabled else []
            path = environ.get("PATH_INFO", "")
            for before, after, answer in self.routes:
                if path.startswith(before) and path.endswith(after):
                    token = path[len(before) : len(path) - len(after)]
                    if token and "/" not in token:
                        response = answer(environ, token)
                        if response is not _DJANGO:
                            status, headers, body = response
                            start_response(status, headers)
                            head = environ["REQUEST_METHOD"] == "HEAD"
                            return [b"" if head else body]
                    break
        return self.application(environ, start_response)

    def _hit(self, environ, message_id: int, kind: str, **extra) -> str:
        params = services.hit_params(
            message_id=message_id,
            kind=kind,
            ip=services.client_ip(environ),
            user_agent=environ.get("HTTP_USER_AGENT", ""),
            reason=HEAD if environ["REQUEST_METHOD"] == "HEAD" else "",
            **extra,
        )
        return self.buffer.append(params)

    def _open(self, environ, token: str):
        message_id = tokens.message_id_from_token(token, purpose=tokens.OPEN)
        if message_id is not None:
            self._hit(environ, message_id, "opened")
        # A broken pixel shows as a broken image in the mail: always a GIF.
        return "200 OK", list(_GIF_HEADERS), PIXEL

    def _click(self, environ, token: str):
        found = tokens.click_from_token(token)
        if found is None:
            return _DJANGO
        message_id, link_index, send_id = found
        url = services.link_cache.get((send_id, link_index)) if send_id else None
        if url is None:  # Django reads the link, and caches it for the next clicks
            return _DJANGO
        outcome = self._hit(environ, message_id, "clicked", link_index=link_index, url=url)
        if outcome == services.UNKNOWN_MESSAGE:
            return _DJANGO
        headers = [
            ("Location", iri_to_uri(services.landing_url(url, token))),
            ("Content-Length", "0"),
            ("Cache-Control", NO_STORE),
        ]
        return "302 Found", headers, b""
