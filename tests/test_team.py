"""The Team page: an admin invites colleagues, sets roles, deactivates accounts."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from contacts.models import AuditEntry
from marketing_site.roles import user_role
from tests.factories import UserFactory

Action = AuditEntry.Action
User = get_user_model()


@pytest.fixture
def invite(client, alice, django_capture_on_commit_callbacks):
    """Alice invites Erin as a marketer; returns the response."""

    def invite(email="erin@example.org", role="marketer"):
        client.force_login(alice)
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(reverse("team_invite"), {"email": email, "role": role}, follow=True)

    return invite


def test_it_lists_the_team_with_roles_and_statuses(client, alice, bob, charlie, dave):
    bob.is_active = False
    bob.save()
    client.force_login(alice)

    page = client.get(reverse("team")).content.decode()

    for name in ["alice", "bob", "charlie", "dave"]:
        assert f">{name}" in page
    assert "(you)" in page
    assert 'badge-deactivated">Deactivated' in page
    assert 'value="viewer" selected' in page
    assert "No role" in page
    assert "Invite a colleague" in page


def test_an_invitation_mail_leads_to_a_password_and_a_working_account(client, invite):
    response = invite()

    assert "Invitation sent to erin@example.org." in response.content.decode()
    erin = User.objects.get(email="erin@example.org")
    assert (erin.username, user_role(erin), erin.has_usable_password()) == (
        "erin@example.org",
        "marketer",
        False,
    )
    assert 'badge-invited">Invited' in response.content.decode()
    [message] = mail.outbox
    assert message.to == ["erin@example.org"]
    assert message.subject == "alice invited you to the mail dashboard"
    assert "\n" not in message.subject
    html = message.alternatives[0][0]
    link = re.search(r"http://testserver(/password-reset/\S+/)", message.body)
    link = link or re.search(r"https?://[^/\s]+(/password-reset/\S+/)", message.body)
    assert link, message.body
    assert link.group(1) in html

    # Erin follows the link, chooses a password and signs in.
    client.logout()
    form_page = client.get(link.group(1), follow=True)
    assert form_page.status_code == 200
    password = "a long and new passphrase 42"
    done = client.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": password, "new_password2": password},
        follow=True,
    )
    assert done.status_code == 200
    signed_in = client.post(
        reverse("login"), {"username": "erin@example.org", "password": password}, follow=True
    )
    assert signed_in.context["user"].username == "erin@example.org"
    assert client.get(reverse("campaigns:create")).status_code == 200

    # The link worked once.
    client.logout()
    assert b"new_password1" not in client.get(link.group(1), follow=True).content
    entry = AuditEntry.objects.get()
    assert (entry.actor_name, entry.action, entry.object_label) == (
        "alice",
        Action.USER_INVITED,
        "erin@example.org",
    )
    assert entry.details == {"role": "marketer"}


def test_an_address_already_on_the_team_is_refused(client, invite, bob):
    response = invite(email="BOB@example.org")

    assert response.status_code == 400
    assert "Someone on the team already uses this address." in response.content.decode()
    assert not mail.outbox
    assert not AuditEntry.objects.exists()


def test_an_expired_invitation_can_be_sent_again(
    client, invite, django_capture_on_commit_callbacks
):
    invite()
    erin = User.objects.get(email="erin@example.org")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("team_invite_again", args=[erin.pk]), follow=True)

    assert "A new invitation is on its way to erin@example.org." in response.content.decode()
    assert len(mail.outbox) == 2
    assert AuditEntry.objects.filter(action=Action.USER_INVITED).count() == 2


def test_an_admin_changes_a_role_and_it_takes_effect(client, alice, bob):
    client.force_login(alice)

    response = client.post(reverse("team_set_role", args=[bob.pk]), {"role": "viewer"}, follow=True)

    assert "bob is now viewer." in response.content.decode()
    assert user_role(User.objects.get(pk=bob.pk)) == "viewer"
    client.force_login(bob)
    assert client.get(reverse("campaigns:create")).status_code == 403
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.object_label, entry.details) == (
        Action.ROLE_CHANGED,
        "bob",
        {"from": "marketer", "to": "viewer"},
    )


def test_making_someone_an_admin_lets_them_into_the_admin(client, alice, charlie):
    client.force_login(alice)
    client.post(reverse("team_set_role", args=[charlie.pk]), {"role": "admin"})
    charlie.refresh_from_db()
    assert charlie.is_staff
    client.force_login(charlie)
    assert client.get(reverse("admin:index")).status_code == 200
    assert client.get(reverse("team")).status_code == 200


def test_a_deactivated_account_is_signed_out_and_can_come_back(client, alice, bob):
    bob_client = type(client)()
    bob_client.force_login(bob)
    client.force_login(alice)

    response = client.post(reverse("team_deactivate", args=[bob.pk]), follow=True)

    assert "bob can no longer sign in." in response.content.decode()
    assert bob_client.get(reverse("dashboard")).status_code == 302
    client.post(reverse("team_reactivate", args=[bob.pk]))
    bob.refresh_from_db()
    assert bob.is_active
    assert [e.action for e in AuditEntry.objects.order_by("id")] == [
        Action.USER_DEACTIVATED,
        Action.USER_REACTIVATED,
    ]


def test_the_last_admin_can_neither_leave_nor_step_down(client, alice):
    client.force_login(alice)

    demoted = client.post(
        reverse("team_set_role", args=[alice.pk]), {"role": "viewer"}, follow=True
    )
    deactivated = client.post(reverse("team_deactivate", args=[alice.pk]), follow=True)

    for response in (demoted, deactivated):
        assert (
            "alice is the last admin. Make someone else an admin first."
            in response.content.decode()
        )
    alice = User.objects.get(pk=alice.pk)
    assert (alice.is_active, user_role(alice)) == (True, "admin")
    assert not AuditEntry.objects.exists()


def test_an_admin_may_step_down_when_another_remains(client, alice):
    UserFactory(username="frank", role="admin")
    client.force_login(alice)

    client.post(reverse("team_set_role", args=[alice.pk]), {"role": "marketer"})

    assert user_role(User.objects.get(pk=alice.pk)) == "marketer"
    assert client.get(reverse("team")).status_code == 403


def test_a_superusers_role_is_not_changed_here(client, alice, django_user_model):
    root = django_user_model.objects.create_superuser("root", "root@example.org", "x" * 20)
    client.force_login(alice)

    response = client.post(
        reverse("team_set_role", args=[root.pk]), {"role": "viewer"}, follow=True
    )

    assert "A superuser is always an admin" in response.content.decode()
    assert not AuditEntry.objects.exists()


def test_a_marketer_cannot_manage_the_team(client, bob, charlie):
    client.force_login(bob)
    assert client.get(reverse("team")).status_code == 403
    assert (
        client.post(reverse("team_set_role", args=[bob.pk]), {"role": "admin"}).status_code == 403
    )
    assert client.post(reverse("team_deactivate", args=[charlie.pk])).status_code == 403
    assert (
        client.post(reverse("team_invite"), {"email": "x@example.org", "role": "admin"}).status_code
        == 403
    )
    charlie.refresh_from_db()
    assert (user_role(User.objects.get(pk=bob.pk)), charlie.is_active) == ("marketer", True)
    assert not User.objects.filter(email="x@example.org").exists()


# --- The audit log page ----------------------------------------------------------


def _three_entries(alice, bob):
    from contacts.audit import audit_record
    from tests.factories import CampaignFactory

    campaign = CampaignFactory()
    audit_record(actor=bob, action=Action.CAMPAIGN_CREATED, target=campaign)
    audit_record(actor=bob, action=Action.CAMPAIGN_SENT, target=campaign, details={"send": 7})
    audit_record(actor=alice, action=Action.ROLE_CHANGED, target=bob, details={"to": "viewer"})
    AuditEntry.objects.filter(action=Action.CAMPAIGN_CREATED).update(created_at="2024-01-10T10:00Z")


def test_the_audit_log_lists_entries_newest_first(client, alice, bob):
    _three_entries(alice, bob)
    client.force_login(alice)

    page = client.get(reverse("audit_log")).content.decode()
    rows = page.split("<tbody>")[1]

    assert rows.index("Role changed") < rows.index("Campaign sent") < rows.index("Campaign created")
    assert "send: 7" in page
    assert '<option value="bob"' in page


@pytest.mark.parametrize(
    "query, expected",
    [
        ({"actor": "bob"}, ["Campaign sent", "Campaign created"]),
        ({"action": "role_changed"}, ["Role changed"]),
        ({"date_to": "2024-01-31"}, ["Campaign created"]),
        ({"date_from": "2024-02-01", "actor": "bob"}, ["Campaign sent"]),
    ],
)
def test_the_audit_log_filters_by_actor_action_and_dates(client, alice, bob, query, expected):
    _three_entries(alice, bob)
    client.force_login(alice)

    response = client.get(reverse("audit_log"), query)

    shown = [entry.get_action_display() for entry in response.context["page"].object_list]
    assert shown == expected


def test_the_audit_log_says_when_nothing_matches_and_when_it_is_empty(client, alice, bob):
    client.force_login(alice)
    assert "Nothing recorded yet" in client.get(reverse("audit_log")).content.decode()
    _three_entries(alice, bob)
    page = client.get(reverse("audit_log"), {"action": "contact_erased"}).content.decode()
    assert "Nothing matches these filters" in page
    wrong = client.get(reverse("audit_log"), {"date_from": "2024-02-01", "date_to": "2024-01-01"})
    assert "The start date is after the end date." in wrong.content.decode()


def test_the_audit_log_pages_by_50(client, alice, bob):
    from contacts.audit import audit_record

    for _ in range(51):
        audit_record(actor=bob, action=Action.EXPORTED, target=AuditEntry)
    client.force_login(alice)
    first = client.get(reverse("audit_log"), {"actor": "bob"})
    second = client.get(reverse("audit_log"), {"actor": "bob", "page": 2})
    assert len(first.context["page"].object_list) == 50
    assert len(second.context["page"].object_list) == 1
    assert "actor=bob&amp;page=2" in first.content.decode()


def test_only_admins_read_the_audit_log(client, bob):
    client.force_login(bob)
    assert client.get(reverse("audit_log")).status_code == 403
