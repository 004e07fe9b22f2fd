"""A demo shop to click through: lists, products, coupons, a draft campaign, a login.

Every function creates only what is missing, so running the demo again
changes nothing, costs a few queries and never resets the demo password.
Nothing it adds is touched again, so edits made in the UI survive a rerun.
"""

import random
import secrets
from dataclasses import dataclass
from datetime import time, timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone

from campaigns import abtest, ledger, localtime
from campaigns.models import (
    ABTest,
    Campaign,
    Coupon,
    CouponCode,
    FrequencyPolicy,
    Link,
    Message,
    Product,
    Send,
    SendPlan,
)
from campaigns.rendering import compile_campaign
from contacts.addresses import address_check
from contacts.models import (
    ConsentRecord,
    Contact,
    DomainSuppression,
    Group,
    Segment,
    ShopEvent,
    SignupForm,
    Suppression,
)
from contacts.tiers import tiers_update
from marketing_site.roles import ADMIN, role_assign, user_role
from tracking import shop_api

NEWSLETTER, VIP, RUSSIAN = "Newsletter", "VIP customers", "Russian speakers"
DEMO_USERNAME = "demo"
SHOP_URL = "https://shop.example.com"

_FIRST_NAMES = [
    "Olivia", "Liam", "Emma", "Noah", "Amelia", "Oliver", "Ava", "Elijah", "Sophia", "Lucas",
    "Isabella", "Mateo", "Mia", "Levi", "Charlotte", "Ethan", "Harper", "James", "Evelyn",
    "Aiden", "Chloe", "Jack", "Grace", "Henry", "Zoe", "Samuel", "Nora", "Leo", "Hannah",
    "David", "Aria", "Daniel", "Layla", "Julian", "Ellie", "Owen", "Maya", "Gabriel", "Ruby",
    "Caleb", "Alice", "Isaac", "Lucy", "Theo", "Ines", "Felix", "Sara", "Hugo", "Priya",
    "Kenji", "Fatima", "Tomás",
]  # fmt: skip
_LAST_NAMES = [
    "Smith", "Johnson", "Garcia", "Brown", "Miller", "Davis", "Wilson", "Anderson", "Taylor",
    "Thomas", "Moore", "Martin", "Lee", "Clark", "Lewis", "Walker", "Hall", "Young", "King",
    "Wright", "Lopez", "Hill", "Scott", "Green", "Adams", "Baker", "Nelson", "Carter", "Mitchell",
    "Roberts", "Turner", "Phillips", "Campbell", "Parker", "Evans", "Edwards", "Collins",
    "Stewart", "Morris", "Murphy", "Cook", "Rogers", "Morgan", "Cooper", "Peterson", "Reed",
    "Bailey", "Bell", "Kelly", "Sato", "Haddad", "Ruiz",
]  # fmt: skip
# (first name, last name, address): the Russian-speaking customers.
_RUSSIAN = [
    ("Анна", "Иванова", "anna.ivanova@example.org"),
    ("Дмитрий", "Смирнов", "dmitry.smirnov@example.org"),
    ("Екатерина", "Кузнецова", "ekaterina.kuznetsova@example.org"),
    ("Сергей", "Попов", "sergey.popov@example.org"),
    ("Ольга", "Соколова", "olga.sokolova@example.org"),
    ("Михаил", "Лебедев", "mikhail.lebedev@example.org"),
    ("Наталья", "Козлова", "natalya.kozlova@example.org"),
    ("Алексей", "Новиков", "alexey.novikov@example.org"),
]
# Not everyone can be mailed: these show the skip reasons when the demo is sent.
_STATUS_BY_INDEX = {
    3: Contact.Status.UNSUBSCRIBED,
    11: Contact.Status.UNSUBSCRIBED,
    19: Contact.Status.UNSUBSCRIBED,
    27: Contact.Status.UNSUBSCRIBED,
    7: Contact.Status.BOUNCED,
    23: Contact.Status.BOUNCED,
    15: Contact.Status.UNCONFIRMED,
    31: Contact.Status.UNCONFIRMED,
    43: Contact.Status.UNCONFIRMED,
    35: Contact.Status.COMPLAINED,
    53: Contact.Status.UNSUBSCRIBED,
}
_SUPPRESSED_INDEX = 39  # subscribed, but on the suppression list
_PRODUCTS = [
    ("DEMO-MUG", "Stoneware mug", "Glazed by hand, holds a large coffee.", "24.00", "mug.png"),
    ("DEMO-TOTE", "Canvas tote bag", "Heavy canvas, leather handles.", "32.00", "tote.png"),
    ("DEMO-BEANIE", "Merino beanie", "Soft merino wool, one size.", "29.50", "beanie.png"),
    ("DEMO-NOTEBOOK", "Linen notebook", "A5, 192 dotted pages.", "18.00", "notebook.png"),
    ("DEMO-CANDLE", "Cedar candle", "Soy wax, about 40 hours of burning.", "21.00", "candle.png"),
    ("DEMO-SOCKS", "Striped wool socks", "Two pairs, warm and hard-wearing.", "16.90", "socks.png"),
]  # fmt: skip
_PRODUCT_CATEGORIES = {
    "DEMO-MUG": "Kitchen", "DEMO-TOTE": "Bags", "DEMO-BEANIE": "Clothing",
    "DEMO-NOTEBOOK": "Stationery", "DEMO-CANDLE": "Home", "DEMO-SOCKS": "Clothing",
}  # fmt: skip
_DEMO_WORDS = {
    "en": {
        "tagline": "Good things for slow autumn days",
        "alt": "A canvas tote bag full of autumn things",
        "heading": 'Autumn is here, {{ contact.first_name|default:"friend" }}',
        "text": f"<p>Warm wool, slow mornings and long evenings: this week everything in our "
        f'<a href="{SHOP_URL}/collections/autumn">autumn collection</a> is 20% off.</p>'
        "<p>New here? Your welcome code below takes another 10% off your first order.</p>",
        "button": "Shop the autumn sale",
        "products": "Picked for you",
        "coupon": "On top of the sale, on your first order",
        "footer": "Questions about sizes or delivery? Just reply to this mail.",
    },
    "ru": {
        "tagline": "Хорошие вещи для неспешной осени",
        "alt": "Холщовая сумка с осенними вещами",  # noqa: RUF001
        "heading": 'Осень пришла, {{ contact.first_name|default:"друг" }}',
        "text": "<p>Тёплая шерсть, неспешные утра и долгие вечера: на этой неделе вся "
        f'<a href="{SHOP_URL}/ru/collections/autumn">осенняя коллекция</a> со скидкой 20%.</p>',  # noqa: RUF001
        "button": "К осенней распродаже",  # noqa: RUF001
        "products": "Подобрали для вас",
        "coupon": "Дополнительно к распродаже, на первый заказ",
        "footer": "Вопросы о размерах или доставке? Просто ответьте на это письмо.",  # noqa: RUF001
    },
}
WELCOME_CODE = "WELCOME10"
AUTUMN_CODES_NAME = "Autumn personal codes"
AUTUMN_POOL_SIZE = 100
CAMPAIGN_NAME = "Autumn sale"
CAMPAIGN_BODY = f"""<h2>Autumn is here, {{{{ contact.first_name|default:"friend" }}}}</h2>
<p>Warm wool, slow mornings and long evenings: this week everything in our
<a href="{SHOP_URL}/collections/autumn">autumn collection</a> is 20% off.</p>
<p>New here? Your welcome code below takes another 10% off your first order.</p>
<p>Questions about sizes or delivery? Our <a href="{SHOP_URL}/help">help pages</a>
have the answers, or just reply to this mail.</p>"""


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    url: str
    password_reset: bool = False


