"""Erasing a contact's personal data across the apps.

Apps above contacts keep copies of a contact's data (the address on each
Message, the client address on each Event). contacts cannot import them, so
each registers an eraser at start-up (its AppConfig.ready); the erasure
service calls every one inside its transaction, then deletes the contact.
"""

from collections.abc import Callable

# Each takes the contact's id and returns how many rows it blanked.
Eraser = Callable[[int], int]
_erasers: dict[str, Eraser] = {}


def eraser_register(name: str, eraser: Eraser) -> None:
    _erasers[name] = eraser


def erasers() -> dict[str, Eraser]:
    return dict(_erasers)
