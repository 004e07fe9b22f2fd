"""Human, privacy proxy or scanner: each machine pattern, through the endpoints."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail as django_mail
from django.core.management import call_command

from campaigns.models import Message
from campaigns.services import campaign_send
from contacts.models import Contact
from tests.factories import CampaignFactory, ContactFactory, GroupFactory, ProductFactory
from tests.helpers import BROWSER, click_paths, honeypot_path, html_part, parsed, pixel_path
from tracking import machine, services
from tracking.facts import events_flush_all, tallies_of
from tracking.machine import NetworkSet, mail_client
from tracking.models import Event, MachineNetwork

pytestmark = pytest.mark.django_db(transaction=True)

SENT_AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
APPLE_MAIL = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko)"
)
GOOGLE_PROXY = (
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
)


@pytest.fixture
def mail():
    """Ann's mail with two links (the sale and a product), sent at 09:00."""
    group = GroupFactory(name="Newsletter")
    ContactFactory(email="ann@example.com", first_name="Ann", groups=[group])
    product = ProductFactory(url="https://shop.example.com/p/boots")
    with time_machine.travel(SENT_AT, tick=False):
        campaign_send(campaign=CampaignFactory(groups=[group], products=[product]))
    machine.machine_networks_forget()
    services.link_cache.urls.clear()
    return html_part(parsed(django_mail.outbox[0]))


def hit(client, path, at_seconds: float, agent=BROWSER, ip="203.0.113.7", method="get"):
    with time_machine.travel(SENT_AT + timedelta(seconds=at_seconds), tick=False):
        return getattr(client, method)(path, HTTP_USER_AGENT=agent, REMOTE_ADDR=ip)


def reasons() -> list[tuple[str, str]]:
    with time_machine.travel(SENT_AT + timedelta(hours=2), tick=False):
        events_flush_all(settle_seconds=0)
    return list(Event.objects.order_by("id").values_list("kind", "machine_reason"))


def test_a_person_reading_an_hour_later_is_human(client, mail):
    hit(client, pixel_path(mail), 3600)
    hit(client, click_paths(mail)[0], 3620)
    assert reasons() == [("opened", ""), ("clicked", "")]
    assert Contact.objects.get().last_clicked_at is not None


def test_apple_privacy_proxy_by_its_published_ranges_loaded_by_the_command(client, mail, tmp_path):
    ranges = tmp_path / "egress-ip-ranges.csv"
    ranges.write_text("172.225.46.64/26,US,US-CA,San Jose,\nnot-a-network,XX\n")
    call_command("load_apple_proxy_ranges", str(ranges))
    assert MachineNetwork.objects.filter(kind="apple_proxy").count() == 1

    hit(client, pixel_path(mail), 3600, agent=APPLE_MAIL, ip="172.225.46.70")
    hit(client, pixel_path(mail), 3700, agent=APPLE_MAIL, ip="17.1.2.3")  # the sample was replaced
    assert reasons() == [("opened", "apple_proxy"), ("opened", "")]


def test_apple_privacy_proxy_by_the_shipped_sample_and_by_its_generic_agent(client, mail):
    hit(client, pixel_path(mail), 3600, agent=APPLE_MAIL, ip="17.58.1.1")
    hit(client, pixel_path(mail), 3700, agent="Mozilla/5.0")
    # A click from Apple's network is a Safari user behind Private Relay: a person.
    hit(client, click_paths(mail)[0], 3800, agent=APPLE_MAIL, ip="17.58.1.1")
    assert reasons() == [("opened", "apple_proxy"), ("opened", "apple_proxy"), ("clicked", "")]
    message = Message.objects.get()
    assert (message.machine_opens, message.opens, message.clicks) == (2, 0, 1)


def test_an_open_or_click_seconds_after_delivery_is_a_machines(client, mail):
    hit(client, pixel_path(mail), 2)
    hit(client, click_paths(mail)[0], 4)
    assert reasons() == [("opened", "too_fast"), ("clicked", "too_fast")]
    assert Message.objects.get().opened_at is None


