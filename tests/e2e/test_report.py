"""The campaign report and the dashboard in a real browser, on a laptop and a
phone (screenshots in $SHOTS_DIR)."""

import pytest
from playwright.sync_api import expect

from campaigns import tokens
from campaigns.models import Message
from tests.e2e.shots import SHOTS
from tests.factories import UserFactory
from tests.tracking.test_report_views import report_send  # noqa: F401 (a fixture)

PASSWORD = "correct horse battery staple"  # the factories' password

WIDTHS = {"desktop": 1280, "phone": 390}

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _log_in(page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def _shoot(page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=SHOTS / f"{name}-{label}.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_a_viewer_reads_the_chart_and_filters_the_messages(live_server, page, report_send):  # noqa: F811
    UserFactory(username="charlie", role="viewer")
    _log_in(page, live_server, "charlie")

    page.goto(f"{live_server.url}/reports/campaigns/{report_send.pk}/")

    expect(page.get_by_role("heading", name="Opens and clicks over time")).to_be_visible()
    expect(page.get_by_role("img", name="Opens and clicks over time")).to_be_visible()
    expect(page.locator(".stat", has_text="Open rate")).to_contain_text("62.5%")
    expect(page.get_by_text("Spring sale, Reader0!")).to_be_visible()
    _shoot(page, "report")

    page.get_by_label("What happened").select_option("clicked")
    expect(page.locator("#messages tbody tr")).to_have_count(2)
    expect(page.locator("#messages tbody")).to_contain_text("reader4@example.com")

    page.get_by_role("link", name="People and machines").click()
    expect(page.get_by_role("img", name="Opens and clicks over time")).to_be_visible()
    expect(page.locator(".chart-legend")).to_contain_text("Machine opens")
    details = page.locator(".ua-details").first
    details.locator("summary").click()
    expect(details.locator(".ua")).to_be_visible()

    page.goto(f"{live_server.url}/")
    expect(page.get_by_role("heading", name="Last 30 days")).to_be_visible()
    _shoot(page, "dashboard")


def test_a_recipient_unsubscribes_and_takes_it_back(live_server, page, report_send):  # noqa: F811
    message = Message.objects.get(email="reader6@example.com")
    page.goto(f"{live_server.url}/t/u/{tokens.unsubscribe_token(message.pk)}")
    expect(page.get_by_role("heading", name="Unsubscribe from Demo Shop?")).to_be_visible()
    _shoot(page, "unsubscribe-confirm")

    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_role("heading", name="You are unsubscribed")).to_be_visible()
    _shoot(page, "unsubscribe-done")
    page.get_by_role("button", name="That was a mistake, keep me subscribed").click()
    expect(page.get_by_role("heading", name="Welcome back")).to_be_visible()

    page.goto(f"{live_server.url}/t/c/broken-link")
    expect(page.get_by_role("heading", name="This link does not lead anywhere")).to_be_visible()
    _shoot(page, "link-unknown")
