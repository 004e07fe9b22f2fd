"""The signup form: the hosted page, the HTML to embed and the JSON endpoint,
kept from bots by a honeypot and a rate limit per client address."""

import json
import os

import pytest
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from contacts import consent
from contacts.models import ConsentRecord, Contact, SignupForm
from tests.factories import GroupFactory


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    cache.clear()


@pytest.fixture
def signup_form(db):
    form = SignupForm.objects.create(
        name="Footer form",
        key="footer",
        title="Get our weekly newsletter",
        consent_text="Yes, send me the newsletter. I can unsubscribe at any time.",
    )
    form.groups.add(GroupFactory(name="Newsletter", is_topic=True, public_name="Weekly news"))
    return form


def post(data: dict, ip: str = "203.0.113.9", key: str = "footer"):
    client = Client(enforce_csrf_checks=True, REMOTE_ADDR=ip)
    return client.post(reverse("consent:signup", args=[key]), data)


def post_json(payload, ip: str = "203.0.113.9", **headers):
    client = Client(enforce_csrf_checks=True, REMOTE_ADDR=ip)
    body = payload if isinstance(payload, str | bytes) else json.dumps(payload)
    return client.post(
        reverse("consent:signup_api", args=["footer"]),
        body,
        content_type="application/json",
        **headers,
    )


VALID = {"email": "Ann@Example.com ", "first_name": "Ann", "consent": "on"}


def test_the_hosted_page_shows_the_shop_the_wording_and_the_topics(client, signup_form):
    page = client.get(reverse("consent:signup", args=["footer"])).content.decode()

    assert "Get our weekly newsletter" in page
    assert signup_form.consent_text in page
    assert "Weekly news" in page
    assert 'href="https://shop.example.com"' in page and "Back to Demo Shop" in page
    assert "Mail dashboard" not in page  # never the staff layout
    assert 'name="website"' in page  # the honeypot


def test_the_hosted_page_records_its_own_source(signup_form, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post({**VALID, "hosted": "1"})

    assert response.status_code == 200
    record = ConsentRecord.objects.get()
    assert (record.contact.email, record.source) == ("ann@example.com", "hosted")
    assert Contact.objects.get().first_name == "Ann"
    assert len(mail.outbox) == 1


def test_a_bot_filling_the_honeypot_is_thanked_and_ignored(
    signup_form, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post({**VALID, "website": "https://spam.example"})

    assert response.status_code == 200
    assert "Check your inbox" in response.content.decode()
    assert not Contact.objects.exists()
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "", "consent": "on"}, "Enter your email address."),
        ({"email": "ann@", "consent": "on"}, "This does not look like an email address"),
        ({"email": "ann@example.com"}, "Tick the box to agree"),
    ],
)
def test_bad_input_is_explained_and_nothing_is_kept(signup_form, data, message):
    response = post(data)

    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert 'aria-invalid="true"' in page
    assert not Contact.objects.exists()
    if data["email"]:
        assert f'value="{data["email"]}"' in page  # what was typed stays


def test_an_unknown_or_inactive_form_is_a_404(client, signup_form):
    SignupForm.objects.filter(pk=signup_form.pk).update(is_active=False)

    assert client.get(reverse("consent:signup", args=["footer"])).status_code == 404
    assert client.get(reverse("consent:signup", args=["nope"])).status_code == 404
    assert post(VALID).status_code == 404
    assert post_json({"email": "ann@example.com", "consent": True}).status_code == 404


@pytest.fixture
def redis_cache(settings):
    """The rate limit counted in Redis, as in production (REDIS_CACHE_URL)."""
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith("redis://"):
        pytest.skip("needs Redis: run with CELERY_BROKER_URL=redis://...")
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": broker,
            "KEY_PREFIX": "test-signup-rate",
        }
    }
    cache.clear()
    yield
    cache.clear()


def test_signups_past_the_limit_per_address_get_429(
    signup_form, settings, redis_cache, django_capture_on_commit_callbacks
):
    settings.SIGNUP_RATE_LIMIT = 3
    with django_capture_on_commit_callbacks(execute=True):
        answers = [post({**VALID, "email": f"bot{n}@example.com"}).status_code for n in range(5)]
        other = post({**VALID, "email": "ann@example.com"}, ip="198.51.100.7")
        api = post_json({"email": "api@example.com", "consent": True})

    assert answers == [200, 200, 200, 429, 429]
    assert other.status_code == 200
    assert api.status_code == 429
    assert "Please try again later" in post(VALID).content.decode()
    assert Contact.objects.count() == 4
    assert len(mail.outbox) == 4


