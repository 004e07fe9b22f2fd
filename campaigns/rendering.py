"""Compile a campaign once; fill it in per recipient.

Compiling (MJML to HTML, CSS inlining, link rewriting, the text part) is slow
and runs once per send. What comes out is a list of segments per part: plain
strings, merge fields, and slots for the recipient's tracking URLs. Filling
those in for one recipient is a join.
"""

import html
import re
import secrets
from dataclasses import dataclass, field
from html.parser import HTMLParser

import css_inline
import nh3
from django.conf import settings
from django.template.loader import render_to_string
from mjml import mjml2html

from campaigns import tokens
from campaigns.personalisation import Fragment, MergeField, TemplateProblem, field_value, parse
from campaigns.recipient_urls import recipient_url

# A part is a list of segments: str, ("f", path, default), ("u", name), ("c", link index),
# ("l", path): a link chosen per recipient, its index among the links in the value at path.
Segment = str | tuple
_HREF = re.compile(r'href="([^"]*)"')
_TEXT_URL = re.compile(r"https?://[^\s<>\"')]+")
_BODY_TAGS = {
    "a", "b", "blockquote", "br", "code", "em", "h1", "h2", "h3", "h4", "hr", "i",
    "img", "li", "ol", "p", "small", "span", "strong", "sub", "sup", "u", "ul",
}  # fmt: skip
_BODY_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "width", "height"}}
# Pasted HTML (the composer's custom HTML block) may also lay itself out.
_CUSTOM_TAGS = _BODY_TAGS | {
    "div", "table", "thead", "tbody", "tfoot", "tr", "td", "th", "center", "h5", "h6", "pre",
    "caption", "colgroup", "col", "s", "del", "ins", "mark", "abbr", "figure", "figcaption",
}  # fmt: skip
_CUSTOM_ATTRIBUTES = {
    "*": {"style", "align", "class", "dir", "lang", "title"},
    "a": {"href", "title", "style", "target"},
    "img": {"src", "alt", "width", "height", "style", "border"},
    "table": {"width", "cellpadding", "cellspacing", "border", "role", "bgcolor"},
    "td": {"width", "height", "valign", "bgcolor", "colspan", "rowspan"},
    "th": {"width", "valign", "bgcolor", "colspan", "rowspan"},
    "col": {"width"},
}
_CSS_INLINER = css_inline.CSSInliner(keep_style_tags=True, load_remote_stylesheets=False)


@dataclass
class CompiledContent:
    subject: list[Segment]
    html: list[Segment]
    text: list[Segment]
    links: list[str] = field(default_factory=list)
    # The index in `links` of the hidden link only machines follow (None in
    # content compiled before there was one).
    honeypot: int | None = None
    # Other languages' versions of the mail, sharing `links` with this one.
    locales: dict[str, "CompiledContent"] = field(default_factory=dict)
    # Per-recipient product picks: {"slots": n, "candidates": [...]} (campaigns.recommendations).
    picks: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        data = {
            "subject": self.subject,
            "html": self.html,
            "text": self.text,
            "links": self.links,
            "honeypot": self.honeypot,
        }
        if self.locales:
            data["locales"] = {
                code: {"subject": c.subject, "html": c.html, "text": c.text}
                for code, c in self.locales.items()
            }
        if self.picks:
            data["picks"] = self.picks
        return data

    @classmethod
    def from_json(cls, data: dict) -> "CompiledContent":
        def segments(items):
            return [item if isinstance(item, str) else tuple(item) for item in items]

        links = list(data["links"])
        picks = data.get("picks") or {}
        return cls(
            subject=segments(data["subject"]),
            html=segments(data["html"]),
            text=segments(data["text"]),
            links=links,
            honeypot=data.get("honeypot"),
            picks=picks,
            locales={
                code: cls(
                    segments(c["subject"]),
                    segments(c["html"]),
                    segments(c["text"]),
                    links,
                    honeypot=data.get("honeypot"),
                    picks=picks,
                )
                for code, c in (data.get("locales") or {}).items()
            },
        )

    def for_locale(self, locale: str) -> "CompiledContent":
        """The version in a contact's language, else the main one."""
        if not self.locales or not locale:
            return self
        locale = locale.lower()
        return self.locales.get(locale) or self.locales.get(locale.split("-")[0]) or self


