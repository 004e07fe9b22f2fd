import pytest
from django.db import IntegrityError

from contacts.addresses import email_problem
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
