"""A short way through the site for the open pixel and the click redirect.

These two answer mail clients and scanners by the thousand per second. They
use no session, no user, no CSRF token (their token is in the path), no
template and no page policy (they answer a GIF or a redirect), so running
the staff site's middleware for them (sessions, authentication, two-factor,
messages, django-axes, the CSP builder) only costs time. Placed first in
MIDDLEWARE, this hands them straight to their views; everything else goes
down the normal chain untouched.
"""

from django.urls import reverse

from tracking import views


class RecipientHitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.routes = None

    def _routes(self):
        def around(name: str) -> tuple[str, str]:
            before, _, after = reverse(f"tracking:{name}", kwargs={"token": "TOKEN"}).partition(
                "TOKEN"
            )
            return before, after

        return [(*around("open"), views.open_pixel), (*around("click"), views.click)]

    def __call__(self, request):
        if self.routes is None:
            self.routes = self._routes()
        path = request.path_info
        for before, after, view in self.routes:
            if path.startswith(before) and path.endswith(after):
                token = path[len(before) : len(path) - len(after)]
                if token and "/" not in token:
                    return view(request, token)
        return self.get_response(request)
