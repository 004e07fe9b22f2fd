"""Who may open which staff page: anonymous, no role, viewer, marketer, admin."""

import pytest
from django.contrib.auth.models import Group as AuthGroup
from django.urls import reverse

from campaigns.models import Campaign, Send
from marketing_site.roles import ADMIN, MARKETER, ROLE_PERMISSIONS, VIEWER, role_assign
from tests.factories import CampaignFactory, ContactFactory, GroupFactory, UserFactory


@pytest.fixture
def campaign(db):
    newsletter = GroupFactory(name="Newsletter")
    contact = ContactFactory(groups=[newsletter])
    campaign = CampaignFactory(groups=[newsletter])
    campaign.contact = contact
    # A second campaign, being sent, for the send page's controls.
    campaign.send = Send.objects.create(
        campaign=CampaignFactory(name="Summer sale", status=Campaign.Status.SENDING),
        status=Send.Status.SENDING,
    )
    return campaign


# Every staff page, the lowest role that may use it, and whether it only
# takes POST. A page added to the product belongs here.
STAFF_PAGES = [
    ("dashboard", VIEWER, False),
    ("contacts:list", VIEWER, False),
    ("contacts:detail", VIEWER, False),
    ("contacts:groups", VIEWER, False),
    ("contacts:group", VIEWER, False),
    ("campaigns:list", VIEWER, False),
    ("campaigns:create", MARKETER, False),
    ("campaigns:detail", VIEWER, False),
    ("campaigns:edit", MARKETER, False),
    ("campaigns:preview", VIEWER, False),
    ("campaigns:send", MARKETER, True),
    ("campaigns:sending", VIEWER, False),
    ("campaigns:sending_progress", VIEWER, False),
    ("campaigns:send_pause", MARKETER, True),
    ("campaigns:send_resume", MARKETER, True),
    ("campaigns:send_cancel", MARKETER, True),
    ("campaigns:send_resend_in_doubt", MARKETER, True),
    ("campaigns:test_send", MARKETER, True),
    ("campaigns:schedule", MARKETER, True),
    ("campaigns:schedule_pause", MARKETER, True),
    ("campaigns:schedule_resume", MARKETER, True),
    ("campaigns:schedule_cancel", MARKETER, True),
    ("campaigns:testing", VIEWER, False),
    ("reports:campaign", VIEWER, False),
    ("reports:campaign_progress", VIEWER, False),
    ("contacts:erase", ADMIN, True),
    ("team", ADMIN, False),
    ("team_invite", ADMIN, True),
    ("team_set_role", ADMIN, True),
    ("team_deactivate", ADMIN, True),
    ("team_reactivate", ADMIN, True),
    ("team_invite_again", ADMIN, True),
    ("audit_log", ADMIN, False),
]
TEAM_MEMBER_PAGES = ["team_set_role", "team_deactivate", "team_reactivate", "team_invite_again"]
RANK = {None: 0, VIEWER: 1, MARKETER: 2, ADMIN: 3}


def _url(name: str, campaign) -> str:
    send = campaign.send
    args = {
        "contacts:detail": [campaign.contact.pk],
        "contacts:erase": [campaign.contact.pk],
        **{name: [1] for name in TEAM_MEMBER_PAGES},
        "contacts:group": [campaign.groups.first().pk],
        "campaigns:sending": [send.campaign_id],
        "campaigns:sending_progress": [send.campaign_id, send.pk],
        "campaigns:send_pause": [send.campaign_id, send.pk],
        "campaigns:send_resume": [send.campaign_id, send.pk],
        "campaigns:send_cancel": [send.campaign_id, send.pk],
        "campaigns:send_resend_in_doubt": [send.campaign_id, send.pk],
    }
    if name in args:
        return reverse(name, args=args[name])
    if name.startswith(("campaigns:", "reports:")) and name not in (
        "campaigns:list",
        "campaigns:create",
    ):
        return reverse(name, args=[campaign.pk])
    return reverse(name)


