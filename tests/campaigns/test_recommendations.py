"""Which products a mail recommends, by rule and per recipient."""

import pytest

from campaigns.personalisation import recipient_values
from campaigns.recommendations import History, Picker, contact_history, products_by_rule
from campaigns.rendering import PreviewUrls, TrackedUrls, compile_campaign, personalise
from campaigns.selectors import preview_values
from tests.factories import CampaignFactory, ContactFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(db):
    return {
        "mug": ProductFactory(sku="MUG", name="Mug", category="kitchen", sales_count=50),
        "pan": ProductFactory(sku="PAN", name="Pan", category="kitchen", sales_count=10),
        "hat": ProductFactory(sku="HAT", name="Hat", category="clothes", sales_count=40),
        "sock": ProductFactory(sku="SOCK", name="Socks", category="clothes", sales_count=30),
        "gone": ProductFactory(sku="GONE", name="Sold out", category="clothes", stock=0,
                               sales_count=99),
        "off": ProductFactory(sku="OFF", name="Retired", active=False, sales_count=98),
    }  # fmt: skip


def names(products):
    return [p.name for p in products]


def test_rules_pick_bestsellers_newest_a_category_or_by_hand_never_out_of_stock(catalogue):
    assert names(products_by_rule(rule="bestsellers", count=3)) == ["Mug", "Hat", "Socks"]
    assert names(products_by_rule(rule="category", category="clothes", count=3)) == [
        "Hat", "Socks",
    ]  # fmt: skip
    newest = products_by_rule(rule="newest", count=1)
    assert names(newest) == ["Socks"]  # the last one made that is in stock and active
    by_hand = [catalogue["pan"].pk, catalogue["gone"].pk, catalogue["mug"].pk]
    assert names(products_by_rule(rule="manual", product_ids=by_hand, count=3)) == ["Pan", "Mug"]


def test_personal_picks_prefer_liked_categories_and_skip_what_was_bought(catalogue):
    candidates = [
        {"sku": p.sku, "category": p.category, "name": p.name, "price": "1", "image": "",
         "link": str(n)}
        for n, p in enumerate([catalogue[k] for k in ("mug", "hat", "sock", "pan")])
    ]  # fmt: skip
    picker = Picker(slots=2, candidates=candidates)
    fan_of_clothes = picker.values(History(frozenset({"HAT"}), ("clothes",)))
    assert (fan_of_clothes["products.0.name"], fan_of_clothes["products.1.name"]) == (
        "Socks", "Mug",
    )  # fmt: skip
    nobody = picker.values(History())
    assert (nobody["products.0.name"], nobody["products.1.name"]) == ("Mug", "Hat")


def test_history_comes_from_the_contacts_shop_attributes():
    contact = ContactFactory(
        attributes={"purchased_skus": ["MUG"], "viewed_categories": ["kitchen", "clothes"]}
    )
    assert contact_history(contact) == History(frozenset({"MUG"}), ("kitchen", "clothes"))
    assert contact_history(ContactFactory(attributes={"purchased_skus": "junk"})) == History()


def test_a_per_recipient_block_compiles_once_and_fills_each_recipients_products(catalogue):
    campaign = CampaignFactory(
        content_blocks=[{"type": "products", "title": "For you", "rule": "personal", "count": 2}]
    )
    content = compile_campaign(campaign)
    assert content.picks["slots"] == 2
    assert [c["name"] for c in content.picks["candidates"]] == ["Mug", "Hat", "Socks", "Pan"]
    assert "Sold out" not in str(content.to_json()) and "Retired" not in str(content.to_json())

    cook = ContactFactory(attributes={"purchased_skus": ["MUG"], "viewed_categories": ["kitchen"]})
    mail = personalise(content, preview_values(campaign, content, cook), TrackedUrls(5))
    assert "Pan" in mail.html and "Mug" not in mail.html.replace("Mug ", "")
    assert 'href="http://127.0.0.1:8000/t/c/' in mail.html  # product links are tracked
    pan = content.links.index(catalogue["pan"].url)
    assert TrackedUrls(5).click(pan, content.links) in mail.html

    stranger = ContactFactory(attributes={})
    other = personalise(content, preview_values(campaign, content, stranger), PreviewUrls())
    assert "Mug" in other.html and "Hat" in other.html
    assert catalogue["mug"].url in other.html  # the preview links where it points


def test_picks_survive_storage_with_the_send(catalogue):
    campaign = CampaignFactory(
        content_blocks=[{"type": "products", "title": "", "rule": "personal", "count": 1}]
    )
    content = compile_campaign(campaign)
    stored = type(content).from_json(content.to_json())
    values = recipient_values(ContactFactory())
    values.update(preview_values(campaign, stored, ContactFactory(attributes={})))
    assert "Mug" in personalise(stored, values, PreviewUrls()).html


def test_a_batch_loads_the_same_shop_histories_as_one_recipient_at_a_time():
    from campaigns.recommendations import _shop_history, shop_histories
    from contacts.models import Order, OrderLine, ProductView

    buyer, browser, stranger = ContactFactory(), ContactFactory(), ContactFactory()
    order = Order.objects.create(external_id="o-1", contact=buyer, total=30)
    OrderLine.objects.create(order=order, sku="MUG", category="kitchen", unit_price=10)
    OrderLine.objects.create(order=order, sku="HAT", category="clothes", unit_price=20)
    for n in range(60):  # more than the 50 latest views that count
        ProductView.objects.create(contact=browser, sku=f"S{n}", category=f"cat{n}")
    ProductView.objects.create(contact=buyer, sku="PAN", category="pans")

    batch = shop_histories([buyer.pk, browser.pk, stranger.pk])

    for contact in (buyer, browser, stranger):
        purchased, categories = _shop_history(contact.pk)
        assert batch[contact.pk][0] == purchased
        assert batch[contact.pk][1] == categories
    assert batch[buyer.pk] == ({"MUG", "HAT"}, ["pans", "kitchen", "clothes"])
    assert batch[browser.pk][1][0] == "cat59" and len(batch[browser.pk][1]) == 50
