"""StreamFramer, the h11 way: whole input, one byte at a time, and trailing data."""

import pytest

from relay.errors import ParseError
from relay.framing import StreamFramer

LINES = b"<13>first message\n<14>second\r\n<15>third\n"
COUNTED = b"17 <13>first message6 <14>ab11 <15>third\nx"
EXPECTED = [b"<13>first message", b"<14>second", b"<15>third"]
EXPECTED_COUNTED = [b"<13>first message", b"<14>ab", b"<15>third\nx"]


def feed_all(framer: StreamFramer, chunks: list[bytes]) -> list[bytes]:
    out: list[bytes] = []
    for chunk in chunks:
        out.extend(framer.feed(chunk))
    return out + framer.close()


@pytest.mark.parametrize("data,expected", [(LINES, EXPECTED), (COUNTED, EXPECTED_COUNTED)])
def test_whole_input(data: bytes, expected: list[bytes]) -> None:
    assert feed_all(StreamFramer(), [data]) == expected


@pytest.mark.parametrize("data,expected", [(LINES, EXPECTED), (COUNTED, EXPECTED_COUNTED)])
def test_one_byte_at_a_time(data: bytes, expected: list[bytes]) -> None:
    assert feed_all(StreamFramer(), [data[i:i + 1] for i in range(len(data))]) == expected


def test_unterminated_last_line_is_a_message_at_eof() -> None:
    framer = StreamFramer()
    assert framer.feed(b"<13>a\n<13>b") == [b"<13>a"]
    assert framer.buffered == 5
    assert framer.close() == [b"<13>b"]


def test_partial_counted_frame_is_not_emitted_at_eof() -> None:
    framer = StreamFramer()
    assert framer.feed(b"10 <13>a") == []
    assert framer.close() == []


def test_long_line_becomes_several_frames() -> None:
    # syslog-ng's log-msg-size() on a stream: a long line is split, nothing is lost
    framer = StreamFramer(max_size=16)
    assert framer.feed(b"x" * 40) == [b"x" * 16, b"x" * 16]
    assert framer.buffered == 8
    assert framer.feed(b"yyy\n<13>next\n") == [b"x" * 8 + b"yyy", b"<13>next"]
    assert framer.feed(b"z" * 20 + b"\nok\n") == [b"z" * 16, b"zzzz", b"ok"]
    assert framer.truncated == 2  # lines that were split


def test_long_counted_frame_is_cut_across_reads() -> None:
    framer = StreamFramer(max_size=16)
    assert framer.feed(b"30 " + b"a" * 20) == [b"a" * 16]
    assert framer.feed(b"b" * 10 + b"2 ok") == [b"ok"]


def test_bad_counted_header_is_an_error() -> None:
    framer = StreamFramer()
    with pytest.raises(ParseError):
        framer.feed(b"12x <13>hello")


def test_mode_is_decided_by_the_first_byte() -> None:
    framer = StreamFramer()
    assert framer.feed(b"<13>5 apples\n") == [b"<13>5 apples"]
    assert framer.feed(b"12 not counted\n") == [b"12 not counted"]


def test_nul_ends_a_frame_crs_are_dropped_and_empty_frames_skipped() -> None:
    # syslog-ng's text framing: LF or NUL end a frame, trailing CRs go, empty frames vanish
    data = (b"<13>a: x\n\n<13>b: y\x00<13>c: z\x00\n<13>d: w \r \r\n\r\r\n"
            b"\x00\x00<13>e: v\r\x00x\n   \n<13>f: end\r")
    expected = [b"<13>a: x", b"<13>b: y", b"<13>c: z", b"<13>d: w \r ", b"<13>e: v", b"x",
                b"   ", b"<13>f: end"]
    assert feed_all(StreamFramer(), [data]) == expected
    assert feed_all(StreamFramer(), [data[i:i + 1] for i in range(len(data))]) == expected


def test_long_line_ends_at_a_nul() -> None:
    framer = StreamFramer(max_size=8)
    assert framer.feed(b"<13>" + b"y" * 10) == [b"<13>yyyy"]
    assert framer.feed(b"yyy\x00<13>ok\n") == [b"yyyyyyyy", b"y", b"<13>ok"]


def test_a_long_line_with_crs_frames_the_same_in_any_reads() -> None:
    # found by the fuzzer (tests/fuzz/fuzz_framing.py): a cut frame lost or kept its
    # trailing CRs depending on where a read ended.  Each cut frame drops them, as each
    # message syslog-ng cuts at log-msg-size() does.
    data = b" 55555555" + b"\r" * 64 + b"5" * 34
    whole = feed_all(StreamFramer(16), [data])
    assert whole == [b" 55555555", b"\r" * 9 + b"5" * 7, b"5" * 16, b"5" * 11]
    assert feed_all(StreamFramer(16), [data[:73], data[73:76], data[76:]]) == whole
    assert feed_all(StreamFramer(16), [data[i:i + 1] for i in range(len(data))]) == whole
