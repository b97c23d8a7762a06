"""relay.facts: the C-compatible readers against the C library itself, and GOption."""

from __future__ import annotations

import ctypes
import ctypes.util
import socket

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relay.facts import cnum
from relay.facts.goption import OptionError, read_options

_libc = ctypes.CDLL(ctypes.util.find_library("c"))
_libc.strtol.restype = ctypes.c_long
_libc.strtol.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int]
_libc.atoi.restype = ctypes.c_int
_libc.atoi.argtypes = [ctypes.c_char_p]

_numberish = st.text(alphabet="0123456789+-. \txXabcdefABCDEF8g", max_size=14)


def _inet_aton_libc(text: str) -> int | None:
    try:
        return int.from_bytes(socket.inet_aton(text), "big")
    except (OSError, ValueError):
        return None


@given(_numberish)
def test_inet_aton_is_glibcs(text: str) -> None:
    assert cnum.inet_aton(text) == _inet_aton_libc(text)


@pytest.mark.parametrize("text", ["1.2.3.4", "0x7f.1", "10", "017.0.0.1", "1.2.65535",
                                  "1.2.3.4 trailing", "0x", "08", "1.2.3.256", "", "1..2"])
def test_inet_aton_forms(text: str) -> None:
    assert cnum.inet_aton(text) == _inet_aton_libc(text)


def _inet_pton6_libc(text: str) -> int | None:
    try:
        return int.from_bytes(socket.inet_pton(socket.AF_INET6, text), "big")
    except (OSError, ValueError):
        return None


_v6_pieces = st.sampled_from([
    "", ":", "::", "0", "1", "ffff", "FFFF", "12345", "0000", "1.2.3.4", "01.2.3.4",
    "255.255.255.255", "256.1.1.1", "1.2.3", ".", "%", "%eth0", "%1", " ", "g", "\x00",
    "1:2:3:4:5:6:7", "1:2:3:4:5:6", "0x1", "\u0661",
])


@given(st.lists(_v6_pieces, max_size=10).map("".join))
def test_inet_pton6_is_glibcs(text: str) -> None:
    assert cnum.inet_pton6(text) == _inet_pton6_libc(text)


@given(st.text(alphabet="0123456789abcdefABCDEF:.%g \t", max_size=45))
def test_inet_pton6_is_glibcs_on_any_text(text: str) -> None:
    assert cnum.inet_pton6(text) == _inet_pton6_libc(text)


@pytest.mark.parametrize("text", ["::1", "fe80::1%eth0", "fe80::1%", "::ffff:1.2.3.4",
                                  "1:2:3:4:5:6:7::", "::1.2.3.04", "1::2::3", " ::1", "::1 ",
                                  "1:2:3:4:5:6:1.2.3.4", "12345::", ""])
def test_inet_pton6_forms(text: str) -> None:
    assert cnum.inet_pton6(text) == _inet_pton6_libc(text)


@given(st.text(alphabet="0123456789+- \t\nabc", max_size=25))
def test_strtol_and_atoi_are_the_c_librarys(text: str) -> None:
    data = text.encode()
    assert cnum.strtol(text) == _libc.strtol(data, None, 10)
    assert cnum.c_atoi(text) == _libc.atoi(data)


def test_strtoll_any_bases() -> None:
    assert cnum.strtoll_any("0x1f") == 31
    assert cnum.strtoll_any("017") == 15
    assert cnum.strtoll_any(" -12") == -12
    assert cnum.strtoll_any("12x") is None
    assert cnum.strtoll_any("9223372036854775808") is None


def test_parse_number() -> None:
    assert cnum.parse_number("12") == 12
    assert cnum.parse_number("1.5") == 1.5
    assert cnum.parse_number("0x10") == 16.0
    assert cnum.parse_number("nan") is None
    assert cnum.parse_number("1e999") is None  # ERANGE
    assert cnum.parse_number("inf") == float("inf")
    assert cnum.parse_number("abc") is None


def test_read_options_in_order() -> None:
    takes = {"scope": True, "key": True, "upper": False}
    got = list(read_options(["-s", "a", "--key=b", "word", "--upper", "--", "--x"], takes,
                            {"s": "scope"}))
    assert got == [("scope", "a", "-s"), ("key", "b", "--key=b"), (None, "word", "word"),
                   ("upper", None, "--upper"), (None, "--x", "--x")]


def test_read_options_grouped_shorts() -> None:
    takes = {"a": False, "b": True}
    assert list(read_options(["-ab", "v"], takes, {"a": "a", "b": "b"})) == [
        ("a", None, "-a"), ("b", "v", "-b")]
    with pytest.raises(OptionError, match="unknown option -ab"):
        list(read_options(["-ab"], takes, {"a": "a", "b": "b"}, grouped_shorts=False))


def test_read_options_errors() -> None:
    with pytest.raises(OptionError, match="unknown option --nope"):
        list(read_options(["--nope"], {}, {}))
    with pytest.raises(OptionError, match="missing argument for --key"):
        list(read_options(["--key"], {"key": True}, {}))
