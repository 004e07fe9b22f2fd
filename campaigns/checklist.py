"""The checks a campaign must pass before it is sent or scheduled.

Each check gives an item: ok, a warning (sending is allowed), or a failure
(sending and scheduling are refused, campaigns.services). The campaign page
shows the list; `checklist_require` is the gate.
"""

import ipaddress
import socket
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone

from campaigns.abtest import campaign_with_variant
from campaigns.audience import AudienceSummary, audience_summary
from campaigns.models import Campaign, Coupon
from campaigns.personalisation import TemplateProblem
from campaigns.rendering import CompiledContent, compile_campaign
from campaigns.sending import CampaignNotSendable

OK, INFO, WARN, FAIL = "ok", "info", "warn", "fail"
LONG_SUBJECT = 60  # characters; longer ones are cut off in most inboxes
HEAVY_MAIL = 100 * 1024  # bytes of HTML; Gmail clips a mail past about 102 KB
LINK_CACHE_SECONDS = 600


class CampaignNotReady(CampaignNotSendable):
    """The checklist has failures; the message lists them."""


@dataclass(frozen=True)
class Item:
    key: str
    level: str
    label: str
    detail: str = ""


@dataclass(frozen=True)
class Checklist:
    items: list[Item]

    @property
    def failures(self) -> list[Item]:
        return [item for item in self.items if item.level == FAIL]

    @property
    def warnings(self) -> list[Item]:
        return [item for item in self.items if item.level == WARN]

    @property
    def passed(self) -> bool:
        return not self.failures


def campaign_checklist(
    *, campaign: Campaign, summary: AudienceSummary | None = None, check_links: bool | None = None
) -> Checklist:
    summary = summary or audience_summary(campaign=campaign)
    contents, problem = _compiled(campaign)
    items = [
        *_subject(campaign),
        _sender_name(campaign),
        _email_item("from_email", "Sender address", campaign.from_email),
        _email_item("reply_to", "Reply-to address", campaign.reply_to),
        _postal_address(campaign),
        _content(problem),
    ]
    if contents:
        items += [_unsubscribe(contents), _images(contents), _weight(contents)]
        if check_links if check_links is not None else settings.CAMPAIGN_CHECK_LINKS:
            items.append(_links(contents))
        else:
            items.append(Item("links", INFO, "Links not checked", "Link checks are turned off."))
    items += [_audience(summary), *_coupon(campaign, summary), _preheader(campaign)]
    return Checklist(items)


def checklist_require(*, campaign: Campaign) -> Checklist:
    checklist = campaign_checklist(campaign=campaign)
    if not checklist.passed:
        reasons = "; ".join(f"{item.label}: {item.detail}" for item in checklist.failures)
        raise CampaignNotReady(f"The checklist failed. {reasons}")
    return checklist


def _compiled(campaign: Campaign) -> tuple[list[CompiledContent], str]:
    """The compiled content of the campaign and of each A/B variant."""
    versions = [campaign, *(campaign_with_variant(campaign, v) for v in campaign.variants.all())]
    try:
        return [compile_campaign(version) for version in versions], ""
    except TemplateProblem as problem:
        return [], str(problem)


def _subject(campaign: Campaign) -> list[Item]:
    subjects = [
        campaign.subject,
        *campaign.variants.exclude(subject="").values_list("subject", flat=True),
    ]
    if not campaign.subject.strip():
        return [Item("subject", FAIL, "Subject", "The mail has no subject.")]
    longest = max(subjects, key=len)
    if len(longest) > LONG_SUBJECT:
        return [
            Item(
                "subject",
                WARN,
                "Subject is long",
                f"{len(longest)} characters; inboxes show about {LONG_SUBJECT}.",
            )
        ]
    return [Item("subject", OK, "Subject")]


def _sender_name(campaign: Campaign) -> Item:
    names = [
        campaign.from_name,
        *campaign.variants.exclude(from_name="").values_list("from_name", flat=True),
    ]
    if any(not name.strip() for name in names):
        return Item("from_name", FAIL, "Sender name", "The sender name is empty.")
    if any(ch in name for name in names for ch in "\r\n"):
        return Item("from_name", FAIL, "Sender name", "The sender name must be one line.")
    return Item("from_name", OK, "Sender name")


def _email_item(key: str, label: str, value: str) -> Item:
    if not value:
        return Item(key, FAIL, label, "Missing.")
    try:
        validate_email(value)
    except ValidationError:
        return Item(key, FAIL, label, f"“{value}” is not an email address.")
    return Item(key, OK, label, value)


def _postal_address(campaign: Campaign) -> Item:
    if not campaign.postal_address.strip():
        return Item(
            "postal_address", FAIL, "Postal address", "Marketing mail must show a postal address."
        )
    return Item("postal_address", OK, "Postal address")


def _content(problem: str) -> Item:
    if problem:
        return Item("content", FAIL, "Content and merge fields", problem)
    return Item("content", OK, "Content and merge fields", "Every field is known.")


def _unsubscribe(contents: list[CompiledContent]) -> Item:
    slot = ("u", "unsubscribe")
    if all(slot in content.html and slot in content.text for content in contents):
        return Item("unsubscribe", OK, "Unsubscribe link")
    return Item("unsubscribe", FAIL, "Unsubscribe link", "The mail has no unsubscribe link.")


