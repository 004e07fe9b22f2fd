"""Checks on what staff, imports and the shop store."""

from django.core.validators import URLValidator

# Links end up in mails, the web view and staff pages: only web addresses, so a
# "javascript:" or "data:" URL can never become a clickable link.
http_url_validator = URLValidator(
    schemes=["http", "https"], message="Enter a web address starting with http:// or https://."
)
