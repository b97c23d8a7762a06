"""Numbers and IP addresses read the way C's library reads them on glibc.

Leaf layer (``relay.facts``).  syslog-ng reads numbers with strtol, strtoll, strtod and
atoi, and addresses with inet_aton and inet_pton; what those accept (leading white space, a sign, a
prefix that stops at the first bad character, octal and hex with base 0, clamping on
overflow) decides what a filter compares or a template function prints, so they are
written here once.  Callers that hold bytes decode them with ``surrogateescape`` first:
every function here only looks at ASCII.
"""

from __future__ import annotations

import ipaddress
import re
import sys
from fractions import Fraction

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
#: C isspace() in the C locale
CSPACE = " \t\n\x0b\x0c\r"

# strtol(s, NULL, 10): white space, a sign, digits
_INT = re.compile(r"[ \t\n\x0b\x0c\r]*[-+]?[0-9]+")
# strtoll(s, &end, 0): the base from the prefix, 0x hex, 0 octal, else decimal
_INT_ANY = re.compile(r"[ \t\n\x0b\x0c\r]*([-+]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")
# what strtod takes whole: decimal, inf and nan (hexadecimal is _HEXFLOAT)
_FLOAT = re.compile(
    r"[ \t\n\x0b\x0c\r]*[-+]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
    r"|inf(?:inity)?|nan(?:\([0-9A-Za-z_]*\))?)",
    re.IGNORECASE,
)
_HEXFLOAT = re.compile(
    r"[ \t\n\x0b\x0c\r]*([-+]?)0[xX]((?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)"
    r"(?:[pP][-+]?[0-9]+)?)"
)
_DBL_MIN = sys.float_info.min
_NONZERO = re.compile("[1-9a-f]")

#: a number read by parse_number: None stands for NaN (and for text that is no number)
Number = int | float | None


def strtol_prefix(text: str) -> tuple[int, int] | None:
    """strtol(text, &end, 10) clamped to a long: (value, end), None when no digits."""
    m = _INT.match(text)
    if m is None:
        return None
    return max(INT64_MIN, min(INT64_MAX, int(m.group(0).lstrip(CSPACE)))), m.end()


def strtol(text: str) -> int:
    """strtol(text, NULL, 10): white space, a sign, the digits there are; 0 for none."""
    r = strtol_prefix(text)
    return 0 if r is None else r[0]


def c_atoi(text: str) -> int:
    """atoi on glibc: strtol clamped to a long, then truncated to an int."""
    value = strtol(text) & 0xFFFFFFFF
    return value - 2**32 if value >= 2**31 else value


def is_int(text: str) -> bool:
    """Whether strtol in base 10 reads all of ``text``."""
    return _INT.fullmatch(text) is not None


def parse_int64(text: str) -> int | None:
    """syslog-ng's parse_int64: strtoll in base 10 of all of ``text``; None when it fails
    or the value is out of range."""
    if _INT.fullmatch(text) is None:
        return None
    value = int(text.lstrip(CSPACE))
    return value if INT64_MIN <= value <= INT64_MAX else None


def strtoll_any(text: str) -> int | None:
    """syslog-ng's parse_int64_base_any: strtoll(s, &end, 0) over the whole string."""
    m = _INT_ANY.fullmatch(text)
    if m is None:
        return None
    digits = m.group(2)
    value = int(digits, 16 if digits[1:2] in ("x", "X") else 8 if digits[0] == "0" else 10)
    value = -value if m.group(1) == "-" else value
    return value if INT64_MIN <= value <= INT64_MAX else None


def wrap64(value: int) -> int:
    """An integer as C's int64 arithmetic leaves it: modulo 2**64, signed."""
    value &= 0xFFFFFFFFFFFFFFFF
    return value - 2**64 if value >= 2**63 else value


