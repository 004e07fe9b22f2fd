"""The contact pages staff use instead of the admin: add, edit, groups, bulk
actions on a filtered list, sorting, the engagement column, segments."""

import json

import pytest
from django.urls import NoReverseMatch, reverse

from contacts.models import AuditEntry, Contact, Segment
from tests.factories import ContactFactory, GroupFactory

pytestmark = pytest.mark.django_db


def _emails(response) -> list[str]:
    return [c.email for c in response.context["page"].object_list]


def test_an_admin_adds_a_contact_with_groups_and_attributes(client, alice):
    vip = GroupFactory(name="VIP")
    client.force_login(alice)

    response = client.post(
        reverse("contacts:add"),
        {
            "email": " Ann@Example.COM ",
            "first_name": "Ann",
            "last_name": "Lee",
            "status": "subscribed",
            "locale": "en",
            "time_zone": "Europe/Riga",
            "groups": [vip.pk],
            "attributes": '{"city": "Riga"}',
        },
    )

    ann = Contact.objects.get()
    assert response["Location"] == reverse("contacts:detail", args=[ann.pk])
    assert (ann.email, ann.time_zone, ann.attributes) == ("ann@example.com", "Europe/Riga",
                                                          {"city": "Riga"})  # fmt: skip
    assert list(ann.groups.all()) == [vip]
    assert AuditEntry.objects.get().action == AuditEntry.Action.CONTACT_ADDED


def test_bad_input_is_explained_and_nothing_is_saved(client, alice):
    ContactFactory(email="ann@example.com")
    client.force_login(alice)

    response = client.post(
        reverse("contacts:add"),
        {"email": "ann@example.com", "status": "subscribed", "locale": "en",
         "time_zone": "Mars/Olympus", "attributes": "[1, 2]"},
    )  # fmt: skip

    page = response.content.decode()
    assert response.status_code == 200
    assert "A contact with this address exists already." in page
    assert "is not a time zone" in page
    assert "Write the attributes as a JSON object" in page
    assert Contact.objects.count() == 1


def test_editing_moves_a_contact_between_groups_but_never_resubscribes(client, alice):
    vip, news = GroupFactory(name="VIP"), GroupFactory(name="News")
    ann = ContactFactory(email="ann@example.com", last_name="Lee", groups=[vip])
    gone = ContactFactory(email="gone@example.com", status=Contact.Status.UNSUBSCRIBED)
    client.force_login(alice)
    form = {"email": "ann@example.com", "first_name": "Ann", "last_name": "Lee",
            "status": "subscribed",
            "locale": "en", "time_zone": "UTC", "groups": [news.pk]}  # fmt: skip

    client.post(reverse("contacts:edit", args=[ann.pk]), form)
    refused = client.post(
        reverse("contacts:edit", args=[gone.pk]), {**form, "email": "gone@example.com"}
    )

    assert list(ann.groups.all()) == [news]
    assert "only they can subscribe again" in refused.content.decode()
    gone.refresh_from_db()
    assert gone.status == Contact.Status.UNSUBSCRIBED
    entry = AuditEntry.objects.get(action=AuditEntry.Action.CONTACT_EDITED)
    assert entry.details == {"fields": ["first_name", "groups"]}


def test_viewers_and_marketers_only_read_contacts(client, bob, charlie):
    ann = ContactFactory()
    for user in (bob, charlie):
        client.force_login(user)
        page = client.get(reverse("contacts:list")).content.decode()
        assert "Add contact" not in page and 'name="ids"' not in page
        assert client.get(reverse("contacts:add")).status_code == 403
        assert client.get(reverse("contacts:edit", args=[ann.pk])).status_code == 403
        bulk = client.post(reverse("contacts:bulk"), {"action": "delete", "scope": "all"})
        assert bulk.status_code == 403
    assert Contact.objects.count() == 1


