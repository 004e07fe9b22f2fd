"""The merge-field language of campaign content, and its fast substitution.

Staff write `{{ contact.first_name }}` or `{{ contact.first_name|default:"there" }}`.
Only the fields below exist: content is never rendered with a template engine
against real objects, so a campaign cannot reach anything else.
"""

import re
from dataclasses import dataclass

from contacts.consent import preferences_url

FIELDS = {
    "contact.email",
    "contact.first_name",
    "contact.last_name",
    "contact.full_name",
    "contact.locale",
    "contact.preferences_url",
    "coupon.code",
}
ATTRIBUTE_FIELD = re.compile(r"^contact\.attributes\.(\w+)$")
_TAG = re.compile(r"{{(.*?)}}", re.DOTALL)
_EXPRESSION = re.compile(
    r"""^\s*(?P<path>[\w.]+)\s*(?:\|\s*default\s*:\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'))?\s*$"""
)


class TemplateProblem(ValueError):
    """Content that cannot be rendered; the message is meant for staff."""


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
        known = ", ".join(sorted(FIELDS | {"contact.attributes.<name>"}))
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


def recipient_values(contact, coupon_code: str = "") -> dict[str, str]:
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
    for key, value in (contact.attributes or {}).items():
        if isinstance(value, str | int | float):
            values[f"contact.attributes.{key}"] = str(value)
    return values
