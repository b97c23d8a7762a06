"""The macros built from a message's PRI, pairs and tags: SEQNUM, SDATA, MSGHDR, TAGS.

Data path: parse -> pipeline -> **templates** -> destinations.  ``relay.macros`` hands
these to templates as getters; each turns a ``LogMessage`` into the macro's text as
syslog-ng 3.38 writes it.

SEQNUM (and the meta sequenceId that SDATA adds) follow syslog-ng's writer: for a message
flagged local (``FLAG_LOCAL``: our own error messages, local sources) it is
``msg.seqnum``, which the destination sets from its own counter; for any other message
it is the number in ``.SDATA.meta.sequenceId``.
"""

from __future__ import annotations

from relay.facts.cnum import strtol
from relay.facts.names import FACILITY_NAMES, SEVERITY_NAMES
from relay.message import FLAG_LOCAL, LogMessage, tag_id

#: FACILITY by facility code (the PRI's bits 3-9): the name, or the code in hex
FACILITY_OF = tuple(FACILITY_NAMES[c] if c < 24 else f"{c:x}" for c in range(128))
#: the pair that holds the sequence id of a message that is not local
SEQUENCE_ID = ".SDATA.meta.sequenceId"


def facility(m: LogMessage) -> str:
    return FACILITY_OF[(m.pri & 0x3F8) >> 3]


def severity(m: LogMessage) -> str:
    return SEVERITY_NAMES[m.pri & 7]


def bsdtag(m: LogMessage) -> str:
    # severity digit, then "A" + facility as one C char: past "Z" it is a raw byte
    b = (((m.pri & 0x3F8) >> 3) + 65) & 0xFF
    return f"{m.pri & 7}{chr(b) if b < 0x80 else chr(0xDC00 + b)}"


# --- SEQNUM and SDATA -------------------------------------------------------------------


def seqnum(m: LogMessage) -> int:
    """SEQNUM as a number (0: none): see the module docstring."""
    if m.flags & FLAG_LOCAL:
        return m.seqnum & 0xFFFFFFFF
    text = m.values.get(SEQUENCE_ID)
    return strtol(text) & 0xFFFFFFFF if text else 0


def seqnum_text(m: LogMessage) -> str:
    n = seqnum(m)
    return str(n) if n else ""


_SD_KEY_BAD = frozenset('= []"')


def _sd_key(text: str) -> str:
    if text.isascii() and not any(c in _SD_KEY_BAD for c in text):
        return text
    out = []
    for b in text.encode("utf-8", "surrogateescape"):
        c = chr(b)
        out.append(f"%{b:02X}" if b >= 0x80 or c in _SD_KEY_BAD else c)
    return "".join(out)


def _sd_value(text: str) -> str:
    if '"' in text or "\\" in text or "]" in text:
        return text.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")
    return text


def _signed32(n: int) -> int:
    return n - (1 << 32) if n >= 1 << 31 else n


def sdata(m: LogMessage) -> str:
    """SDATA: the .SDATA.* pairs as RFC 5424 structured data, in the order they were set."""
    values = m.values
    seq = seqnum(m)
    has_seq = bool(values.get(SEQUENCE_ID))
    out: list[str] = []
    cur: str | None = None
    for name, value in values.items():
        if not name.startswith(".SDATA."):
            continue
        rest = name[7:]
        dot = rest.rfind(".")
        if dot >= 0:
            elem, param = rest[:dot], rest[dot + 1 :]
        else:
            elem, param = rest or "none", ""
        if elem != cur:
            if cur is not None:
                out.append("]")
            out.append("[" + _sd_key(elem))
            cur = elem
        if not has_seq and seq and rest.startswith("meta."):
            out.append(f' sequenceId="{_signed32(seq)}"')
            has_seq = True
        if param:
            out.append(f' {_sd_key(param)}="{_sd_value(value)}"')
    if cur is not None:
        out.append("]")
    if not has_seq and seq:
        out.append(f'[meta sequenceId="{_signed32(seq)}"]')
    return "".join(out)


# --- MSGHDR and TAGS --------------------------------------------------------------------


def msghdr(m: LogMessage) -> str:
    values = m.values
    hdr = values.get("LEGACY_MSGHDR")
    if hdr:
        return hdr
    program = values.get("PROGRAM")
    if not program:
        return ""
    pid = values.get("PID")
    return f"{program}[{pid}]: " if pid else program + ": "


_TAG_SPECIAL = frozenset(",\"'\\ \t\n\r")


def _tag_text(tag: str) -> str:
    # syslog-ng's str_repr: quote a tag that would not read back as one list item
    if not tag or any(c in _TAG_SPECIAL for c in tag):
        escaped = (
            tag.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
            .replace("\r", "\\r").replace("\t", "\\t")
        )  # fmt: skip
        return f'"{escaped}"'
    return tag


def _join_tags(t: tuple[str, ...]) -> str:
    if len(t) == 1 and not any(c in _TAG_SPECIAL for c in t[0]):
        return t[0]
    return ",".join([_tag_text(x) for x in sorted(t, key=tag_id)])


#: TAGS per list of tags (as a tuple): messages of one source share theirs
TAGS_TEXTS: dict[tuple[str, ...], str] = {}
_TAGS_LIMIT = 1024


def tags(m: LogMessage) -> str:
    key = tuple(m.tags)
    text = TAGS_TEXTS.get(key)
    if text is None:
        if len(TAGS_TEXTS) >= _TAGS_LIMIT:
            TAGS_TEXTS.clear()
        text = TAGS_TEXTS[key] = _join_tags(key)
    return text
