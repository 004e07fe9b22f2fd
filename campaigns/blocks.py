"""A campaign's content as an ordered list of blocks, and their MJML.

A block is a small dict, `{"type": "button", "label": "Shop now", "url": ...}`,
stored as JSON on the campaign and edited in the composer. `blocks_clean`
checks what the browser sent (reporting problems with the block's place and
name); `blocks_to_mjml` turns checked blocks into MJML, once per campaign and
locale. Merge fields become the renderer's markers here, so nothing personal
is known yet: the mail is compiled once and filled in per recipient.
"""

import html
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from campaigns.personalisation import MergeField, TemplateProblem, parse

ALIGNMENTS = ("left", "center", "right")
SOCIAL_NETWORKS = {
    "facebook": "Facebook",
    "instagram": "Instagram",
    "twitter": "X (Twitter)",
    "youtube": "YouTube",
    "pinterest": "Pinterest",
    "linkedin": "LinkedIn",
    "web": "Website",
}
PRODUCT_RULES = {
    "manual": "Picked by hand",
    "newest": "Newest products",
    "category": "From one category",
    "bestsellers": "Bestsellers",
    "personal": "Per recipient (past orders and viewed categories)",
}
MAX_PRODUCTS = 6

# type -> (label, the fields a new block starts with)
BLOCK_TYPES: dict[str, tuple[str, dict]] = {
    "header": ("Header with logo", {"tagline": ""}),
    "heading": ("Heading", {"text": "A heading", "level": 1, "align": "left"}),
    "text": ("Text", {"html": "<p>Write something worth reading.</p>"}),
    "image": ("Image", {"src": "", "alt": "", "href": "", "width": 600}),
    "button": ("Button", {"label": "Shop now", "url": "", "align": "center"}),
    "products": (
        "Recommended products",
        {
            "title": "Picked for you",
            "rule": "manual",
            "product_ids": [],
            "category": "",
            "count": 3,
        },
    ),
    "coupon": ("Coupon", {"title": "Your coupon", "text": ""}),
    "divider": ("Divider", {}),
    "social": ("Social links", {"links": [{"network": "instagram", "url": ""}]}),
    "html": ("Custom HTML", {"html": ""}),
    "mjml": ("Custom MJML", {"mjml": ""}),
    "footer": ("Footer", {"text": ""}),
}

# The words of the layout itself, per language (fallback: English).
UI_TEXT = {
    "en": {
        "web_view": "View in your browser",
        "unsubscribe": "Unsubscribe",
        "preferences": "Manage preferences",
        "why": "You get this mail because you subscribed to {name}.",
        "valid_until": "Valid until",
        "view": "View",
        "coupon": "Your coupon",
    },
    "ru": {
        "web_view": "Открыть в браузере",
        "unsubscribe": "Отписаться",
        "preferences": "Настройки рассылки",
        "why": "Вы получили это письмо, потому что подписались на рассылку {name}.",
        "valid_until": "Действует до",
        "view": "Смотреть",
        "coupon": "Ваш купон",
    },
}


def ui_text(locale: str) -> dict[str, str]:
    return UI_TEXT.get(locale.split("-")[0].lower(), UI_TEXT["en"])


def block_label(block_type: str) -> str:
    return BLOCK_TYPES.get(block_type, (block_type,))[0]


# --- Checking what the composer sent ---------------------------------------------

_FORBIDDEN_MJML = re.compile(
    r"<\s*(mj-raw|mj-include|script|iframe|object|embed|form)\b|\son\w+\s*=|javascript:",
    re.IGNORECASE,
)
_MJML_SECTION = re.compile(r"^\s*<(mj-section|mj-wrapper|mj-hero)\b", re.IGNORECASE)
_TAGS_IN_URL = re.compile(r"{{.*?}}", re.DOTALL)
# A whole URL from the event: {{ cart.checkout_url }}, {{ order.payment_url }}, {{ product.url }}.
_EVENT_URL = re.compile(
    r"^{{\s*(cart\.checkout_url|order\.payment_url|product\.url)\s*"
    r'(\|\s*default\s*:\s*"https?://[^"\s]*"\s*)?}}$'
)


def _text(value, limit: int = 10_000) -> str:
    return str(value if value is not None else "")[:limit]


