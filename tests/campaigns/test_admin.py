import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, Coupon, CouponCode, Message, Product, Send
from contacts.models import Contact, Suppression
from tests.factories import (
    CampaignFactory,
    ContactFactory,
    CouponCodeFactory,
    CouponFactory,
    GroupFactory,
    ProductFactory,
)
from tests.spreadsheets import XLSX, admin_import, csv_bytes, xlsx_bytes
from tracking.models import Event

LEDGER_ADMINS = ["campaigns_send", "campaigns_message", "tracking_event"]
ALL_ADMINS = [
    "contacts_contact", "contacts_group", "contacts_suppression", "campaigns_product",
    "campaigns_coupon", "campaigns_couponcode", "campaigns_campaign", *LEDGER_ADMINS,
]  # fmt: skip


@pytest.fixture
def admin_client_alice(client, alice):
    client.force_login(alice)
    return client


def a_sent_campaign(recipients: int) -> Send:
    """A campaign sent to `recipients` contacts, each with a code, an open and a click."""
    group = GroupFactory(name="Newsletter")
    campaign = CampaignFactory(groups=[group], products=[ProductFactory()])
    send = Send.objects.create(campaign=campaign, status=Send.Status.DONE)
    pool = CouponFactory(name="Pool", kind=Coupon.Kind.UNIQUE, code="")
    for _ in range(recipients):
        contact = ContactFactory(groups=[group])
        message = Message.objects.create(
            send=send, contact=contact, email=contact.email, status=Message.Status.SENT
        )
        CouponCodeFactory(coupon=pool, contact=contact, assigned_at=timezone.now())
        Event.objects.create(message=message, contact=contact, kind=Event.Kind.OPENED)
        Event.objects.create(message=message, contact=contact, kind=Event.Kind.CLICKED)
    Message.objects.create(
        send=send,
        contact=ContactFactory(status=Contact.Status.UNSUBSCRIBED),
        email="gone@example.com",
        status=Message.Status.SKIPPED,
        skip_reason=Message.SkipReason.UNSUBSCRIBED,
    )
    Suppression.objects.create(email="gone@example.com")
    return send


def _model(admin_name: str):
    return apps.get_model(*admin_name.split("_", 1))


def _changelist_queries(client, admin_name: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(f"admin:{admin_name}_changelist"))
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("admin_name", ALL_ADMINS)
def test_it_renders_every_changelist_and_change_page(admin_client_alice, admin_name):
    a_sent_campaign(recipients=2)
    obj = _model(admin_name).objects.first()

    assert admin_client_alice.get(reverse(f"admin:{admin_name}_changelist")).status_code == 200
    change = admin_client_alice.get(reverse(f"admin:{admin_name}_change", args=[obj.pk]))
    assert change.status_code == 200


@pytest.mark.parametrize(
    "admin_name", [name for name in ALL_ADMINS if name.startswith(("campaigns", "tracking"))]
)
def test_it_lists_any_number_of_rows_in_the_same_queries(admin_client_alice, admin_name):
    send = a_sent_campaign(recipients=2)
    few = _changelist_queries(admin_client_alice, admin_name)

    Send.objects.create(campaign=CampaignFactory(name="Second", groups=[GroupFactory()]))
    pool = Coupon.objects.get(name="Pool")
    for _ in range(20):
        contact = ContactFactory()
        message = Message.objects.create(send=send, contact=contact, email=contact.email)
        CouponCodeFactory(coupon=pool, contact=contact, assigned_at=timezone.now())
        Event.objects.create(message=message, contact=contact, kind=Event.Kind.OPENED)
        ProductFactory()

    assert _changelist_queries(admin_client_alice, admin_name) == few


def test_it_filters_messages_by_skip_reason_and_finds_them_by_address(admin_client_alice):
    a_sent_campaign(recipients=2)
    url = reverse("admin:campaigns_message_changelist")

    skipped = admin_client_alice.get(url, {"skip_reason": "unsubscribed"}).content.decode()
    found = admin_client_alice.get(url, {"q": "gone@example"}).content.decode()

    assert "gone@example.com" in skipped
    assert skipped.count('class="field-email"') == 1
    assert found.count('class="field-email"') == 1