def demo_data_create() -> DemoLogin:
    with transaction.atomic():
        groups = demo_groups_create()
        demo_contacts_create(groups=groups)
        products = demo_products_create()
        welcome = demo_coupons_create()
        demo_brand_create()
        demo_campaign_create(newsletter=groups[NEWSLETTER], products=products[:3], coupon=welcome)
        demo_sending_rules_create()
        demo_history_create(groups=groups, products=products)
        demo_consent_create(groups=groups)
        demo_audience_create()
        demo_composer_create(groups=groups)
        demo_shop_events_create(products=products)
        return demo_login_create()


def demo_groups_create() -> dict[str, Group]:
    descriptions = {
        NEWSLETTER: "Everyone who signed up for the weekly newsletter.",
        VIP: "Customers with ten or more orders.",
        RUSSIAN: "Customers who prefer mail in Russian.",
    }
    return {
        name: Group.objects.get_or_create(name=name, defaults={"description": text})[0]
        for name, text in descriptions.items()
    }


def _demo_contacts() -> list[tuple[Contact, list[str]]]:
    """The demo's contacts (unsaved) with the names of their groups."""
    now = timezone.now()
    people = [
        (first, last, f"{first}.{last}@example.com".lower().replace("á", "a"), "en")
        for first, last in zip(_FIRST_NAMES, _LAST_NAMES, strict=True)
    ]
    people += [(first, last, email, "ru") for first, last, email in _RUSSIAN]
    contacts = []
    for index, (first, last, email, locale) in enumerate(people):
        status = _STATUS_BY_INDEX.get(index, Contact.Status.SUBSCRIBED)
        confirmed = status != Contact.Status.UNCONFIRMED
        contact = Contact(
            email=email,
            first_name=first,
            last_name=last,
            locale=locale,
            time_zone="Europe/Moscow" if locale == "ru" else "Europe/London",
            status=status,
            consent_at=now - timedelta(days=3 + 7 * index) if confirmed else None,
            consent_source="signup form",
            attributes={"orders": index % 12},
        )
        groups = [NEWSLETTER] + [VIP] * (index % 12 >= 10) + [RUSSIAN] * (locale == "ru")
        contacts.append((contact, groups))
    # Two addresses the address checks flag (contacts.addresses), marked on the
    # contact list.
    for email, first in [
        ("info@corner-shop.example.com", "Corner shop"),
        ("lena@gmial.com", "Lena"),
    ]:
        contact = Contact(
            email=email,
            first_name=first,
            consent_at=now - timedelta(days=2),
            consent_source="signup form",
            address_flag=address_check(email, check_domain_dns=False).flag,
        )
        contacts.append((contact, [NEWSLETTER]))
    return contacts