def _check_fields(text: str, where: str) -> str:
    parse(text, where)  # raises TemplateProblem naming the block
    return text


def _check_url(url: str, where: str, *, required: bool = False) -> str:
    url = url.strip()
    if not url:
        if required:
            raise TemplateProblem(f"{where}: add the web address it links to.")
        return ""
    _check_fields(url, where)
    if _EVENT_URL.match(url):  # the shop's own link for this mail, checked when filled in
        return url
    if not _TAGS_IN_URL.sub("x", url).lower().startswith(("http://", "https://")):
        raise TemplateProblem(f"{where}: “{url}” must start with https:// or http://.")
    return url


def _choice(value, choices, default):
    return value if value in choices else default


def _int(value, default: int, low: int, high: int) -> int:
    try:
        return max(low, min(high, int(value)))
    except (TypeError, ValueError):
        return default


def block_clean(raw: dict, where: str) -> dict:
    """One block, its fields coerced to what the compiler expects."""
    kind = raw.get("type")
    if kind not in BLOCK_TYPES:
        raise TemplateProblem(f"{where}: unknown block type “{kind}”.")
    label = block_label(kind)
    where = f"{where} ({label})"
    block: dict = {"type": kind}
    if kind == "header":
        block["tagline"] = _check_fields(_text(raw.get("tagline"), 200), where)
    elif kind == "heading":
        block["text"] = _check_fields(_text(raw.get("text"), 300), where)
        block["level"] = _int(raw.get("level"), 1, 1, 2)
        block["align"] = _choice(raw.get("align"), ALIGNMENTS, "left")
    elif kind in ("text", "html"):
        from campaigns.rendering import sanitise_body, sanitise_custom_html

        clean = sanitise_body if kind == "text" else sanitise_custom_html
        # Stored clean too: the composer shows it inside a staff page.
        block["html"] = clean(_check_fields(_text(raw.get("html"), 100_000), where))
    elif kind == "image":
        block["src"] = _check_url(_text(raw.get("src"), 1000), where, required=True)
        block["alt"] = _check_fields(_text(raw.get("alt"), 300), where)
        block["href"] = _check_url(_text(raw.get("href"), 1000), where)
        block["width"] = _int(raw.get("width"), 600, 50, 600)
    elif kind == "button":
        block["label"] = _check_fields(_text(raw.get("label"), 100), where) or "Open"
        block["url"] = _check_url(_text(raw.get("url"), 1000), where, required=True)
        block["align"] = _choice(raw.get("align"), ALIGNMENTS, "center")
    elif kind == "products":
        block["title"] = _check_fields(_text(raw.get("title"), 200), where)
        block["rule"] = _choice(raw.get("rule"), PRODUCT_RULES, "manual")
        ids = raw.get("product_ids") or []
        block["product_ids"] = [int(i) for i in ids if str(i).isdigit()][:MAX_PRODUCTS]
        block["category"] = _text(raw.get("category"), 100).strip()
        block["count"] = _int(raw.get("count"), 3, 1, MAX_PRODUCTS)
        if block["rule"] == "manual" and not block["product_ids"]:
            raise TemplateProblem(f"{where}: pick at least one product, or choose a rule.")
        if block["rule"] == "category" and not block["category"]:
            raise TemplateProblem(f"{where}: choose the category to show.")
    elif kind == "coupon":
        block["title"] = _check_fields(_text(raw.get("title"), 200), where)
        block["text"] = _check_fields(_text(raw.get("text"), 500), where)
    elif kind == "social":
        links = []
        for item in raw.get("links") or []:
            network = _choice(item.get("network"), SOCIAL_NETWORKS, "web")
            url = _check_url(_text(item.get("url"), 1000), where)
            if url:
                links.append({"network": network, "url": url})
        block["links"] = links
    elif kind == "mjml":
        block["mjml"] = _check_mjml(_text(raw.get("mjml"), 100_000), where)
    elif kind == "footer":
        block["text"] = _check_fields(_text(raw.get("text"), 500), where)
    return block


