"""Lines written straight from the parse: ``Parser.direct`` with ``Template.direct``.

For the common RFC 3164 shape the parser can skip the message and hand a renderer made
for the shape what varies.  That line must be exactly what rendering the parsed message
gives, or None (then the message is made and routed as usual).  The conformance suites
compare it with recorded syslog-ng output; here it is compared with the message path on
generated lines, peers, zones and templates, and the wiring that picks it is checked.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import repeat
from typing import Any

import pytest
from fixedclock import RECEIVED_NS, local_zone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from relay.assemble import assemble
from relay.config import loads
from relay.destinations import KINDS, destination_class
from relay.destinations.base import BufferedDestination, Destination
from relay.parse import Parser, Peer, local_peer
from relay.parse.receive import RECEIVE
from relay.parse.shape import common_shapes, reads
from relay.template import compile_template
from relay.workers.proxy import ChannelDestination

UDP = Peer("192.0.2.7", "192.0.2.7", 17, "127.0.0.1", 514)
TCP = Peer("", "10.1.2.3", 6, "127.0.0.1", 601)  # (no SOURCEIP: the default is written)
TEMPLATES = [
    r"$(format-json --scope selected_macros --scope nv_pairs)\n",
    r"$(format-json --scope rfc5424 --scope nv_pairs)\n",
    r"$(format-json --scope nv_pairs --omit-empty-values)",
    r"$(format-json --scope selected_macros --scope nv_pairs --key ISODATE --key R_DATE"
    r" --key S_WEEK_DAY --key TZOFFSET --key SOURCEIP --exclude HOST_FROM) ",
    r"$(format-json --scope dot-nv-pairs --scope nv_pairs --rekey H* --add-prefix h)\r\n",
    r"$(format-json --key PROGRAM --key MSG --key HOST --key FULLHOST_FROM --key PID"
    r" --key MSGID --key .SDATA.meta.sequenceId --key SEQNUM --omit-empty-values)\n",
]
RECEIVED = [RECEIVED_NS, 1743379200 * 10**9 + 123_456_789, (1767225600 - 1) * 10**9]

_WORD = st.text(st.characters(codec="utf-8", exclude_characters=" [:\x00"), min_size=1,
                max_size=8)
_TEXT = st.text(st.characters(codec="utf-8"), max_size=20)
_LINE = st.tuples(
    st.one_of(st.just(""), st.integers(0, 999).map(lambda n: f"<{n}>"),
              st.sampled_from(["<013>", "<1234>", "<>"])),
    st.sampled_from(["Jan", "Feb", "Mar", "Jun", "Oct", "Nov", "Dec", "Foo", "jan"]),
    st.integers(0, 32), st.integers(0, 25), st.integers(0, 60), st.integers(0, 61),
    st.one_of(st.just(""), st.integers(0, 9_999_999).map(lambda n: f".{n}")),
    st.one_of(_WORD, st.sampled_from(["Message", "last", "2024", "fe80::1", "a:b"])),
    _WORD,
    st.one_of(st.none(), st.text("0123456789x]:", max_size=5)),
    st.sampled_from([": ", ":", " ", "", ":  "]),
    _TEXT,
    st.sampled_from([b"", b"\n", b"\x00", b"\xff", b" \\\\u0000 \x00x", b'"\x01\t']),
)


def _frame(parts: tuple[object, ...]) -> bytes:
    pri, mon, day, hour, minute, sec, frac, host, program, pid, colon, text, tail = parts
    stamp = f"{mon} {day:2d} {hour:02d}:{minute:02d}:{sec:02d}{frac}"
    tag = program if pid is None else f"{program}[{pid}]"
    line = f"{pri}{stamp} {host} {tag}{colon}{text}".encode()
    return line + tail  # type: ignore[operator]


_FIELD = st.one_of(st.just("-"), st.text(st.characters(min_codepoint=33, max_codepoint=126),
                                          min_size=1, max_size=6))
_NAME = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=2, max_size=6)
_LINE_5424 = st.tuples(
    st.integers(0, 999), st.integers(1969, 2038), st.integers(1, 12), st.integers(1, 28),
    st.integers(0, 23), st.integers(0, 59), st.integers(0, 60),
    st.one_of(st.just(""), st.integers(0, 999_999).map(lambda n: f".{n}")),
    st.sampled_from(["", "Z", "+02:00", "-05:30"]),
    # (mostly the shape written directly: a HOSTNAME and an APP-NAME, no MSGID, no SD)
    st.one_of(_NAME, _NAME, st.sampled_from(["-", "\x00h", "fe80::1", "h" * 70])),
    st.one_of(_NAME, _NAME, st.just("-")), _FIELD, st.one_of(st.just("-"), _FIELD),
    st.sampled_from(["-", "-", "-", '[x@1 a="b"]', "[y@2]"]),
    st.sampled_from(["", " ", " \ufeffbom", " plain text", " plain", " a NUL \x00"]), _TEXT,
)


def _frame_5424(parts: tuple[object, ...]) -> bytes:
    pri, y, mo, d, h, mi, s, frac, zone, host, app, procid, msgid, sd, head, text = parts
    stamp = f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}{frac}{zone}"
    return f"<{pri}>1 {stamp} {host} {app} {procid} {msgid} {sd}{head}{text}".encode()


@pytest.fixture(params=["UTC", "America/New_York"])
def zone(request: pytest.FixtureRequest) -> Iterator[str]:
    with local_zone(request.param):
        yield request.param


@settings(max_examples=500, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.one_of(_LINE.map(_frame), _LINE_5424.map(_frame_5424)),
                      min_size=1, max_size=20),
       protocol=st.sampled_from(["rfc3164", "rfc5424", "auto"]), keep_hostname=st.booleans(),
       template=st.sampled_from(TEMPLATES), peer=st.sampled_from([UDP, TCP, local_peer()]),
       received=st.sampled_from(RECEIVED))
def test_a_direct_line_is_the_rendered_message(
        zone: str, lines: list[bytes], protocol: str, keep_hostname: bool, template: str,
        peer: Peer, received: int) -> None:
    """RFC 3164 and RFC 5424 lines, each parser, both zones: the direct way's line is
    what rendering the parsed message gives, or None."""
    tpl = compile_template(template)
    parser = Parser(protocol, "s_net", keep_hostname=keep_hostname, pid=4242)
    direct = parser.direct(tpl.direct)
    assert direct is not None
    for frame in lines:
        line = direct(frame, peer, received)
        wanted = tpl.render(parser.parse(frame, peer, received))
        assert line is None or line == wanted, frame


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.tuples(st.one_of(_LINE.map(_frame), _LINE_5424.map(_frame_5424)),
                                st.sampled_from([UDP, TCP, local_peer()])),
                      min_size=1, max_size=20),
       protocol=st.sampled_from(["rfc3164", "rfc5424", "auto"]), keep_hostname=st.booleans(),
       template=st.sampled_from(TEMPLATES), received=st.sampled_from(RECEIVED))
def test_a_batch_the_direct_way_is_each_frame_the_direct_way(
        zone: str, lines: list[tuple[bytes, Peer]], protocol: str, keep_hostname: bool,
        template: str, received: int) -> None:
    """``direct_many``: in order, the frame way's line for each frame it writes, and the
    frame itself to ``other`` (with its peer) for each it does not."""
    tpl = compile_template(template)
    parser = Parser(protocol, "s_net", keep_hostname=keep_hostname, pid=4242)
    direct, many = parser.direct(tpl.direct), parser.direct_many(tpl.direct)
    assert direct is not None and many is not None
    wanted: list[tuple[str, object]] = []
    for frame, peer in lines:
        line = direct(frame, peer, received)
        wanted.append(("other", (frame, peer)) if line is None else ("line", line))
    got: list[tuple[str, object]] = []
    missed = many([f for f, _ in lines], [p for _, p in lines], received,
                  lambda line: got.append(("line", line)),
                  lambda frame, peer: got.append(("other", (frame, peer))),
                  lambda peer: got.append(("failed", peer)))
    assert got == wanted
    assert missed == sum(kind == "other" for kind, _ in wanted)


def test_a_frame_that_fails_in_a_batch_is_counted_and_the_rest_go_on() -> None:
    tpl = compile_template(TEMPLATES[0])
    many = Parser("rfc3164", "s").direct_many(tpl.direct)
    assert many is not None
    frames = [b"<38>Jun 14 15:16:01 combo sshd[1]: one", b"<38>hello",
              b"<38>Jun 14 15:16:01 combo sshd[3]: three"]
    lines: list[bytes] = []
    failed: list[Peer] = []

    def other(frame: bytes, peer: Peer) -> None:
        raise RuntimeError("a message that cannot be routed")

    def fail(peer: Peer) -> None:
        import sys
        assert sys.exc_info()[0] is RuntimeError  # called while it is being handled
        failed.append(peer)

    assert many(frames, repeat(UDP), RECEIVED_NS, lines.append, other, fail) == 1
    assert failed == [UDP]
    assert [b'"PID":"1"' in lines[0], b'"PID":"3"' in lines[1]] == [True, True]


def test_common_lines_are_written_directly() -> None:
    """What the comparison above is about: the common shape is taken, the rest is not."""
    tpl = compile_template(TEMPLATES[0])
    direct = Parser("rfc3164", "s").direct(tpl.direct)
    assert direct is not None
    taken = [b"<38>Jun 14 15:16:01 combo sshd[1]: hi", b"Jun  4 05:06:07.25 h p: x",
             b"<13>Dec 31 23:59:59 host-a kernel: [1.0] usb"]
    for frame in taken:
        assert direct(frame, UDP, RECEIVED_NS) is not None, frame
    others = [b"<38>1 2025-03-01T12:00:00Z h p 1 - - x",  # RFC 5424
              b"<38>Jun 14 15:16:01 h p[1]: bad \xff",  # not UTF-8: the general writer
              b"<38>Jun 14 15:16:01 h p[1]: a NUL \x00 inside",  # written as \x00
              b"<38>Foo 14 15:16:01 h p: x",  # no month
              b"<38>hello"]  # no stamp
    for frame in others:
        assert direct(frame, UDP, RECEIVED_NS) is None, frame
    assert direct(taken[0], local_peer(), RECEIVED_NS) is None  # local: SEQNUM is its own
    # RFC 5424 as syslog-ng's syslog() sends a BSD message: by an rfc5424 or auto parser
    for protocol in ("rfc5424", "auto"):
        direct = Parser(protocol, "s").direct(tpl.direct)
        assert direct is not None
        for frame in (b"<38>1 2026-06-14T15:16:01+00:00 combo sshd 123 - - Accepted",
                      b"<13>1 2026-06-14T15:16:02.5Z combo cron - - - job done",
                      b"<38>Jun 14 15:16:01 combo sshd[1]: hi"):
            if protocol == "auto" or frame[4:6] == b"1 ":
                assert direct(frame, UDP, RECEIVED_NS) is not None, (protocol, frame)
        for frame in (b"<38>1 2026-06-14T15:16:01+00:00 h app 1 ID47 - with a MSGID",
                      b'<38>1 2026-06-14T15:16:01+00:00 h app 1 - [x@1 a="b"] with SD',
                      b"<38>1 2026-06-14T15:16:01+00:00 - app 1 - - no HOSTNAME",
                      b"<38>1 2026-06-14T15:16:01+00:00 h app 1 - - \xef\xbb\xbfa BOM"):
            assert direct(frame, UDP, RECEIVED_NS) is None, frame


def test_a_stamp_the_template_does_not_write_is_not_converted() -> None:
    """A BSD stamp's seconds are computed only for a writer that reads them: the seed
    template writes DATE (the stamp's own text), an ISODATE template the seconds."""
    for template, read in ((TEMPLATES[0], False), (TEMPLATES[3], True)):
        writers = [compile_template(template).direct(shape)
                   for shape in common_shapes("s", "tag")]
        assert [reads(w, "stamp_sec") for w in writers if w is not None] == [read, read]
    assert reads(len, "stamp_sec")  # (not generated code: it may read anything)


def test_a_stamp_is_looked_up_by_its_day() -> None:
    """The direct way keeps a day per "Mmm dd ", whatever the hours of its stamps."""
    tpl = compile_template(TEMPLATES[0])
    direct = Parser("rfc3164", "s").direct(tpl.direct)
    assert direct is not None
    RECEIVE.reset()
    for hour in range(24):
        assert direct(b"<38>Jun  4 %02d:06:07 h p: x" % hour, UDP, RECEIVED_NS) is not None
    assert list(RECEIVE.days) == ["Jun  4 "]
    assert direct(b"<38>Jun  4 24:06:07 h p: x", UDP, RECEIVED_NS) is None  # no hour


@pytest.mark.parametrize("template", [
    r"$(format-json --scope everything)\n",  # macros without a recipe need the message
    r"$(format-json --scope nv_pairs --pair x=$HOST)\n",  # a --pair is a template
    r"$(format-json --key PROGRAM --key MSGHDR)\n",  # MSGHDR is computed by a getter
    r"<$PRI>$(format-json --scope nv_pairs)\n",  # text before the JSON
    r"$ISODATE $HOST $MSGHDR$MSG\n",
])
def test_templates_that_need_the_message_are_not_written_directly(template: str) -> None:
    assert Parser("rfc3164", "s").direct(compile_template(template).direct) is None


@pytest.mark.parametrize("protocol", ["json", "raw"])
def test_parsers_without_the_shape_write_nothing_directly(protocol: str) -> None:
    tpl = compile_template(TEMPLATES[0])
    assert Parser(protocol, "s").direct(tpl.direct) is None


# ---- which sources take the direct way ----------------------------------------------------

SOURCE = '[[source]]\nname = "s"\nlisten = "udp://127.0.0.1:0"\n'
FILE = '[[destination]]\nname = "{name}"\ntype = "file"\npath = "{path}"\n'
SEED = 'template = "$(format-json --scope selected_macros --scope nv_pairs)\\n"\n'


FEED = '[[destination]]\nname = "live"\ntype = "subscribers"\nlisten = "tcp://127.0.0.1:5515"\n'
FEED_LOG = '[[log]]\nsource = ["s"]\ndestination = ["d0", "live"]\n'


def _config(*, paths: list[str] | None = None, extra: str = "", log: str = "") -> str:
    text = SOURCE
    for i, path in enumerate(paths or ["out.json"]):
        text += FILE.format(name=f"d{i}", path=path) + SEED
    dests = ", ".join(f'"d{i}"' for i in range(len(paths or ["out.json"])))
    return text + extra + (log or f'[[log]]\nsource = ["s"]\ndestination = [{dests}]\n')


@pytest.mark.parametrize(("text", "direct"), [
    (_config(), True),
    (_config(paths=["a.json", "b.json"]), True),  # one template: one render for both
    (_config(paths=["a.json", "b.json"]).replace(SEED, 'template = "$MSG\\n"\n', 1),
     False),  # two templates: each its own line
    (_config(extra=FEED, log=FEED_LOG), True),  # a feed: direct while it has no subscriber
    (_config(extra=FEED.replace("subscribers", "web").replace("tcp://127.0.0.1:5515",
                                                               "127.0.0.1:8089"),
             log=FEED_LOG), False),  # (a web feed keeps what it sends, for resuming)
    (_config(paths=["/tmp/$PROGRAM.json"]), False),  # the path needs the message
    (_config(extra='[[filter]]\nname = "f"\nexpr = \'program("x")\'\n',
             log='[[log]]\nsource = ["s"]\nfilter = ["f"]\ndestination = ["d0"]\n'), False),
])
def test_the_direct_way_is_taken_where_routing_allows(text: str, direct: bool) -> None:
    path = assemble(loads(text))
    assert (path.sources["s"].direct is not None) is direct


def test_a_batch_holds_the_same_lines_either_way() -> None:
    frames = [b"<38>Jun 14 15:16:01 combo sshd[1]: hi", b"<13>hello",
              b"<38>Jun 14 15:16:01 h p[1]: bad \xff", b"<38>Jun 14 15:16:02 combo cron: x"]
    held = []
    for direct in (True, False):
        path = assemble(loads(_config()))
        runtime = path.sources["s"]
        if not direct:
            runtime.direct = None
        runtime.deliver(frames, repeat(UDP))
        dest = path.destinations["d0"]
        assert isinstance(dest, BufferedDestination)
        held.append(list(dest._buf))
        assert runtime.received == len(frames)
    assert len(held[0]) == len(frames)
    assert held[0] == held[1]


def test_two_files_with_one_template_get_the_same_lines_either_way() -> None:
    frames = [b"<38>Jun 14 15:16:01 combo sshd[1]: hi", b"<38>Jun 14 15:16:02 combo cron: x"]
    held = []
    for direct in (True, False):
        path = assemble(loads(_config(paths=["a.json", "b.json"])))
        runtime = path.sources["s"]
        assert runtime.direct is not None
        if not direct:
            runtime.direct = None
        runtime.deliver(frames, repeat(UDP))
        bufs = [path.destinations[n]._buf for n in ("d0", "d1")]  # type: ignore[attr-defined]
        assert bufs[0] == bufs[1] and len(bufs[0]) == 2
        held.append(list(bufs[0]))
    assert held[0] == held[1]


def test_destinations_that_send_otherwise_say_how_they_take_a_line() -> None:
    """A buffered destination takes the line into its buffer (Destination's own
    direct_sink declines); one whose send does more than render and hold the line
    overrides direct_sink too (to decline, or to take the line its own way)."""
    classes = {destination_class(kind) for kind in KINDS} | {ChannelDestination}
    overriding = {cls for cls in classes if issubclass(cls, BufferedDestination)
                  for base in cls.__mro__
                  if base not in (BufferedDestination, Destination) and "send" in vars(base)}
    assert {ChannelDestination, destination_class("file")} <= overriding
    for cls in overriding:
        assert any("direct_sink" in vars(base) for base in cls.__mro__
                   if base not in (Destination, BufferedDestination)), cls


class _Client:
    """A subscriber as the feed sees it: takes every line."""

    filter = None
    pending = False

    def __init__(self) -> None:
        self.lines: list[bytes] = []

    def push(self, data: bytes, now: float) -> bool:
        self.lines.append(data)
        return True


def test_a_feed_with_a_subscriber_takes_the_message_path() -> None:
    frames = [b"<38>Jun 14 15:16:01 combo sshd[1]: hi", b"<38>Jun 14 15:16:02 combo cron: x"]
    path = assemble(loads(_config(extra=FEED, log=FEED_LOG)))
    runtime, file, feed = path.sources["s"], path.destinations["d0"], path.destinations["live"]
    assert isinstance(file, BufferedDestination)
    assert runtime.direct is not None
    runtime.deliver(frames, repeat(UDP))  # no subscriber: straight into the file's buffer
    direct_lines = list(file._buf)
    client = _Client()
    feed.clients.add(client)  # type: ignore[attr-defined]
    runtime.deliver(frames, repeat(UDP))
    assert file._buf[2:] == direct_lines == client.lines
    assert feed.written == 2


def test_after_a_batch_of_other_lines_the_message_path_rests_the_direct_way() -> None:
    """A frame the direct way does not read is read twice; a batch of mostly such frames
    sends the next DIRECT_REST batches down the message path, then it is tried again."""
    from relay.sources import base

    path = assemble(loads(_config()))
    runtime = path.sources["s"]
    assert runtime.direct is not None
    tried: list[bytes] = []
    many, sink, ready = runtime.direct

    def counting(frames: list[bytes], peers: Iterator[Peer], ns: int, *rest: Any) -> int:
        tried.extend(frames)
        return many(frames, peers, ns, *rest)

    runtime.direct = (counting, sink, ready)
    with_sd = [b'<38>1 2026-06-14T15:16:01+00:00 h app 1 - [x@1 a="b"] with SD'] * 3
    plain = [b"<38>Jun 14 15:16:01 combo sshd[1]: hi"] * 3
    runtime.deliver(with_sd, repeat(UDP))
    assert len(tried) == 3
    for _ in range(base.DIRECT_REST):
        runtime.deliver(plain, repeat(UDP))
    assert len(tried) == 3  # rested
    runtime.deliver(plain, repeat(UDP))
    assert len(tried) == 6  # tried again
    dest = path.destinations["d0"]
    assert isinstance(dest, BufferedDestination)
    assert len(dest._buf) == 3 + 3 * (base.DIRECT_REST + 1)


@pytest.mark.parametrize("direct", [True, False])
def test_a_large_read_is_parsed_and_handed_on_slice_by_slice(direct: bool) -> None:
    """A batch of more than SLICE frames is parsed, rendered and ended SLICE at a time,
    every frame with its own peer, whether the direct way is taken or not."""
    import orjson

    from relay.sources import base

    extra, log = "", ""
    if not direct:
        extra = '[[filter]]\nname = "f"\nexpr = \'program("sshd")\'\n'
        log = '[[log]]\nsource = ["s"]\nfilter = ["f"]\ndestination = ["d0"]\n'
    path = assemble(loads(_config(extra=extra, log=log)))
    runtime = path.sources["s"]
    assert (runtime.direct is not None) is direct
    dest = path.destinations["d0"]
    assert isinstance(dest, BufferedDestination)
    writes: list[tuple[bytes, int]] = []
    dest.write = lambda data, lines: writes.append((data, lines))  # type: ignore[method-assign]
    count = 2 * base.SLICE + 5
    frames = [f"<38>Jun 14 15:16:01 combo sshd[{i}]: line {i}".encode() for i in range(count)]
    peers = [Peer(f"192.0.2.{i % 250}", f"192.0.2.{i % 250}", 17, "127.0.0.1", 514)
             for i in range(count)]
    runtime.deliver(frames, peers)
    # each full slice was handed on before the next was parsed; the rest waits its timer
    assert [lines for _, lines in writes] == [base.SLICE, base.SLICE]
    assert len(dest._buf) == 5 and runtime.received == count
    dest.flush()
    out = [orjson.loads(line) for data, _ in writes for line in data.splitlines()]
    assert [m["PID"] for m in out] == [str(i) for i in range(count)]
    assert [m["SOURCEIP"] for m in out] == [p.source_ip for p in peers]
