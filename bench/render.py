"""Personalised rendering of one campaign, per recipient, on one core.

    .venv/bin/python bench/render.py [N=100000]

The campaign is made of blocks: a header, a heading and a text with the
recipient's name, five links, a button, a products block with per-recipient
picks (from each recipient's purchases and viewed categories, never a
product they bought), a unique coupon with its expiry in the recipient's
time zone, social links and the footer; in English and Russian (half the
recipients each). It is compiled once (both languages), then for each of N
recipients the whole mail is produced as the SMTP transport sends it:
`PreparedMail.as_bytes` (the merge values, the product picks, the signed
URLs, the headers, quoted-printable). Recipients live in memory, so only the
per-recipient work is timed.

Baseline (the floor): `str.replace` of the same personal fields (name,
coupon code and expiry, three products' name, price, picture and link, the
unsubscribe, preference, web-view and pixel URLs) into the finished HTML of
one recipient, in the same run.

Ends with: RESULT render <msgs/s> msgs/s ratio <render/str_replace> to str_replace
"""

import random
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness

SHOP = "https://shop.example.com"
CATEGORIES = ["mugs", "bags", "hats", "notebooks", "candles", "socks", "scarves", "gloves"]
ZONES = ["UTC", "Europe/Berlin", "Europe/Moscow", "America/New_York", "Asia/Tokyo"]
RU_GREETING = 'Здравствуйте, {{ contact.first_name|default:"друг" }}'
BATCH = 200  # a worker's claim (settings.SEND_BATCH_SIZE)
NAMES = ["Olivia", "Liam", "Emma", "Tomás", "Анна", "Дмитрий", "Kenji", "", "<b>Eve</b>"]


def blocks(greeting: str, words: str) -> list[dict]:
    links = "".join(f'<a href="{SHOP}/{path}">{path}</a> ' for path in ("new", "sale", "help"))
    return [
        {"type": "header", "tagline": words},
        {"type": "heading", "text": greeting, "level": 1, "align": "left"},
        {"type": "text", "html": f"<p>{words} {links}</p><p>{words}</p>"},
        {"type": "button", "label": "Shop now", "url": f"{SHOP}/collections/autumn"},
        {"type": "products", "title": "Picked for you", "rule": "personal", "product_ids": [],
         "category": "", "count": 3},
        {"type": "coupon", "title": "Your code", "text": "15% off one order"},
        {"type": "social", "links": [{"network": "instagram", "url": "https://instagram.com/shop"},
                                     {"network": "facebook", "url": "https://facebook.com/shop"}]},
        {"type": "footer", "text": ""},
    ]  # fmt: skip


def catalogue_create() -> None:
    from campaigns.models import Brand, Product

    Brand.objects.create(pk=1, name="Demo Shop", website_url=SHOP, logo_url=f"{SHOP}/logo.png")
    Product.objects.bulk_create(
        Product(
            sku=f"SKU-{n:03d}",
            name=f"Product {n}",
            url=f"{SHOP}/p/{n}",
            image_url=f"{SHOP}/img/{n}.jpg",
            price=Decimal("10.00") + n,
            category=CATEGORIES[n % len(CATEGORIES)],
            stock=0 if n % 10 == 9 else 50,  # a tenth out of stock
            sales_count=1000 - n,
        )
        for n in range(80)
    )


def campaign_create():
    from campaigns.models import Campaign, Coupon

    expires_at = datetime(2026, 12, 31, 22, 59, tzinfo=UTC)
    coupon = Coupon.objects.create(
        name="Autumn codes", kind=Coupon.Kind.UNIQUE, expires_at=expires_at
    )
    return Campaign.objects.create(
        name="Autumn sale",
        subject='Autumn sale for you, {{ contact.first_name|default:"friend" }}',
        preheader="Wool, candles and mugs",
        from_name="Demo Shop",
        from_email="news@shop.example.com",
        content_blocks=blocks('Hello {{ contact.first_name|default:"there" }}', "Warm wool."),
        locale="en",
        locale_content={
            "ru": {
                "subject": 'Осенняя распродажа, {{ contact.first_name|default:"друг" }}',
                "preheader": "Шерсть, свечи и кружки",
                "blocks": blocks(
                    'Здравствуйте, {{ contact.first_name|default:"друг" }}', "Тёплая шерсть."
                ),
            }
        },
        coupon=coupon,
    )


