"""The site as a WSGI application (gunicorn marketing_site.wsgi).

The open pixel and the click redirect are answered before Django's request
handling (tracking.hot_path); every other request goes to Django.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketing_site.settings")

django_application = get_wsgi_application()

from tracking.hot_path import HotPathApp  # noqa: E402  (needs Django set up)

application = HotPathApp(django_application)
