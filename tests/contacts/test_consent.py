"""Double opt-in: from the signup form to a confirmed consent record, with a
mail scanner's GET confirming nothing; unconfirmed contacts get no marketing
mail and expire."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache
from django.core.signing import TimestampSigner
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Message
from campaigns.services import campaign_send
from contacts import consent
from contacts.models import AuditEntry, ConsentRecord, Contact, SignupForm, Suppression
from tests.factories import CampaignFactory, ContactFactory, GroupFactory

SCANNER = "Mozilla/5.0 (compatible; SafeLinks link checker)"
PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Safari/604.1"


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    cache.clear()


@pytest.fixture
def newsletter(db):
    return GroupFactory(name="Newsletter", is_topic=True, public_name="Weekly newsletter")


@pytest.fixture
def signup_form(newsletter):
    form = SignupForm.objects.create(name="Footer form", key="footer")
    form.groups.add(newsletter)
    return form


def sign_up(email="ann@example.com", ip="203.0.113.9", **extra):
    # The embedded form posts from the shop's pages: no CSRF cookie, no token.
    browser = Client(enforce_csrf_checks=True, REMOTE_ADDR=ip, HTTP_USER_AGENT=PHONE)
    data = {"email": email, "first_name": "Ann", "consent": "on", "website": "", **extra}
    return browser.post(reverse("consent:signup", args=["footer"]), data)


def confirmation_path(message) -> str:
    (url,) = set(re.findall(r"https?://\S+/subscribe/confirm/[^\s\"<]+", message.body))
    assert url in message.alternatives[0][0]
    return urlsplit(url).path


def test_double_opt_in_from_form_to_confirmed_consent_and_a_scanner_confirms_nothing(
    signup_form, newsletter, django_capture_on_commit_callbacks, alice
):
    # given Ann signs up on the form embedded in the shop's site
    with django_capture_on_commit_callbacks(execute=True):
        response = sign_up()
    assert response.status_code == 200
    assert "Check your inbox" in response.content.decode()
    ann = Contact.objects.get(email="ann@example.com")
    assert ann.status == Contact.Status.UNCONFIRMED
    assert not ann.groups.exists()
    (confirmation,) = mail.outbox
    assert confirmation.to == ["ann@example.com"]
    assert confirmation.subject == "Confirm your subscription to Demo Shop"
    path = confirmation_path(confirmation)

    # when her mail provider's link scanner fetches the link
    scanner = Client(REMOTE_ADDR="198.51.100.50", HTTP_USER_AGENT=SCANNER)
    page = scanner.get(path)

    # then it only asks; nothing is confirmed
    assert page.status_code == 200
    assert "Yes, subscribe me" in page.content.decode()
    ann.refresh_from_db()
    assert ann.status == Contact.Status.UNCONFIRMED
    assert not ann.consents.filter(action=ConsentRecord.Action.CONFIRMED).exists()

    # when Ann presses the button on the page
    browser = Client(enforce_csrf_checks=True, REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT=PHONE)
    page = browser.get(path)
    done = browser.post(path, {"csrfmiddlewaretoken": page.context["csrf_token"]})

    # then she is subscribed, in the form's group, with the evidence kept
    assert "You\u2019re subscribed" in done.content.decode()
    ann.refresh_from_db()
    assert ann.status == Contact.Status.SUBSCRIBED
    assert ann.consent_at is not None and ann.consent_source == "Footer form"
    assert list(ann.groups.all()) == [newsletter]
    requested, confirmed = ann.consents.order_by("created_at", "id")
    assert (requested.action, requested.source) == ("requested", "embedded")
    assert (confirmed.action, confirmed.source) == ("confirmed", "confirmation")
    for record in (requested, confirmed):
        assert record.ip == "203.0.113.9"
        assert record.user_agent == PHONE
        assert record.form == signup_form and record.form_name == "Footer form"
        assert record.wording == signup_form.consent_text
        assert record.details["groups"] == ["Weekly newsletter"]

    # and staff see the record on her page
    browser.force_login(alice)
    contact_page = browser.get(reverse("contacts:detail", args=[ann.pk])).content.decode()
    assert "Confirmed the subscription" in contact_page
    assert "IP 203.0.113.9" in contact_page
    assert signup_form.consent_text in contact_page


def test_confirming_twice_records_it_once(signup_form, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        sign_up()
    path = confirmation_path(mail.outbox[0])
    Client().post(path)
    Client().post(path)

    assert ConsentRecord.objects.filter(action="confirmed").count() == 1


def test_an_unconfirmed_contact_gets_no_marketing_mail(
    signup_form, newsletter, django_capture_on_commit_callbacks
):
    ContactFactory(email="ann@example.com", status=Contact.Status.UNCONFIRMED, groups=[newsletter])
    ContactFactory(email="ben@example.com", groups=[newsletter])

    with django_capture_on_commit_callbacks(execute=True):
        send = campaign_send(campaign=CampaignFactory(groups=[newsletter]))

    ann = Message.objects.get(send=send, email="ann@example.com")
    assert (ann.status, ann.skip_reason) == ("skipped", "unconfirmed")
    assert [m.to for m in mail.outbox] == [["ben@example.com"]]


@pytest.mark.parametrize(
    "token",
    [
        "1:1kx:tampered",
        "not-a-token",
        "%D0%BF%D1%80%D0%B8%D0%B2%D0%B5%D1%82",  # non-ASCII: привет
        "1:%E2%9C%93:%E2%9C%93",
    ],
)
def test_a_tampered_or_foreign_link_is_a_404_on_the_shops_page(client, signup_form, token):
    for name in ("consent:confirm", "consent:preferences"):
        path = reverse(name, args=["TOKEN"]).replace("TOKEN", token)
        response = client.get(path)
        assert response.status_code == 404
        assert "This link isn\u2019t valid" in response.content.decode()
        assert "Demo Shop" in response.content.decode()
        assert client.post(path).status_code == 404


def test_a_confirmation_link_expires_with_the_signup(
    client, signup_form, settings, django_capture_on_commit_callbacks
):
    settings.SIGNUP_CONFIRM_DAYS = 3
    with django_capture_on_commit_callbacks(execute=True):
        sign_up()
    path = confirmation_path(mail.outbox[0])

    with time_machine.travel(timezone.now() + timedelta(days=3, minutes=1)):
        assert client.post(path).status_code == 404
    assert Contact.objects.get().status == Contact.Status.UNCONFIRMED


def test_a_link_signed_before_a_key_rotation_still_confirms(
    client, signup_form, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sign_up()
    path = confirmation_path(mail.outbox[0])
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-key-" + "x" * 50

    assert client.post(path).status_code == 200
    assert Contact.objects.get().status == Contact.Status.SUBSCRIBED


def test_a_signature_for_another_purpose_is_refused(client, signup_form):
    ann = ContactFactory(email="ann@example.com")
    # A preferences token names a contact id; it must not confirm a signup of the same id.
    record = ConsentRecord.objects.create(contact=ann, action="requested", source="hosted")
    forged = TimestampSigner(salt="contacts.consent.preferences").sign(str(record.pk))

    response = client.post(reverse("consent:confirm", args=[forged]))

    assert response.status_code == 404


def test_signing_up_again_soon_sends_no_second_mail(
    signup_form, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        sign_up()
        sign_up()
    assert len(mail.outbox) == 1

    later = timezone.now() + consent.RESEND_AFTER + timedelta(minutes=1)
    with time_machine.travel(later), django_capture_on_commit_callbacks(execute=True):
        sign_up()
    assert len(mail.outbox) == 2


@pytest.mark.parametrize("case", ["bounced", "complained", "suppressed", "suppressed domain"])
def test_an_address_we_must_not_mail_gets_no_confirmation_but_the_same_answer(
    signup_form, case, django_capture_on_commit_callbacks
):
    status = case if case in ("bounced", "complained") else Contact.Status.SUBSCRIBED
    ContactFactory(email="ann@example.com", status=status)
    if case == "suppressed":
        Suppression.objects.create(email="ann@example.com")
    if case == "suppressed domain":
        from contacts.models import DomainSuppression

        DomainSuppression.objects.create(domain="example.com")

    with django_capture_on_commit_callbacks(execute=True):
        response = sign_up()

    assert "Check your inbox" in response.content.decode()
    assert mail.outbox == []
    assert Contact.objects.get().status == status


def test_a_subscribed_contact_joins_the_forms_groups_once_confirmed(
    signup_form, newsletter, django_capture_on_commit_callbacks
):
    ann = ContactFactory(email="ann@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        sign_up()
    assert not ann.groups.exists()

    Client().post(confirmation_path(mail.outbox[0]))

    assert list(ann.groups.all()) == [newsletter]


def test_a_single_opt_in_form_subscribes_at_once(
    signup_form, newsletter, django_capture_on_commit_callbacks
):
    SignupForm.objects.filter(pk=signup_form.pk).update(double_opt_in=False)

    with django_capture_on_commit_callbacks(execute=True):
        response = sign_up()

    assert "You\u2019re subscribed" in response.content.decode()
    ann = Contact.objects.get()
    assert ann.status == Contact.Status.SUBSCRIBED
    assert list(ann.groups.all()) == [newsletter]
    assert ann.consents.get().action == ConsentRecord.Action.SUBSCRIBED
    assert mail.outbox == []


def test_one_who_unsubscribed_comes_back_only_by_confirming_even_on_a_single_opt_in_form(
    signup_form, django_capture_on_commit_callbacks
):
    SignupForm.objects.filter(pk=signup_form.pk).update(double_opt_in=False)
    ContactFactory(email="ann@example.com", status=Contact.Status.UNSUBSCRIBED)

    with django_capture_on_commit_callbacks(execute=True):
        sign_up()

    assert Contact.objects.get().status == Contact.Status.UNSUBSCRIBED
    Client().post(confirmation_path(mail.outbox[0]))
    assert Contact.objects.get().status == Contact.Status.SUBSCRIBED


def test_unconfirmed_signups_expire_after_the_set_time(
    signup_form, settings, django_capture_on_commit_callbacks
):
    settings.SIGNUP_CONFIRM_DAYS = 7
    start = timezone.now()
    with time_machine.travel(start):
        with django_capture_on_commit_callbacks(execute=True):
            sign_up("ann@example.com")
            sign_up("ben@example.com", ip="203.0.113.10")
        Client().post(confirmation_path(mail.outbox[1]))  # Ben confirms
    with time_machine.travel(start + timedelta(days=6)):
        ContactFactory(email="cy@example.com", status=Contact.Status.UNCONFIRMED)
        assert consent.contacts_expire_unconfirmed() == 0

    with time_machine.travel(start + timedelta(days=7, minutes=1)):
        from contacts.tasks import contacts_expire_unconfirmed_task

        expired = contacts_expire_unconfirmed_task.delay().get()

    assert expired == 1
    assert sorted(Contact.objects.values_list("email", flat=True)) == [
        "ben@example.com",
        "cy@example.com",
    ]
    entry = AuditEntry.objects.get(action=AuditEntry.Action.UNCONFIRMED_EXPIRED)
    assert entry.details == {"contacts": 1, "days": 7}
    assert "ann@" not in str(AuditEntry.objects.values_list())


def test_the_expiry_runs_on_the_beat_schedule(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE["expire-unconfirmed-contacts"]
    assert schedule["task"] == "contacts.tasks.contacts_expire_unconfirmed_task"
    from marketing_site.celery import app

    app.loader.import_default_modules()
    assert schedule["task"] in app.tasks