def demo_contacts_create(*, groups: dict[str, Group]) -> int:
    """Create the demo contacts that are missing; returns how many were."""
    planned = _demo_contacts()
    existing = set(
        Contact.objects.filter(email__in=[c.email for c, _ in planned]).values_list(
            "email", flat=True
        )
    )
    new = [(contact, names) for contact, names in planned if contact.email not in existing]
    Contact.objects.bulk_create([contact for contact, _ in new])
    Contact.groups.through.objects.bulk_create(
        Contact.groups.through(contact_id=contact.pk, group_id=groups[name].pk)
        for contact, names in new
        for name in names
    )
    suppressed = planned[_SUPPRESSED_INDEX][0].email
    Suppression.objects.get_or_create(
        email=suppressed,
        defaults={"reason": Suppression.Reason.MANUAL, "note": "Asked by phone not to be mailed"},
    )
    return len(new)


def demo_image_url(filename: str) -> str:
    url = static(f"demo/{filename}")
    return url if url.startswith(("http://", "https://")) else settings.SITE_URL + url


def demo_products_create() -> list[Product]:
    existing = {p.sku: p for p in Product.objects.filter(sku__in=[row[0] for row in _PRODUCTS])}
    missing = [
        Product(
            sku=sku,
            name=name,
            description=description,
            url=f"{SHOP_URL}/products/{sku.removeprefix('DEMO-').lower()}",
            image_url=demo_image_url(image),
            price=Decimal(price),
            currency="USD",
            category=_PRODUCT_CATEGORIES[sku],
            stock=0 if sku == "DEMO-CANDLE" else 40,  # one sold out: never recommended
            sales_count=(len(_PRODUCTS) - n) * 12,
        )
        for n, (sku, name, description, price, image) in enumerate(_PRODUCTS)
        if sku not in existing
    ]
    existing.update({product.sku: product for product in Product.objects.bulk_create(missing)})
    return [existing[row[0]] for row in _PRODUCTS]


def demo_coupons_create() -> Coupon:
    """The shared welcome coupon (returned) and a pool of personal codes."""
    welcome, _ = Coupon.objects.get_or_create(
        name=WELCOME_CODE,
        defaults={
            "kind": Coupon.Kind.SHARED,
            "code": WELCOME_CODE,
            "description": "10% off your first order",
        },
    )
    autumn, created = Coupon.objects.get_or_create(
        name=AUTUMN_CODES_NAME,
        defaults={"kind": Coupon.Kind.UNIQUE, "description": "15% off one autumn order"},
    )
    if created:
        CouponCode.objects.bulk_create(
            CouponCode(coupon=autumn, code=code) for code in demo_coupon_codes(AUTUMN_POOL_SIZE)
        )
    return welcome


