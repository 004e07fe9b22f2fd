"""Checks on what staff, imports and the shop store."""

from django.core.validators import RegexValidator, URLValidator

# Links end up in mails, the web view and staff pages: only web addresses, so a
# "javascript:" or "data:" URL can never become a clickable link.
http_url_validator = URLValidator(
    schemes=["http", "https"], message="Enter a web address starting with http:// or https://."
)

# Brand colours go into the mail's CSS: only "#rrggbb", nothing that could end a rule.
hex_colour_validator = RegexValidator(
    r"^#[0-9a-fA-F]{6}$", message="Enter a colour as # and six hex digits, e.g. #4f46e5."
)