def _staff_urls(campaign) -> list[str]:
    return [_url(name, campaign) for name, _, _ in STAFF_PAGES]


def test_it_sends_anonymous_visitors_to_the_login_page_from_every_staff_url(client, campaign):
    for url in _staff_urls(campaign):
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 302, url
            assert response["Location"] == f"{reverse('login')}?next={url}"
    assert Send.objects.count() == 1


def test_it_refuses_every_staff_url_to_a_user_without_a_role(client, campaign, dave):
    client.force_login(dave)
    for url in _staff_urls(campaign):
        response = client.get(url)
        assert response.status_code == 403, url
    assert b"no role yet" in client.get(reverse("dashboard")).content


@pytest.mark.parametrize("role", [VIEWER, MARKETER, ADMIN])
def test_each_role_opens_exactly_the_pages_its_permissions_allow(client, campaign, role):
    user = UserFactory(username=f"a-{role}", role=role)
    client.force_login(user)
    for name, lowest, post_only in STAFF_PAGES:
        response = client.get(_url(name, campaign))
        expected = 403 if RANK[role] < RANK[lowest] else 405 if post_only else 200
        assert response.status_code == expected, (role, name)


@pytest.mark.parametrize(
    "url_name",
    ["campaigns:create", "campaigns:edit", "campaigns:send", "campaigns:send_cancel"],
    ids=str,
)
def test_it_refuses_writes_to_a_viewer_and_changes_nothing(client, campaign, charlie, url_name):
    client.force_login(charlie)
    data = {"name": "Hijacked", "subject": "x", "body": "x"}

    response = client.post(_url(url_name, campaign), data)

    assert response.status_code == 403
    assert b"Your role does not allow this page" in response.content
    campaign.refresh_from_db()
    campaign.send.refresh_from_db()
    assert (campaign.name, campaign.status) == ("Spring sale", Campaign.Status.DRAFT)
    assert campaign.send.status == Send.Status.SENDING
    assert Campaign.objects.count() == 2
    assert Send.objects.count() == 1


def test_a_role_change_takes_effect_on_the_next_request(client, campaign, charlie):
    client.force_login(charlie)
    create = reverse("campaigns:create")
    assert client.get(create).status_code == 403

    role_assign(charlie, MARKETER)
    assert client.get(create).status_code == 200

    role_assign(charlie, VIEWER)
    assert client.get(create).status_code == 403
    assert client.get(reverse("campaigns:list")).status_code == 200


def test_the_role_groups_hold_exactly_the_permissions_roles_py_lists(db):
    for role, names in ROLE_PERMISSIONS.items():
        held = {
            f"{p.content_type.app_label}.{p.codename}"
            for p in AuthGroup.objects.get(name=role).permissions.select_related("content_type")
        }
        explicit = {name for name in names if not name.endswith(".*")}
        apps = {name.split(".")[0] for name in names if name.endswith(".*")}
        assert explicit <= held, role
        assert {name for name in held if name.split(".")[0] not in apps} == {
            name for name in explicit if name.split(".")[0] not in apps
        }, role
    viewer = UserFactory(username="v", role=VIEWER)
    assert viewer.has_perm("campaigns.view_campaign")
    assert not viewer.has_perm("campaigns.send_campaign")


def test_it_lets_a_viewer_read_every_page(client, campaign, charlie):
    client.force_login(charlie)
    for name, lowest, post_only in STAFF_PAGES:
        if lowest == VIEWER and not post_only:
            assert client.get(_url(name, campaign)).status_code == 200, name


def test_the_page_controls_follow_the_permissions(client, campaign, bob, charlie):
    sending = _url("campaigns:sending", campaign)
    client.force_login(charlie)
    assert b"Cancel send" not in client.get(sending).content
    assert b"New campaign" not in client.get(reverse("campaigns:list")).content
    client.force_login(bob)
    assert b"Cancel send" in client.get(sending).content
    assert b"New campaign" in client.get(reverse("campaigns:list")).content


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