def demo_coupon_codes(count: int) -> list[str]:
    # Seeded, so the demo looks the same on every machine.
    rng = random.Random(2024)
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # nothing to misread: no 0/O, 1/I
    codes = dict.fromkeys("AUTUMN-" + "".join(rng.choices(alphabet, k=6)) for _ in range(count))
    return list(codes)


def demo_campaign_create(*, newsletter: Group, products: list[Product], coupon: Coupon) -> None:
    if Campaign.objects.filter(name=CAMPAIGN_NAME).exists():
        return
    campaign = Campaign.objects.create(
        name=CAMPAIGN_NAME,
        subject='Autumn sale: 20% off for you, {{ contact.first_name|default:"friend" }}',
        preheader="Wool, candles and mugs for the cold months",
        from_name="Demo Shop",
        from_email="news@shop.example.com",
        reply_to="help@shop.example.com",
        body=CAMPAIGN_BODY,
        coupon=coupon,
    )
    campaign.groups.add(newsletter)
    campaign.products.add(*products)
    # Composed in the block editor, in English and Russian.
    campaign.content_blocks = demo_campaign_blocks(products, english=True)
    campaign.locale_content = {
        "ru": {
            "subject": 'Осенняя распродажа: скидка 20%, {{ contact.first_name|default:"друг" }}',
            "preheader": "Шерсть, свечи и кружки для холодных месяцев",
            "blocks": demo_campaign_blocks(products, english=False),
        }
    }
    campaign.save(update_fields=["content_blocks", "locale_content"])


def demo_campaign_blocks(products: list[Product], *, english: bool) -> list[dict]:
    words = _DEMO_WORDS["en" if english else "ru"]
    return [
        {"type": "header", "tagline": words["tagline"]},
        {"type": "image", "src": demo_image_url("tote.png"), "alt": words["alt"],
         "href": f"{SHOP_URL}/collections/autumn", "width": 300},
        {"type": "heading", "text": words["heading"], "level": 1, "align": "left"},
        {"type": "text", "html": words["text"]},
        {"type": "button", "label": words["button"], "url": f"{SHOP_URL}/collections/autumn",
         "align": "center"},
        {"type": "products", "title": words["products"], "rule": "personal", "product_ids": [],
         "category": "", "count": 3},
        {"type": "coupon", "title": "", "text": words["coupon"]},
        {"type": "divider"},
        {"type": "social", "links": [{"network": "instagram", "url": "https://instagram.com/"},
                                     {"network": "facebook", "url": "https://facebook.com/"}]},
        {"type": "footer", "text": words["footer"]},
    ]  # fmt: skip


def demo_brand_create() -> None:
    from campaigns.models import Brand

    Brand.objects.get_or_create(
        pk=1,
        defaults={
            "name": "Demo Shop",
            "website_url": SHOP_URL,
            "primary_color": "#c2410c",
            "link_color": "#9a3412",
            "background_color": "#f5f1ea",
            "text_color": "#292524",
            "font": "georgia",
        },
    )


def demo_sending_rules_create() -> None:
    """The frequency policy (the default, saved so staff find it in the admin)
    and a domain that never gets mail."""
    FrequencyPolicy.objects.get_or_create(pk=1)
    DomainSuppression.objects.get_or_create(
        domain="competitor.example", defaults={"note": "A competitor's staff signed up"}
    )


# Campaigns sent earlier this week, as the ledger left them: VIP customers got
# two already, so the frequency cap keeps them out of the autumn sale.
_HISTORY = [
    ("VIP early access", VIP, 5, "Early access for our best customers"),
    ("Summer clearance", NEWSLETTER, 3, "Last summer pieces at half price"),
]
# Of the summer clearance: two addresses that do not exist, and one mail
# whose worker stopped after handing it over.
_REFUSED = "550 5.1.1 <{email}>: Recipient address rejected: User unknown"
_IN_DOUBT = "The worker stopped after handing this mail over; it may have been sent."