def parse_number(text: str) -> Number:
    """syslog-ng's parse_generic_number: an int64, else a double (strtod), else None.

    NaN is None too; a double that strtod reports as out of range (ERANGE) is None.
    """
    if _INT.fullmatch(text):
        value = int(text.lstrip(CSPACE))
        if INT64_MIN <= value <= INT64_MAX:
            return value
    exact: Fraction | None = None
    if _FLOAT.fullmatch(text):
        body = text.lstrip(CSPACE)
        if "n" in body.lower() and "inf" not in body.lower():
            return None  # nan, nan(...)
        result = float(body)
        if abs(result) < _DBL_MIN and "inf" not in body.lower():
            mantissa = body.lower().partition("e")[0]
            if result == 0:
                if _NONZERO.search(mantissa):
                    return None  # ERANGE: underflow to zero
            else:
                exact = Fraction(body)
    else:
        m = _HEXFLOAT.fullmatch(text)
        if m is None:
            return None
        body = m.group(2)
        if "p" not in body.lower():
            body += "p0"
        mantissa, _, exponent = body.lower().partition("p")
        try:
            result = float.fromhex(m.group(1) + "0x" + body)
        except OverflowError:
            return None  # ERANGE: overflow
        if result == 0 and _NONZERO.search(mantissa):
            return None  # ERANGE: underflow to zero
        if 0 < abs(result) < _DBL_MIN:
            whole, _, frac = mantissa.partition(".")
            digits = int((whole + frac) or "0", 16)
            exact = Fraction(digits * (-1 if m.group(1) == "-" else 1)) * Fraction(2) ** (
                int(exponent) - 4 * len(frac))
    if result in (float("inf"), float("-inf")) and "inf" not in text.lower():
        return None  # ERANGE: overflow
    if exact is not None and Fraction(result) != exact:
        return None  # ERANGE: an underflow that lost precision (glibc)
    return result


# inet_aton (glibc 2.36):
#   address = part *3("." part) [isspace *CHAR]   ; up to four parts
#   part    = strtoul(base 0) value               ; must start with a digit
# a, a.b, a.b.c, a.b.c.d: the last part fills the bytes the others leave (24, 16 or 8
# bits); every part before it is one byte.
_PART = re.compile(r"0[xX][0-9a-fA-F]*|0[0-7]*|[1-9][0-9]*")


def inet_aton(text: str) -> int | None:
    """glibc's inet_aton: the address as a 32-bit number, or None where it fails."""
    parts: list[int] = []
    i = 0
    n = len(text)
    while True:
        m = _PART.match(text, i)
        if m is None:
            return None
        digits = m.group(0)
        if digits[1:2] in ("x", "X"):
            if len(digits) == 2:
                # strtoul reads "0x" with no hex digit as 0, ending before the "x"
                i = m.start() + 1
                value = 0
            else:
                value = int(digits[2:], 16)
                i = m.end()
        else:
            value = int(digits, 8 if digits[0] == "0" else 10)
            i = m.end()
        if value > 0xFFFFFFFF:
            return None
        if i < n and text[i] == ".":
            if len(parts) > 2 or value > 0xFF:
                return None
            parts.append(value)
            i += 1
            continue
        break
    if i < n and (text[i] not in CSPACE):
        return None
    limit = (0xFFFFFFFF, 0xFFFFFF, 0xFFFF, 0xFF)[len(parts)]
    if value > limit:
        return None
    for k, part in enumerate(parts):
        value |= part << (24 - 8 * k)
    return value


def inet_pton6(text: str) -> int | None:
    """glibc's inet_pton(AF_INET6, ...): the address as a 128-bit number, or None.

    ``ipaddress`` reads RFC 4291's text form as glibc does (at most four hex digits a
    group, one "::", a dotted quad without leading zeros at the end), but it also takes a
    scope zone ("fe80::1%eth0", RFC 4007), which inet_pton refuses: a "%" is no address.
    """
    if "%" in text:
        return None
    try:
        return int(ipaddress.IPv6Address(text))
    except ValueError:
        return None
