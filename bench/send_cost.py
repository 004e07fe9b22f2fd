"""What a campaign mail costs to build and send, against a raw SMTP loop.

Baseline: smtplib sends one prebuilt message N times over one connection to a
loopback sink. Product: the same N recipients go through build_email (fill in
the compiled campaign, build the MIME message) and Django's SMTP backend over
one connection to the same sink. Prints per-message times and the ratio.

    .venv/bin/python bench/send_cost.py [N]
"""

import os
import smtplib
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["VAR_DIR"] = tempfile.mkdtemp(prefix="bench-")
os.environ.pop("DATABASE_URL", None)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marketing_site.settings")

import django

django.setup()

from django.core.mail import get_connection  # noqa: E402
from django.core.management import call_command  # noqa: E402

from bench.smtp_sink import SmtpSink  # noqa: E402
from campaigns.models import Message, Send  # noqa: E402
from campaigns.rendering import compile_campaign  # noqa: E402
from campaigns.sending import build_email  # noqa: E402
from tests.factories import (  # noqa: E402
    CampaignFactory,
    ContactFactory,
    CouponFactory,
    GroupFactory,
    ProductFactory,
)


def prepare(count: int):
    call_command("migrate", verbosity=0)
    group = GroupFactory()
    products = ProductFactory.create_batch(4)
    campaign = CampaignFactory(groups=[group], products=products, coupon=CouponFactory())
    send = Send.objects.create(campaign=campaign)
    contacts = ContactFactory.create_batch(count, groups=[group])
    Message.objects.bulk_create([Message(send=send, contact=c, email=c.email) for c in contacts])
    messages = list(Message.objects.filter(send=send).select_related("contact"))
    return campaign, messages


def baseline(sink: SmtpSink, raw: bytes, count: int) -> float:
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", sink.port) as smtp:
        for _ in range(count):
            smtp.sendmail("news@shop.example.com", ["ann@example.com"], raw)
    return time.perf_counter() - started


def product(sink: SmtpSink, campaign, messages) -> tuple[float, float]:
    started = time.perf_counter()
    content = compile_campaign(campaign)
    compiled = time.perf_counter()
    connection = get_connection(
        "django.core.mail.backends.smtp.EmailBackend", host="127.0.0.1", port=sink.port
    )
    with connection:
        for message in messages:
            connection.send_messages([build_email(campaign, content, message)])
    return compiled - started, time.perf_counter() - compiled


def main(count: int) -> None:
    campaign, messages = prepare(count)
    sink = SmtpSink()
    raw = build_email(campaign, compile_campaign(campaign), messages[0]).message().as_bytes()
    baseline_seconds = baseline(sink, raw, count)
    compile_seconds, product_seconds = product(sink, campaign, messages)
    assert sink.received == 2 * count, sink.received
    per_base = baseline_seconds / count * 1e6
    per_product = product_seconds / count * 1e6
    print(f"messages: {count}, mail size: {len(raw) / 1024:.1f} KiB")
    print(f"compile once:            {compile_seconds * 1e3:8.1f} ms")
    print(f"raw smtplib loop:        {per_base:8.0f} us/message (baseline)")
    print(f"build_email + SMTP send: {per_product:8.0f} us/message")
    print(f"ratio product/baseline:  {per_product / per_base:8.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