def _check_mjml(markup: str, where: str) -> str:
    if not markup.strip():
        return ""
    if not _MJML_SECTION.match(markup):
        raise TemplateProblem(f"{where}: start with <mj-section> (or <mj-wrapper>, <mj-hero>).")
    found = _FORBIDDEN_MJML.search(markup)
    if found:
        raise TemplateProblem(f"{where}: “{found[0].strip()}” is not allowed in a mail.")
    return _check_fields(markup, where)


def blocks_clean(raw_blocks, *, where: str = "Block") -> list[dict]:
    """Checked blocks, the footer last (added when missing), or TemplateProblem."""
    if not isinstance(raw_blocks, list):
        raise TemplateProblem("The content could not be read; reload the page and try again.")
    blocks = []
    for number, raw in enumerate(raw_blocks, start=1):
        if not isinstance(raw, dict):
            raise TemplateProblem(f"{where} {number}: could not be read.")
        blocks.append(block_clean(raw, f"{where} {number}"))
    footers = [block for block in blocks if block["type"] == "footer"]
    blocks = [block for block in blocks if block["type"] != "footer"]
    return [*blocks, footers[0] if footers else {"type": "footer", "text": ""}]


def blocks_product_ids(blocks: list[dict]) -> set[int]:
    return {pk for block in blocks if block["type"] == "products" for pk in block["product_ids"]}


# --- Compiling to MJML -----------------------------------------------------------


@dataclass
class ProductCard:
    """What a product card shows: literal text, or markers filled per recipient."""

    name: str
    price: str
    image: str
    url: str


@dataclass
class BlockContext:
    """What blocks need from the campaign, the brand and the renderer."""

    markers: object  # rendering._Markers
    brand: object  # campaigns.models.Brand
    locale: str
    from_name: str
    postal_address: str
    coupon: object | None
    sanitise: object  # rendering.sanitise_body
    # rule -> ProductCards; "personal" gives cards of per-recipient markers.
    products_for: object = None
    text_lines: list[str] = field(default_factory=list)

    @property
    def words(self) -> dict[str, str]:
        return ui_text(self.locale)

    def marked(self, text: str, where: str) -> str:
        """Staff text with its merge fields as markers, HTML-escaped."""
        return html.escape(self.markers.mark(text, where))

    def url(self, url: str, where: str) -> str:
        return html.escape(self.markers.mark(url, where), quote=True)


def format_price(price, currency: str) -> str:
    try:
        amount = Decimal(price)
    except (InvalidOperation, TypeError):
        return f"{price} {currency}"
    symbol = {"USD": "$", "EUR": "€", "GBP": "£"}.get(currency)
    number = f"{amount:,.2f}"
    return f"{symbol}{number}" if symbol else f"{number} {currency}"


def _section(inner: str, background: str = "#ffffff", padding: str = "8px 16px") -> str:
    return (
        f'<mj-section background-color="{background}" padding="{padding}">'
        f"<mj-column>{inner}</mj-column></mj-section>"
    )


def _header(block: dict, ctx: BlockContext, where: str) -> str:
    brand = ctx.brand
    link = f' href="{html.escape(brand.website_url)}"' if brand.website_url else ""
    if brand.logo_url:
        top = (
            f'<mj-image src="{html.escape(brand.logo_url)}" alt="{html.escape(brand.name)}"'
            f'{link} width="{brand.logo_width}px" align="center" padding="8px 0" />'
        )
    else:
        top = (
            f'<mj-text align="center" font-size="24px" font-weight="700" '
            f'color="{brand.primary_color}">{html.escape(brand.name)}</mj-text>'
        )
    ctx.text_lines.append(brand.name)
    if block["tagline"]:
        top += (
            f'<mj-text align="center" font-size="14px" color="#4b5563" padding-top="0">'
            f"{ctx.marked(block['tagline'], where)}</mj-text>"
        )
        ctx.text_lines.append(block["tagline"])
    return _section(top, padding="20px 16px 8px")


def _heading(block: dict, ctx: BlockContext, where: str) -> str:
    size = "28px" if block["level"] == 1 else "21px"
    tag = f"h{block['level']}"
    text = ctx.marked(block["text"], where)
    ctx.text_lines.append(block["text"])
    return _section(
        f'<mj-text align="{block["align"]}" padding="12px 8px 4px">'
        f'<{tag} style="margin:0;font-size:{size};line-height:1.25;font-weight:700">{text}</{tag}>'
        "</mj-text>"
    )


