"""Macros on hand-built messages: the clock, SEQNUM, SDATA, MSGHDR and names."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fixedclock import held_utc

from relay import macros
from relay.macros import MACROS, dates, recipes, resolve
from relay.message import FLAG_LOCAL, LogMessage

NOW = 1740830400 * 1_000_000_000 + 123_456_000  # 2025-03-01 12:00:00.123456 UTC


@pytest.fixture(autouse=True)
def utc() -> Iterator[None]:
    with held_utc(NOW):
        yield


def test_current_time_macros_read_the_replaceable_clock() -> None:
    m = LogMessage()
    assert resolve("C_ISODATE")(m) == "2025-03-01T12:00:00+00:00"
    assert resolve("C_USEC")(m) == "123456"
    assert resolve("P_MSEC")(m) == "123"
    assert resolve("C_WEEK_DAY_NAME")(m) == "Saturday"


def test_date_macros_use_the_stamps_own_offset() -> None:
    m = LogMessage()
    m.stamp_sec, m.stamp_usec, m.stamp_gmtoff = 1065910455, 3000, -7 * 3600 - 1800
    assert resolve("ISODATE")(m) == "2003-10-11T14:44:15-07:30"
    assert resolve("S_DATE")(m) == "Oct 11 14:44:15"
    assert resolve("MSEC")(m) == "003"
    assert resolve("TZ")(m) == "-07:30"
    assert resolve("HOUR12")(m) == "02" and resolve("AMPM")(m) == "PM"


def test_seqnum_of_a_local_message_is_the_destination_counter() -> None:
    m = LogMessage()
    m.flags = FLAG_LOCAL
    m.seqnum = 7
    assert resolve("SEQNUM")(m) == "7"
    assert resolve("SDATA")(m) == '[meta sequenceId="7"]'
    m.values[".SDATA.meta.x"] = "1"
    assert resolve("SDATA")(m) == '[meta sequenceId="7" x="1"]'


def test_seqnum_of_a_remote_message_is_its_sequence_id() -> None:
    m = LogMessage()
    m.seqnum = 7
    assert resolve("SEQNUM")(m) == ""
    m.values[".SDATA.meta.sequenceId"] = "42abc"
    assert resolve("SEQNUM")(m) == "42"


def test_sdata_escapes_values_and_keys_in_the_order_set() -> None:
    m = LogMessage()
    m.values[".SDATA.b@2.y"] = 'say "hi" \\ ]'
    m.values["PROGRAM"] = "p"
    m.values[".SDATA.a@1"] = ""
    m.values[".SDATA.b@2.z z"] = "1"
    assert resolve("SDATA")(m) == '[b@2 y="say \\"hi\\" \\\\ \\]"][a@1][b@2 z%20z="1"]'


def test_msghdr_prefers_the_legacy_header() -> None:
    m = LogMessage()
    assert resolve("MSGHDR")(m) == ""
    m.values.update(PROGRAM="su", PID="12")
    assert resolve("MSGHDR")(m) == "su[12]: "
    m.values["LEGACY_MSGHDR"] = "su: "
    assert resolve("MSGHDR")(m) == "su: "


def test_priority_macros() -> None:
    m = LogMessage()
    m.pri = 999
    assert resolve("FACILITY")(m) == "7c"
    assert resolve("PRIORITY")(m) == "debug"
    assert resolve("TAG")(m) == "3e7"
    assert resolve("BSDTAG")(m) == "7\udcbd"


def test_names_that_are_not_macros_are_pairs() -> None:
    m = LogMessage()
    m.values["PROGRAM"] = "p"
    assert "PROGRAM" not in MACROS and resolve("PROGRAM")(m) == "p"
    assert resolve(".SDATA.x.y")(m) == ""
    assert {"R_ISODATE", "S_WEEKDAY", "C_UNIXTIME", "P_TZ", "LEVEL_NUM", "DESTIP"} <= MACROS


# stamps around the edges of days, years, leap days, the epoch and 32 bits
STAMPS = (0, -1, 59, 86399, 86400, 951782400, 951868799, 1065910455, 1740830400,
          1704067199, 1704067200, 2147483647, 2147483648, 4294967296, 253402300799,
          -2147483648, -86401)
OFFSETS = (0, 3600, -3600, -7 * 3600 - 1800, 14 * 3600, -12 * 3600, 20700, 1, -59)


def _recipe_cases() -> Iterator[LogMessage]:
    for pri in (0, 13, 191, 255, 1023, 65535):
        for tags in ([], [".source.s"], ["a b", "c"], [""]):
            for flags, seq in ((0, ""), (0, "17"), (0, " -3x"), (FLAG_LOCAL, ""),
                               (FLAG_LOCAL, "9")):
                m = LogMessage()
                m.pri = pri
                m.tags = list(tags)
                m.flags = flags
                m.seqnum = 5
                m.source_ip = "" if pri == 13 else "192.0.2.1"
                m.stamp_sec, m.stamp_gmtoff = 1065910455 + pri, -7 * 3600 - 1800 if pri else 0
                m.recvd_sec, m.recvd_gmtoff = 951868799 - pri * 997, 3600 if pri & 1 else 0
                if seq:
                    m.values[".SDATA.meta.sequenceId"] = seq
                if pri & 1:  # pairs, each with a value of its own (or absent)
                    m.values.update({"HOST": "h", "MESSAGE": "m", "PROGRAM": "p",
                                     "HOST_FROM": "f", "PID": str(pri)})
                yield m


def _evaluate(how: recipes.Recipe, m: LogMessage) -> str:
    """What a recipe says, read plainly (the writer compiles it instead)."""
    if isinstance(how, recipes.Lookups):
        out = []
        for table, attrs, div, mod in how.parts:
            n = sum(getattr(m, a) for a in attrs) // div
            out.append(table[n % mod if mod else n])
        return "".join(out)
    if isinstance(how, recipes.AttrOr):
        return getattr(m, how.attr) or how.default
    if isinstance(how, recipes.Memo):
        return how.table.get(tuple(getattr(m, how.attr))) or how.fill(m)
    if isinstance(how, recipes.Pair):
        return m.values.get(how.name, "")
    assert isinstance(how, recipes.Guard)
    return how.getter(m) if m.flags & how.flag or how.pair in m.values else ""


RECIPE_NAMES = sorted(name for name in MACROS if recipes.recipe(name) is not None)


def test_the_common_macros_have_recipes() -> None:
    assert {"FACILITY", "PRIORITY", "DATE", "ISODATE", "R_ISODATE", "S_HOUR", "TZ", "TAGS",
            "SOURCEIP", "SEQNUM", "HOST", "MSG", "MESSAGE"} <= set(RECIPE_NAMES)
    # and the names that are no macro read the pair of that name, as resolve does
    assert recipes.recipe("PROGRAM") == recipes.Pair("PROGRAM")
    assert recipes.recipe("FULLHOST") == recipes.Pair("HOST")
    assert recipes.recipe("MSGHDR") is None
    assert not [n for n in RECIPE_NAMES if n[:2] in ("C_", "P_")]  # they read the clock


@pytest.mark.parametrize("name", RECIPE_NAMES)
def test_recipes_equal_the_getters(name: str) -> None:
    how = recipes.recipe(name)
    assert how is not None
    getter = resolve(name)
    for m in _recipe_cases():
        assert _evaluate(how, m) == getter(m), (name, m.pri, m.tags, m.flags, m.values)


@pytest.mark.parametrize("field", sorted(dates.FIELD_PARTS))
def test_date_parts_equal_the_date_texts(field: str) -> None:
    parts = dates.FIELD_PARTS[field]
    compute = dates.FIELD_TEXT[field]
    for sec in STAMPS:
        for gmtoff in OFFSETS:
            assert dates.evaluate(parts, sec, gmtoff) == compute(sec, gmtoff), (sec, gmtoff)


def test_date_texts_do_not_depend_on_what_was_computed_before() -> None:
    m = LogMessage()
    m.stamp_sec, m.stamp_gmtoff = 1065910455, 3600
    first = {name: resolve(name)(m) for name in MACROS if name[:2] not in ("C_", "P_")}
    macros.reset_caches()
    assert {name: resolve(name)(m) for name in first} == first
    assert first["ISODATE"] == "2003-10-11T23:14:15+01:00"


@pytest.mark.parametrize(
    ("sec", "printed"),
    [
        (-1, "4294967295"),  # 1969-12-31T23:59:59Z
        (253402300799, "4294197631"),  # 9999-12-31T23:59:59Z
        (4294967296, "0"),  # 2106-02-07T06:28:16Z
        (-2147483648, "2147483648"),  # 1901-12-13T20:45:52Z
        (1740830400, "1740830400"),
    ],
)
def test_unixtime_is_an_unsigned_32_bit_number(sec: int, printed: str) -> None:
    m = LogMessage()
    m.stamp_sec = m.recvd_sec = sec
    assert resolve("UNIXTIME")(m) == printed
    assert resolve("S_UNIXTIME")(m) == printed
    assert resolve("R_UNIXTIME")(m) == printed


@pytest.mark.parametrize("prefix", ["C_", "P_"])
def test_current_unixtime_is_an_unsigned_32_bit_number(
        prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(macros, "clock", lambda: -1 * 1_000_000_000)
    assert resolve(prefix + "UNIXTIME")(LogMessage()) == "4294967295"


def test_fullhost_fullhost_from_and_msgonly_are_pair_aliases() -> None:
    m = LogMessage()
    m.values.update({"HOST": "h", "HOST_FROM": "192.0.2.1", "MESSAGE": "text"})
    assert resolve("FULLHOST")(m) == "h"
    assert resolve("FULLHOST_FROM")(m) == "192.0.2.1"
    assert resolve("MSGONLY")(m) == "text"
    # aliases of name-value pairs, not macros: no scope lists them
    assert not {"FULLHOST", "FULLHOST_FROM", "MSGONLY"} & MACROS
    assert resolve("fullhost")(m) == ""