def recipients(count: int):
    from campaigns.models import Message
    from contacts.models import Contact

    rng = random.Random(9)
    out = []
    for n in range(count):
        contact = Contact(
            pk=n + 1,
            email=f"r{n}@example.com",
            first_name=NAMES[n % len(NAMES)],
            locale="ru" if n % 2 else "en",
            time_zone=ZONES[n % len(ZONES)],
            attributes={
                "purchased_skus": [f"SKU-{rng.randrange(80):03d}" for _ in range(n % 4)],
                "viewed_categories": rng.sample(CATEGORIES, n % 3),
            },
        )
        out.append(
            Message(pk=n + 1, email=contact.email, contact=contact, coupon_code=f"AUT-{n:06d}")
        )
    return out


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    harness.environment()
    database = harness.database_recreate()
    try:
        harness.migrate()
        harness.django_setup()
        result = run(count)
    finally:
        from django.db import connections

        connections.close_all()
        harness.database_drop(database)
    print(harness.result_line("render", result["render"], "msgs/s", result["ratio"], "str_replace"))


def run(count: int) -> dict:
    from campaigns.assembly import prepared_mail
    from campaigns.models import Send
    from campaigns.rendering import compile_campaign

    catalogue_create()
    campaign = campaign_create()
    started = time.perf_counter()
    content = compile_campaign(campaign)
    compile_seconds = time.perf_counter() - started
    send = Send.objects.create(campaign=campaign, content=content.to_json())
    prepared = prepared_mail(send)
    messages = recipients(count)
    print(
        f"compiled once in {compile_seconds * 1000:.0f} ms (2 languages, {len(content.links)} "
        f"links, {content.picks['slots']} product slots of {len(content.picks['candidates'])} "
        "in-stock candidates)"
    )

    # The product: each recipient's whole mail, as the SMTP transport sends it.
    started = time.process_time()
    size = 0
    for start in range(0, count, BATCH):  # as a worker does, batch by batch
        batch = messages[start : start + BATCH]
        prepared.batch_prepare(batch)
        for message in batch:
            size += len(prepared.as_bytes(message))
    render_seconds = time.process_time() - started

    # The floor: the personal fields replaced into one finished HTML document.
    sample, urls = prepared.render(messages[0])
    values = prepared.values(messages[0])
    fields = [values[k] for k in values if k.startswith(("products.", "coupon.", "contact.f"))]
    fields += [urls.slot("unsubscribe"), urls.slot("web"), urls.slot("open")]
    template = sample.html
    placeholders = [f"@@{n}@@" for n in range(len(fields))]
    for placeholder, value in zip(placeholders, fields, strict=True):
        template = template.replace(value, placeholder, 1) if value else template
    started = time.process_time()
    for message in messages:
        document = template
        personal = message.coupon_code  # a value that differs per recipient
        for placeholder in placeholders:
            document = document.replace(placeholder, personal)
    floor_seconds = time.process_time() - started

    render_rate, floor_rate = count / render_seconds, count / floor_seconds
    rows = [
        ("as_bytes (whole mail)", count, f"{render_seconds:.2f}", f"{render_rate:,.0f}"),
        ("str.replace into HTML", count, f"{floor_seconds:.2f}", f"{floor_rate:,.0f}"),
    ]
    print(harness.table(rows, ("step", "mails", "cpu seconds", "mails/s")))
    print(f"average mail: {size / count / 1024:.1f} KiB")
    return {"render": render_rate, "ratio": render_rate / floor_rate}


if __name__ == "__main__":
    main()