class _Markers:
    """Opaque words that stand in for merge fields and URL slots while the
    content goes through MJML and the CSS inliner, which leave words alone."""

    def __init__(self):
        self.nonce = secrets.token_hex(4)
        self.fields: list[MergeField] = []
        self.link_paths: list[str] = []
        self.pattern = re.compile(rf"mk{self.nonce}([fucl])(\w+?)k")

    def for_field(self, merge_field: MergeField) -> str:
        self.fields.append(merge_field)
        return f"mk{self.nonce}f{len(self.fields) - 1}k"

    def for_url(self, name: str) -> str:
        return f"mk{self.nonce}u{name}k"

    def for_recipient_link(self, path: str) -> str:
        self.link_paths.append(path)
        return f"mk{self.nonce}l{len(self.link_paths) - 1}k"

    def for_click(self, index: int) -> str:
        return f"mk{self.nonce}c{index}k"

    def mark(self, text: str, where: str) -> str:
        return "".join(
            part if isinstance(part, str) else self.for_field(part) for part in parse(text, where)
        )

    def segments(self, text: str) -> list[Segment]:
        out: list[Segment] = []
        position = 0
        for match in self.pattern.finditer(text):
            if match.start() > position:
                out.append(text[position : match.start()])
            kind, value = match[1], match[2]
            if kind == "f":
                merge_field = self.fields[int(value)]
                out.append(("f", merge_field.path, merge_field.default))
            elif kind == "u":
                out.append(("u", value))
            elif kind == "l":
                out.append(("l", self.link_paths[int(value)]))
            else:
                out.append(("c", int(value)))
            position = match.end()
        if position < len(text):
            out.append(text[position:])
        return out


def sanitise_body(body: str) -> str:
    return nh3.clean(
        body,
        tags=_BODY_TAGS,
        attributes=_BODY_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel=None,
    )


def sanitise_custom_html(body: str) -> str:
    return nh3.clean(
        body,
        tags=_CUSTOM_TAGS,
        attributes=_CUSTOM_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel=None,
    )


def compile_campaign(campaign, *, brand=None) -> CompiledContent:
    """Compile a campaign's content, or raise TemplateProblem saying what to fix.
    A campaign made of blocks compiles once per language; one written as a
    single piece of HTML (`body`) goes through the classic layout."""
    if campaign.content_blocks:
        from campaigns.composing import compile_blocks_campaign

        return compile_blocks_campaign(campaign, brand=brand)
    markers = _Markers()
    subject = [
        part if isinstance(part, str) else ("f", part.path, part.default)
        for part in parse(campaign.subject, "Subject")
    ]
    if "\n" in campaign.subject or "\r" in campaign.subject:
        raise TemplateProblem("Subject: must be one line.")
    body = sanitise_body(markers.mark(campaign.body, "Body"))
    products = list(campaign.products.filter(active=True))
    context = {
        "subject": markers.mark(campaign.subject, "Subject"),
        "preheader": markers.mark(campaign.preheader, "Preheader"),
        "body": body,
        "coupon": campaign.coupon,
        "coupon_code": markers.for_field(MergeField("coupon.code")),
        "products": products,
        "product_rows": [products[i : i + 3] for i in range(0, len(products), 3)],
        "from_name": campaign.from_name,
        "postal_address": campaign.postal_address,
        "unsubscribe_url": markers.for_url("unsubscribe"),
        "preferences_url": markers.for_field(MergeField("contact.preferences_url")),
        "open_url": markers.for_url("open"),
        "web_view_url": markers.for_url("web"),
        "honeypot_url": markers.for_url("honeypot"),
        "lang": _lang(getattr(campaign, "locale", "") or "en"),
        "brand": brand or _brand(),
    }
    try:
        html_document = mjml2html(
            render_to_string("campaigns/email/layout.mjml", context), disable_comments=True
        )
    except Exception as error:  # MRML reports bad markup as a plain exception
        raise TemplateProblem(f"Body: the mail layout could not be built ({error}).") from None
    html_document = _CSS_INLINER.inline(html_document)
    links: list[str] = []
    html_document = _rewrite_html_links(html_document, links, markers)
    text = render_to_string("campaigns/email/layout.txt", {**context, "body": html_to_text(body)})
    text = _rewrite_text_links(text, links, markers)
    content = CompiledContent(
        subject, markers.segments(html_document), markers.segments(text), links
    )
    return with_honeypot(content)


def with_honeypot(content: CompiledContent) -> CompiledContent:
    """The honeypot: a link no person can see or follow, so any click on it is
    a machine's (tracking.machine). It gets a link index of its own, shared by
    every language version."""
    content.links.append(honeypot_target())
    content.honeypot = len(content.links) - 1
    for version in [content, *content.locales.values()]:
        version.honeypot = content.honeypot
        version.html = [
            ("c", content.honeypot) if segment == ("u", "honeypot") else segment
            for segment in version.html
        ]
    return content