def demo_history_create(*, groups: dict[str, Group], products: list[Product]) -> None:
    existing = set(
        Campaign.objects.filter(name__in=[row[0] for row in _HISTORY]).values_list(
            "name", flat=True
        )
    )
    for name, group_name, days_ago, heading in _HISTORY:
        if name in existing:
            continue
        campaign = Campaign.objects.create(
            name=name,
            subject=f'{heading}, {{{{ contact.first_name|default:"friend" }}}}',
            from_name="Demo Shop",
            from_email="news@shop.example.com",
            reply_to="help@shop.example.com",
            body=f'<h2>{heading}</h2><p>See the <a href="{SHOP_URL}/sale">sale</a>.</p>',
        )
        campaign.groups.add(groups[group_name])
        campaign.products.add(*products[3:])
        _demo_send_in_the_past(campaign, timezone.now() - timedelta(days=days_ago))


def _demo_send_in_the_past(campaign: Campaign, when) -> None:
    send = Send.objects.create(campaign=campaign, lane=Send.Lane.BULK, is_marketing=True)
    content = compile_campaign(campaign)
    Send.objects.filter(pk=send.pk).update(
        content=content.to_json(),
        status=Send.Status.DONE,
        started_at=when,
        finished_at=when + timedelta(minutes=2),
        last_activity_at=when + timedelta(minutes=2),
    )
    send.links.bulk_create(
        Link(send=send, index=i, url=url, is_honeypot=i == content.honeypot)
        for i, url in enumerate(content.links)
    )
    ledger.messages_snapshot(send=send)
    messages = Message.objects.filter(send=send)
    messages.update(created_at=when)
    queued = messages.filter(status=Message.Status.QUEUED).order_by("id")
    queued.update(status=Message.Status.SENT, sent_at=when, attempts=1)
    if campaign.name == "Summer clearance":
        sent = list(messages.filter(status=Message.Status.SENT).order_by("id"))
        for message in sent[4:6]:
            messages.filter(pk=message.pk).update(
                status=Message.Status.FAILED,
                error_class=Message.ErrorClass.REFUSED,
                error=_REFUSED.format(email=message.email),
            )
        messages.filter(pk=sent[9].pk).update(
            status=Message.Status.IN_DOUBT, error_class=Message.ErrorClass.UNKNOWN, error=_IN_DOUBT
        )
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENT)
    demo_engagement_create(send=send, when=when)


_PERSON_AGENTS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0) Microsoft Outlook 16.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)",
]


def demo_engagement_create(*, send: Send, when) -> None:
    """What the ESP and the recipients did with a past send, through tracking's
    own services: deliveries, a bounce or two, a complaint, people's opens and
    clicks, and the machines' (Apple's privacy proxy, a link scanner)."""
    from anymail.signals import AnymailTrackingEvent

    from tracking.facts import events_flush_all
    from tracking.services import hit_record
    from tracking.webhooks import esp_event_apply

    rng = random.Random(send.campaign.name)  # the same demo on every run
    sent = list(send.messages.filter(status=Message.Status.SENT).order_by("id"))
    links = list(send.links.filter(is_honeypot=False).values_list("index", "url"))

    def esp(kind: str, message: Message, minutes: int, **extra) -> None:
        event = AnymailTrackingEvent(
            event_type=kind,
            message_id="",
            recipient=message.email,
            event_id=f"demo-{kind}-{message.pk}",
            timestamp=when + timedelta(minutes=minutes),
            metadata={"message_id": str(message.pk)},
            esp_event={},
            **extra,
        )
        esp_event_apply(esp_name="Demo", event=event)

    for number, message in enumerate(sent):
        if number % 17 == 3:
            esp("bounced", message, 2, mta_response="550 5.1.1 The mailbox does not exist")
            continue
        esp("delivered", message, 1)
        if number % 4 == 0:  # Apple Mail Privacy Protection fetches the pixel at once
            hit_record(message_id=message.pk, kind="opened", ip="17.58.10.1",
                       user_agent="Mozilla/5.0", at=when + timedelta(minutes=1))  # fmt: skip
        if number % 9 == 1:  # a security gateway follows the first link seconds after
            index, url = links[0]
            hit_record(message_id=message.pk, kind="clicked", ip="40.92.4.4",
                       user_agent=_PERSON_AGENTS[1], link_index=index, url=url,
                       at=when + timedelta(minutes=1, seconds=5))  # fmt: skip
        if rng.random() < 0.45:
            opened = when + timedelta(minutes=rng.randint(20, 60 * 30))
            agent = rng.choice(_PERSON_AGENTS)
            hit_record(message_id=message.pk, kind="opened", ip="203.0.113.10",
                       user_agent=agent, at=opened)  # fmt: skip
            if links and rng.random() < 0.3:
                index, url = rng.choice(links)
                hit_record(message_id=message.pk, kind="clicked", ip="203.0.113.10",
                           user_agent=agent, link_index=index, url=url,
                           at=opened + timedelta(minutes=1))  # fmt: skip
    if len(sent) > 12:
        esp("complained", sent[12], 300)
    events_flush_all(settle_seconds=0)


