"""In the browser: Alice, an admin, makes a key for the shop's backend, sees
it once, reads how to send events, and revokes the key; screenshots at
desktop and phone widths."""

import pytest
from playwright.sync_api import expect

from tests.e2e.shots import SHOTS
from tests.factories import UserFactory
from tracking import api_keys

PASSWORD = "correct horse battery staple"  # the factories' password
WIDTHS = (1280, 390)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def shoot(page, name: str, full_page: bool = True) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=SHOTS / f"api-{name}-{width}.png", full_page=full_page)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_alice_makes_a_key_sees_it_once_and_revokes_it(live_server, page):
    UserFactory(username="alice", role="admin")
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Shop API").click()
    expect(page.get_by_text("No keys yet")).to_be_visible()
    shoot(page, "keys-empty")

    page.get_by_label("Name").fill("Shop backend")
    page.get_by_role("button", name="Make a key").click()
    secret = page.locator("[data-secret]").inner_text()
    assert secret.startswith("mk_")
    assert api_keys.api_key_from_header(f"Bearer {secret}") is not None
    shoot(page, "keys-made")

    page.get_by_role("link", name="How to send events").click()
    expect(page.get_by_role("heading", name="Shop events API")).to_be_visible()
    expect(page.get_by_text("order.created").first).to_be_visible()
    shoot(page, "docs", full_page=False)

    page.go_back()
    page.goto(f"{live_server.url}/integrations/api-keys/")
    expect(page.locator("[data-secret]")).to_have_count(0)  # shown once only
    page.get_by_role("button", name="Revoke Shop backend").click()
    expect(page.get_by_text("is revoked")).to_be_visible()
    assert api_keys.api_key_from_header(f"Bearer {secret}") is None
    shoot(page, "keys-revoked")


def test_a_customer_from_the_shop_shows_with_their_orders(live_server, page):
    from contacts.models import Contact
    from tracking import shop_api

    UserFactory(username="alice", role="admin")
    order = {"id": "o-5001", "customer": {"email": "kai@example.com", "first_name": "Kai"},
             "total": "24.00", "currency": "EUR",
             "lines": [{"sku": "MUG-1", "name": "Stoneware mug", "quantity": 2,
                        "unit_price": "12.00"}]}  # fmt: skip
    shop_api.events_ingest([{"id": "e1", "type": "order.created", "data": {"order": order}}])
    kai = Contact.objects.get(email="kai@example.com")

    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/contacts/{kai.pk}/")
    expect(page.get_by_role("heading", name="Orders")).to_be_visible()
    expect(page.get_by_text("Stoneware mug")).to_be_visible()
    expect(page.get_by_text("Not subscribed").first).to_be_visible()
    shoot(page, "contact-orders")
