import pytest
from django.core import mail
from django.urls import reverse

from campaigns.models import Campaign, Message, Send
from contacts.models import Contact
from tests.factories import (
    CampaignFactory,
    ContactFactory,
    CouponFactory,
    GroupFactory,
    ProductFactory,
)


@pytest.fixture
def newsletter(db):
    group = GroupFactory(name="Newsletter")
    ContactFactory(email="ann@example.com", first_name="Ann", groups=[group])
    ContactFactory(email="ben@example.com", first_name="Ben", groups=[group])
    ContactFactory(email="gone@example.com", status=Contact.Status.UNSUBSCRIBED, groups=[group])
    return group


@pytest.fixture
def draft(newsletter):
    return CampaignFactory(groups=[newsletter], products=[ProductFactory(name="Wool socks")])


def _form_data(**changes) -> dict:
    data = {
        "name": "Autumn sale",
        "kind": "marketing",
        "subject": 'Hello {{ contact.first_name|default:"there" }}',
        "preheader": "20% off",
        "from_name": "Demo Shop",
        "from_email": "news@shop.example.com",
        "reply_to": "",
        "body": '<p>Hi {{ contact.first_name|default:"there" }}</p>',
        "postal_address": "1 Market Street",
    }
    return {**data, **changes}


# --- List --------------------------------------------------------------------


def test_it_lists_campaigns_with_status_and_kind(client, charlie, draft):
    CampaignFactory(name="Order update", kind="transactional", status="sent")
    client.force_login(charlie)

    page = client.get(reverse("campaigns:list")).content.decode()

    assert "Spring sale" in page
    assert "Order update" in page
    assert "Transactional" in page
    assert 'class="badge badge-sent' in page
    assert 'class="badge badge-draft' in page
    assert reverse("campaigns:create") not in page  # a viewer cannot compose


def test_it_invites_a_marketer_to_create_the_first_campaign(client, bob):
    client.force_login(bob)
    page = client.get(reverse("campaigns:list")).content.decode()
    assert "No campaigns yet" in page
    assert reverse("campaigns:create") in page


def test_it_lists_campaigns_in_a_bounded_number_of_queries(
    client, charlie, django_assert_max_num_queries
):
    groups = [GroupFactory(name=f"Group {n}") for n in range(3)]
    for number in range(30):
        CampaignFactory(name=f"Campaign {number}", groups=groups)
    client.force_login(charlie)

    with django_assert_max_num_queries(8):
        response = client.get(reverse("campaigns:list"))
    assert len(response.context["page"].object_list) == 30


# --- Create and edit -----------------------------------------------------------


def test_it_creates_a_draft_campaign(client, bob, newsletter):
    coupon = CouponFactory()
    product = ProductFactory()
    client.force_login(bob)

    response = client.post(
        reverse("campaigns:create"),
        _form_data(groups=[newsletter.pk], products=[product.pk], coupon=coupon.pk),
    )

    campaign = Campaign.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("campaigns:detail", args=[campaign.pk])
    assert campaign.status == Campaign.Status.DRAFT
    assert campaign.created_by == bob
    assert list(campaign.groups.all()) == [newsletter]
    assert list(campaign.products.all()) == [product]
    assert campaign.coupon == coupon


def test_it_shows_the_merge_field_syntax_on_the_form(client, bob):
    client.force_login(bob)
    page = client.get(reverse("campaigns:create")).content.decode()
    assert "{{ contact.first_name|default:&quot;there&quot; }}" in page
    assert 'type="checkbox"' in page or "No groups yet" in page


def test_it_explains_an_unclosed_merge_field_and_keeps_the_input(client, bob):
    client.force_login(bob)
    body = "<p>Dear {{ contact.first_name</p><p>Lots of careful words</p>"

    response = client.post(reverse("campaigns:create"), _form_data(body=body))

    assert response.status_code == 200
    assert not Campaign.objects.exists()
    page = response.content.decode()
    assert "Body: a “{{” is never closed with “}}”." in page
    assert "Lots of careful words" in page  # what the user typed is still there
    assert "Autumn sale" in page


def test_it_explains_an_unknown_merge_field(client, bob):
    client.force_login(bob)

    response = client.post(
        reverse("campaigns:create"), _form_data(subject="Your {{ contact.password }}")
    )

    assert response.status_code == 200
    assert not Campaign.objects.exists()
    errors = response.context["form"].errors["subject"]
    assert errors == [
        "Subject: unknown field “contact.password”. Known fields: contact.attributes.<name>, "
        "contact.email, contact.first_name, contact.full_name, contact.last_name, "
        "contact.locale, contact.preferences_url, coupon.code, order.…, cart.…, product.…."
    ]
    assert 'value="Your {{ contact.password }}"' in response.content.decode()


def test_it_edits_a_draft(client, bob, draft):
    client.force_login(bob)

    response = client.post(
        reverse("campaigns:edit", args=[draft.pk]), _form_data(name="Spring sale, take two")
    )

    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.name == "Spring sale, take two"


def test_it_does_not_edit_a_sent_campaign(client, bob, draft):
    Campaign.objects.filter(pk=draft.pk).update(status=Campaign.Status.SENT)
    client.force_login(bob)

    response = client.post(
        reverse("campaigns:edit", args=[draft.pk]), _form_data(name="Changed"), follow=True
    )

    draft.refresh_from_db()
    assert draft.name == "Spring sale"
    assert "can no longer be changed" in response.content.decode()


# --- Detail and preview --------------------------------------------------------