@pytest.mark.parametrize("admin_name", LEDGER_ADMINS)
def test_it_keeps_the_ledger_read_only(admin_client_alice, admin_name):
    a_sent_campaign(recipients=1)
    obj = _model(admin_name).objects.first()
    change_url = reverse(f"admin:{admin_name}_change", args=[obj.pk])

    assert admin_client_alice.get(reverse(f"admin:{admin_name}_add")).status_code == 403
    assert admin_client_alice.post(change_url, {}).status_code == 403
    assert (
        admin_client_alice.post(
            reverse(f"admin:{admin_name}_delete", args=[obj.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert 'name="_save"' not in admin_client_alice.get(change_url).content.decode()


def test_it_lets_only_draft_campaigns_be_edited(admin_client_alice):
    draft = CampaignFactory(name="Draft")
    sent = CampaignFactory(name="Sent", status=Campaign.Status.SENT)

    draft_page = admin_client_alice.get(reverse("admin:campaigns_campaign_change", args=[draft.pk]))
    sent_page = admin_client_alice.get(reverse("admin:campaigns_campaign_change", args=[sent.pk]))

    assert 'name="_save"' in draft_page.content.decode()
    assert 'name="_save"' not in sent_page.content.decode()


def test_it_counts_free_and_assigned_codes(admin_client_alice):
    pool = CouponFactory(name="Pool", kind=Coupon.Kind.UNIQUE, code="")
    CouponCodeFactory.create_batch(3, coupon=pool)
    CouponCodeFactory(coupon=pool, contact=ContactFactory(), assigned_at=timezone.now())

    page = admin_client_alice.get(reverse("admin:campaigns_coupon_changelist")).content.decode()

    assert '<td class="field-free_codes">3</td>' in page
    assert '<td class="field-assigned_codes">1</td>' in page


def test_it_shows_a_big_pool_without_listing_every_code(admin_client_alice):
    pool = CouponFactory(name="Pool", kind=Coupon.Kind.UNIQUE, code="")
    CouponCode.objects.bulk_create(CouponCode(coupon=pool, code=f"C{n:05d}") for n in range(500))

    response = admin_client_alice.get(reverse("admin:campaigns_coupon_change", args=[pool.pk]))

    page = response.content.decode()
    assert "500 free, 0 assigned" in page
    assert "C00049" in page and "C00050" not in page

    # Saving the coupon (with the shortened inline) still works.
    data = {
        "name": "Pool renamed",
        "kind": "unique",
        "code": "",
        "description": "",
        "codes-TOTAL_FORMS": "50",
        "codes-INITIAL_FORMS": "50",
    }
    for index, code in enumerate(CouponCode.objects.order_by("pk")[:50]):
        data |= {f"codes-{index}-id": code.pk, f"codes-{index}-coupon": pool.pk}
        data[f"codes-{index}-code"] = code.code
    saved = admin_client_alice.post(reverse("admin:campaigns_coupon_change", args=[pool.pk]), data)
    assert saved.status_code == 302
    assert Coupon.objects.get().name == "Pool renamed"
    assert CouponCode.objects.count() == 500


def test_it_imports_codes_into_a_pool_named_by_name_or_id(admin_client_alice):
    pool = CouponFactory(name="Autumn codes", kind=Coupon.Kind.UNIQUE, code="")
    content = csv_bytes(
        ["coupon", "code"],
        ["autumn codes", " AUT-1 "],
        ["Autumn codes", "AUT-2"],
        [pool.pk, "AUT-3"],
    )

    response = admin_import(admin_client_alice, "campaigns_couponcode", content, "codes.csv")

    assert "3 new" in response.content.decode()
    assert sorted(pool.codes.values_list("code", flat=True)) == ["AUT-1", "AUT-2", "AUT-3"]

    again = admin_import(admin_client_alice, "campaigns_couponcode", content, "codes.csv")

    assert "0 new" in again.content.decode()
    assert pool.codes.count() == 3


def test_it_imports_codes_from_xlsx(admin_client_alice):
    pool = CouponFactory(name="Autumn codes", kind=Coupon.Kind.UNIQUE, code="")
    content = xlsx_bytes(["coupon", "code"], [pool.pk, "X-1"], [pool.pk, 2002])

    admin_import(admin_client_alice, "campaigns_couponcode", content, "codes.xlsx", XLSX)

    assert sorted(pool.codes.values_list("code", flat=True)) == ["2002", "X-1"]


@pytest.mark.parametrize(
    ("coupon_cell", "message"),
    [
        ("Welcome", "“Welcome” has one shared code"),
        ("Nope", "there is no coupon named “Nope”"),
        ("Twins", "several coupons are named “Twins”"),
    ],
)
def test_it_refuses_codes_for_a_coupon_without_a_pool(admin_client_alice, coupon_cell, message):
    CouponFactory(name="Welcome", kind=Coupon.Kind.SHARED, code="WELCOME10")
    CouponFactory.create_batch(2, name="Twins", kind=Coupon.Kind.UNIQUE, code="")
    content = csv_bytes(["coupon", "code"], [coupon_cell, "C-1"])

    response = admin_import(admin_client_alice, "campaigns_couponcode", content, "codes.csv")

    assert f"Row 1 (line 2 of the file): {message}" in response.content.decode()
    assert not CouponCode.objects.exists()


def test_it_imports_products(admin_client_alice):
    ProductFactory(sku="MUG", name="Old mug")
    content = csv_bytes(
        ["sku", "name", "url", "image_url", "price", "currency", "active"],
        ["MUG", "Stoneware mug", "https://shop.example.com/mug", "", "24.00", "EUR", "1"],
        ["TOTE", "Tote bag", "https://shop.example.com/tote", "", "32.50", "EUR", "0"],
    )

    response = admin_import(admin_client_alice, "campaigns_product", content, "products.csv")

    assert "1 new, 1 updated" in response.content.decode()
    assert list(Product.objects.values_list("sku", "name", "active")) == [
        ("MUG", "Stoneware mug", True),
        ("TOTE", "Tote bag", False),
    ]