class _Images(HTMLParser):
    def __init__(self):
        super().__init__()
        self.missing: list[str] = []

    def handle_starttag(self, tag, attrs):
        found = dict(attrs)
        if tag != "img" or (found.get("width"), found.get("height")) == ("1", "1"):
            return  # the open pixel is meant to be silent
        if not (found.get("alt") or "").strip():
            self.missing.append(found.get("src") or "(no address)")


def _literal(segments: list) -> str:
    return "".join(part if isinstance(part, str) else "slot" for part in segments)


def _images(contents: list[CompiledContent]) -> Item:
    parser = _Images()
    for content in contents:
        parser.feed(_literal(content.html))
    if parser.missing:
        shown = ", ".join(sorted(set(parser.missing))[:3])
        return Item(
            "images",
            FAIL,
            "Images have alt text",
            f"{len(parser.missing)} image(s) without alt text, e.g. {shown}.",
        )
    return Item("images", OK, "Images have alt text")


def _weight(contents: list[CompiledContent]) -> Item:
    size = max(len(_literal(content.html).encode()) for content in contents)
    if size > HEAVY_MAIL:
        return Item(
            "weight",
            WARN,
            "Heavy mail",
            f"{size // 1024} KB of HTML; Gmail cuts mails past about 102 KB.",
        )
    return Item("weight", OK, "Mail size", f"{max(1, size // 1024)} KB of HTML")


def _audience(summary: AudienceSummary) -> Item:
    if not summary.total:
        return Item("audience", FAIL, "Audience", "The chosen groups have no contacts.")
    if not summary.recipients:
        # Sending records why each was skipped; the page's send button waits.
        return Item("audience", WARN, "Nobody can get it", f"All {summary.total} would be skipped.")
    return Item("audience", OK, "Audience", f"{summary.recipients:,} recipients")


def _coupon(campaign: Campaign, summary: AudienceSummary) -> list[Item]:
    coupon = campaign.coupon
    if coupon is None:
        return []
    if coupon.expires_at and coupon.expires_at <= timezone.now():
        return [
            Item(
                "coupon",
                FAIL,
                "Coupon",
                f"“{coupon.name}” expired on {timezone.localtime(coupon.expires_at):%b %d, %Y}.",
            )
        ]
    if coupon.kind == Coupon.Kind.UNIQUE and not coupon.codes.exists():
        return [
            Item("coupon", FAIL, "Coupon", f"“{coupon.name}” has no codes: add or generate some.")
        ]
    if coupon.kind == Coupon.Kind.UNIQUE and summary.recipients and summary.code_shortfall:
        short = f"{summary.code_shortfall:,} recipients will be skipped for want of a code."
        return [Item("coupon", WARN, "Coupon codes run short", short)]
    return [Item("coupon", OK, "Coupon", coupon.name)]


def _preheader(campaign: Campaign) -> Item:
    if not campaign.preheader.strip():
        return Item("preheader", WARN, "No preheader", "Inboxes will show the mail's first words.")
    return Item("preheader", OK, "Preheader")


# --- Links ----------------------------------------------------------------------


def _links(contents: list[CompiledContent]) -> Item:
    # The hidden honeypot link leads back to this site; only staff links are checked.
    urls = sorted(
        {
            url
            for content in contents
            for index, url in enumerate(content.links)
            if index != content.honeypot
        }
    )
    if not urls:
        return Item("links", OK, "Links answer", "The mail has no links.")
    with ThreadPoolExecutor(max_workers=min(8, len(urls))) as pool:
        problems = [
            f"{url} ({problem})"
            for url, problem in zip(urls, pool.map(link_problem, urls), strict=True)
            if problem
        ]
    if problems:
        return Item("links", FAIL, "Links answer", "; ".join(problems[:5]))
    return Item("links", OK, "Links answer", f"All {len(urls)} link(s) answered.")


def link_problem(url: str) -> str:
    """Why a link does not answer, or "" when it does. Results are cached a while."""
    key = f"campaigns:link:{url}"
    cached = cache.get(key)
    if cached is None:
        cached = _fetch_problem(url)
        cache.set(key, cached, LINK_CACHE_SECONDS)
    return cached


def _fetch_problem(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "not a web address"
    if (reason := _private_address(parts.hostname, parts.port)) is not None:
        return reason
    for method in ("HEAD", "GET"):
        try:
            with _OPENER.open(
                urllib.request.Request(url, method=method, headers={"User-Agent": "LinkCheck"}),
                timeout=settings.CAMPAIGN_LINK_TIMEOUT,
            ) as response:
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        except (urllib.error.URLError, OSError, ValueError) as error:
            return f"no answer: {getattr(error, 'reason', error)}"
        if status in (405, 501) and method == "HEAD":
            continue  # some servers answer HEAD with "not allowed"
        return "" if status < 400 else f"answered {status}"
    return ""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect is an answer; following it could lead the server anywhere.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


def _private_address(host: str, port: int | None) -> str | None:
    """Staff-written links are fetched by the server: never inside its network."""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, port or 443)}
    except OSError:
        return "the host name does not resolve"
    if settings.CAMPAIGN_LINK_CHECK_PRIVATE:
        return None
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved:
            return "points inside a private network"
    return None
