# ruff: noqa: RUF001 (typographic quotes and dashes are wanted in mail copy)
"""The starter templates every shop gets: finished mails to start from.

Created on demand (the template picker calls `starter_templates_ensure`),
keyed by slug, so a starter staff deleted comes back and one they never saw
costs nothing. Products come from rules, so a starter works with any
catalogue; links point at the shop's home page until staff change them.
"""

from campaigns.models import CampaignTemplate

NAME = '{{ contact.first_name|default:"there" }}'
NAME_RU = '{{ contact.first_name|default:"друг" }}'


def _header():
    return {"type": "header", "tagline": ""}


def _heading(text, level=1, align="left"):
    return {"type": "heading", "text": text, "level": level, "align": align}


def _text(html):
    return {"type": "text", "html": html}


def _button(label, url="https://shop.example.com/"):
    return {"type": "button", "label": label, "url": url, "align": "center"}


def _products(title, rule="bestsellers", count=3):
    return {"type": "products", "title": title, "rule": rule, "product_ids": [], "category": "",
            "count": count}  # fmt: skip


def _coupon(title="", text=""):
    return {"type": "coupon", "title": title, "text": text}


def _footer():
    return {"type": "footer", "text": ""}


DIVIDER = {"type": "divider"}
SOCIAL = {
    "type": "social",
    "links": [
        {"network": "instagram", "url": "https://instagram.com/"},
        {"network": "facebook", "url": "https://facebook.com/"},
    ],
}

STARTERS = [
    {
        "slug": "newsletter",
        "name": "Newsletter",
        "description": "News from the shop, a story, and what customers love right now.",
        "subject": f"What’s new this month, {NAME}",
        "preheader": "New arrivals, a story from the workshop and this month’s favourites",
        "blocks": [
            _header(),
            _heading(f"Hello {NAME},"),
            _text(
                "<p>Here is what happened at the shop this month: new arrivals, a look "
                "behind the scenes and the pieces our customers loved most.</p>"
            ),
            _heading("Fresh from the workshop", level=2),
            _text(
                "<p>Every piece is made in small batches. This month we tried a new glaze, "
                "and the first mugs sold out in two days. More are on the way.</p>"
            ),
            _button("Read the full story"),
            DIVIDER,
            _products("Customer favourites"),
            SOCIAL,
            _footer(),
        ],
        "ru": {
            "subject": f"Что нового в этом месяце, {NAME_RU}",
            "preheader": "Новинки, история из мастерской и любимое покупателями",
            "blocks": [
                _header(),
                _heading(f"Здравствуйте, {NAME_RU}!"),
                _text(
                    "<p>Рассказываем, что нового в магазине: новинки и любимые вещи "
                    "наших покупателей.</p>"
                ),
                _button("Читать дальше"),
                DIVIDER,
                _products("Любимое покупателями"),
                SOCIAL,
                _footer(),
            ],
        },
    },
    {
        "slug": "promotion",
        "name": "Promotion",
        "description": "One offer, one button: a discount with a coupon and products.",
        "subject": f"{NAME}, 20% off everything until Sunday",
        "preheader": "Your code is inside",
        "blocks": [
            _header(),
            _heading("20% off everything", align="center"),
            _text(
                '<p style="text-align:center">Until Sunday midnight, everything in the shop '
                "is 20% off. Use your personal code at checkout.</p>"
            ),
            _coupon("Your code for 20% off"),
            _button("Shop the sale"),
            _products("Picked for you", rule="personal"),
            _footer(),
        ],
    },
    {
        "slug": "holiday-sale",
        "name": "Holiday sale",
        "description": "A seasonal sale with gift ideas picked from each customer’s taste.",
        "subject": f"Gifts they’ll love, {NAME} 🎁",
        "preheader": "Our holiday sale is on, with gift ideas picked for you",
        "blocks": [
            _header(),
            _heading("The holiday sale is on", align="center"),
            _text(
                '<p style="text-align:center">Wrap up the year with something made to last. '
                "Order by 20 December for delivery before the holidays.</p>"
            ),
            _button("Find a gift"),
            _products("Gift ideas for you", rule="personal", count=6),
            _coupon("An extra gift from us"),
            DIVIDER,
            _text(
                '<p style="text-align:center"><small>Free gift wrapping on every order. '
                "Returns until 31 January.</small></p>"
            ),
            _footer(),
        ],
    },
    {
        "slug": "event-invitation",
        "name": "Event invitation",
        "description": "Invite customers to a launch, a workshop or an open day.",
        "subject": f"You’re invited, {NAME}",
        "preheader": "Join us on Saturday for our spring open day",
        "blocks": [
            _header(),
            _heading(f"You’re invited, {NAME}", align="center"),
            _text(
                '<p style="text-align:center">Join us for our spring open day: meet the '
                "makers, try new pieces first and enjoy a coffee on us.</p>"
                '<p style="text-align:center"><strong>Saturday, 10:00–16:00</strong><br>'
                "12 Market Street</p>"
            ),
            _button("Save my place"),
            DIVIDER,
            _text(
                '<p style="text-align:center">Can’t make it? Everything we show on the day '
                "will be in the shop the week after.</p>"
            ),
            _footer(),
        ],
    },
    {
        "slug": "thank-you",
        "name": "Thank-you or greeting",
        "description": "Thank customers, or greet them on a birthday or holiday.",
        "subject": f"Thank you, {NAME}",
        "preheader": "A small thank-you from all of us",
        "blocks": [
            _header(),
            _heading(f"Thank you, {NAME}", align="center"),
            _text(
                '<p style="text-align:center">Thank you for shopping with us this year. '
                "Small shops live on customers like you, and we are grateful for every "
                "order.</p>"
            ),
            _coupon("A little thank-you", "10% off your next order"),
            _button("Visit the shop"),
            _footer(),
        ],
    },
    {
        "slug": "re-engagement",
        "name": "Re-engagement",
        "description": "Win back customers who have gone quiet, with an incentive.",
        "subject": f"We miss you, {NAME}",
        "preheader": "Here is what you missed, and a little something to come back",
        "blocks": [
            _header(),
            _heading(f"It’s been a while, {NAME}"),
            _text(
                "<p>We haven’t seen you in a while, and a lot has changed: new pieces, "
                "new colours and faster delivery. Here is what we think you’ll like.</p>"
            ),
            _products("New in the categories you like", rule="personal"),
            _coupon("Come back for 15% off"),
            _button("See what’s new"),
            _text(
                "<p><small>Not interested any more? No hard feelings: you can unsubscribe "
                "with the link below.</small></p>"
            ),
            _footer(),
        ],
    },
]


def starter_templates_ensure() -> None:
    """Create the starters that are missing; never changes one that exists."""
    existing = set(CampaignTemplate.objects.exclude(slug="").values_list("slug", flat=True))
    missing = [
        CampaignTemplate(
            slug=starter["slug"],
            name=starter["name"],
            description=starter["description"],
            subject=starter["subject"],
            preheader=starter["preheader"],
            content_blocks=starter["blocks"],
            locale="en",
            locale_content={"ru": starter["ru"]} if "ru" in starter else {},
        )
        for starter in STARTERS
        if starter["slug"] not in existing
    ]
    if missing:
        CampaignTemplate.objects.bulk_create(missing, ignore_conflicts=True)
