# ruff: noqa: RUF001 (typographic quotes and dashes are wanted in mail copy)
"""Ready-made automations: the mails that earn shops most of their email
revenue, each one click to set up and switch on, and then editable like any
other automation. A recipe's mails use the event's fields (the order's lines,
the cart's items, the viewed product), so they work with any shop.
"""

from datetime import date

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from campaigns.automations import automation_activate
from campaigns.models import Automation, AutomationStep, Brand, Campaign, Coupon
from campaigns.starters import DIVIDER, _button, _coupon, _footer, _header, _heading, _products
from campaigns.starters import _text as _text_block
from contacts.models import Segment

T, E = Automation.Trigger, Automation.Exit
NAME = '{{ contact.first_name|default:"there" }}'
NICKNAME = '{{ contact.attributes.nickname|default:"friend" }}'
HOUR, DAY = 60, 24 * 60
SHOP = "https://shop.example.com/"


def _mail(subject, preheader, blocks, delay=0):
    return {"delay_minutes": delay, "subject": subject, "preheader": preheader, "blocks": blocks}


def _table(field: str):
    return _text_block(f"<p>{{{{ {field} }}}}</p>")


RECIPES = [
    {
        "slug": "welcome",
        "name": "Welcome series",
        "summary": "Greets each new customer by nickname, then shows what others love.",
        "trigger": T.CUSTOMER_REGISTERED,
        "kind": Campaign.Kind.MARKETING,
        "mails": [
            _mail(
                f"Welcome, {NICKNAME}!",
                "Glad you’re here: a few favourites to start with",
                [
                    _header(),
                    _heading(f"Welcome, {NICKNAME}!"),
                    _text_block(
                        "<p>Thanks for joining us. We make small batches of things we love "
                        "using, and we’re glad you found us.</p>"
                    ),
                    _products("What other customers love", "bestsellers"),
                    _footer(),
                ],
            ),
            _mail(
                f"How we make things, {NAME}",
                "The story behind the shop",
                [
                    _header(),
                    _heading("Made in small batches"),
                    _text_block(
                        "<p>Every piece starts at our workbench. Here is how a mug goes from "
                        "clay to your kitchen, and why we keep batches small.</p>"
                    ),
                    _button("Read the story", SHOP),
                    _footer(),
                ],
                delay=3 * DAY,
            ),
            _mail(
                f"Something new for you, {NAME}",
                "Picked from what you looked at",
                [
                    _header(),
                    _heading("Picked for you"),
                    _products("You might like", "personal"),
                    _footer(),
                ],
                delay=7 * DAY,
            ),
        ],
    },
    {
        "slug": "order-confirmation",
        "name": "Order confirmation",
        "summary": "The order’s lines, total and delivery address, the moment it is placed.",
        "trigger": T.ORDER_CREATED,
        "kind": Campaign.Kind.TRANSACTIONAL,
        "mails": [
            _mail(
                "Your order {{ order.number }} is confirmed",
                "Thank you! Here is what you ordered",
                [
                    _header(),
                    _heading(f"Thank you, {NAME}!"),
                    _text_block("<p>We have your order <strong>{{ order.number }}</strong>.</p>"),
                    _table("order.lines"),
                    _heading("Delivery address", level=2),
                    _text_block("<p>{{ order.delivery_address }}</p>"),
                    _footer(),
                ],
            )
        ],
    },
    {
        "slug": "unpaid-order",
        "name": "Unpaid order reminder",
        "summary": "30 minutes after an unpaid order, a reminder with a payment FAQ; "
        "cancelled when the payment arrives.",
        "trigger": T.ORDER_CREATED,
        "kind": Campaign.Kind.TRANSACTIONAL,
        "exit_on": [E.ORDER_PAID, E.ORDER_CANCELLED],
        "mails": [
            _mail(
                "Your order {{ order.number }} is waiting for payment",
                "Complete your payment to get it on its way",
                [
                    _header(),
                    _heading("Your order is waiting"),
                    _text_block(
                        "<p>We’ve kept order <strong>{{ order.number }}</strong> for you, but "
                        "the payment has not come through yet.</p>"
                    ),
                    _table("order.lines"),
                    _button("Complete payment", f'{{{{ order.payment_url|default:"{SHOP}" }}}}'),
                    _heading("Payment questions", level=2),
                    _text_block(
                        "<p><strong>Was my card charged?</strong> Not until the payment "
                        "completes.<br><strong>Which methods can I use?</strong> Cards, "
                        "PayPal and bank transfer.<br><strong>Something went wrong?</strong> "
                        "Reply to this mail and we’ll help.</p>"
                    ),
                    _footer(),
                ],
                delay=30,
            )
        ],
    },
    {
        "slug": "delivery-review",
        "name": "Delivery confirmation and review request",
        "summary": "When the order arrives: a review request for product, service and "
        "delivery, with a thank-you coupon.",
        "trigger": T.ORDER_DELIVERED,
        "kind": Campaign.Kind.MARKETING,
        "coupon": ("Thank-you for a review", "THANKYOU10", "10% off your next order"),
        "mails": [
            _mail(
                "Your order {{ order.number }} has arrived – how did we do?",
                "Tell us about the product, our service and the delivery",
                [
                    _header(),
                    _heading(f"Your order has arrived, {NAME}"),
                    _table("order.lines"),
                    _text_block(
                        "<p>How did we do? A minute of your time helps other customers "
                        "and us: rate the <strong>product</strong>, our <strong>service"
                        "</strong> and the <strong>delivery</strong>.</p>"
                    ),
                    _button("Write a review", SHOP),
                    _coupon("A thank-you from us", "Use it on your next order."),
                    _footer(),
                ],
                delay=2 * HOUR,
            )
        ],
    },
    {
        "slug": "abandoned-cart",
        "name": "Abandoned cart",
        "summary": "A reminder with the cart’s items within 48 hours; none once an order "
        "follows. Add a unique coupon if you like.",
        "trigger": T.CART_UPDATED,
        "kind": Campaign.Kind.MARKETING,
        "exit_on": [E.ORDER_CREATED],
        "mails": [
            _mail(
                f"You left something behind, {NAME}",
                "Your cart is saved: finish your order in one click",
                [
                    _header(),
                    _heading("Still thinking it over?"),
                    _text_block("<p>We saved your cart for you:</p>"),
                    _table("cart.items"),
                    _button("Finish my order", f'{{{{ cart.checkout_url|default:"{SHOP}" }}}}'),
                    _footer(),
                ],
                delay=4 * HOUR,
            )
        ],
    },
    {
        "slug": "browse-abandonment",
        "name": "Browse abandonment",
        "summary": "For a product looked at for a while without an order: that product, "
        "and a stronger offer.",
        "trigger": T.PRODUCT_VIEWED,
        "kind": Campaign.Kind.MARKETING,
        "exit_on": [E.ORDER_CREATED],
        "min_seconds": 30,
        "coupon": ("Browse offer", "TAKE15", "15% off today"),
        "mails": [
            _mail(
                "Still thinking about {{ product.name }}?",
                "It’s still here, and 15% off today",
                [
                    _header(),
                    _heading("Still thinking about it?"),
                    _text_block("<p>{{ product.card }}</p>"),
                    _button("Take another look", f'{{{{ product.url|default:"{SHOP}" }}}}'),
                    _coupon("15% off, today only", "Enter the code at checkout."),
                    _footer(),
                ],
                delay=2 * HOUR,
            )
        ],
    },
    {
        "slug": "win-back",
        "name": "Win-back",
        "summary": "After 90 days without an order, picks from the customer’s past purchases.",
        "trigger": T.NO_ORDER,
        "kind": Campaign.Kind.MARKETING,
        "days": 90,
        "coupon": ("We miss you", "COMEBACK20", "20% off your next order"),
        "mails": [
            _mail(
                f"We miss you, {NAME}",
                "Here’s 20% off to welcome you back",
                [
                    _header(),
                    _heading("It’s been a while"),
                    _text_block(
                        "<p>We’ve made a few new things since your last order. "
                        "Here are some we think you’ll like.</p>"
                    ),
                    _products("Picked from your past orders", "personal"),
                    _coupon("Welcome back", "20% off anything in the shop."),
                    _footer(),
                ],
            )
        ],
    },
    {
        "slug": "holiday",
        "name": "Holiday promotion to recent buyers",
        "summary": "On a date you choose, recent buyers get picks from the categories "
        "they bought from.",
        "trigger": T.ON_DATE,
        "kind": Campaign.Kind.MARKETING,
        "segment": (
            "Bought in the last 180 days",
            {"match": "all", "rules": [{"field": "ordered", "op": "in_last_days", "value": 180}]},
        ),
        "mails": [
            _mail(
                f"Holiday picks for you, {NAME}",
                "Gift ideas from the shop you already know",
                [
                    _header(),
                    _heading("Gifts they’ll love"),
                    _text_block(
                        "<p>The holidays are close. Here are a few ideas from the "
                        "categories you bought from.</p>"
                    ),
                    _products("Picked for you", "personal"),
                    DIVIDER,
                    _products("Bestsellers this season", "bestsellers"),
                    _footer(),
                ],
            )
        ],
    },
]
RECIPES_BY_SLUG = {recipe["slug"]: recipe for recipe in RECIPES}


