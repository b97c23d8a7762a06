"""to_unix's per-day path against mktime, in zones with and without DST changes.

relay.parse.localtime converts a stamp on a day with one local offset as that day's midnight
plus its seconds; on other days, and for fields mktime() would normalize, it asks
mktime().  Both must give what mktime() alone gives.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fixedclock import local_zone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relay.parse import localtime as stamp

ZONES = ["UTC", "America/New_York", "Europe/London", "Australia/Lord_Howe",
         "America/Sao_Paulo", "Asia/Kolkata", "Pacific/Chatham", "America/Havana"]


@pytest.fixture(params=ZONES)
def zone(request: pytest.FixtureRequest) -> Iterator[str]:
    with local_zone(request.param):
        yield request.param


def _check(year: int, mon: int, mday: int, hour: int, minute: int, sec: int,
           gmtoff: int | None) -> None:
    w = stamp.Wall(0, year, mon, mday, hour, minute, sec, 0, gmtoff)
    stamp.reset_caches()
    by_mktime = stamp._to_unix_by_mktime(w, year)
    stamp.reset_caches()
    assert stamp.to_unix(w, year) == by_mktime, w
    # and from a warm day cache
    assert stamp.to_unix(w, year) == by_mktime, w


def test_every_hour_around_the_changes(zone: str) -> None:
    # every quarter hour of the days around each zone's changes in 2019 to 2024
    for year in (2019, 2023, 2024):
        for mon in range(12):
            for mday in (1, 2, 7, 8, 9, 14, 15, 16, 28, 29, 30, 31):
                for q in range(0, 96, 3):
                    _check(year, mon, mday, q // 4, q % 4 * 15, 7, None)


# (the zone fixture sets TZ once for all examples, which is what is wanted here)
@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(year=st.integers(1969, 2040), mon=st.integers(0, 11), mday=st.integers(0, 32),
       hour=st.integers(0, 26), minute=st.integers(0, 61), sec=st.integers(0, 61),
       gmtoff=st.one_of(st.none(), st.integers(-14, 14).map(lambda h: h * 1800)))
def test_any_fields(zone: str, year: int, mon: int, mday: int, hour: int, minute: int,
                    sec: int, gmtoff: int | None) -> None:
    _check(year, mon, mday, hour, minute, sec, gmtoff)
