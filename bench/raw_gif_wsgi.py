"""The ceiling for tracking_load: a bare WSGI app answering a 43-byte GIF."""

import base64

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
HEADERS = [("Content-Type", "image/gif"), ("Content-Length", str(len(PIXEL)))]


def application(environ, start_response):
    start_response("200 OK", HEADERS)
    return [PIXEL]
