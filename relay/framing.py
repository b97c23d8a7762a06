"""Framing: a byte stream (TCP, unix-stream, stdin) in, syslog frames out.  Sans-IO.

It sits between a stream source and the parser.  ``feed(data)`` takes whatever the
socket returned and gives back the complete frames it now holds; ``close()`` gives the
last unterminated frame at EOF.  The kind of framing is decided by the first byte of the
stream, as RFC 6587 allows both on one port:

    ; RFC 6587 3.4.1 octet counting
    SYSLOG-FRAME = MSG-LEN SP SYSLOG-MSG
    MSG-LEN      = NONZERO-DIGIT *DIGIT
    ; RFC 6587 3.4.2 non-transparent framing
    SYSLOG-FRAME = SYSLOG-MSG TRAILER      ; TRAILER = LF
    ; syslog-ng's text framing, followed here: NUL ends a frame as LF does, the CRs at
    ; the end of a frame are dropped (over UDP they stay), and empty frames are skipped.

Nothing is buffered without end.  A line longer than ``max_size`` becomes several frames
of at most ``max_size`` bytes, as syslog-ng's log-msg-size() does; an octet-counted frame
longer than that is cut at ``max_size`` and the rest of it skipped (syslog-ng closes the
connection instead).  Both are counted in ``truncated``.
"""

from __future__ import annotations

from relay.errors import ParseError

_DIGITS = frozenset(b"0123456789")


class StreamFramer:
    """Detects octet counting or newline framing from the first byte and splits frames."""

    __slots__ = ("max_size", "_buf", "_mode", "_need", "_skip_bytes",
                 "truncated")

    def __init__(self, max_size: int = 65536, *, newline_only: bool = False) -> None:
        self.max_size = max_size
        self._buf = b""
        self._mode = 1 if newline_only else 0  # 0 undecided, 1 newline, 2 octet counting
        self._need = -1  # octet counting: length of the frame being read, -1 reading MSG-LEN
        self._skip_bytes = 0  # octet counting: bytes of an over-long frame still to drop
        self.truncated = 0

    def feed(self, data: bytes) -> list[bytes]:
        if self._mode == 0:
            if not data:
                return []
            self._mode = 2 if data[0] in _DIGITS else 1
        if self._mode == 1:
            return self._feed_lines(data)
        return self._feed_counted(data)

    def _feed_lines(self, data: bytes) -> list[bytes]:
        if b"\0" in data:
            data = data.replace(b"\0", b"\n")
        buf = self._buf + data if self._buf else data
        lines = buf.split(b"\n")
        tail = lines.pop()
        limit = self.max_size
        if len(tail) >= limit:
            # no end in sight: what fills whole frames goes now, as syslog-ng does
            cut = len(tail) - len(tail) % limit
            lines.append(tail[:cut])
            tail = tail[cut:]
        self._buf = tail
        if (b"\r" not in buf and all(lines)
                and (len(buf) <= limit or max(map(len, lines), default=0) <= limit)):
            return lines  # (the usual read: no CR, no empty line, no line too long)
        frames: list[bytes] = []
        append = frames.append
        for frame in lines:
            if frame[-1:] == b"\r":
                frame = frame.rstrip(b"\r")
            if not frame:
                continue
            if len(frame) > limit:
                # a line longer than a frame becomes several frames: nothing is lost.  Each
                # is a message of its own, its trailing CRs dropped (syslog-ng's
                # remove_trailing_newline runs on every message it cuts): so the frames do
                # not depend on where the reads ended
                self.truncated += 1
                for i in range(0, len(frame), limit):
                    piece = frame[i:i + limit]
                    if piece[-1:] == b"\r":
                        piece = piece.rstrip(b"\r")
                    if piece:
                        append(piece)
                continue
            append(frame)
        return frames

    def _feed_counted(self, data: bytes) -> list[bytes]:
        if self._skip_bytes:
            dropped = min(self._skip_bytes, len(data))
            self._skip_bytes -= dropped
            data = data[dropped:]
        buf = self._buf + data if self._buf else data
        frames: list[bytes] = []
        pos = 0
        end = len(buf)
        while pos < end:
            if self._need < 0:
                sp = buf.find(b" ", pos, pos + 12)
                if sp < 0:
                    if end - pos >= 12 or not buf[pos:end].isdigit():
                        raise ParseError(f"bad octet-counting frame header {buf[pos:pos + 12]!r}")
                    break
                header = buf[pos:sp]
                if not header.isdigit():
                    raise ParseError(f"bad octet-counting frame header {header!r}")
                self._need = int(header)
                pos = sp + 1
            if end - pos < min(self._need, self.max_size):
                break
            if self._need > self.max_size:
                frames.append(buf[pos: pos + self.max_size])
                self.truncated += 1
                rest = self._need - self.max_size
                avail = end - pos - self.max_size
                if avail >= rest:
                    pos += self._need
                else:
                    self._skip_bytes = rest - avail
                    pos = end
            else:
                frames.append(buf[pos: pos + self._need])
                pos += self._need
            self._need = -1
        self._buf = buf[pos:] if pos < end else b""
        return frames

    def close(self) -> list[bytes]:
        """At EOF: an unterminated last line is still a message (syslog-ng does the same)."""
        buf, self._buf = self._buf, b""
        if self._mode == 1:
            buf = buf.rstrip(b"\r")
            if buf:
                return [buf]
        return []

    @property
    def buffered(self) -> int:
        return len(self._buf)