def test_every_link_of_a_mail_clicked_at_once_is_a_scanner(client, mail):
    sale, boots = click_paths(mail)[:2]
    hit(client, sale, 600.0)
    hit(client, boots, 600.8)
    hit(client, sale, 900)  # a person, later
    assert reasons() == [("clicked", "all_links"), ("clicked", "all_links"), ("clicked", "")]


def test_head_requests_are_machines(client, mail):
    hit(client, pixel_path(mail), 3600, method="head")
    hit(client, click_paths(mail)[0], 3600, method="head")
    assert reasons() == [("opened", "head"), ("clicked", "head")]


@pytest.mark.parametrize(
    ("agent", "ip", "kind", "reason"),
    [
        (BROWSER, "40.93.12.3", "clicked", "scanner"),  # Microsoft Safe Links, browser agent
        (BROWSER, "205.139.110.20", "clicked", "scanner"),  # Mimecast's network
        ("Mozilla/5.0 (compatible; Mimecast)", "203.0.113.9", "clicked", "scanner"),
        (BROWSER, "148.163.130.4", "clicked", "scanner"),  # Proofpoint's network
        ("Barracuda Sentinel (EE)", "203.0.113.9", "opened", "scanner"),
        (GOOGLE_PROXY, "66.249.84.1", "opened", "image_proxy"),
        ("python-requests/2.32", "203.0.113.9", "clicked", "agent"),
        ("", "203.0.113.9", "opened", "agent"),
    ],
)
def test_known_scanners_and_proxies(client, mail, agent, ip, kind, reason):
    path = pixel_path(mail) if kind == "opened" else click_paths(mail)[0]
    hit(client, path, 3600, agent=agent, ip=ip)
    assert reasons() == [(kind, reason)]
    message = Message.objects.get()
    assert (message.opened_at, message.clicked_at) == (None, None)
    tallies = tallies_of(message.send_id)
    assert ("total", "", "opened") not in tallies
    assert tallies[("total", "", f"machine_{kind[:-2]}s")] == 1


def test_the_hidden_honeypot_link_and_the_clicks_around_it_are_machines(client, mail):
    assert "display: none" in mail.split(honeypot_path(mail))[1][:200].replace(
        "display:none", "display: none"
    )
    hit(client, click_paths(mail)[0], 600)
    hit(client, honeypot_path(mail), 601)
    hit(client, click_paths(mail)[0], 1200)  # a person, ten minutes later
    assert reasons() == [("clicked", "honeypot"), ("clicked", "honeypot"), ("clicked", "")]
    response = hit(client, honeypot_path(mail), 2000)
    assert response.status_code == 302


def test_it_names_the_mail_client_and_device_of_an_open():
    assert mail_client(APPLE_MAIL) == ("Apple Mail", "mobile")
    assert mail_client("Mozilla/5.0 (Windows NT 10.0) Microsoft Outlook 16.0") == (
        "Outlook",
        "desktop",
    )
    assert mail_client("Mozilla/5.0 (X11; Linux) Thunderbird/115.0") == ("Thunderbird", "desktop")
    assert mail_client("Mozilla/5.0 (iPad; CPU OS 17_0) AppleWebKit/605.1.15") == (
        "Apple Mail",
        "tablet",
    )
    assert mail_client("") == ("Other", "unknown")


def test_network_lookup_handles_nesting_both_versions_and_garbage():
    networks = NetworkSet(
        [("10.0.0.0/8", "scanner", "a"), ("10.1.0.0/16", "apple_proxy", "b"),
         ("2a02:26f7::/32", "apple_proxy", "c"), ("bogus", "scanner", "d")]
    )  # fmt: skip
    assert networks.lookup("10.1.2.3") == ("apple_proxy", "b")
    assert networks.lookup("10.200.0.1") == ("scanner", "a")
    assert networks.lookup("2a02:26f7:1::1") == ("apple_proxy", "c")
    assert networks.lookup("11.0.0.1") is None
    assert networks.lookup("not an address") is None
    assert networks.lookup(None) is None
