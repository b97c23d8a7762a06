"""The receive second's stamp cache: a run of stamps gives what each stamp gives alone.

``ReceiveSecond`` keeps, for the receive month, each day and hour it has seen, so that a
stamp of a known hour costs one lookup, and the other stamps it converted.  Whatever it
kept, each answer must be that of ``local_to_unix`` for the stamp's fields, in zones with
and without DST changes, and across a change of receive month: through
``stamp_of_common`` and through the RFC 3164 parser's own use of the hours.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fixedclock import local_zone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relay.facts.names import MONTHS
from relay.parse import Parser, Peer, localtime
from relay.parse.localtime import guess_year, local_to_unix, uniform_day
from relay.parse.receive import RECEIVE, ReceiveSecond

ZONES = ["UTC", "America/New_York", "Europe/London", "Australia/Lord_Howe"]
# receive seconds: a quiet month, a month with a change, and the turn of a year
RECEIVED = [1740830400, 1743379200, 1767225600 - 3600]


@pytest.fixture(params=ZONES)
def zone(request: pytest.FixtureRequest) -> Iterator[str]:
    with local_zone(request.param):
        yield request.param


def _text(mon: int, mday: int, hour: int, minute: int, sec: int) -> str:
    return f"{MONTHS[mon]} {mday:2d} {hour:02d}:{minute:02d}:{sec:02d}"


def _uncached(received: int, text: str) -> tuple[int, int] | None:
    """The stamp converted with nothing kept: no stamp, day or hour seen before (what
    mktime() saw last is kept, as it is what decides an hour a fall-back night repeats)."""
    ref = ReceiveSecond()
    localtime.CACHE_RESETTERS.remove(ref.reset)
    ref.move(received)
    return ref.stamp_of_common(text)


# a run of stamps, most in a few hours (as logs come), some anywhere, some not normalized
_FIELDS = st.tuples(st.integers(0, 11), st.integers(1, 31), st.integers(0, 23),
                    st.integers(0, 59), st.integers(0, 59))
_NEAR = st.tuples(st.sampled_from([(2, 9, 1), (2, 30, 1), (9, 26, 1), (11, 31, 23)]),
                  st.integers(0, 59), st.integers(0, 59))


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(runs=st.lists(st.tuples(st.sampled_from(RECEIVED), st.lists(
    st.one_of(_FIELDS, _NEAR.map(lambda t: (*t[0], *t[1:])), _FIELDS.map(
        lambda f: (f[0], f[1], f[2] + 1 if f[2] == 23 else 24, f[3], f[4]))),
    min_size=1, max_size=30)), min_size=1, max_size=4))
def test_a_run_of_stamps_gives_what_each_gives_alone(
        zone: str, runs: list[tuple[int, list[tuple[int, int, int, int, int]]]]) -> None:
    now = ReceiveSecond()
    localtime.CACHE_RESETTERS.remove(now.reset)
    for received, stamps in runs:
        now.move(received)
        for fields in stamps:
            text = _text(*fields)
            found = now.stamps.get(text) or now.stamp_of_common(text)
            assert found == _uncached(received, text), text
            year = guess_year(fields[0], received)
            if fields[2] < 24 and uniform_day(year, fields[0], fields[1]) is not None:
                # a day with one offset has one answer, whatever mktime() saw before
                assert found == local_to_unix(year, *fields), text


def test_the_next_stamps_of_an_hour(zone: str) -> None:
    now = ReceiveSecond()
    localtime.CACHE_RESETTERS.remove(now.reset)
    now.move(RECEIVED[0])
    texts = [_text(1, 27, h, m, s) for h in (9, 10) for m in (0, 1, 59) for s in (0, 7, 59)]
    texts += [_text(1, 28, 10, 0, 0), _text(1, 27, 10, 0, 1)]
    got = [now.stamp_of_common(t) for t in texts]
    assert got == [_uncached(RECEIVED[0], t) for t in texts]
    # and what mktime() gives, since none of these days changes its offset
    localtime.reset_caches()
    assert got == [
        local_to_unix(2025, 1, int(t[4:6]), int(t[7:9]), int(t[10:12]), int(t[13:15]))
        for t in texts]


def test_more_stamps_than_it_keeps(zone: str) -> None:
    now = ReceiveSecond()
    localtime.CACHE_RESETTERS.remove(now.reset)
    now.move(RECEIVED[1])
    # 1,500 stamps of three days (one of them a change in some zones), each seen twice
    texts = [_text(2, mday, h, m, 30) for mday in (29, 30, 31) for h in range(0, 24, 3)
             for m in range(0, 60, 1)][:1500]
    for t in texts + texts[::-1]:
        assert (now.stamps.get(t) or now.stamp_of_common(t)) == _uncached(RECEIVED[1], t), t
    assert len(now.stamps) <= 257


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(runs=st.lists(st.tuples(st.sampled_from(RECEIVED), st.lists(
    st.one_of(_FIELDS, _NEAR.map(lambda t: (*t[0], *t[1:]))), min_size=1, max_size=30)),
    min_size=1, max_size=4))
def test_the_parser_gives_what_each_stamp_gives_alone(
        zone: str, runs: list[tuple[int, list[tuple[int, int, int, int, int]]]]) -> None:
    parse = Parser("rfc3164", "s_net").parse
    peer = Peer("192.0.2.1", "192.0.2.1", 17)
    RECEIVE.reset()
    for received, stamps in runs:
        for fields in stamps:
            text = _text(*fields)
            msg = parse(f"<13>{text} host prog: x".encode(), peer, received * 10**9)
            want = _uncached(received, text)
            assert want is not None
            assert (msg.stamp_sec, msg.stamp_gmtoff) == want, text