def test_bulk_add_to_group_applies_to_all_matching_not_only_the_page(client, alice):
    vip = GroupFactory(name="VIP")
    ContactFactory.create_batch(60, status=Contact.Status.SUBSCRIBED)
    ContactFactory(email="gone@example.com", status=Contact.Status.UNSUBSCRIBED)
    client.force_login(alice)

    response = client.post(
        reverse("contacts:bulk"),
        {"action": "add_to_group", "scope": "all", "target_group": vip.pk,
         "status": "subscribed"},
    )  # fmt: skip

    assert vip.contacts.count() == 60
    assert not vip.contacts.filter(email="gone@example.com").exists()
    assert response["Location"] == reverse("contacts:list") + "?status=subscribed"
    entry = AuditEntry.objects.get(action=AuditEntry.Action.CONTACTS_BULK_CHANGED)
    assert entry.details == {"action": "add_to_group", "contacts": 60, "group": "VIP"}
    # Again: nobody is added twice.
    client.post(reverse("contacts:bulk"), {"action": "add_to_group", "scope": "all",
                                           "target_group": vip.pk})  # fmt: skip
    assert vip.contacts.count() == 61


def test_bulk_remove_from_group_applies_to_the_ticked_contacts(client, alice):
    vip = GroupFactory(name="VIP")
    ann, ben, cy = (ContactFactory(email=f"{n}@example.com", groups=[vip]) for n in "abc")
    client.force_login(alice)
    client.post(
        reverse("contacts:bulk"),
        {"action": "remove_from_group", "scope": "selected", "ids": [ann.pk, cy.pk],
         "target_group": vip.pk},
    )  # fmt: skip
    assert list(vip.contacts.all()) == [ben]


def test_bulk_delete_and_unsubscribe_ask_first(client, alice):
    ContactFactory(email="a@spam.example")
    ContactFactory(email="b@spam.example")
    ContactFactory(email="keep@example.com")
    client.force_login(alice)
    form = {"action": "delete", "scope": "all", "q": "spam.example"}

    asked = client.post(reverse("contacts:bulk"), form)
    assert asked.status_code == 200
    assert "Delete 2 contacts?" in asked.content.decode()
    assert Contact.objects.count() == 3

    client.post(reverse("contacts:bulk"), {**form, "confirm": "on"})
    assert list(Contact.objects.values_list("email", flat=True)) == ["keep@example.com"]


def test_bulk_unsubscribe_leaves_bounced_contacts_bounced(client, alice):
    ContactFactory(email="ann@example.com")
    ContactFactory(email="bob@example.com", status=Contact.Status.BOUNCED)
    client.force_login(alice)
    client.post(reverse("contacts:bulk"), {"action": "unsubscribe", "scope": "all",
                                           "confirm": "on"})  # fmt: skip
    assert dict(Contact.objects.values_list("email", "status")) == {
        "ann@example.com": "unsubscribed", "bob@example.com": "bounced",
    }  # fmt: skip


def test_a_bulk_action_without_a_choice_explains_itself(client, alice):
    ContactFactory()
    client.force_login(alice)
    response = client.post(
        reverse("contacts:bulk"), {"action": "add_to_group", "scope": "selected"}, follow=True
    )
    page = response.content.decode()
    assert "Tick the contacts first" in page
    assert "Choose the group to add to or remove from." in page


def test_columns_sort_both_ways_and_tiers_show_and_filter(client, charlie):
    ContactFactory(email="a@example.com", order_count=5, engagement_tier="dormant")
    ContactFactory(email="b@example.com", order_count=1, engagement_tier="active")
    ContactFactory(email="c@example.com", order_count=3, engagement_tier="active")
    client.force_login(charlie)

    by_orders = client.get(reverse("contacts:list"), {"sort": "orders"})
    by_orders_desc = client.get(reverse("contacts:list"), {"sort": "-orders"})
    active = client.get(reverse("contacts:list"), {"tier": "active"})

    assert _emails(by_orders) == ["b@example.com", "c@example.com", "a@example.com"]
    assert _emails(by_orders_desc) == ["a@example.com", "c@example.com", "b@example.com"]
    assert 'aria-sort="ascending"' in by_orders.content.decode()
    assert _emails(active) == ["b@example.com", "c@example.com"]
    assert "badge-tier-dormant" in by_orders.content.decode()


