"""Pools of unique coupon codes: generated or pasted, with an expiry."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.coupons import (
    CODE_ALPHABET,
    coupon_codes_generate,
    coupon_codes_import,
    coupon_is_expired,
)
from campaigns.models import Coupon, CouponCode
from tests.factories import CouponFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pool():
    return CouponFactory(name="Welcome pool", kind="unique", code="")


def test_generated_codes_are_unique_and_easy_to_type(pool):
    assert coupon_codes_generate(coupon=pool, count=500, prefix="spring-") == 500
    assert coupon_codes_generate(coupon=pool, count=20) == 20
    codes = list(CouponCode.objects.filter(coupon=pool).values_list("code", flat=True))
    assert len(codes) == len(set(codes)) == 520
    prefixed = [code for code in codes if code.startswith("SPRING-")]
    assert len(prefixed) == 500
    assert all(set(code.removeprefix("SPRING-")) <= set(CODE_ALPHABET) for code in codes)
    assert not {"0", "O", "1", "I", "L"} & set("".join(codes).replace("SPRING-", ""))


def test_a_shared_coupon_has_no_pool():
    shared = CouponFactory()
    with pytest.raises(ValueError, match="unique codes"):
        coupon_codes_generate(coupon=shared, count=5)


def test_pasted_codes_skip_duplicates_and_refuse_bad_ones(pool):
    CouponCode.objects.create(coupon=pool, code="OLD-1")
    result = coupon_codes_import(coupon=pool, text="NEW-1, NEW-2\nOLD-1\nNEW-1\nbad!code\n")
    assert (result.added, result.duplicates) == (2, 2)
    assert result.invalid == ["bad!code"]
    assert set(pool.codes.values_list("code", flat=True)) >= {"NEW-1", "NEW-2", "OLD-1"}


def test_a_pool_expires(pool):
    pool.expires_at = timezone.now() + timedelta(days=1)
    assert not coupon_is_expired(pool)
    assert coupon_is_expired(pool, now=timezone.now() + timedelta(days=2))


def test_an_admin_generates_and_pastes_codes_in_the_coupon_form(client, alice):
    client.force_login(alice)
    response = client.post(
        reverse("admin:campaigns_coupon_add"),
        {
            "name": "Black Friday",
            "kind": "unique",
            "code": "",
            "description": "20% off",
            "expires_at_0": "2099-11-30",
            "expires_at_1": "23:59:00",
            "generate_count": "50",
            "generate_prefix": "BF",
            "paste_codes": "SHOP-A\nSHOP-B",
            "codes-TOTAL_FORMS": "0",
            "codes-INITIAL_FORMS": "0",
        },
        follow=True,
    )
    assert response.status_code == 200
    coupon = Coupon.objects.get(name="Black Friday")
    assert coupon.codes.count() == 52
    assert coupon.expires_at.year == 2099
    assert "50 codes generated." in response.content.decode()


def test_codes_are_refused_for_a_shared_coupon_in_the_form(client, alice):
    client.force_login(alice)
    response = client.post(
        reverse("admin:campaigns_coupon_add"),
        {
            "name": "Shared",
            "kind": "shared",
            "code": "SAVE5",
            "generate_count": "10",
            "codes-TOTAL_FORMS": "0",
            "codes-INITIAL_FORMS": "0",
        },
    )
    assert "Only a coupon with unique codes has a pool of codes." in response.content.decode()
    assert not Coupon.objects.filter(name="Shared").exists()
