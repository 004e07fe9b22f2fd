from django.urls import reverse

from contacts.models import Contact
from tests.factories import ContactFactory, GroupFactory


def test_it_lists_contacts_with_their_status_and_groups(client, charlie):
    vip = GroupFactory(name="VIP customers")
    ContactFactory(email="ann@example.com", first_name="Ann", last_name="Lee", groups=[vip])
    client.force_login(charlie)

    page = client.get(reverse("contacts:list")).content.decode()

    assert "ann@example.com" in page
    assert "Ann Lee" in page
    assert "VIP customers" in page
    assert "Subscribed" in page


def test_it_searches_by_email_and_by_name(client, charlie):
    ContactFactory(email="ann@example.com", first_name="Ann", last_name="Lee")
    ContactFactory(email="ben@example.com", first_name="Ben", last_name="Stone")
    client.force_login(charlie)

    def emails(query: str) -> list[str]:
        response = client.get(reverse("contacts:list"), {"q": query})
        return [c.email for c in response.context["page"].object_list]

    assert emails("ben@") == ["ben@example.com"]
    assert emails("STONE") == ["ben@example.com"]
    assert emails("ann lee") == ["ann@example.com"]
    assert emails("nobody") == []


def test_it_filters_by_status_and_group(client, charlie):
    vip = GroupFactory(name="VIP")
    ContactFactory(email="vip@example.com", groups=[vip])
    ContactFactory(email="gone@example.com", status=Contact.Status.UNSUBSCRIBED, groups=[vip])
    ContactFactory(email="other@example.com")
    client.force_login(charlie)

    def emails(**filters) -> list[str]:
        response = client.get(reverse("contacts:list"), filters)
        return [c.email for c in response.context["page"].object_list]

    assert emails(group=vip.pk) == ["gone@example.com", "vip@example.com"]
    assert emails(group=vip.pk, status="subscribed") == ["vip@example.com"]
    assert emails(status="unsubscribed") == ["gone@example.com"]
    assert len(emails(status="nonsense", group="x")) == 3  # bad filters are ignored


def test_it_explains_an_empty_result(client, charlie):
    client.force_login(charlie)
    assert "No contacts yet" in client.get(reverse("contacts:list")).content.decode()
    ContactFactory()
    page = client.get(reverse("contacts:list"), {"q": "zzz"}).content.decode()
    assert "No contact matches these filters" in page


def test_it_shows_fifty_contacts_a_page_and_keeps_the_filters_across_pages(client, charlie):
    ContactFactory.create_batch(55, status=Contact.Status.SUBSCRIBED)
    ContactFactory.create_batch(2, status=Contact.Status.BOUNCED)
    client.force_login(charlie)

    first = client.get(reverse("contacts:list"), {"status": "subscribed"})
    second = client.get(reverse("contacts:list"), {"status": "subscribed", "page": 2})

    assert len(first.context["page"].object_list) == 50
    assert len(second.context["page"].object_list) == 5
    assert "?status=subscribed&amp;page=2" in first.content.decode()


def test_it_lists_contacts_in_a_bounded_number_of_queries(
    client, charlie, django_assert_max_num_queries
):
    groups = [GroupFactory(name=f"Group {n}") for n in range(3)]
    for _ in range(30):
        ContactFactory(groups=groups)
    client.force_login(charlie)

    # 10: the segment filter's choices are one more query.
    with django_assert_max_num_queries(10):
        response = client.get(reverse("contacts:list"))
    assert len(response.context["page"].object_list) == 30


def test_it_shows_a_contacts_details(client, charlie):
    vip = GroupFactory(name="VIP customers")
    contact = ContactFactory(
        email="ann@example.com",
        first_name="Ann",
        attributes={"city": "Lisbon", "orders": 12},
        consent_source="Checkout form",
        groups=[vip],
    )
    client.force_login(charlie)

    page = client.get(reverse("contacts:detail", args=[contact.pk])).content.decode()

    for text in ["ann@example.com", "Lisbon", "orders", "Checkout form", "VIP customers", "Never"]:
        assert text in page


def test_it_escapes_what_contacts_typed_in(client, charlie):
    contact = ContactFactory(first_name="<b>Ann</b>", attributes={"note": "<script>x()</script>"})
    client.force_login(charlie)
    page = client.get(reverse("contacts:detail", args=[contact.pk])).content.decode()
    assert "<script>x()" not in page
    assert "&lt;script&gt;x()" in page
    assert "&lt;b&gt;Ann" in page


def test_it_lists_groups_with_their_contact_counts(client, charlie, django_assert_max_num_queries):
    for number in range(30):
        group = GroupFactory(name=f"Group {number:02d}")
        ContactFactory.create_batch(number % 3, groups=[group])
    ContactFactory(status=Contact.Status.UNSUBSCRIBED, groups=[GroupFactory(name="Group 02")])
    client.force_login(charlie)

    with django_assert_max_num_queries(6):
        response = client.get(reverse("contacts:groups"))

    counts = {g.name: (g.contact_count, g.subscribed_count) for g in response.context["groups"]}
    assert counts["Group 01"] == (1, 1)
    assert counts["Group 02"] == (3, 2)
    assert counts["Group 03"] == (0, 0)


def test_it_lists_a_groups_contacts_page_by_page(client, charlie, django_assert_max_num_queries):
    vip = GroupFactory(name="VIP")
    ContactFactory.create_batch(52, groups=[vip])
    ContactFactory(email="outsider@example.com")
    client.force_login(charlie)

    with django_assert_max_num_queries(8):
        response = client.get(reverse("contacts:group", args=[vip.pk]))

    assert response.context["page"].paginator.count == 52
    assert "outsider@example.com" not in response.content.decode()
    assert "52 contacts" in response.content.decode()


def test_it_answers_404_for_a_missing_contact_or_group(client, charlie):
    client.force_login(charlie)
    assert client.get(reverse("contacts:detail", args=[404])).status_code == 404
    assert client.get(reverse("contacts:group", args=[404])).status_code == 404
