"""Who may open which staff page: anonymous, no role, viewer, marketer, admin."""

import pytest
from django.urls import reverse

from campaigns.models import Campaign, Send
from tests.factories import CampaignFactory, ContactFactory, GroupFactory


@pytest.fixture
def campaign(db):
    newsletter = GroupFactory(name="Newsletter")
    contact = ContactFactory(groups=[newsletter])
    campaign = CampaignFactory(groups=[newsletter])
    campaign.contact = contact
    return campaign


def _staff_urls(campaign) -> list[str]:
    return [
        reverse("dashboard"),
        reverse("contacts:list"),
        reverse("contacts:detail", args=[campaign.contact.pk]),
        reverse("contacts:groups"),
        reverse("contacts:group", args=[campaign.groups.first().pk]),
        reverse("campaigns:list"),
        reverse("campaigns:create"),
        reverse("campaigns:detail", args=[campaign.pk]),
        reverse("campaigns:edit", args=[campaign.pk]),
        reverse("campaigns:preview", args=[campaign.pk]),
        reverse("campaigns:send", args=[campaign.pk]),
        reverse("campaigns:sending", args=[campaign.pk]),
        reverse("reports:campaign", args=[campaign.pk]),
        reverse("reports:campaign_progress", args=[campaign.pk]),
    ]


def test_it_sends_anonymous_visitors_to_the_login_page_from_every_staff_url(client, campaign):
    for url in _staff_urls(campaign):
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 302, url
            assert response["Location"] == f"{reverse('login')}?next={url}"
    assert not Send.objects.exists()


def test_it_refuses_every_staff_url_to_a_user_without_a_role(client, campaign, dave):
    client.force_login(dave)
    for url in _staff_urls(campaign):
        response = client.get(url)
        assert response.status_code == 403, url
    assert b"no role yet" in client.get(reverse("dashboard")).content


@pytest.mark.parametrize(
    "url_name", ["campaigns:create", "campaigns:edit", "campaigns:send"], ids=str
)
def test_it_refuses_writes_to_a_viewer_and_changes_nothing(client, campaign, charlie, url_name):
    client.force_login(charlie)
    args = [] if url_name == "campaigns:create" else [campaign.pk]
    data = {"name": "Hijacked", "subject": "x", "body": "x"}

    assert client.get(reverse(url_name, args=args)).status_code in (403, 405)
    response = client.post(reverse(url_name, args=args), data)

    assert response.status_code == 403
    assert b"marketer role" in response.content
    campaign.refresh_from_db()
    assert (campaign.name, campaign.status) == ("Spring sale", Campaign.Status.DRAFT)
    assert Campaign.objects.count() == 1
    assert not Send.objects.exists()


def test_it_lets_a_viewer_read_every_page(client, campaign, charlie):
    client.force_login(charlie)
    readable = [url for url in _staff_urls(campaign) if "/edit/" not in url and "/new/" not in url]
    for url in readable:
        if url.endswith("/send/"):
            continue
        assert client.get(url).status_code == 200, url


def test_it_shows_the_admin_link_to_admins_only(client, alice, bob, charlie):
    for user, sees_admin in [(alice, True), (bob, False), (charlie, False)]:
        client.force_login(user)
        page = client.get(reverse("dashboard")).content.decode()
        assert (f'href="{reverse("admin:index")}"' in page) is sees_admin, user
        assert f">{user.username}<" in page


def test_it_logs_in_through_the_login_form_and_out_with_a_post(client, bob):
    page = client.get(reverse("login"))
    assert page.status_code == 200
    assert b'name="username"' in page.content

    response = client.post(
        reverse("login"), {"username": "bob", "password": "correct horse battery staple"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")
    dashboard = client.get(reverse("dashboard"))
    assert b"Log out" in dashboard.content

    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("dashboard")).status_code == 302


def test_it_shows_a_clear_error_for_a_wrong_password(client, bob):
    response = client.post(reverse("login"), {"username": "bob", "password": "nope"})
    assert response.status_code == 200
    assert b"enter a correct username and password" in response.content


def test_it_shows_a_friendly_404_page(client, charlie, settings):
    settings.DEBUG = False
    client.force_login(charlie)
    response = client.get("/campaigns/999999/")
    assert response.status_code == 404
    assert b"This page doesn" in response.content
    assert b"Back to the dashboard" in response.content
