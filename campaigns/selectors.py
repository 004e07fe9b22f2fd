"""Reads of campaigns for the staff pages, and the preview of a campaign's mail."""

from django.db.models import Count, QuerySet

from campaigns.models import Campaign, Coupon
from campaigns.personalisation import recipient_values
from campaigns.rendering import PreviewUrls, RenderedMail, compile_campaign, personalise
from contacts.models import Contact, Group

# Unique codes are handed out at send time; a preview shows where one goes.
PREVIEW_UNIQUE_CODE = "YOUR-CODE"


def campaign_list() -> QuerySet:
    return Campaign.objects.select_related("created_by").prefetch_related("groups")


def campaign_audience(*, campaign: Campaign) -> QuerySet:
    """The contacts in any of the campaign's groups, each once."""
    return Contact.objects.filter(groups__campaigns=campaign).distinct()


def campaign_audience_size(*, campaign: Campaign) -> int:
    return campaign_audience(campaign=campaign).count()


def campaign_groups(*, campaign: Campaign) -> QuerySet:
    return Group.objects.filter(campaigns=campaign).annotate(contact_count=Count("contacts"))


def campaign_preview_contacts(*, campaign: Campaign, limit: int = 50) -> list[Contact]:
    return list(campaign_audience(campaign=campaign).order_by("email")[:limit])


def campaign_preview_contact(
    *, campaign: Campaign, contact_id: int | None = None, email: str = ""
) -> Contact | None:
    """The contact a preview is personalised for: the one asked for, else the
    first of the audience, else None (a nameless sample is used)."""
    if email:
        return Contact.objects.filter(email=email).first()  # the field normalises it
    if contact_id:
        return Contact.objects.filter(pk=contact_id).first()
    return campaign_audience(campaign=campaign).order_by("email").first()


def sample_contact() -> Contact:
    """An unsaved contact with no name, so previews show the fallbacks."""
    return Contact(email="sample@example.com")


def campaign_preview(*, campaign: Campaign, contact: Contact) -> RenderedMail:
    """The mail as `contact` would get it, with untracked links. Raises
    TemplateProblem when the content cannot be rendered."""
    content = compile_campaign(campaign)
    return personalise(content, recipient_values(contact, _preview_code(campaign)), PreviewUrls())


def _preview_code(campaign: Campaign) -> str:
    coupon = campaign.coupon
    if coupon is None:
        return ""
    return coupon.code if coupon.kind == Coupon.Kind.SHARED else PREVIEW_UNIQUE_CODE
