"""Safe by default: the secret key, the response headers, and input at every door."""

import os
import subprocess
import sys

import pytest
from django.core import mail as django_mail
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from campaigns import tokens
from campaigns.models import Product
from campaigns.services import campaign_send
from tests.conftest import ROOT
from tests.factories import CampaignFactory, ContactFactory, GroupFactory, ProductFactory
from tests.helpers import html_part, parsed, unsubscribe_path, web_view_path
from tests.spreadsheets import CSV, admin_import, csv_bytes

STRONG_KEY = "k3Yq-8vX_2mPz9LrT0wBn5cHsJ4dFgA7eU1iOyKqWxZtRvNbMl6aSd"
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": STRONG_KEY,
    "SITE_URL": "https://mail.shop.example",
    "ALLOWED_HOSTS": "mail.shop.example",
    "CSRF_TRUSTED_ORIGINS": "https://mail.shop.example",
}


# Ours, less what a test sets and what the browser tests' conftest adds.
NOT_INHERITED = ("SECRET_KEY", "DEBUG", "SITE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in NOT_INHERITED}


def django_starts(**env_vars: str) -> subprocess.CompletedProcess:
    """Set Django up in a fresh process, with these variables on top of ours."""
    env = clean_env()
    env |= {"DJANGO_SETTINGS_MODULE": "marketing_site.settings", **env_vars}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


# --- The secret key -----------------------------------------------------------


@pytest.mark.parametrize(
    ("variables", "problem"),
    [
        ({"SITE_URL": "https://mail.shop.example"}, "SECRET_KEY is missing"),
        ({"SECRET_KEY": "changeme"}, "well-known placeholder"),
        ({"SECRET_KEY": "django-insecure-" + STRONG_KEY}, "well-known placeholder"),
        ({"SECRET_KEY": "s3cr3t-but-short"}, "shorter than 50 characters"),
        ({"SECRET_KEY": "ab" * 40}, "fewer than 5 different characters"),
        ({"SECRET_KEY": STRONG_KEY, "SECRET_KEY_FALLBACKS": "changeme"}, "SECRET_KEY_FALLBACKS"),
    ],
    ids=["missing", "changeme", "django-insecure", "short", "few-characters", "weak-fallback"],
)
def test_it_refuses_to_start_with_a_weak_key(variables, problem):
    result = django_starts(DEBUG="0", **variables)

    assert result.returncode != 0
    assert problem in result.stderr
    assert "python -c 'import secrets; print(secrets.token_urlsafe(50))'" in result.stderr


def test_it_starts_with_a_strong_key_in_production():
    assert django_starts(**PRODUCTION).returncode == 0


def test_a_local_run_uses_the_generated_key(tmp_path):
    result = django_starts(DEBUG="0", SITE_URL="http://127.0.0.1:8000", VAR_DIR=str(tmp_path))

    assert result.returncode == 0, result.stderr
    assert len((tmp_path / "secret_key").read_text()) >= 50


def test_the_deploy_check_is_clean_with_the_documented_production_variables():
    env = clean_env()
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env=env | PRODUCTION, cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_a_token_signed_with_a_rotated_key_still_works(settings):
    settings.SECRET_KEY = "old-" + STRONG_KEY
    token = tokens.unsubscribe_token(42)
    settings.SECRET_KEY = STRONG_KEY
    assert tokens.message_id_from_token(token, purpose=tokens.UNSUBSCRIBE) is None

    settings.SECRET_KEY_FALLBACKS = ["old-" + STRONG_KEY]

    assert tokens.message_id_from_token(token, purpose=tokens.UNSUBSCRIBE) == 42


# --- Content-Security-Policy ----------------------------------------------------


def _policy(response) -> dict[str, str]:
    directives = (d.strip() for d in response["Content-Security-Policy"].split(";"))
    return {name: rest for name, _, rest in (d.partition(" ") for d in directives if d)}


@pytest.mark.parametrize(
    "url_name", ["login", "password_reset", "dashboard", "contacts:list", "campaigns:list"]
)
def test_staff_pages_allow_only_our_own_scripts(client, alice, url_name):
    client.force_login(alice)
    if url_name in ("login", "password_reset"):
        client.logout()

    response = client.get(reverse(url_name))

    assert response.status_code == 200
    policy = _policy(response)
    assert policy["script-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"


@pytest.mark.django_db(transaction=True)
def test_recipient_pages_send_a_policy_and_the_web_view_runs_no_script(client):
    group = GroupFactory(name="Newsletter")
    ContactFactory(email="ann@example.com", first_name="Ann", groups=[group])
    campaign_send(campaign=CampaignFactory(groups=[group]))
    mail = parsed(django_mail.outbox[0])

    confirm_page = client.get(unsubscribe_path(mail))
    web_view = client.get(web_view_path(html_part(mail)))

    assert _policy(confirm_page)["script-src"] == "'self'"
    assert web_view.status_code == 200
    assert _policy(web_view)["script-src"] == "'none'"
    assert _policy(web_view)["sandbox"].startswith("allow-popups")


def test_the_preview_runs_no_script(client, charlie):
    client.force_login(charlie)
    campaign = CampaignFactory()

    response = client.get(reverse("campaigns:preview", args=[campaign.pk]))

    assert _policy(response)["script-src"] == "'none'"
    assert "sandbox" in _policy(response)


def test_https_turns_on_hsts_and_secure_cookies():
    code = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SECURE_SSL_REDIRECT)"
    )
    env = clean_env()
    result = subprocess.run(
        [sys.executable, "-c", code], env=env | PRODUCTION, cwd=ROOT,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert result.stdout.split() == ["31536000", "True", "True", "True"]


# --- URLs: only http and https, from every door -------------------------------------

BAD_URLS = ["javascript:alert(1)", "JavaScript://shop.example.com/%0aalert(1)", "data:text/html,x"]


@pytest.mark.parametrize("url", [*BAD_URLS, "ftp://shop.example.com/mug"])
def test_a_product_url_must_be_a_web_address(db, url):
    product = ProductFactory.build(url=url, image_url=url)

    with pytest.raises(ValidationError) as error:
        product.full_clean()

    assert set(error.value.message_dict) == {"url", "image_url"}


@pytest.mark.parametrize("url", BAD_URLS)
def test_the_admin_refuses_a_script_url(client, alice, url):
    client.force_login(alice)
    data = {"sku": "MUG", "name": "Mug", "url": url, "image_url": "", "price": "9.00"}
    data |= {"currency": "EUR", "active": "on"}

    response = client.post(reverse("admin:campaigns_product_add"), data)

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["url"]
    assert not Product.objects.exists()


@pytest.mark.parametrize("url", BAD_URLS)
def test_an_import_refuses_a_script_url(client, alice, url):
    client.force_login(alice)
    content = csv_bytes(
        ["sku", "name", "url", "image_url", "price", "currency", "active"],
        ["MUG", "Stoneware mug", url, "", "24.00", "EUR", "1"],
    )

    response = admin_import(client, "campaigns_product", content, "products.csv")

    assert "http:// or https://" in response.content.decode()
    assert not Product.objects.exists()


def test_an_import_over_the_size_limit_is_refused(client, alice, settings):
    client.force_login(alice)
    settings.IMPORT_MAX_UPLOAD_BYTES = 100
    content = csv_bytes(["sku", "name"], *[[f"SKU{i}", "A product"] for i in range(20)])

    response = client.post(
        reverse("admin:campaigns_product_import"),
        {"format": CSV, "import_file": SimpleUploadedFile("products.csv", content)},
    )

    assert "can be imported. Split it into smaller files." in response.content.decode()
    assert not Product.objects.exists()


def test_every_upload_has_a_size_limit(settings):
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE and settings.FILE_UPLOAD_MAX_MEMORY_SIZE
    assert settings.DATA_UPLOAD_MAX_NUMBER_FIELDS and settings.DATA_UPLOAD_MAX_NUMBER_FILES


# --- Control characters --------------------------------------------------------------

NUL = "ab\x00cd"


@pytest.mark.parametrize(
    ("url_name", "field"),
    [
        ("contacts:list", "q"),
        ("contacts:list", "status"),
        ("contacts:list", "group"),
        ("contacts:groups", "page"),
        ("campaigns:list", "page"),
        ("campaigns:preview", "email"),
        ("campaigns:preview", "contact"),
        ("campaigns:detail", "email"),
        ("dashboard", "anything"),
        ("admin:contacts_contact_changelist", "q"),
    ],
)
@pytest.mark.parametrize("character", ["\x00", "\x1b", "\x7f"])
def test_a_control_character_in_a_query_is_a_400(client, alice, url_name, field, character):
    client.force_login(alice)
    campaign = CampaignFactory()
    args = (
        [campaign.pk] if url_name.startswith("campaigns:") and url_name != "campaigns:list" else []
    )

    response = client.get(reverse(url_name, args=args), {field: f"ab{character}cd"})

    assert response.status_code == 400


@pytest.mark.parametrize(
    ("url_name", "field"),
    [
        ("login", "username"),
        ("login", "password"),
        ("password_reset", "email"),
        ("campaigns:create", "name"),
        ("campaigns:create", "subject"),
        ("campaigns:create", "body"),
        ("admin:contacts_contact_add", "email"),
        ("admin:contacts_contact_add", "first_name"),
        ("admin:campaigns_product_add", "url"),
    ],
)
def test_a_nul_byte_in_a_form_field_is_a_400(client, alice, url_name, field):
    if not url_name.startswith(("login", "password_reset")):
        client.force_login(alice)

    response = client.post(reverse(url_name), {field: NUL})

    assert response.status_code == 400


def test_a_nul_byte_in_the_path_is_a_400(client, alice):
    client.force_login(alice)
    assert client.get("/contacts/%00/").status_code in (400, 404)
    assert client.get("/t/v/ab%00cd").status_code == 400


def test_newlines_and_tabs_in_a_form_field_are_fine(client, alice):
    client.force_login(alice)

    response = client.get(reverse("contacts:list"), {"q": "ann\t"})

    assert response.status_code == 200
