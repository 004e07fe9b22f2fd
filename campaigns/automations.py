"""Automations: mails triggered by shop events or time rules.

The shop API (tracking.shop_api) stores each event as a contacts.ShopEvent and
then calls `on_shop_events` in the same transaction, so a pending step exists
exactly when its event does."""

from collections.abc import Sequence

from contacts.models import ShopEvent


def on_shop_events(events: Sequence[ShopEvent]) -> int:
    """Schedule the automation steps the newly stored events start, and cancel
    the pending ones they end (an order paid, a cart ordered). Returns the
    number of steps scheduled."""
    return 0
