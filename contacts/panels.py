"""Panels other apps add to a contact's page. contacts knows nothing of
campaigns or tracking; they register what they know about a contact here at
start-up (for example tracking's time line of the mails a contact got)."""

from collections.abc import Callable
from dataclasses import dataclass

from contacts.models import Contact


@dataclass(frozen=True)
class Panel:
    template: str
    context: Callable[[Contact], dict]


_PANELS: dict[str, Panel] = {}


def contact_panel_register(name: str, *, template: str, context: Callable[[Contact], dict]):
    _PANELS[name] = Panel(template, context)


def contact_panels(contact: Contact) -> list[tuple[str, dict]]:
    """(template, context) of each registered panel, in registration order."""
    return [(panel.template, panel.context(contact)) for panel in _PANELS.values()]
