import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contacts.models import Contact, Suppression
from tests.factories import ContactFactory, GroupFactory


@pytest.fixture
def admin_client_alice(client, alice):
    client.force_login(alice)
    return client


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_it_lists_contacts_with_their_groups(admin_client_alice):
    vip, news = GroupFactory(name="VIP"), GroupFactory(name="Newsletter")
    ContactFactory(email="alice@example.com", first_name="Alice", groups=[vip, news])

    response = admin_client_alice.get(reverse("admin:contacts_contact_changelist"))

    assert response.status_code == 200
    assert "alice@example.com" in response.content.decode()
    assert "Newsletter, VIP" in response.content.decode()
    assert "Import" in response.content.decode() and "Export" in response.content.decode()


@pytest.mark.parametrize(
    "admin_name", ["contacts_contact", "contacts_group", "contacts_suppression"]
)
def test_it_lists_any_number_of_rows_in_the_same_queries(admin_client_alice, admin_name):
    groups = [GroupFactory(name=f"Group {n}") for n in range(3)]
    ContactFactory.create_batch(2, groups=groups)
    Suppression.objects.create(email="one@example.com")
    url = reverse(f"admin:{admin_name}_changelist")
    few = _queries(admin_client_alice, url)

    more_groups = [GroupFactory(name=f"More {n}") for n in range(10)]
    ContactFactory.create_batch(30, groups=groups + more_groups)
    Suppression.objects.bulk_create(Suppression(email=f"s{n}@example.com") for n in range(30))

    # Only the group filter's list of groups grows, never one query per row.
    assert _queries(admin_client_alice, url) == few


def test_it_shows_each_groups_contact_count(admin_client_alice):
    vip = GroupFactory(name="VIP")
    ContactFactory.create_batch(3, groups=[vip])

    response = admin_client_alice.get(reverse("admin:contacts_group_changelist"))

    assert '<td class="field-contact_count">3</td>' in response.content.decode()


def test_it_filters_contacts_by_group_and_status(admin_client_alice):
    vip = GroupFactory(name="VIP")
    ContactFactory(email="in@example.com", groups=[vip])
    ContactFactory(email="out@example.com")
    ContactFactory(email="gone@example.com", groups=[vip], status=Contact.Status.UNSUBSCRIBED)
    url = reverse("admin:contacts_contact_changelist")

    response = admin_client_alice.get(url, {"groups__id__exact": vip.pk, "status": "subscribed"})

    page = response.content.decode()
    assert "in@example.com" in page
    assert "out@example.com" not in page and "gone@example.com" not in page


def test_it_saves_a_typed_address_normalised(admin_client_alice):
    response = admin_client_alice.post(
        reverse("admin:contacts_contact_add"),
        {
            "email": "  Dora@Example.COM ",
            "status": "subscribed",
            "locale": "en",
            "time_zone": "UTC",
            "attributes": "{}",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Contact.objects.get().email == "dora@example.com"


def test_it_rejects_a_malformed_address_typed_in(admin_client_alice):
    response = admin_client_alice.post(
        reverse("admin:contacts_contact_add"),
        {"email": "dora@", "status": "subscribed", "locale": "en", "time_zone": "UTC"},
    )

    assert response.status_code == 200
    assert "email" in response.context["adminform"].form.errors
    assert not Contact.objects.exists()


def test_it_shows_engagement_but_does_not_let_it_be_edited(admin_client_alice):
    contact = ContactFactory()

    response = admin_client_alice.get(reverse("admin:contacts_contact_change", args=[contact.pk]))

    form = response.context["adminform"].form
    assert "email" in form.fields
    assert "last_opened_at" not in form.fields
    assert "Last opened at" in response.content.decode()


@pytest.mark.parametrize("actor", ["bob", "charlie", "dave"])
def test_it_keeps_everyone_but_admins_out_of_the_admin(client, request, actor):
    client.force_login(request.getfixturevalue(actor))

    for url in (reverse("admin:index"), reverse("admin:contacts_contact_changelist")):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))