def _rich_text(block: dict, ctx: BlockContext, where: str) -> str:
    from campaigns.rendering import html_to_text

    body = ctx.sanitise(ctx.markers.mark(block["html"], where))
    ctx.text_lines.append(html_to_text(block["html"]))
    return _section(f'<mj-text css-class="content">{body}</mj-text>')


def _image(block: dict, ctx: BlockContext, where: str) -> str:
    link = f' href="{ctx.url(block["href"], where)}"' if block["href"] else ""
    if block["alt"]:
        ctx.text_lines.append(f"[{block['alt']}]")
    return _section(
        f'<mj-image src="{ctx.url(block["src"], where)}" alt="{ctx.marked(block["alt"], where)}"'
        f'{link} width="{block["width"]}px" padding="8px 0" />',
        padding="0 16px",
    )


def _button(block: dict, ctx: BlockContext, where: str) -> str:
    ctx.text_lines.append(f"{block['label']}: {block['url']}")
    return _section(
        f'<mj-button href="{ctx.url(block["url"], where)}" align="{block["align"]}" '
        f'inner-padding="14px 28px" font-weight="600">{ctx.marked(block["label"], where)}'
        "</mj-button>",
        padding="8px 16px 16px",
    )


def _products(block: dict, ctx: BlockContext, where: str) -> str:
    cards: list[ProductCard] = ctx.products_for(block) if ctx.products_for else []
    if not cards:
        return ""
    out = []
    if block["title"]:
        ctx.text_lines.append(block["title"])
        out.append(
            _section(
                '<mj-text align="center" padding="16px 8px 0"><h2 style="margin:0;'
                'font-size:21px;font-weight:700">'
                f"{ctx.marked(block['title'], where)}</h2></mj-text>"
            )
        )
    for start in range(0, len(cards), 3):
        columns = []
        for card in cards[start : start + 3]:
            ctx.text_lines.append(
                f"* {html.unescape(card.name)}, {html.unescape(card.price)}\n"
                f"  {html.unescape(card.url)}"
            )
            image = (
                f'<mj-image src="{card.image}" alt="{card.name}" href="{card.url}" '
                'width="160px" border-radius="6px" />'
                if card.image
                else ""
            )
            columns.append(
                f"<mj-column>{image}"
                '<mj-text align="center" font-weight="600" padding-bottom="0">'
                f"{card.name}</mj-text>"
                f'<mj-text align="center" padding-top="2px">{card.price}</mj-text>'
                f'<mj-button href="{card.url}" inner-padding="8px 18px" font-size="14px">'
                f"{ctx.words['view']}</mj-button></mj-column>"
            )
        out.append(
            f'<mj-section background-color="#ffffff" padding="8px">{"".join(columns)}</mj-section>'
        )
    return "".join(out)


def _coupon(block: dict, ctx: BlockContext, where: str) -> str:
    coupon = ctx.coupon
    if coupon is None:
        return ""
    markers = ctx.markers
    title = block["title"] or coupon.description or ctx.words["coupon"]
    code = markers.for_field(MergeField("coupon.code"))
    inner = (
        f'<mj-text align="center" font-size="15px">{ctx.marked(title, where)}</mj-text>'
        f'<mj-text align="center" font-size="26px" font-weight="700" letter-spacing="3px" '
        f'padding="4px 8px"><span style="border:2px dashed {ctx.brand.primary_color};'
        f'padding:6px 14px;display:inline-block;background:#ffffff">{code}</span></mj-text>'
    )
    line = f"{title}: {code}"
    if block["text"]:
        inner += (
            f'<mj-text align="center" font-size="14px">{ctx.marked(block["text"], where)}</mj-text>'
        )
        line += f"\n{block['text']}"
    if coupon.expires_at:
        expires = markers.for_field(MergeField("coupon.expires"))
        until = ctx.words["valid_until"]
        inner += (
            f'<mj-text align="center" font-size="13px" color="#374151">{until} {expires}</mj-text>'
        )
        line += f" ({until} {expires})"
    ctx.text_lines.append(line)
    return _section(inner, background=ctx.brand.background_color, padding="16px 16px")


