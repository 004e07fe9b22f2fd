"""The merge-field language of campaign content, and its fast substitution.

Staff write `{{ contact.first_name }}` or `{{ contact.first_name|default:"there" }}`.
Only the fields below exist: content is never rendered with a template engine
against real objects, so a campaign cannot reach anything else.
"""

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from contacts.consent import preferences_url

FIELDS = {
    "contact.email",
    "contact.first_name",
    "contact.last_name",
    "contact.full_name",
    "contact.locale",
    "contact.preferences_url",
    "coupon.code",
    "coupon.expires",
    # The event that started an automation's mail (campaigns.event_content).
    "order.number",
    "order.total",
    "order.lines",
    "order.delivery_address",
    "order.payment_url",
    "cart.items",
    "cart.total",
    "cart.checkout_url",
    "product.name",
    "product.price",
    "product.url",
    "product.card",
}
# Attribute names are plain words; "_" first would look like a walk into internals.
ATTRIBUTE_FIELD = re.compile(r"^contact\.attributes\.([A-Za-z0-9]\w*)$")
_TAG = re.compile(r"{{(.*?)}}", re.DOTALL)
_EXPRESSION = re.compile(
    r"""^\s*(?P<path>[\w.]+)\s*(?:\|\s*default\s*:\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'))?\s*$"""
)


class TemplateProblem(ValueError):
    """Content that cannot be rendered; the message is meant for staff."""


class Fragment(str):
    """A merge value that is HTML built by the product itself, every datum in
    it escaped (an order's lines as a table): the HTML part gets `html`
    as it is, the text part and the subject the plain string."""

    html: str

    def __new__(cls, text: str, markup: str):
        value = super().__new__(cls, text)
        value.html = markup
        return value


@dataclass(frozen=True)
class MergeField:
    path: str
    default: str = ""


def _field_from_expression(expression: str, where: str) -> MergeField:
    match = _EXPRESSION.match(expression)
    if not match:
        raise TemplateProblem(
            f"{where}: “{{{{{expression}}}}}” is not a field. "
            'Write {{ contact.first_name }} or {{ contact.first_name|default:"there" }}.'
        )
    path = match["path"]
    if path not in FIELDS and not ATTRIBUTE_FIELD.match(path):
        own = [field for field in FIELDS if field.startswith(("contact.", "coupon.code"))]
        known = ", ".join(
            [*sorted([*own, "contact.attributes.<name>"]), "order.…", "cart.…", "product.…"]
        )
        raise TemplateProblem(f"{where}: unknown field “{path}”. Known fields: {known}.")
    return MergeField(path, match["dq"] or match["sq"] or "")


def parse(text: str, where: str) -> list[str | MergeField]:
    """Split text into literal strings and merge fields, or raise TemplateProblem."""
    parts: list[str | MergeField] = []
    position = 0
    for match in _TAG.finditer(text):
        parts.append(text[position : match.start()])
        parts.append(_field_from_expression(match[1], where))
        position = match.end()
    rest = text[position:]
    if "{{" in rest:
        raise TemplateProblem(f"{where}: a “{{{{” is never closed with “}}}}”.")
    if "{%" in text:
        raise TemplateProblem(f"{where}: template tags ({{% … %}}) are not allowed, only fields.")
    parts.append(rest)
    return [part for part in parts if part != ""]


def field_value(field: MergeField, values: dict[str, str]) -> str:
    return values.get(field.path) or field.default


def recipient_values(
    contact, coupon_code: str = "", coupon_expires_at: datetime | None = None
) -> dict[str, str]:
    """Everything a merge field may show about one recipient."""
    values = {
        "contact.email": contact.email,
        "contact.first_name": contact.first_name,
        "contact.last_name": contact.last_name,
        "contact.full_name": f"{contact.first_name} {contact.last_name}".strip(),
        "contact.locale": contact.locale,
        # The recipient's own signed link (contacts.consent), in every footer.
        "contact.preferences_url": preferences_url(contact) if contact.pk else "",
        "coupon.code": coupon_code,
    }
    if coupon_expires_at is not None:
        values["coupon.expires"] = coupon_expiry_text(
            coupon_expires_at, contact.time_zone or "UTC", contact.locale or "en"
        )
    for key, value in (contact.attributes or {}).items():
        if isinstance(value, str | int | float):
            values[f"contact.attributes.{key}"] = str(value)
    return values


_MONTHS = {
    "en": "January February March April May June July August September October November December",
    "ru": "января февраля марта апреля мая июня июля августа сентября октября ноября декабря",
}


@lru_cache(maxsize=4096)
def coupon_expiry_text(expires_at: datetime, time_zone: str, locale: str) -> str:
    """When a coupon expires, in the recipient's own time zone and language:
    "31 December 2026, 23:59 (Europe/Berlin)". Cached: few distinct zones."""
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone, time_zone = ZoneInfo("UTC"), "UTC"
    local = expires_at.astimezone(zone)
    months = _MONTHS.get(locale.split("-")[0].lower(), _MONTHS["en"]).split()
    return f"{local.day} {months[local.month - 1]} {local.year}, {local:%H:%M} ({time_zone})"


def merge_field_choices(attribute_names: list[str]) -> list[tuple[str, str]]:
    """What the composer's merge-field picker offers: (label, tag to insert)."""
    choices = [
        ("First name", '{{ contact.first_name|default:"there" }}'),
        ("Last name", "{{ contact.last_name }}"),
        ("Full name", '{{ contact.full_name|default:"there" }}'),
        ("Email", "{{ contact.email }}"),
        ("Coupon code", "{{ coupon.code }}"),
        ("Coupon expiry", "{{ coupon.expires }}"),
    ]
    choices += [
        (f"Attribute: {name}", f"{{{{ contact.attributes.{name} }}}}")
        for name in attribute_names
        if ATTRIBUTE_FIELD.match(f"contact.attributes.{name}")
    ]
    return choices