def test_a_segment_filters_the_list(client, charlie):
    ContactFactory(email="buyer@example.com", order_count=2)
    ContactFactory(email="browser@example.com")
    segment = Segment.objects.create(
        name="Buyers",
        rules={"match": "all", "rules": [{"field": "order_count", "op": "gte", "value": 1}]},
    )
    client.force_login(charlie)
    response = client.get(reverse("contacts:list"), {"segment": segment.pk})
    assert _emails(response) == ["buyer@example.com"]
    assert "<h1>Buyers</h1>" in response.content.decode()


def test_the_list_renders_with_or_without_the_import_wizard(client, alice):
    client.force_login(alice)
    page = client.get(reverse("contacts:list")).content.decode()
    try:
        import_url = reverse("contacts:import")
    except NoReverseMatch:
        assert ">Import</a>" not in page
    else:
        assert f'href="{import_url}"' in page


# --- Segments ----------------------------------------------------------------


def test_a_marketer_saves_a_segment_and_sees_its_contacts(client, bob):
    ContactFactory(email="buyer@example.com", order_count=2)
    client.force_login(bob)
    rules = {"match": "all", "rules": [{"field": "order_count", "op": "gte", "value": "1"}]}

    response = client.post(
        reverse("contacts:segment_add"), {"name": "Buyers", "rules": json.dumps(rules)}
    )

    segment = Segment.objects.get()
    assert response["Location"] == reverse("contacts:list") + f"?segment={segment.pk}"
    assert segment.rules == {"match": "all", "rules": [
        {"field": "order_count", "op": "gte", "value": 1}]}  # fmt: skip
    assert segment.created_by == bob
    assert AuditEntry.objects.get().action == AuditEntry.Action.SEGMENT_SAVED
    listing = client.get(reverse("contacts:segments")).content.decode()
    assert "Order count at least 1" in listing
    count = client.get(reverse("contacts:segment_count", args=[segment.pk])).content.decode()
    assert ">1<" in count


def test_a_bad_segment_is_explained_and_not_saved(client, bob):
    client.force_login(bob)
    rules = {"match": "all", "rules": [{"field": "order_count", "op": "gte", "value": "lots"}]}
    response = client.post(
        reverse("contacts:segment_add"), {"name": "Buyers", "rules": json.dumps(rules)}
    )
    assert "Rule 1: “Order count at least” needs a whole number." in response.content.decode()
    empty = client.post(
        reverse("contacts:segment_add"),
        {"name": "All", "rules": json.dumps({"match": "all", "rules": []})},
    )
    assert "Add at least one rule" in empty.content.decode()
    assert not Segment.objects.exists()


def test_the_live_count_answers_the_builder(client, charlie):
    ContactFactory(email="a@example.com", locale="ru")
    ContactFactory(email="b@example.com", locale="en")
    client.force_login(charlie)
    url = reverse("contacts:segment_preview_count")
    rules = {"match": "all", "rules": [{"field": "locale", "op": "eq", "value": "ru"}]}

    good = client.get(url, {"rules": json.dumps(rules)}).json()
    bad = client.get(url, {"rules": json.dumps({"rules": [{"field": "x"}]})})

    assert good == {"count": 1, "total": 2, "sample": ["a@example.com"]}
    assert bad.status_code == 400
    assert bad.json() == {"errors": ["Rule 1: choose what to compare."]}


def test_viewers_read_segments_but_cannot_change_them(client, charlie):
    segment = Segment.objects.create(name="S", rules={"match": "all", "rules": []})
    client.force_login(charlie)
    assert client.get(reverse("contacts:segments")).status_code == 200
    assert client.get(reverse("contacts:segment_add")).status_code == 403
    assert client.post(reverse("contacts:segment_delete", args=[segment.pk])).status_code == 403
    assert Segment.objects.exists()


def test_a_marketer_deletes_a_segment(client, bob):
    segment = Segment.objects.create(name="S", rules={"match": "all", "rules": []})
    client.force_login(bob)
    client.post(reverse("contacts:segment_delete", args=[segment.pk]))
    assert not Segment.objects.exists()
    assert AuditEntry.objects.filter(action=AuditEntry.Action.SEGMENT_DELETED).exists()
