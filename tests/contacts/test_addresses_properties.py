"""Properties of the address checks, over generated addresses (hypothesis)."""

import string

from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from contacts.addresses import address_check, normalise_email

ATOM = string.ascii_letters + string.digits + "!#$%&'*+/=?^_`{|}~-"
label = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=12)
local = st.lists(st.text(ATOM, min_size=1, max_size=10), min_size=1, max_size=4).map(".".join)
domain = st.tuples(st.lists(label, min_size=1, max_size=3), st.sampled_from(["com", "org", "de"]))
ascii_address = st.builds(
    lambda local, parts: f"{local}@{'.'.join(parts[0])}.{parts[1]}", local, domain
)
any_text = st.text(max_size=80)


@settings(max_examples=300, deadline=None)
@given(any_text)
def test_normalising_is_idempotent(text):
    once = normalise_email(text)
    assert normalise_email(once) == once
    assert once == once.strip()


@settings(max_examples=300, deadline=None)
@given(any_text)
def test_a_verdict_never_raises_and_a_kept_address_is_normal(text):
    verdict = address_check(text, check_domain_dns=False)
    if verdict.problem is None:
        assert verdict.email == normalise_email(verdict.email)
        assert "@" in verdict.email
        assert address_check(verdict.email, check_domain_dns=False).email == verdict.email


@settings(max_examples=500, deadline=None)
@given(ascii_address)
def test_the_fast_path_agrees_with_email_validator(address):
    try:
        expected = validate_email(address, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        expected = None
    verdict = address_check(address, check_domain_dns=False)
    assert (verdict.problem is None) == (expected is not None)
    if expected:
        assert verdict.email == expected


@settings(max_examples=200, deadline=None)
@given(ascii_address, st.sampled_from([str.upper, str.title, lambda s: f"  {s}\t"]))
def test_case_and_blanks_do_not_make_another_address(address, change):
    assert address_check(change(address)).email == address_check(address).email
