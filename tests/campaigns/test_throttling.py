"""Sending limits shared by every worker: per second, per hour, per month, per domain."""

import threading
from datetime import UTC, datetime

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, connections

from campaigns.models import ThrottleBucket
from campaigns.throttling import (
    Grant,
    quota_remaining,
    throttle_acquire,
    throttle_domain_wait,
    throttle_return,
)
from marketing_site.settings import env_domain_rates

pytestmark = pytest.mark.django_db(transaction=True)

# A Friday afternoon in March, in epoch seconds.
T0 = datetime(2025, 3, 14, 12, 30, tzinfo=UTC).timestamp()


def at(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


def test_it_hands_everything_over_without_a_query_when_no_limit_is_set(
    django_assert_num_queries,
):
    with django_assert_num_queries(0):
        assert throttle_acquire(want=500) == Grant(500, 0.0, False)
        throttle_return(count=20)
        assert throttle_domain_wait(domain="gmail.com") == 0
        assert quota_remaining() is None


def test_it_keeps_the_rate_per_second_within_ten_percent_over_ten_seconds(settings):
    # given a limit of 20 mails a second and a worker that always wants 50
    settings.SEND_RATE_PER_SECOND = 20
    now, sent = T0, []

    # when it sends for 10 simulated seconds, sleeping whenever it is told to
    while now < T0 + 10:
        assert len(sent) < 1000, "the worker spins instead of waiting"
        grant = throttle_acquire(want=50, now=now)
        if grant.granted:
            now += 0.003 * grant.granted  # handing the mails over takes a while
        else:
            assert grant.wait >= 0.001
            now += grant.wait
        sent.append(grant.granted)

    # then it sent 20 a second, give or take 10%, and never more than a burst at once
    assert 180 <= sum(sent) <= 220
    assert max(sent) == 2  # the burst: a tenth of a second's worth


def test_it_grants_part_of_a_chunk_and_says_how_long_to_wait_for_the_rest(settings):
    settings.SEND_RATE_PER_SECOND = 50  # a burst of 5

    assert throttle_acquire(want=8, now=T0) == Grant(5, 0.0, False)
    assert throttle_acquire(want=8, now=T0) == Grant(0, pytest.approx(0.02), False)
    # Half a token came back in 10 ms: the other half takes 10 ms more.
    assert throttle_acquire(want=8, now=T0 + 0.01) == Grant(0, pytest.approx(0.01), False)
    assert throttle_acquire(want=8, now=T0 + 0.02).granted == 1
    # A long pause refills the burst only, not a minute's worth.
    assert throttle_acquire(want=100, now=T0 + 60).granted == 5


def test_the_hour_limit_counts_per_clock_hour_and_resets_at_the_next_one(settings):
    settings.SEND_RATE_PER_HOUR = 100

    assert throttle_acquire(want=70, now=at(2025, 3, 14, 12, 10)).granted == 70
    assert throttle_acquire(want=70, now=at(2025, 3, 14, 12, 50)).granted == 30
    full = throttle_acquire(want=70, now=at(2025, 3, 14, 12, 59, 30))
    assert full == Grant(0, 30.0, False)  # until 13:00, not a rolling hour

    assert throttle_acquire(want=70, now=at(2025, 3, 14, 13, 0)).granted == 70


def test_the_monthly_quota_runs_out_and_the_send_page_agrees(settings):
    settings.SEND_MONTHLY_QUOTA = 10
    assert quota_remaining(now=T0) == 10

    assert throttle_acquire(want=7, now=T0).granted == 7
    assert quota_remaining(now=T0) == 3
    assert throttle_acquire(want=7, now=T0).granted == 3
    assert quota_remaining(now=T0) == 0

    exhausted = throttle_acquire(want=7, now=T0 + 3600)
    assert exhausted.granted == 0
    assert exhausted.quota_exhausted
    assert exhausted.wait == at(2025, 4, 1) - (T0 + 3600)  # until the next month

    # A new calendar month (UTC) brings a new quota.
    assert quota_remaining(now=at(2025, 4, 1)) == 10
    assert throttle_acquire(want=7, now=at(2025, 4, 1)) == Grant(7, 0.0, False)


def test_every_limit_applies_at_once(settings):
    settings.SEND_RATE_PER_SECOND = 1000  # a burst of 100
    settings.SEND_RATE_PER_HOUR = 60
    settings.SEND_MONTHLY_QUOTA = 1000

    assert throttle_acquire(want=80, now=T0).granted == 60
    assert throttle_acquire(want=80, now=T0 + 1) == Grant(0, 1799.0, False)
    assert quota_remaining(now=T0) == 940


def test_it_takes_back_what_was_granted_but_not_sent(settings):
    # given a chunk of 5 granted, of which 3 never reached the server
    settings.SEND_RATE_PER_SECOND = 50  # a burst of 5
    settings.SEND_RATE_PER_HOUR = 100
    settings.SEND_MONTHLY_QUOTA = 10
    assert throttle_acquire(want=5, now=T0).granted == 5

    # when the worker gives them back
    throttle_return(count=3, now=T0)

    # then the tokens are there again, and the counts hold only the 2 sent
    assert quota_remaining(now=T0) == 8
    assert throttle_acquire(want=5, now=T0).granted == 3
    hour = ThrottleBucket.objects.get(key="rate:hour")
    assert hour.period_count == 5


def test_a_domain_limit_paces_that_domain_only(settings, django_assert_num_queries):
    settings.SEND_DOMAIN_RATES = {"gmail.com": 10}  # a burst of 1

    assert throttle_domain_wait(domain="gmail.com", now=T0) == 0
    assert throttle_domain_wait(domain="GMAIL.com", now=T0) == pytest.approx(0.1)
    assert throttle_domain_wait(domain="gmail.com", now=T0 + 0.04) == pytest.approx(0.06)
    # Waiting takes nothing: the token is whole at T0 + 0.1.
    assert throttle_domain_wait(domain="gmail.com", now=T0 + 0.1) == 0
    with django_assert_num_queries(0):
        assert throttle_domain_wait(domain="example.com", now=T0) == 0
    # The shared limits are not touched by a domain's.
    assert not ThrottleBucket.objects.exclude(key="domain:gmail.com").exists()


def test_the_domain_rates_setting_is_parsed_and_checked(monkeypatch):
    monkeypatch.setenv("RATES", "gmail.com=20, Outlook.com = 10")
    assert env_domain_rates("RATES", "") == {"gmail.com": 20, "outlook.com": 10}
    assert env_domain_rates("UNSET_RATES", "") == {}
    for malformed in ("gmail.com", "gmail.com=", "=5", "gmail.com=0", "gmail.com=fast"):
        monkeypatch.setenv("RATES", f"outlook.com=10,{malformed}")
        with pytest.raises(ImproperlyConfigured, match=malformed):
            env_domain_rates("RATES", "")


def granted_by_two_workers(take) -> list[int]:
    """Two threads, each on its own database connection, calling `take` at the
    same moment until it grants nothing; what each was granted in total."""
    start = threading.Barrier(2)
    totals = [0, 0]
    errors = []

    def worker(index: int) -> None:
        try:
            start.wait()
            while granted := take():
                totals[index] += granted
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    return totals


@pytest.mark.skipif(connection.vendor != "postgresql", reason="real row locks")
@pytest.mark.parametrize(
    ("setting", "limit", "allowed"),
    [
        ("SEND_RATE_PER_SECOND", 1000, 100),  # the burst, as the clock stands still
        ("SEND_RATE_PER_HOUR", 150, 150),
        ("SEND_MONTHLY_QUOTA", 150, 150),
    ],
)
def test_two_workers_at_once_never_get_more_than_the_limit(settings, setting, limit, allowed):
    setattr(settings, setting, limit)

    totals = granted_by_two_workers(lambda: throttle_acquire(want=2, now=T0).granted)

    assert sum(totals) == allowed
    assert all(totals), "both workers should have had a share"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="real row locks")
def test_two_workers_at_once_share_a_domain_limit(settings):
    settings.SEND_DOMAIN_RATES = {"gmail.com": 1000}  # a burst of 100

    totals = granted_by_two_workers(
        lambda: int(throttle_domain_wait(domain="gmail.com", now=T0) == 0)
    )

    assert sum(totals) == 100
