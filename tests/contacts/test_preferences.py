"""The preference centre: a signed link in every marketing mail to a page
where the recipient picks topics, a lower frequency, or leaves; changes apply
from the next send and are recorded as consent."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from campaigns.models import FrequencyPolicy, Message
from campaigns.selectors import campaign_preview
from campaigns.services import campaign_send
from contacts import consent
from contacts.models import ConsentRecord, Contact
from tests.factories import CampaignFactory, ContactFactory, GroupFactory
from tests.helpers import html_part, parsed, text_part

PREFERENCES = re.compile(r"https?://[^\s\"<]+/preferences/[^\s\"<]+/")


@pytest.fixture
def topics(db):
    news = GroupFactory(
        name="Newsletter",
        is_topic=True,
        public_name="Weekly newsletter",
        public_description="New arrivals every Thursday.",
    )
    offers = GroupFactory(name="Offers", is_topic=True, public_name="Special offers")
    return news, offers


@pytest.fixture
def ann(topics):
    vip = GroupFactory(name="VIP (internal)")
    return ContactFactory(email="ann@example.com", groups=[*topics, vip])


def send_to(group, capture, name="Spring sale"):
    with capture(execute=True):
        return campaign_send(campaign=CampaignFactory(name=name, groups=[group]))


def mail_to(address: str):
    (found,) = [m for m in mail.outbox if m.to == [address]]
    return parsed(found)


def preferences_path(contact) -> str:
    return urlsplit(consent.preferences_url(contact)).path


def save(path: str, **data):
    browser = Client(enforce_csrf_checks=True, REMOTE_ADDR="203.0.113.9")
    page = browser.get(path)
    data["csrfmiddlewaretoken"] = page.context["csrf_token"]
    return browser.post(path, data)


def test_every_marketing_mail_carries_the_recipients_own_preference_link(
    ann, topics, django_capture_on_commit_callbacks
):
    ben = ContactFactory(email="ben@example.com", groups=[topics[0]])
    send_to(topics[0], django_capture_on_commit_callbacks)

    for contact in (ann, ben):
        message = mail_to(contact.email)
        html_links = PREFERENCES.findall(html_part(message))
        text_links = PREFERENCES.findall(text_part(message))
        # the recipient's own link, straight to the page (not through a click redirect)
        assert set(html_links) == set(text_links) == {consent.preferences_url(contact)}
    assert consent.preferences_url(ann) != consent.preferences_url(ben)


def test_a_preview_shows_no_real_preference_link(ann, topics):
    campaign = CampaignFactory(groups=[topics[0]])

    preview = campaign_preview(campaign=campaign, contact=ann)

    assert not PREFERENCES.search(preview.html)
    assert "Preferences" in preview.html


def test_the_page_shows_the_topics_chosen_and_changes_nothing_on_get(client, ann, topics):
    response = client.get(preferences_path(ann))

    page = response.content.decode()
    assert response.status_code == 200
    assert "ann@example.com" in page
    assert "Weekly newsletter" in page and "New arrivals every Thursday." in page
    assert "Special offers" in page
    assert "VIP (internal)" not in page  # only topics show
    assert page.count("checked") == 3  # two topics and "Every mail"
    assert "Back to Demo Shop" in page
    assert not ConsentRecord.objects.exists()


def test_a_change_applies_at_once_and_is_recorded_as_consent(ann, topics):
    offers = topics[1]

    response = save(preferences_path(ann), topics=[offers.pk], frequency="monthly")

    assert "Saved." in response.content.decode()
    ann.refresh_from_db()
    assert sorted(ann.groups.values_list("name", flat=True)) == ["Offers", "VIP (internal)"]
    assert ann.mail_frequency == "monthly"
    record = ann.consents.get()
    assert (record.action, record.source, record.ip) == (
        "preferences",
        "preferences",
        "203.0.113.9",
    )
    assert record.details == {"groups": ["Special offers"], "frequency": "At most one a month"}
    assert record.wording == consent.PREFERENCES_WORDING


def test_a_topic_left_is_not_mailed_on_the_next_send(
    ann, topics, django_capture_on_commit_callbacks
):
    news, offers = topics
    ContactFactory(email="ben@example.com", groups=[news])  # who stays on the topic
    save(preferences_path(ann), topics=[offers.pk], frequency="")

    send = send_to(news, django_capture_on_commit_callbacks)

    assert not Message.objects.filter(send=send, contact=ann).exists()
    assert [m.to for m in mail.outbox] == [["ben@example.com"]]


def test_a_lower_frequency_takes_effect_on_the_next_send(
    ann, topics, django_capture_on_commit_callbacks
):
    # given no policy cap at all, Ann and Ben got a mail ten days ago
    FrequencyPolicy.objects.create(pk=1, enabled=False)
    news = topics[0]
    ben = ContactFactory(email="ben@example.com", groups=[news])
    start = timezone.now()
    with time_machine.travel(start - timedelta(days=10)):
        send_to(news, django_capture_on_commit_callbacks, name="Last week")

    # when Ann chooses at most one mail a month
    save(preferences_path(ann), topics=[news.pk], frequency="monthly")

    # then the next send skips her for the cap, and Ben still gets it
    send = send_to(news, django_capture_on_commit_callbacks, name="This week")
    skipped = Message.objects.get(send=send, contact=ann)
    assert (skipped.status, skipped.skip_reason) == ("skipped", "frequency_cap")
    assert Message.objects.get(send=send, contact=ben).status == "sent"

    # and a month after her last mail, she gets one again
    with time_machine.travel(start + timedelta(days=21)):
        later = send_to(news, django_capture_on_commit_callbacks, name="Next month")
    assert Message.objects.get(send=later, contact=ann).status == "sent"


def test_the_stricter_of_the_policy_and_the_choice_wins(
    ann, topics, django_capture_on_commit_callbacks
):
    # the policy allows 2 a week, 2 days apart; Ann wants one a week
    news = topics[0]
    Contact.objects.filter(pk=ann.pk).update(mail_frequency="weekly")
    start = timezone.now()
    for day in (0, 3, 8):
        with time_machine.travel(start + timedelta(days=day)):
            send_to(news, django_capture_on_commit_callbacks, name=f"Day {day}")

    statuses = dict(
        Message.objects.filter(contact=ann).values_list("send__campaign__name", "status")
    )
    assert statuses == {"Day 0": "sent", "Day 3": "skipped", "Day 8": "sent"}


def test_unsubscribing_from_all_applies_to_the_next_send(
    ann, topics, django_capture_on_commit_callbacks
):
    response = save(preferences_path(ann), unsubscribe="1")

    assert "You are unsubscribed" in response.content.decode()
    ann.refresh_from_db()
    assert ann.status == Contact.Status.UNSUBSCRIBED
    assert ann.consents.get().action == ConsentRecord.Action.UNSUBSCRIBED
    send = send_to(topics[0], django_capture_on_commit_callbacks)
    skipped = Message.objects.get(send=send, contact=ann)
    assert (skipped.status, skipped.skip_reason) == ("skipped", "unsubscribed")


def test_saving_choices_after_leaving_subscribes_again(client, ann, topics):
    Contact.objects.filter(pk=ann.pk).update(status=Contact.Status.UNSUBSCRIBED)
    page = client.get(preferences_path(ann)).content.decode()
    assert "Saving your choices below subscribes you again" in page

    save(preferences_path(ann), topics=[topics[0].pk], frequency="weekly")

    ann.refresh_from_db()
    assert ann.status == Contact.Status.SUBSCRIBED
    assert ann.consent_source == "Preference centre"


def test_a_bounced_address_cannot_be_resubscribed_here(client, ann, topics):
    Contact.objects.filter(pk=ann.pk).update(status=Contact.Status.BOUNCED)

    page = client.get(preferences_path(ann)).content.decode()

    assert "Mail to this address was refused" in page
    assert "Save my choices" not in page


def test_a_group_that_is_no_topic_cannot_be_joined_by_a_forged_post(ann, topics):
    internal = GroupFactory(name="Staff only")

    response = save(preferences_path(ann), topics=[internal.pk], frequency="")

    assert "could not be saved" in response.content.decode()
    assert not ann.groups.filter(pk=internal.pk).exists()
    assert not ann.consents.exists()


def test_the_link_survives_a_key_rotation(client, ann, settings):
    path = preferences_path(ann)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-key-" + "y" * 50

    assert client.get(path).status_code == 200
    assert preferences_path(ann) != path


def test_the_link_of_an_erased_contact_is_a_404(client, ann, alice):
    path = preferences_path(ann)
    from contacts.services import contact_erase

    contact_erase(contact=ann, actor=alice)

    assert client.get(path).status_code == 404


def test_a_staff_member_without_a_second_factor_still_reaches_their_own_page(client, settings, bob):
    # Bob is on the list too; the site asks staff for a second factor.
    settings.REQUIRE_TWO_FACTOR = True
    bobs_contact = ContactFactory(email="bob@example.org")
    client.force_login(bob)

    assert client.get(preferences_path(bobs_contact)).status_code == 200
    assert client.get(reverse("consent:signup", args=["none"])).status_code == 404
    assert client.get(reverse("contacts:list")).status_code == 302  # staff pages still ask
