import pytest
from django.db import IntegrityError

from contacts.addresses import address_check, domain_dns_problem, email_problem
from contacts.models import Contact, Suppression

pytestmark = pytest.mark.django_db


def test_an_address_is_stored_trimmed_and_in_lower_case():
    contact = Contact.objects.create(email="  Ann@Example.COM ")
    assert contact.email == "ann@example.com"
    assert Contact.objects.get(email="ANN@example.com") == contact


def test_the_same_address_in_another_case_is_a_duplicate():
    Contact.objects.create(email="ann@example.com")
    with pytest.raises(IntegrityError):
        Contact.objects.create(email="Ann@Example.com")


def test_bulk_created_addresses_are_normalised_too():
    Contact.objects.bulk_create([Contact(email="BEN@Example.com")])
    Suppression.objects.bulk_create([Suppression(email="Spam@Example.com")])
    assert Contact.objects.get().email == "ben@example.com"
    assert Suppression.objects.filter(email="spam@example.com").exists()


@pytest.mark.parametrize(
    "address", ["ann", "ann@", "@example.com", "ann@@example.com", "ann@exa mple.com"]
)
def test_it_says_what_is_wrong_with_a_malformed_address(address):
    assert email_problem(address)


def test_a_well_formed_address_has_no_problem():
    assert email_problem("ann.lee+shop@example.co.uk") is None


def test_lookalike_domains_are_rejected_and_real_international_ones_kept():
    cyrillic_a = chr(0x430)
    assert "alphabets" in address_check(f"ann@gm{cyrillic_a}il.com").problem
    assert "only look Latin" in address_check("ann@\u0430\u0440\u0440\u04cf\u0435.com").problem
    for address in ["ivan@\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444", "max@bücher.de"]:
        assert address_check(address).problem is None, address
    assert address_check("taro@例え.jp").problem is None


def test_role_disposable_and_typo_addresses_are_flagged_not_refused():
    assert address_check("Sales@shop.example.com").flag == "role"
    assert address_check("x@mailinator.com").flag == "disposable"
    typo = address_check("ann@gmial.com")
    assert (typo.problem, typo.flag, typo.suggestion) == (None, "typo", "ann@gmail.com")
    assert address_check("ann@gmail.con").suggestion == "ann@gmail.com"
    assert address_check("ann@gmail.com").flag == ""
    assert address_check("ann@mail.com").flag == ""  # a real provider, not a typo of gmail


def test_the_domain_check_asks_the_dns_once_per_domain(settings, monkeypatch):
    import dns.resolver

    asked = []

    def resolve(self, name, record):
        asked.append((name, record))
        raise dns.resolver.NXDOMAIN()

    monkeypatch.setattr(dns.resolver.Resolver, "resolve", resolve)
    domain_dns_problem.cache_clear()
    settings.ADDRESS_CHECK_DNS = True

    first = address_check("ann@no-such-shop.example")
    second = address_check("bob@no-such-shop.example")

    assert "does not exist" in first.problem and "does not exist" in second.problem
    assert asked == [("no-such-shop.example", "MX")]
    settings.ADDRESS_CHECK_DNS = False
    assert address_check("ann@no-such-shop.example").problem is None
    domain_dns_problem.cache_clear()