def _coupon_for(recipe: dict) -> Coupon | None:
    if "coupon" not in recipe:
        return None
    name, code, description = recipe["coupon"]
    coupon, _ = Coupon.objects.get_or_create(
        name=name, defaults={"code": code, "description": description}
    )
    return coupon


def _segment_for(recipe: dict) -> Segment | None:
    if "segment" not in recipe:
        return None
    name, rules = recipe["segment"]
    segment, _ = Segment.objects.get_or_create(name=name, defaults={"rules": rules})
    return segment


def _next_holiday(today: date) -> date:
    """The next 1 December, when holiday shopping starts."""
    this_year = date(today.year, 12, 1)
    return this_year if this_year >= today else date(today.year + 1, 12, 1)


def recipe_create(*, slug: str, user=None, activate: bool = True) -> Automation:
    """An automation from a recipe, with its mails, switched on unless told not."""
    recipe = RECIPES_BY_SLUG[slug]
    brand = Brand.current()
    with transaction.atomic():
        automation = Automation.objects.create(
            name=recipe["name"],
            description=recipe["summary"],
            recipe=slug,
            trigger=recipe["trigger"],
            kind=recipe["kind"],
            exit_on=[str(e) for e in recipe.get("exit_on", [])],
            days=recipe.get("days", 0),
            min_seconds=recipe.get("min_seconds", 0),
            run_on=_next_holiday(timezone.localdate()) if recipe["trigger"] == T.ON_DATE else None,
            segment=_segment_for(recipe),
            created_by=user if user is not None and user.is_authenticated else None,
        )
        coupon = _coupon_for(recipe)
        for position, mail in enumerate(recipe["mails"], start=1):
            campaign = Campaign.objects.create(
                name=f"{recipe['name']}, mail {position}",
                kind=recipe["kind"],
                subject=mail["subject"],
                preheader=mail["preheader"],
                from_name=brand.name,
                from_email=settings.DEFAULT_FROM_EMAIL,
                content_blocks=mail["blocks"],
                coupon=coupon if any(b["type"] == "coupon" for b in mail["blocks"]) else None,
                created_by=automation.created_by,
            )
            AutomationStep.objects.create(
                automation=automation,
                position=position,
                delay_minutes=mail["delay_minutes"],
                campaign=campaign,
            )
        if activate:
            automation_activate(automation=automation)
    return automation