def honeypot_target() -> str:
    """Where the honeypot link leads a machine that follows it."""
    return settings.SITE_URL + "/"


def _brand():
    from campaigns.models import Brand

    return Brand.current()


def _lang(locale: str) -> str:
    return re.sub(r"[^A-Za-z0-9-]", "", locale)[:10] or "en"


def _link_index(url: str, links: list[str]) -> int:
    if url not in links:
        links.append(url)
    return links.index(url)


def _rewrite_html_links(document: str, links: list[str], markers: _Markers) -> str:
    def rewrite(match: re.Match) -> str:
        url = html.unescape(match[1])
        # Links carrying merge fields differ per recipient: left untracked.
        if not url.startswith(("http://", "https://")) or markers.pattern.search(url):
            return match[0]
        return f'href="{markers.for_click(_link_index(url, links))}"'

    return _HREF.sub(rewrite, document)


def _rewrite_text_links(text: str, links: list[str], markers: _Markers) -> str:
    def rewrite(match: re.Match) -> str:
        url = match[0]
        if markers.pattern.search(url):
            return url
        return markers.for_click(_link_index(url, links))

    return _TEXT_URL.sub(rewrite, text)


class _TextExtractor(HTMLParser):
    _BREAKS = {"p", "div", "h1", "h2", "h3", "h4", "li", "ul", "ol", "blockquote", "hr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.hrefs: list[str | None] = []

    def handle_starttag(self, tag, attrs):
        if tag == "br":
            self.out.append("\n")
        elif tag == "li":
            self.out.append("\n* ")
        elif tag in self._BREAKS:
            self.out.append("\n\n")
        elif tag == "a":
            self.hrefs.append(dict(attrs).get("href"))

    def handle_endtag(self, tag):
        if tag == "a" and self.hrefs:
            href = self.hrefs.pop()
            if href and href.startswith(("http://", "https://")):
                self.out.append(f" ({href})")
        elif tag in self._BREAKS:
            self.out.append("\n")

    def handle_data(self, data):
        self.out.append(re.sub(r"\s+", " ", data))


def html_to_text(fragment: str) -> str:
    extractor = _TextExtractor()
    extractor.feed(fragment)
    extractor.close()
    text = "".join(extractor.out)
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


# --- Per recipient ------------------------------------------------------------


class TrackedUrls:
    """The signed URLs of one message, one token per purpose. Which app serves
    them and under what paths is registered with campaigns.recipient_urls."""

    def __init__(self, message_id: int, send_id: int = 0):
        self.message_id = message_id
        self.send_id = send_id
        self._slots: dict[str, str] = {}
        self._clicks: dict[int, str] = {}  # each link shows in both parts

    def slot(self, name: str) -> str:
        if name not in self._slots:
            token = tokens.message_token(self.message_id, purpose=name)
            self._slots[name] = recipient_url(name, token)
        return self._slots[name]

    def click(self, index: int, links: list[str]) -> str:
        if index not in self._clicks:
            token = tokens.click_token(self.message_id, index, self.send_id)
            self._clicks[index] = recipient_url("click", token)
        return self._clicks[index]


class PreviewUrls:
    """Untracked URLs for previews: links go where they point, nothing is recorded."""

    _PIXEL = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"

    def slot(self, name: str) -> str:
        return self._PIXEL if name == "open" else "#"

    def click(self, index: int, links: list[str]) -> str:
        return links[index]


def fill(
    segments: list[Segment], values: dict[str, str], urls, links: list[str], escape: bool
) -> str:
    quote = html.escape if escape else str
    out = []
    for segment in segments:
        if isinstance(segment, str):
            out.append(segment)
        elif segment[0] == "f":
            value = field_value(MergeField(segment[1], segment[2]), values)
            out.append(value.html if escape and isinstance(value, Fragment) else quote(value))
        elif segment[0] == "u":
            out.append(quote(urls.slot(segment[1])))
        elif segment[0] == "l":
            index = values.get(segment[1], "")
            out.append(quote(urls.click(int(index), links)) if index else "#")
        else:
            out.append(quote(urls.click(segment[1], links)))
    return "".join(out)


@dataclass
class RenderedMail:
    subject: str
    html: str
    text: str


def personalise(content: CompiledContent, values: dict[str, str], urls) -> RenderedMail:
    content = content.for_locale(values.get("contact.locale", ""))
    subject = fill(content.subject, values, urls, content.links, escape=False)
    return RenderedMail(
        subject=" ".join(subject.split()),  # a header is one line, whatever a name holds
        html=fill(content.html, values, urls, content.links, escape=True),
        text=fill(content.text, values, urls, content.links, escape=False),
    )