def test_the_rate_limit_counts_the_client_behind_a_proxy(signup_form, settings):
    settings.SIGNUP_RATE_LIMIT = 1
    settings.AXES_IPWARE_PROXY_COUNT = 1
    client = Client(REMOTE_ADDR="10.0.0.1")
    url = reverse("consent:signup", args=["footer"])

    first = client.post(url, VALID, HTTP_X_FORWARDED_FOR="203.0.113.1")
    second = client.post(url, VALID, HTTP_X_FORWARDED_FOR="203.0.113.2")
    third = client.post(url, VALID, HTTP_X_FORWARDED_FOR="203.0.113.2")

    assert (first.status_code, second.status_code, third.status_code) == (200, 200, 429)
    assert ConsentRecord.objects.first().ip == "203.0.113.1"


def test_the_json_endpoint_accepts_a_signup(signup_form, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_json({"email": "ann@example.com", "first_name": "Ann", "consent": True})

    assert response.status_code == 202
    assert response.json() == {"status": "pending"}
    assert Contact.objects.get().status == Contact.Status.UNCONFIRMED
    assert ConsentRecord.objects.get().source == "api"
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"email": "ann@", "consent": True}, {"email"}),
        ({"email": "ann@example.com", "consent": "yes"}, {"consent"}),
        ({"first_name": "Ann"}, {"email", "consent"}),
    ],
)
def test_the_json_endpoint_names_what_is_wrong(signup_form, payload, expected):
    response = post_json(payload)

    assert response.status_code == 400
    assert set(response.json()["errors"]) == expected
    assert not Contact.objects.exists()


@pytest.mark.parametrize("body", ["not json", "[1, 2]", b"\xff\xfe", '"ann@example.com"'])
def test_the_json_endpoint_refuses_what_is_not_an_object(signup_form, body):
    response = post_json(body)

    assert response.status_code == 400
    assert "JSON object" in response.json()["error"]


def test_the_json_endpoint_ignores_a_bot(signup_form):
    response = post_json({"email": "ann@example.com", "consent": True, "website": "x"})

    assert response.status_code == 202
    assert not Contact.objects.exists()


def test_the_json_endpoint_answers_the_shops_pages_only(signup_form, settings):
    settings.SIGNUP_CORS_ORIGINS = ["https://shop.example.com"]
    url = reverse("consent:signup_api", args=["footer"])

    preflight = Client().options(url, HTTP_ORIGIN="https://shop.example.com")
    allowed = post_json({"email": "a@example.com"}, HTTP_ORIGIN="https://shop.example.com")
    foreign = post_json({"email": "b@example.com"}, HTTP_ORIGIN="https://evil.example")

    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "https://shop.example.com"
    assert allowed["Access-Control-Allow-Origin"] == "https://shop.example.com"
    assert "Access-Control-Allow-Origin" not in foreign
    assert Client().get(url).status_code == 405


def test_the_embedded_html_posts_to_the_hosted_page(signup_form, admin_client):
    html = consent.signup_form_embed_html(signup_form)

    assert 'action="http://127.0.0.1:8000/subscribe/footer/"' in html
    assert 'name="website"' in html and 'name="consent"' in html
    assert signup_form.consent_text in html
    page = admin_client.get(reverse("admin:contacts_signupform_change", args=[signup_form.pk]))
    assert "/subscribe/footer/json" in page.content.decode()
    assert "newsletter-signup" in page.content.decode()


def test_the_demo_has_a_signup_form_topics_and_consent_records(db):
    from django.core.management import call_command

    call_command("demo_data", stdout=open(os.devnull, "w"))  # noqa: SIM115

    form = SignupForm.objects.get(key="newsletter")
    assert list(form.groups.values_list("name", flat=True)) == ["Newsletter"]
    assert ConsentRecord.objects.filter(action="requested", contact__status="unconfirmed").exists()
    assert ConsentRecord.objects.filter(action="confirmed").exists()
    assert Client().get(reverse("consent:signup", args=["newsletter"])).status_code == 200