def demo_login_create() -> DemoLogin:
    """The demo staff login. Its password is made once and kept in VAR_DIR, so
    every later run can print it without changing it."""
    path = Path(settings.VAR_DIR) / "demo_login.txt"
    saved = path.read_text().strip() if path.exists() else ""
    user, created = get_user_model().objects.get_or_create(username=DEMO_USERNAME)
    password = saved or secrets.token_urlsafe(12)
    # Hashing is slow; only a new user, or one whose password we lost, needs it.
    if created or not saved:
        user.set_password(password)
        user.save(update_fields=["password"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)  # private before the password is in it
        path.write_text(password + "\n")
    if user_role(user) != ADMIN:
        role_assign(user, ADMIN)
    return DemoLogin(
        username=DEMO_USERNAME,
        password=password,
        url=settings.SITE_URL + reverse("login"),
        password_reset=not created and not saved,
    )


# --- Consent: a signup form, topics for the preference centre, consent records


def demo_consent_create(*, groups: dict[str, Group]) -> None:
    """The newsletter's signup form (at /subscribe/newsletter/), two groups
    recipients may pick as topics, and the consent trail of a few contacts:
    the unconfirmed ones signed up and have a confirmation mail waiting."""
    form, created = SignupForm.objects.get_or_create(
        key="newsletter",
        defaults={
            "name": "Newsletter signup",
            "title": "Get our weekly newsletter",
            "introduction": "New arrivals, stories from the workshop and members-only offers.",
        },
    )
    if not created:
        return
    form.groups.add(groups[NEWSLETTER])
    topics = {
        NEWSLETTER: ("Weekly newsletter", "New arrivals and stories, every Thursday."),
        VIP: ("VIP early access", "Sales a day before everyone else."),
    }
    for name, (public_name, description) in topics.items():
        Group.objects.filter(pk=groups[name].pk).update(
            is_topic=True, public_name=public_name, public_description=description
        )
    signed_up = groups[NEWSLETTER].contacts.order_by("email")
    base = {"form": form, "form_name": form.name, "wording": form.consent_text}
    records = []
    for contact in signed_up.filter(status=Contact.Status.UNCONFIRMED):
        records.append(_demo_consent(contact, ConsentRecord.Action.REQUESTED, 1, base))
    for contact in signed_up.filter(status=Contact.Status.SUBSCRIBED)[:6]:
        days = (timezone.now() - contact.consent_at).days if contact.consent_at else 3
        records.append(_demo_consent(contact, ConsentRecord.Action.REQUESTED, days, base))
        base_confirmed = {**base, "source": ConsentRecord.Source.CONFIRMATION}
        records.append(
            _demo_consent(contact, ConsentRecord.Action.CONFIRMED, days, base_confirmed, 0.02)
        )
    ConsentRecord.objects.bulk_create(records)


def _demo_consent(contact, action, days_ago, fields, later=0.0) -> ConsentRecord:
    fields = {"source": ConsentRecord.Source.HOSTED, **fields}
    return ConsentRecord(
        contact=contact,
        action=action,
        created_at=timezone.now() - timedelta(days=days_ago - later),
        ip=f"198.51.100.{contact.pk % 250 + 1}",
        user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X)",
        details={"groups": ["Weekly newsletter"]},
        **fields,
    )


# --- Contacts and audience: engagement, orders, tiers, segments ------------------

DEMO_SEGMENTS = {
    "Active buyers": (
        "Opened or clicked lately and ordered at least once.",
        {"match": "all", "rules": [
            {"field": "engagement_tier", "op": "eq", "value": "active"},
            {"field": "order_count", "op": "gte", "value": 1},
        ]},
    ),
    "Dormant customers": (
        "Bought before, silent for half a year: the win-back audience.",
        {"match": "all", "rules": [
            {"field": "engagement_tier", "op": "eq", "value": "dormant"},
            {"field": "order_count", "op": "gte", "value": 1},
        ]},
    ),
    "Russian speakers who spent over 100": (
        "",
        {"match": "all", "rules": [
            {"field": "locale", "op": "eq", "value": "ru"},
            {"field": "total_spent", "op": "gt", "value": "100"},
        ]},
    ),
}  # fmt: skip