def _divider(block: dict, ctx: BlockContext, where: str) -> str:
    ctx.text_lines.append("-" * 20)
    return _section('<mj-divider border-width="1px" border-color="#e5e7eb" />', padding="0 16px")


def _social(block: dict, ctx: BlockContext, where: str) -> str:
    if not block["links"]:
        return ""
    elements = []
    for link in block["links"]:
        label = SOCIAL_NETWORKS[link["network"]]
        ctx.text_lines.append(f"{label}: {link['url']}")
        elements.append(
            f'<mj-social-element name="{link["network"]}" href="{ctx.url(link["url"], where)}" '
            f'alt="{html.escape(label)}"></mj-social-element>'
        )
    return _section(
        f'<mj-social mode="horizontal" icon-size="28px" padding="8px">{"".join(elements)}'
        "</mj-social>"
    )


def _custom_mjml(block: dict, ctx: BlockContext, where: str) -> str:
    from campaigns.rendering import html_to_text

    ctx.text_lines.append(html_to_text(re.sub(r"</?mj-[^>]*>", "\n", block["mjml"])))
    return ctx.markers.mark(block["mjml"], where)


def footer_colours(background: str) -> str:
    """The footer's text colour: whichever of dark grey or white reads better
    on the page colour; both pass WCAG AA (4.5:1) on light or dark pages."""
    dark, light = "#374151", "#ffffff"
    return dark if contrast_ratio(dark, background) >= contrast_ratio(light, background) else light


def _luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(foreground: str, background: str) -> float:
    lighter, darker = sorted([_luminance(foreground), _luminance(background)], reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _footer(block: dict, ctx: BlockContext, where: str) -> str:
    markers, words = ctx.markers, ctx.words
    colour = footer_colours(ctx.brand.background_color)
    link = f'style="color:{colour};text-decoration:underline"'
    unsubscribe = markers.for_url("unsubscribe")
    preferences = markers.for_field(MergeField("contact.preferences_url"))
    extra = f"{ctx.marked(block['text'], where)}<br />" if block["text"] else ""
    sender = ctx.from_name or ctx.brand.name  # a draft may not name its sender yet
    why = html.escape(words["why"].format(name=sender))
    inner = (
        f'<mj-text align="center" font-size="13px" line-height="1.6" color="{colour}">'
        f"{extra}<strong>{html.escape(sender)}</strong> · "
        f"{html.escape(ctx.postal_address)}<br />{why}<br />"
        f'<a href="{unsubscribe}" {link}>{words["unsubscribe"]}</a> · '
        f'<a href="{preferences}" {link}>{words["preferences"]}</a></mj-text>'
        f'<mj-raw><img src="{markers.for_url("open")}" width="1" height="1" alt="" '
        'style="display:block;border:0;width:1px;height:1px" />'
        f'<a href="{markers.for_url("honeypot")}" aria-hidden="true" tabindex="-1" '
        'style="display:none;font-size:0;line-height:0;max-height:0;overflow:hidden;'
        'mso-hide:all"></a></mj-raw>'
    )
    ctx.text_lines.append(
        "--\n"
        + (f"{block['text']}\n" if block["text"] else "")
        + f"{sender}, {ctx.postal_address}\n"
        + f"{words['unsubscribe']}: {unsubscribe}\n{words['preferences']}: {preferences}"
    )
    return f'<mj-section padding="16px 16px 24px"><mj-column>{inner}</mj-column></mj-section>'


_COMPILERS = {
    "header": _header,
    "heading": _heading,
    "text": _rich_text,
    "html": _rich_text,
    "image": _image,
    "button": _button,
    "products": _products,
    "coupon": _coupon,
    "divider": _divider,
    "social": _social,
    "mjml": _custom_mjml,
    "footer": _footer,
}


def blocks_to_mjml(blocks: list[dict], ctx: BlockContext) -> list[str]:
    """The MJML of each block, in order. Blocks must have passed blocks_clean."""
    out = []
    for number, block in enumerate(blocks, start=1):
        where = f"Block {number} ({block_label(block['type'])})"
        out.append(_COMPILERS[block["type"]](block, ctx, where))
    return out