def test_it_shows_the_audience_products_and_a_personalised_subject(client, charlie, draft):
    client.force_login(charlie)

    response = client.get(reverse("campaigns:detail", args=[draft.pk]))

    page = response.content.decode()
    assert response.context["summary"].total == 3
    assert response.context["summary"].recipients == 2  # gone@ unsubscribed
    assert "Newsletter" in page
    assert "Wool socks" in page
    assert "Spring sale, Ann!" in page  # the first contact of the audience
    assert reverse("campaigns:preview", args=[draft.pk]) in page
    assert reverse("campaigns:send", args=[draft.pk]) not in page  # a viewer cannot send
    assert reverse("campaigns:edit", args=[draft.pk]) not in page


def test_it_shows_send_and_edit_buttons_to_a_marketer(client, bob, draft):
    client.force_login(bob)
    page = client.get(reverse("campaigns:detail", args=[draft.pk])).content.decode()
    assert reverse("campaigns:send", args=[draft.pk]) in page
    assert reverse("campaigns:edit", args=[draft.pk]) in page
    assert "to 2 of 3 contacts now? Skipped: 1 unsubscribed." in page  # the confirm dialog


def test_it_previews_the_mail_for_a_chosen_contact(client, charlie, draft):
    ben = Contact.objects.get(email="ben@example.com")
    client.force_login(charlie)

    by_id = client.get(reverse("campaigns:preview", args=[draft.pk]), {"contact": ben.pk})
    by_email = client.get(
        reverse("campaigns:preview", args=[draft.pk]), {"email": "BEN@example.com"}
    )
    detail = client.get(reverse("campaigns:detail", args=[draft.pk]), {"contact": ben.pk})

    for response in (by_id, by_email):
        assert response.status_code == 200
        assert "Hello Ben," in response.content.decode()
        assert "script-src 'none'" in response["Content-Security-Policy"]
        assert "/t/" not in response.content.decode()  # nothing tracked
    assert "Spring sale, Ben!" in detail.content.decode()


def test_it_previews_a_sample_contact_when_the_audience_is_empty(client, charlie):
    campaign = CampaignFactory()
    client.force_login(charlie)

    detail = client.get(reverse("campaigns:detail", args=[campaign.pk]))
    preview = client.get(reverse("campaigns:preview", args=[campaign.pk]))

    assert "Spring sale, friend!" in detail.content.decode()
    assert "Hello there," in preview.content.decode()
    unknown = client.get(reverse("campaigns:detail", args=[campaign.pk]), {"email": "x@y.org"})
    assert "No contact has the email x@y.org" in unknown.content.decode()


def test_it_shows_a_broken_template_as_an_error_not_a_crash(client, bob, draft):
    # Saved before the form checked it, e.g. through the admin.
    Campaign.objects.filter(pk=draft.pk).update(body="<p>{{ contact.first_name</p>")
    client.force_login(bob)

    detail = client.get(reverse("campaigns:detail", args=[draft.pk]))
    preview = client.get(reverse("campaigns:preview", args=[draft.pk]))

    assert detail.status_code == 200
    assert "This mail cannot be built yet." in detail.content.decode()
    assert "is never closed" in detail.content.decode()
    assert preview.status_code == 422
    assert "is never closed" in preview.content.decode()


# --- Send --------------------------------------------------------------------


def test_it_sends_the_campaign_and_shows_the_send_page(
    client, bob, draft, django_capture_on_commit_callbacks
):
    client.force_login(bob)

    # The pipeline starts after commit; Celery runs it eagerly in tests.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("campaigns:send", args=[draft.pk]), follow=True)

    assert response.redirect_chain == [(reverse("campaigns:sending", args=[draft.pk]), 302)]
    send = Send.objects.get(campaign=draft)
    assert send.created_by == bob
    assert send.status == Send.Status.DONE
    assert sorted(m.to[0] for m in mail.outbox) == ["ann@example.com", "ben@example.com"]
    ann = next(m for m in mail.outbox if m.to == ["ann@example.com"])
    assert ann.subject == "Spring sale, Ann!"
    assert "Hello Ann," in ann.alternatives[0][0]
    page = response.content.decode()
    assert "is on its way" in page
    assert Message.objects.get(email="gone@example.com").status == Message.Status.SKIPPED


def test_it_refuses_to_send_twice(client, bob, draft, django_capture_on_commit_callbacks):
    client.force_login(bob)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("campaigns:send", args=[draft.pk]))
    mail.outbox.clear()

    response = client.post(reverse("campaigns:send", args=[draft.pk]), follow=True)

    assert response.redirect_chain == [(reverse("campaigns:detail", args=[draft.pk]), 302)]
    assert "Not sent: This campaign has already been sent." in response.content.decode()
    assert Send.objects.count() == 1
    assert mail.outbox == []


def test_it_refuses_to_send_without_an_audience_or_with_broken_content(client, bob, draft):
    nobody = CampaignFactory(name="Nobody")
    Campaign.objects.filter(pk=draft.pk).update(subject="Hi {{ contact.password }}")
    client.force_login(bob)

    no_groups = client.post(reverse("campaigns:send", args=[nobody.pk]), follow=True)
    broken = client.post(reverse("campaigns:send", args=[draft.pk]), follow=True)

    assert "Pick at least one group or segment to send to." in no_groups.content.decode()
    assert "unknown field “contact.password”" in broken.content.decode()
    assert not Send.objects.exists()
    assert mail.outbox == []


def test_it_does_not_send_on_a_get(client, bob, draft):
    client.force_login(bob)
    assert client.get(reverse("campaigns:send", args=[draft.pk])).status_code == 405
    assert not Send.objects.exists()