def demo_audience_create() -> None:
    """Give the demo contacts a signup date, engagement and orders where they
    have none yet, sort them into tiers and add a few segments. Once the
    segments exist this is done (the beat task keeps the tiers current)."""
    if Segment.objects.filter(name__in=DEMO_SEGMENTS).count() == len(DEMO_SEGMENTS):
        return
    emails = [contact.email for contact, _ in _demo_contacts()]
    demo = Contact.objects.filter(email__in=emails)
    # Signed up when they consented, so some have been around for months.
    demo.filter(consent_at__isnull=False, created_at__gt=F("consent_at")).update(
        created_at=F("consent_at")
    )
    now = timezone.now()
    silent = set(
        demo.filter(last_opened_at__isnull=True, last_clicked_at__isnull=True).values_list(
            "email", flat=True
        )
    )
    no_orders = set(
        demo.filter(order_count=0, last_order_at__isnull=True).values_list("email", flat=True)
    )
    for index, email in enumerate(emails):
        opened = [now - timedelta(days=2 + index % 20), now - timedelta(days=100),
                  now - timedelta(days=200), None][index % 4]  # fmt: skip
        if opened and email in silent:
            demo.filter(email=email).update(last_opened_at=opened)
        if (orders := index % 12) and email in no_orders:
            demo.filter(email=email).update(
                order_count=orders,
                total_spent=Decimal("23.40") * orders,
                last_order_at=now - timedelta(days=5 + 9 * index),
            )
    tiers_update()
    for name, (description, rules) in DEMO_SEGMENTS.items():
        Segment.objects.get_or_create(
            name=name, defaults={"description": description, "rules": rules}
        )


# --- Campaign composer: a weekly newsletter on a schedule, an A/B test decided ---

WEEKLY_NAME, AB_NAME = "Weekly newsletter", "Subject test: spring arrivals"


def demo_composer_create(*, groups: dict[str, Group]) -> None:
    if not Campaign.objects.filter(name=WEEKLY_NAME).exists():
        _demo_weekly(groups[NEWSLETTER])
    if not Campaign.objects.filter(name=AB_NAME).exists():
        _demo_ab_test(groups[NEWSLETTER])


def _demo_campaign(name: str, subject: str, group: Group, **fields) -> Campaign:
    campaign = Campaign.objects.create(
        name=name,
        subject=subject,
        preheader="New in this week",
        from_name="Demo Shop",
        from_email="news@shop.example.com",
        reply_to="help@shop.example.com",
        body=f'<h2>{subject}</h2><p>See what is <a href="{SHOP_URL}/new">new</a>.</p>',
        **fields,
    )
    campaign.groups.add(group)
    return campaign


def _demo_weekly(group: Group) -> None:
    """Every Monday at 09:00 in Berlin, with a 5% holdout."""
    campaign = _demo_campaign(
        WEEKLY_NAME, "This week at Demo Shop", group, status=Campaign.Status.SCHEDULED
    )
    today = timezone.localdate()
    monday = today + timedelta(days=(7 - today.weekday()) % 7 or 7)
    at = time(9, 0)
    SendPlan.objects.create(
        campaign=campaign,
        mode=SendPlan.Mode.WEEKLY,
        status=SendPlan.Status.SCHEDULED,
        local_date=monday,
        local_time=at,
        time_zone="Europe/Berlin",
        next_run_at=localtime.next_weekly(monday, at, "Europe/Berlin", timezone.now()),
        holdout_percent=5,
    )


