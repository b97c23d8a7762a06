"""Reading a UDP socket a batch at a time: recvmmsg(2) where the C library has it.

The UDP source (relay.sources.udp) reads its socket until it is empty, BATCH datagrams a
read.  One recvmmsg call takes the whole batch, where recvfrom takes one datagram a call
(on loopback, 110-byte datagrams, 256 a batch: 1.0-1.1 µs a datagram against 1.5-1.7).
Without recvmmsg (a C library that lacks it) the socket's recvfrom is called in a loop.

Both give what recvfrom gives: the datagrams in order, each cut at ``size`` bytes (as
syslog-ng's log-msg-size() cuts it), the empty ones left out, and for each its sender as
a key that ``host`` turns into the address's text (``"192.0.2.1"``, ``"::1"``,
``"fe80::1%eth0"``).  A key is cheap to make and to look up: an int for IPv4, bytes for
IPv6, the text itself for recvfrom, so that a source that keeps a Peer per key converts
an address once.  ``read`` raises OSError for anything but a socket read empty.
"""

from __future__ import annotations

import ctypes
import errno
import mmap
import socket
import struct
from collections.abc import Hashable

BATCH = 256  # datagrams read in one go
DATAGRAM_MOST = 65_535  # bytes of a UDP datagram's payload, at most (IPv6 jumbograms aside)

_AGAIN = (errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR)
_MMSGHDR = 64  # struct mmsghdr on LP64: a msghdr (56 bytes) and msg_len, padded
_IOVEC = 16
_U32 = 4  # bytes of an unsigned int: the unit of the views below
_NAME = {socket.AF_INET: 16, socket.AF_INET6: 28}  # sizeof sockaddr_in, sockaddr_in6

Read = tuple[list[bytes], list[Hashable]]


def _recvmmsg() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    if ctypes.sizeof(ctypes.c_void_p) != 8:
        return None  # (the layouts below are LP64's)
    try:
        fn = ctypes.CDLL(None, use_errno=True).recvmmsg
    except (AttributeError, OSError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int, ctypes.c_void_p]
    fn.restype = ctypes.c_int
    return fn


_RECVMMSG = _recvmmsg()


class Recvfrom:
    """A batch by recvfrom calls; the key is the address's text."""

    def __init__(self, sock: socket.socket, size: int, batch: int = BATCH) -> None:
        self.sock = sock
        self.size = size
        self.batch = batch
        self._error: OSError | None = None  # raised by the read after the datagrams before it

    def read(self) -> Read:
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        recvfrom = self.sock.recvfrom
        size = self.size
        frames: list[bytes] = []
        senders: list[Hashable] = []
        try:
            for _ in range(self.batch):
                data, addr = recvfrom(size)
                if data:
                    frames.append(data)
                    senders.append(addr[0])
        except (BlockingIOError, InterruptedError):
            pass
        except OSError as exc:
            if not frames:
                raise
            self._error = exc  # (as recvmmsg does: what came before the error first)
        return frames, senders

    @staticmethod
    def host(key: Hashable) -> str:
        return str(key)


class Recvmmsg:
    """A batch by one recvmmsg call, into buffers made once (``size`` bytes a datagram,
    mapped lazily: a slot costs memory only where datagrams were written)."""

    def __init__(self, sock: socket.socket, size: int, batch: int = BATCH) -> None:
        if _RECVMMSG is None or sock.family not in _NAME:
            raise OSError(errno.ENOSYS, "recvmmsg is not available")
        self.sock = sock  # (held: its descriptor is read)
        self.fd = sock.fileno()
        self.family = sock.family
        self.size = size = min(size, DATAGRAM_MOST)  # (no datagram is longer)
        self.batch = batch
        self._name = name = _NAME[sock.family]
        # the datagrams; the senders' addresses; the iovecs and the headers pointing at them
        self._data = mmap.mmap(-1, size * batch)
        self._names = mmap.mmap(-1, name * batch)
        self._iov = (ctypes.c_uint64 * (2 * batch))()
        self._hdrs = (ctypes.c_uint64 * (_MMSGHDR // 8 * batch))()
        data = ctypes.addressof(ctypes.c_char.from_buffer(self._data))
        names = ctypes.addressof(ctypes.c_char.from_buffer(self._names))
        iov = ctypes.addressof(self._iov)
        for i in range(batch):
            self._iov[2 * i] = data + i * size  # iov_base
            self._iov[2 * i + 1] = size  # iov_len
            h = _MMSGHDR // 8 * i
            self._hdrs[h] = names + i * name  # msg_name
            self._hdrs[h + 1] = name  # msg_namelen (the kernel writes it back unchanged)
            self._hdrs[h + 2] = iov + i * _IOVEC  # msg_iov
            self._hdrs[h + 3] = 1  # msg_iovlen; no control data, flags 0
        self._call = ctypes.c_void_p(ctypes.addressof(self._hdrs))
        self._view = memoryview(self._data)
        self._lens = memoryview(self._hdrs).cast("B").cast("I")  # msg_len: at 56 of 64
        self._addrs = memoryview(self._names).cast("I")

    def read(self) -> Read:
        assert _RECVMMSG is not None
        n = _RECVMMSG(self.fd, self._call, self.batch, 0, None)
        if n < 0:
            code = ctypes.get_errno()
            if code in _AGAIN:
                return [], []
            raise OSError(code, f"recvmmsg: {errno.errorcode.get(code, code)}")
        view, lens, size = self._view, self._lens, self.size
        stride = _MMSGHDR // _U32
        frames: list[bytes] = []
        senders: list[Hashable] = []
        name = self._name
        if self.family == socket.AF_INET:
            addrs, step = self._addrs, name // _U32
            for i in range(n):
                length = lens[stride * i + 14]
                if length:
                    start = size * i
                    frames.append(view[start:start + length].tobytes())
                    senders.append(addrs[step * i + 1])  # sin_addr, as an int
        else:
            names = memoryview(self._names)
            for i in range(n):
                length = lens[stride * i + 14]
                if length:
                    start = size * i
                    frames.append(view[start:start + length].tobytes())
                    at = name * i
                    senders.append(names[at + 8:at + name].tobytes())  # sin6_addr, scope id
        return frames, senders

    def host(self, key: Hashable) -> str:
        if self.family == socket.AF_INET:
            return socket.inet_ntoa(struct.pack("=I", key))
        assert isinstance(key, bytes)
        text = socket.inet_ntop(socket.AF_INET6, key[:16])
        scope = struct.unpack("=I", key[16:])[0]
        if scope:
            try:
                text += "%" + socket.if_indextoname(scope)
            except OSError:
                text += f"%{scope}"
        return text


def reader(sock: socket.socket, size: int, batch: int = BATCH) -> Recvmmsg | Recvfrom:
    """The fastest reader this system has for SOCK, datagrams cut at SIZE bytes."""
    try:
        return Recvmmsg(sock, size, batch)
    except OSError:
        return Recvfrom(sock, size, batch)
