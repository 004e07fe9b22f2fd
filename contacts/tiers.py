"""Engagement tiers, kept current by a periodic task (contacts.tasks).

A contact's activity is their last human open or click (written by tracking);
one who never engaged is measured from their signup instead. With the default
thresholds (settings ENGAGEMENT_*_DAYS):

- new: never opened or clicked, signed up in the last 30 days;
- active: opened or clicked in the last 30 days;
- inactive: no open or click in the last 90 days (or none since signing up
  90+ days ago);
- dormant: no open or click in the last 180 days.

Between 30 and 90 days of silence a contact keeps the tier they have (an
active one stays active, a new one stays new), so nobody flips tier from
one week to the next. Each tier is one set-based UPDATE that touches only
the rows whose tier changes.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from contacts.models import Contact, EngagementTier


def _engaged_since(moment: datetime) -> Q:
    return Q(last_opened_at__gte=moment) | Q(last_clicked_at__gte=moment)


def _silent_since(moment: datetime) -> Q:
    """No open or click since `moment`, and signed up before it."""
    return (
        (Q(last_opened_at__isnull=True) | Q(last_opened_at__lt=moment))
        & (Q(last_clicked_at__isnull=True) | Q(last_clicked_at__lt=moment))
        & Q(created_at__lt=moment)
    )


def tier_conditions(now: datetime | None = None) -> dict[str, Q]:
    """Each tier's condition; a contact in none of them keeps their tier."""
    now = now or timezone.now()

    def ago(days: int) -> datetime:
        return now - timedelta(days=days)

    never_engaged = Q(last_opened_at__isnull=True, last_clicked_at__isnull=True)
    dormant = _silent_since(ago(settings.ENGAGEMENT_DORMANT_DAYS))
    inactive = _silent_since(ago(settings.ENGAGEMENT_INACTIVE_DAYS)) & ~dormant
    return {
        EngagementTier.ACTIVE: _engaged_since(ago(settings.ENGAGEMENT_ACTIVE_DAYS)),
        EngagementTier.NEW: never_engaged & Q(created_at__gte=ago(settings.ENGAGEMENT_NEW_DAYS)),
        EngagementTier.INACTIVE: inactive,
        EngagementTier.DORMANT: dormant,
    }


@transaction.atomic
def tiers_update(*, now: datetime | None = None) -> dict[str, int]:
    """Move every contact whose tier changed; returns how many per tier."""
    moved = {}
    for tier, condition in tier_conditions(now).items():
        moved[tier] = (
            Contact.objects.filter(condition)
            .exclude(engagement_tier=tier)
            .update(engagement_tier=tier)
        )
    return moved
