"""The block editor, as a marketer uses it in the browser."""

import json

import pytest
from playwright.sync_api import expect

from campaigns.models import Campaign
from tests.e2e.shots import SHOTS
from tests.factories import GroupFactory, ProductFactory, UserFactory

PASSWORD = "correct horse battery staple"  # the factories' password


def _log_in(page, live_server, url):
    page.goto(url)
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def _block_types(page) -> list[str]:
    return page.locator("[data-block-list] > li").evaluate_all(
        "items => items.map(item => item.dataset.type)"
    )


def _shoot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / name), full_page=True)


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_marketer_composes_a_mail_from_blocks_and_sees_it_at_both_widths(live_server, page):
    # given a marketer, a list and a small catalogue
    UserFactory(username="bob", role="marketer")
    GroupFactory(name="Newsletter")
    ProductFactory(name="Wool socks", price="9.50", sales_count=5)
    ProductFactory(name="Stoneware mug", price="24.00", sales_count=9)

    # when Bob starts a new campaign
    _log_in(page, live_server, f"{live_server.url}/campaigns/new/")
    expect(page.get_by_role("heading", name="New campaign")).to_be_visible()
    preview = page.frame_locator("iframe[data-preview-frame]")

    # then the editor shows the starting blocks and the mail beside them
    assert _block_types(page) == ["header", "heading", "text", "footer"]
    expect(preview.get_by_text("Hello there!")).to_be_visible()
    expect(preview.get_by_text("Unsubscribe")).to_be_visible()

    # when he edits the heading, the preview follows as he types
    heading = page.locator("[data-type=heading] input[type=text]").first
    heading.fill("Autumn is here")
    expect(preview.get_by_text("Autumn is here")).to_be_visible()

    # and he adds a button, which lands before the footer
    page.locator("[data-add-type]").select_option("button")
    page.get_by_role("button", name="Add", exact=True).click()
    assert _block_types(page) == ["header", "heading", "text", "button", "footer"]
    button = page.locator("[data-type=button]")
    button.get_by_label("Label").fill("Shop the sale")
    button.get_by_label("Links to").fill("https://shop.example.com/sale")
    expect(preview.get_by_role("link", name="Shop the sale")).to_be_visible()

    # and moves it above the text with the keyboard-friendly button
    page.get_by_role("button", name="Move up (Button)").click()
    assert _block_types(page) == ["header", "heading", "button", "text", "footer"]

    # and drags the text above the heading, then back below the button
    # (a tall window: a scroll in the middle of a drag would move the pointer)
    page.set_viewport_size({"width": 1280, "height": 2400})
    page.locator("[data-type=text] .drag-handle").drag_to(page.locator("[data-type=heading]"))
    assert _block_types(page) == ["header", "text", "heading", "button", "footer"]
    page.locator("[data-type=text] .drag-handle").drag_to(page.locator("[data-type=button]"))
    assert _block_types(page) == ["header", "heading", "button", "text", "footer"]
    # the footer stays last
    page.locator("[data-type=text] .drag-handle").drag_to(page.locator("[data-type=footer]"))
    assert _block_types(page)[-1] == "footer"
    page.set_viewport_size({"width": 1280, "height": 900})

    # and inserts the first name into the heading with the field picker
    heading.click()
    heading.press("End")
    page.locator("[data-merge-field]").select_option(label="First name")
    expect(heading).to_have_value('Autumn is here{{ contact.first_name|default:"there" }}')
    expect(preview.get_by_text("Autumn is herethere")).to_be_visible()

    # and adds products picked by hand, seeing pictures and prices
    page.locator("[data-add-type]").select_option("products")
    page.get_by_role("button", name="Add", exact=True).click()
    picker = page.locator(".product-picker")
    expect(picker.get_by_text("€9.50").or_(picker.get_by_text("$9.50"))).to_be_visible()
    picker.get_by_text("Wool socks").click()
    expect(preview.get_by_text("Wool socks")).to_be_visible()
    _shoot(page, "composer-1280.png")

    # and looks at the phone width
    page.get_by_role("button", name="Phone").click()
    width = page.locator("iframe[data-preview-frame]").evaluate("f => f.clientWidth")
    assert width == 390
    _shoot(page, "composer-1280-phone-preview.png")

    # when he names it and saves
    page.get_by_label("Name", exact=True).fill("Autumn sale")
    page.get_by_label("Subject", exact=True).fill("Autumn is here")
    page.get_by_label("From name").fill("Demo Shop")
    page.get_by_label("From email").fill("news@shop.example.com")
    page.get_by_role("button", name="Create draft").click()

    # then the campaign keeps its blocks in order
    expect(page.get_by_text("created as a draft")).to_be_visible()
    campaign = Campaign.objects.get()
    assert [b["type"] for b in campaign.content_blocks] == [
        "header", "heading", "button", "text", "products", "footer",
    ]  # fmt: skip
    assert campaign.content_blocks[2]["label"] == "Shop the sale"


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_the_composer_works_on_a_phone_and_in_two_languages(live_server, page):
    UserFactory(username="bob", role="marketer")
    page.set_viewport_size({"width": 390, "height": 844})
    _log_in(page, live_server, f"{live_server.url}/campaigns/new/")
    preview = page.frame_locator("iframe[data-preview-frame]")
    expect(preview.get_by_text("Hello there!")).to_be_visible()

    # a Russian version, edited on its own tab, previewed in Russian
    page.get_by_label("Add a language").select_option("ru")
    expect(page.get_by_role("tab", name="Russian")).to_have_attribute("aria-selected", "true")
    page.locator("[data-type=heading] input[type=text]").fill("Привет!")
    expect(preview.get_by_text("Привет!")).to_be_visible()
    expect(preview.get_by_text("Отписаться")).to_be_visible()
    _shoot(page, "composer-390.png")
    page.locator("[data-block-list]").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / "composer-390-blocks.png"))
    page.locator(".composer-preview").scroll_into_view_if_needed()
    page.wait_for_timeout(500)  # Chromium paints a frame scrolled into view a moment later
    page.screenshot(path=str(SHOTS / "composer-390-preview.png"))

    # the main version is untouched
    page.get_by_role("tab", name="English (main)").click()
    expect(preview.get_by_text("Hello there!")).to_be_visible()
    versions = json.loads(page.locator("input[name=locale_content]").input_value())
    assert versions["ru"]["blocks"][1]["text"] == "Привет!"
    # nothing overflows the phone's width
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_a_marketer_sets_the_brand_and_sees_a_sample_mail(live_server, page):
    UserFactory(username="bob", role="marketer")
    _log_in(page, live_server, f"{live_server.url}/campaigns/brand/")
    expect(page.get_by_role("heading", name="Brand settings")).to_be_visible()
    sample = page.frame_locator("iframe.brand-sample")
    expect(sample.get_by_text("Our shop").first).to_be_visible()

    page.get_by_label("Shop name").fill("Wool & Co")
    page.get_by_label("Button colour").fill("#0b7285")
    page.get_by_role("button", name="Save brand").click()

    expect(page.get_by_text("Brand saved")).to_be_visible()
    expect(sample.get_by_text("Wool & Co").first).to_be_visible()
    colour = sample.get_by_role("link", name="The main button").evaluate(
        "a => getComputedStyle(a.closest('td')).backgroundColor"
    )
    assert colour == "rgb(11, 114, 133)"
    _shoot(page, "brand-1280.png")
    page.set_viewport_size({"width": 390, "height": 844})
    _shoot(page, "brand-390.png")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
