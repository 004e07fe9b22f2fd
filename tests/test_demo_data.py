import io
import re

import pytest
from django.apps import apps
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.urls import reverse

from campaigns.audience import audience_summary
from campaigns.models import Campaign, Coupon
from campaigns.rendering import compile_campaign
from contacts.models import Contact, Group, Suppression
from marketing_site.roles import ADMIN, user_role
from tracking.reports import campaign_report

LOGIN_LINE = re.compile(r"Log in at (\S+) as demo / (\S+)")


@pytest.fixture(autouse=True)
def _var_dir_in_tmp(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"


def demo_data() -> str:
    out = io.StringIO()
    call_command("demo_data", stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    models = [apps.get_model(label) for label in ("auth.User", "auth.Group")]
    models += list(apps.get_app_config("contacts").get_models())
    models += list(apps.get_app_config("campaigns").get_models())
    through = [Contact.groups.through, Campaign.groups.through, Campaign.products.through]
    return {model._meta.label: model.objects.count() for model in models + through}


@pytest.mark.django_db
def test_it_builds_a_demo_shop():
    output = demo_data()

    url, password = LOGIN_LINE.search(output).groups()
    assert url == "http://127.0.0.1:8000/login/"
    user = authenticate(username="demo", password=password)
    assert user is not None and user.is_staff and user_role(user) == ADMIN
    assert sorted(Group.objects.values_list("name", flat=True)) == [
        "Newsletter",
        "Russian speakers",
        "VIP customers",
    ]
    assert 55 <= Contact.objects.count() <= 65
    assert (
        Contact.objects.filter(locale="ru", first_name__regex="^[\\u0400-\\u04ff]+$").count() >= 3
    )
    statuses = set(Contact.objects.values_list("status", flat=True))
    assert {"subscribed", "unsubscribed", "bounced", "unconfirmed"} <= statuses
    subscribed = Contact.objects.filter(status="subscribed")
    assert subscribed.count() > Contact.objects.count() * 0.7
    assert not subscribed.filter(consent_at=None).exists()
    assert set(subscribed.values_list("consent_source", flat=True)) == {"signup form"}


@pytest.mark.django_db
def test_it_serves_the_product_images_from_this_site(client):
    demo_data()
    campaign = Campaign.objects.get(name="Autumn sale")

    products = list(campaign.products.all())

    assert len(products) == 3
    for product in products:
        assert product.url.startswith("https://shop.example.com/")
        assert product.image_url.startswith("http://127.0.0.1:8000/static/demo/")
        path = product.image_url.removeprefix("http://127.0.0.1:8000")
        response = client.get(path)
        assert response.status_code == 200
        assert b"".join(response.streaming_content).startswith(b"\x89PNG")


@pytest.mark.django_db
def test_it_drafts_a_campaign_that_compiles():
    demo_data()

    campaign = Campaign.objects.get(name="Autumn sale")

    assert campaign.status == Campaign.Status.DRAFT
    assert '{{ contact.first_name|default:"friend" }}' in campaign.subject
    assert (campaign.from_name, campaign.from_email) == ("Demo Shop", "news@shop.example.com")
    assert campaign.reply_to == "help@shop.example.com"
    assert list(campaign.groups.values_list("name", flat=True)) == ["Newsletter"]
    assert campaign.coupon.code == "WELCOME10"
    compiled = compile_campaign(campaign)
    assert "https://shop.example.com/collections/autumn" in compiled.links
    pool = Coupon.objects.get(kind=Coupon.Kind.UNIQUE)
    assert pool.codes.filter(assigned_at=None).count() == 100


@pytest.mark.django_db
def test_it_creates_nothing_twice_and_keeps_the_password(settings, django_assert_max_num_queries):
    first = demo_data()
    before = counts()

    with django_assert_max_num_queries(22):
        second = demo_data()

    assert counts() == before
    assert LOGIN_LINE.search(second).groups() == LOGIN_LINE.search(first).groups()
    password = LOGIN_LINE.search(first)[2]
    assert (settings.VAR_DIR / "demo_login.txt").read_text().strip() == password
    assert (settings.VAR_DIR / "demo_login.txt").stat().st_mode & 0o077 == 0


@pytest.mark.django_db
def test_it_keeps_what_was_edited_in_the_ui():
    demo_data()
    Campaign.objects.filter(name="Autumn sale").update(subject="Edited")
    Contact.objects.filter(locale="ru").first().groups.clear()
    memberships = Contact.groups.through.objects.count()

    demo_data()

    assert Campaign.objects.get(name="Autumn sale").subject == "Edited"
    assert Contact.groups.through.objects.count() == memberships


@pytest.mark.django_db
def test_it_sets_a_new_password_when_the_saved_one_is_lost(settings):
    first = LOGIN_LINE.search(demo_data())[2]
    (settings.VAR_DIR / "demo_login.txt").unlink()

    output = demo_data()

    second = LOGIN_LINE.search(output)[2]
    assert second != first
    assert "was missing, so it was reset" in output
    assert authenticate(username="demo", password=second) is not None


@pytest.mark.django_db
def test_it_lets_the_demo_user_into_the_admin(client):
    password = LOGIN_LINE.search(demo_data())[2]

    client.login(username="demo", password=password)

    assert client.get(reverse("admin:contacts_contact_changelist")).status_code == 200


@pytest.mark.django_db
def test_it_shows_the_ledger_at_work_sent_failed_in_doubt_and_the_frequency_cap():
    demo_data()
    summer = Campaign.objects.get(name="Summer clearance")
    report = campaign_report(campaign=summer)
    assert (report.failed, report.in_doubt) == (2, 1)
    assert report.sent + report.failed + report.in_doubt + report.skipped == report.recipients
    # VIP customers had two marketing mails this week: the autumn sale skips them.
    summary = audience_summary(campaign=Campaign.objects.get(name="Autumn sale"))
    capped = dict((reason, n) for reason, _, n in summary.skipped).get("frequency_cap", 0)
    # (A VIP whose mail this week bounced softly or was skipped got one mail
    # only, so at most every subscribed VIP is capped.)
    vips = (
        Group.objects.get(name="VIP customers")
        .contacts.filter(status="subscribed")
        .exclude(email__in=Suppression.objects.values("email"))
        .count()
    )
    assert 0 < capped <= vips
