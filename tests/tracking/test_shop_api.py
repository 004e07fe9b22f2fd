"""The shop's events API, as the shop's backend and staff use it."""

import json
from decimal import Decimal

import pytest
from django.urls import reverse

from campaigns import automations
from campaigns.models import Product
from contacts.models import Cart, Contact, Order, ProductView, ShopEvent
from tests.factories import ContactFactory
from tracking import api_keys

pytestmark = pytest.mark.django_db

URL = "/api/v1/events"


@pytest.fixture
def secret(alice):
    _, secret = api_keys.api_key_create(name="Shop backend", actor=alice)
    return secret


@pytest.fixture
def hooked(monkeypatch):
    """The events handed to the automations, batch by batch."""
    calls = []
    original = automations.on_shop_events

    def record(events):
        calls.append([event.external_id for event in events])
        return original(events)

    monkeypatch.setattr(automations, "on_shop_events", record)
    return calls


def post(client, body, secret: str | None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {secret}"} if secret else {}
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(URL, data=data, content_type="application/json", **headers)


def order_event(event_id="evt-1", kind="order.created", order_id="o-1", total="24.00", **extra):
    order = {
        "id": order_id,
        "customer": {"email": "Ann@Example.com"},
        "total": total,
        "currency": "eur",
        "lines": [{"sku": "MUG-1", "name": "Mug", "category": "kitchen", "quantity": 2,
                   "unit_price": "12.00"}],
        "delivery_address": {"city": "Riga"},
        **extra,
    }  # fmt: skip
    return {"id": event_id, "type": kind, "occurred_at": "2026-11-24T09:30:00Z",
            "data": {"order": order}}  # fmt: skip


def test_an_order_is_stored_once_however_often_it_is_sent(client, secret, hooked):
    first = post(client, order_event(), secret)
    again = post(client, order_event(), secret)

    assert first.status_code == 200 and first.json() == {
        "accepted": 1, "duplicates": 0, "errors": []
    }  # fmt: skip
    assert again.json() == {"accepted": 0, "duplicates": 1, "errors": []}
    assert ShopEvent.objects.count() == 1 and Order.objects.count() == 1
    assert hooked == [["evt-1"]]  # the automations heard of it once
    order = Order.objects.get()
    assert (order.total, order.currency, order.lines.count()) == (Decimal("24.00"), "EUR", 1)
    contact = Contact.objects.get(email="ann@example.com")
    assert order.contact == contact
    # a customer who never accepted marketing gets order mail only
    assert contact.status == Contact.Status.NOT_SUBSCRIBED
    assert (contact.order_count, contact.total_spent) == (1, Decimal("24.00"))


def test_a_batch_with_one_bad_event_stores_the_rest_and_says_what_is_wrong(client, secret):
    batch = {
        "events": [
            order_event("evt-1"),
            order_event("evt-2", order_id="o-2", total="lots"),
            {"id": "evt-3", "type": "cart.updated", "data": {"cart": {
                "id": "cart-9", "customer": {"email": "ben@example.com"},
                "items": [{"sku": "HAT", "quantity": 1, "unit_price": "20"}], "total": "20"}}},
            {"id": "evt-4", "type": "order.teleported", "data": {}},
        ]
    }  # fmt: skip

    response = post(client, batch, secret)

    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == 2
    assert [(e["index"], e["id"]) for e in body["errors"]] == [(1, "evt-2"), (3, "evt-4")]
    assert body["errors"][0]["fields"] == {
        "data.order.total": "Must be a number from 0, such as 19.90."
    }
    assert "type" in body["errors"][1]["fields"]
    assert sorted(ShopEvent.objects.values_list("external_id", flat=True)) == ["evt-1", "evt-3"]
    assert Cart.objects.get().items[0]["sku"] == "HAT"


def test_payment_moves_the_order_on_and_keeps_its_lines(client, secret):
    post(client, order_event("evt-1"), secret)
    post(client, order_event("evt-2", kind="order.paid"), secret)

    order = Order.objects.get()
    assert order.status == Order.Status.PAID and order.paid_at is not None
    assert order.lines.count() == 1


def test_customers_products_and_views_arrive(client, secret):
    ContactFactory(email="old@example.com", status=Contact.Status.UNSUBSCRIBED)
    events = {
        "events": [
            {"id": "e1", "type": "customer.registered", "data": {"customer": {
                "email": "new@example.com", "first_name": "Nia", "nickname": "Ni",
                "accepts_marketing": True}}},
            {"id": "e2", "type": "customer.updated", "data": {"customer": {
                "email": "old@example.com", "first_name": "Olga", "accepts_marketing": True}}},
            {"id": "e3", "type": "product.upserted", "data": {"product": {
                "sku": "MUG-1", "name": "Mug", "url": "https://shop.example.com/p/mug",
                "price": "12.00", "stock": 4}}},
            {"id": "e4", "type": "product.viewed", "data": {"product": {"sku": "MUG-1",
                "category": "kitchen"}, "seconds": 95, "customer": {"email": "new@example.com"}}},
        ]
    }  # fmt: skip

    assert post(client, events, secret).json()["accepted"] == 4

    new = Contact.objects.get(email="new@example.com")
    assert new.status == Contact.Status.SUBSCRIBED and new.attributes["nickname"] == "Ni"
    old = Contact.objects.get(email="old@example.com")
    assert old.first_name == "Olga"
    assert old.status == Contact.Status.UNSUBSCRIBED  # an opt-out is never undone here
    assert Product.objects.get(sku="MUG-1").stock == 4
    assert ProductView.objects.get().seconds == 95


@pytest.mark.parametrize("header", [None, "Bearer mk_forged", "Basic abc"])
def test_without_a_valid_key_nothing_is_stored(client, header):
    headers = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.post(
        URL, data=json.dumps(order_event()), content_type="application/json", **headers
    )
    assert response.status_code == 401 and "API key" in response.json()["error"]
    assert not ShopEvent.objects.exists()


def test_a_revoked_key_gets_401(client, alice, secret):
    client.force_login(alice)
    key = api_keys.api_key_from_header(f"Bearer {secret}")
    client.post(reverse("integrations:api_key_revoke", args=[key.pk]))
    client.logout()

    assert post(client, order_event(), secret).status_code == 401


def test_a_key_past_its_rate_limit_gets_429_with_retry_after(client, secret, settings):
    from django.core.cache import cache

    cache.clear()
    settings.SHOP_API_RATE_LIMIT = 2
    statuses = [post(client, order_event(f"evt-{n}"), secret).status_code for n in range(3)]

    assert statuses == [200, 200, 429]
    assert int(post(client, order_event("evt-9"), secret)["Retry-After"]) >= 1


def test_broken_json_and_oversized_batches_get_400(client, secret):
    broken = post(client, '{"id": "evt-1", "type": ', secret)
    too_many = post(client, {"events": [order_event(f"e{n}") for n in range(1001)]}, secret)
    nothing_valid = post(client, {"events": [{"id": "x"}]}, secret)

    assert broken.status_code == 400 and "not JSON" in broken.json()["error"]
    assert too_many.status_code == 400 and "1,000" in too_many.json()["error"]
    assert nothing_valid.status_code == 400 and nothing_valid.json()["accepted"] == 0
    assert not ShopEvent.objects.exists()


def test_staff_see_a_new_key_once_and_only_its_fingerprint_is_kept(client, alice, bob):
    client.force_login(alice)
    page = client.post(reverse("integrations:api_keys"), {"name": "Shop backend"})
    secret = page.context["new_secret"]

    assert secret.startswith("mk_") and secret in page.content.decode()
    again = client.get(reverse("integrations:api_keys")).content.decode()
    assert secret not in again and secret[:10] in again
    assert post(client, order_event(), secret).status_code == 200

    client.force_login(bob)  # a marketer
    assert client.get(reverse("integrations:api_keys")).status_code == 403


def test_the_docs_page_and_the_schema_describe_every_event_type(client, alice):
    client.force_login(alice)
    docs = client.get(reverse("integrations:api_docs")).content.decode()
    schema = client.get(reverse("api:openapi")).json()

    for kind in ShopEvent.Type.values:
        assert kind in docs
    assert schema["openapi"].startswith("3.")
    assert set(schema["components"]["schemas"]["Event"]["properties"]["type"]["enum"]) == set(
        ShopEvent.Type.values
    )