def _demo_ab_test(group: Group) -> None:
    """Two subjects tried on 40% of the newsletter last month (out of this
    week's frequency cap); B won on opens and went to the rest."""
    campaign = _demo_campaign(AB_NAME, "Spring arrivals are in", group)
    abtest.ab_test_configure(
        campaign=campaign,
        variants=[
            abtest.VariantInput(),
            abtest.VariantInput(subject="New for spring: 12 pieces we love"),
        ],
        test_percent=40,
        metric=ABTest.Metric.OPEN_RATE,
        wait_hours=4,
        confidence=95,
    )
    started = timezone.now() - timedelta(days=30)
    sends = abtest.ab_test_create_sends(
        campaign=campaign, user=None, lane=Send.Lane.BULK, is_marketing=True
    )
    plan, _ = abtest.send_snapshot_plan(sends[0])
    for send in sends:
        _demo_freeze(send, started)
    ledger.messages_snapshot(send=sends[0], plan=plan)
    for send, opened in zip(sends, (0.2, 0.7), strict=True):
        _demo_mark_sent(send, started, opened)
    test = ABTest.objects.get(campaign=campaign)
    rest = abtest.ab_test_decide(test_id=test.pk, now=test.decide_at + timedelta(days=10))
    ABTest.objects.filter(pk=test.pk).update(decided_at=started + timedelta(hours=4))
    decided = started + timedelta(hours=4)
    _demo_freeze(rest, decided)
    ledger.messages_snapshot(send=rest, plan=abtest.send_snapshot_plan(rest)[0])
    _demo_mark_sent(rest, decided, 0.6)
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.SENT)


def _demo_freeze(send: Send, when) -> None:
    content = compile_campaign(abtest.campaign_with_variant(send.campaign, send.variant))
    Send.objects.filter(pk=send.pk).update(
        content=content.to_json(),
        status=Send.Status.DONE,
        started_at=when,
        finished_at=when + timedelta(minutes=2),
        last_activity_at=when + timedelta(minutes=2),
    )
    send.links.bulk_create(Link(send=send, index=i, url=url) for i, url in enumerate(content.links))


def _demo_mark_sent(send: Send, when, opened_share: float) -> None:
    messages = Message.objects.filter(send=send)
    messages.update(created_at=when)
    queued = messages.filter(status=Message.Status.QUEUED).order_by("id")
    ids = list(queued.values_list("id", flat=True))
    queued.update(status=Message.Status.SENT, sent_at=when, attempts=1)
    opened = ids[: round(len(ids) * opened_share)]
    Message.objects.filter(id__in=opened).update(opened_at=when + timedelta(hours=1), opens=1)


# --- The shop's events API: a customer who bought without subscribing ---------------

SHOP_CUSTOMER = "kai.becker@example.com"


def demo_shop_events_create(*, products: list[Product]) -> None:
    """Events as the shop's backend posts them (tracking.shop_api): Kai
    registers without accepting marketing, looks at a product, fills a cart and
    orders. Kai shows as "Not subscribed", with the order, and gets order mail
    only. Their ids make a second run a no-op."""
    if ShopEvent.objects.filter(external_id="demo-evt-5").exists():
        return
    product = products[0]
    line = {"sku": product.sku, "name": product.name, "category": product.category,
            "quantity": 2, "unit_price": str(product.price), "url": product.url}  # fmt: skip
    customer = {"email": SHOP_CUSTOMER, "first_name": "Kai", "last_name": "Becker",
                "accepts_marketing": False}  # fmt: skip
    now = timezone.now()

    def at(days: float) -> str:
        return (now - timedelta(days=days)).isoformat()

    order = {"id": "demo-order-1001", "customer": customer, "total": str(product.price * 2),
             "currency": product.currency, "lines": [line],
             "delivery_address": {"name": "Kai Becker", "line1": "4 Harbour Road",
                                  "city": "Bremen"}}  # fmt: skip
    shop_api.events_ingest(
        [
            {"id": "demo-evt-1", "type": "customer.registered", "occurred_at": at(3),
             "data": {"customer": customer}},
            {"id": "demo-evt-2", "type": "product.viewed", "occurred_at": at(2.5),
             "data": {"product": {"sku": product.sku, "category": product.category},
                      "seconds": 140, "customer": customer}},
            {"id": "demo-evt-3", "type": "cart.updated", "occurred_at": at(2.4),
             "data": {"cart": {"id": "demo-cart-1", "customer": customer, "items": [line],
                               "total": order["total"], "currency": product.currency}}},
            {"id": "demo-evt-4", "type": "order.created", "occurred_at": at(2.3),
             "data": {"order": order}},
            {"id": "demo-evt-5", "type": "order.paid", "occurred_at": at(2.2),
             "data": {"order": order}},
        ]
    )  # fmt: skip
