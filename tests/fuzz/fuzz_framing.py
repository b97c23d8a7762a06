"""Fuzz the stream framer: any bytes in any chunks; only ParseError may escape, and the
frames do not depend on how the stream was cut."""

from __future__ import annotations

import atheris
from _common import SAMPLES, run

with atheris.instrument_imports(include=["relay"]):
    from relay.errors import ParseError
    from relay.framing import StreamFramer


def frames_of(chunks: list[bytes], max_size: int) -> list[bytes] | None:
    framer = StreamFramer(max_size)
    out: list[bytes] = []
    try:
        for chunk in chunks:
            out.extend(framer.feed(chunk))
    except ParseError:
        return None
    return out + framer.close()


def test_one_input(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    max_size = fdp.ConsumeIntInRange(16, 300)
    cuts = [fdp.ConsumeIntInRange(0, 4096) for _ in range(fdp.ConsumeIntInRange(0, 6))]
    stream = fdp.ConsumeBytes(fdp.remaining_bytes())
    points = sorted({c % (len(stream) + 1) for c in cuts})
    chunks = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]
    whole = frames_of([stream], max_size)
    if frames_of(chunks, max_size) != whole:
        raise AssertionError(f"chunks {points} of {stream!r} frame differently")
    if whole is not None and any(len(f) > max_size for f in whole):
        raise AssertionError("a frame is longer than max_size")


if __name__ == "__main__":
    run(test_one_input, [b"\x20\x00" + s + b"\n" for s in SAMPLES]
        + [b"\x20\x00%d %s" % (len(s), s) for s in SAMPLES])
