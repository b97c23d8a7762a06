"""The TLS source (RFC 5425): syslog over TLS, framed and parsed as over TCP.

A connection is admitted (``allow``, ``max_connections``) on the bare socket, before a
byte of its handshake is read; only then does TLS start over it.  With ``tls_verify``
"required" (the default when ``tls_ca`` is set) a client without a certificate that
``tls_ca`` signed is refused in the handshake; with "optional" one it presents must
verify.  The subject of a verified client certificate becomes, as in syslog-ng, the
pairs ``.tls.x509_cn``, ``.tls.x509_o`` and ``.tls.x509_ou`` of every message of that
connection, set over whatever the sender wrote.  ``reload_tls()`` (on SIGHUP) reads the
certificate and key again, for the connections that come next.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any, cast

from relay.config import SourceConfig
from relay.sources.base import SourceRuntime, log
from relay.sources.stream import StreamListener, StreamProtocol

#: seconds a client may take over its handshake (idle_timeout, when shorter)
HANDSHAKE_TIMEOUT = 30.0
CHUNK = 256 * 1024  # plaintext read at once
_VERIFY = {"required": ssl.CERT_REQUIRED, "optional": ssl.CERT_OPTIONAL, "none": ssl.CERT_NONE}
# syslog-ng copies each name into a fixed buffer (tls-session.h): what fits is kept
X509_PAIRS = ((".tls.x509_cn", "commonName", 64), (".tls.x509_o", "organizationName", 64),
              (".tls.x509_ou", "organizationalUnitName", 32))
TLS_NAMES = tuple(pair for pair, _, _ in X509_PAIRS)


def server_context(cert: str, key: str, ca: str = "", verify: str = "none") -> ssl.SSLContext:
    """A server-side context; OSError or ssl.SSLError when a file cannot be used."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    if ca:
        ctx.load_verify_locations(ca)
    ctx.verify_mode = _VERIFY[verify]
    return ctx


def tls_context(cfg: SourceConfig) -> ssl.SSLContext:
    return server_context(cfg.tls_cert, cfg.tls_key, cfg.tls_ca, cfg.tls_verify)


def x509_pairs(cert: dict[str, Any]) -> dict[str, str] | None:
    """The .tls.x509_* pairs of a verified peer certificate (getpeercert()), None without
    one.  As syslog-ng's X509_NAME_get_text_by_NID: the first entry of each name (the
    first of several OUs), "" when there is none, cut to its buffer less the NUL."""
    subject = cert.get("subject") if cert else None
    if not subject:
        return None
    first: dict[str, str] = {}
    for rdn in subject:
        for name, value in rdn:
            first.setdefault(name, value)
    pairs = {}
    for pair, name, size in X509_PAIRS:
        raw = first.get(name, "").encode("utf-8", "surrogateescape").split(b"\0", 1)[0]
        pairs[pair] = raw[: size - 1].decode("utf-8", "surrogateescape")
    return pairs


class TlsListener(StreamListener):
    def __init__(self, server: asyncio.AbstractServer, addresses: list[str],
                 runtime: SourceRuntime, context: ssl.SSLContext):
        super().__init__(server, addresses)
        self.runtime = runtime
        self.context = context

    def reload_tls(self) -> None:
        """Read the certificate, key and CA again; new connections use them.  When they
        cannot be read the old ones stay, and the error is logged."""
        try:
            self.context = tls_context(self.runtime.config)
        except (OSError, ssl.SSLError, ValueError) as exc:
            log.error("source %s: cannot reload the TLS certificate, keeping the old one: %s",
                      self.runtime.name, exc)
            return
        log.info("source %s: TLS certificate reloaded", self.runtime.name)


class TlsProtocol(StreamProtocol):
    """A TLS connection: admitted on the bare socket, then TLS run over it in memory.

    The TLS layer is an ssl.SSLObject over two memory buffers (as asyncio's own sslproto
    is), so the connection is admitted before a byte of TLS is read, flow control pauses
    the socket itself, and the certificate is known before the first message is parsed.
    """

    def __init__(self, runtime: SourceRuntime, listener: list[TlsListener]):
        super().__init__(runtime)
        self.listener = listener  # a list, as the listener is made after the server
        self.incoming = ssl.MemoryBIO()
        self.outgoing = ssl.MemoryBIO()
        self.tls: ssl.SSLObject | None = None
        self.handshaking = False
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not self.admit(transport):
            return
        self.tls = self.listener[0].context.wrap_bio(self.incoming, self.outgoing,
                                                      server_side=True)
        self.handshaking = True
        self.serve(cast(asyncio.Transport, transport))
        timeout = min(HANDSHAKE_TIMEOUT, self.runtime.config.idle_timeout or HANDSHAKE_TIMEOUT)
        self._deadline = asyncio.get_running_loop().call_later(timeout, self._too_slow)

    def _too_slow(self) -> None:
        if self.handshaking and self.transport is not None:
            self._refuse("the handshake took too long")

    def _refuse(self, why: object) -> None:
        self.handshaking = False
        self.runtime.refuse("tls_refused", "refusing %s: TLS handshake failed: %s",
                            self.peer.source_ip, why)
        self._send()  # the alert, if there is one
        if self.transport is not None:
            self.transport.close()

    def _send(self) -> None:
        if self.outgoing.pending and self.transport is not None:
            self.transport.write(self.outgoing.read())

    def data_received(self, data: bytes) -> None:
        tls = self.tls
        if tls is None or (self.transport is not None and self.transport.is_closing()):
            return
        self.incoming.write(data)
        if self.handshaking:
            try:
                tls.do_handshake()
            except ssl.SSLWantReadError:
                self._send()
                return
            except (ssl.SSLError, OSError) as exc:
                self._refuse(getattr(exc, "reason", None) or exc)
                return
            self.handshaking = False
            if self._deadline is not None:
                self._deadline.cancel()
            self.pairs = x509_pairs(tls.getpeercert() or {})
            if self.pairs is None and self.runtime.parser.protocol == "json":
                # a JSON sender could write these pairs itself: without a certificate, none
                self.pairs, self.drop = {}, TLS_NAMES
        chunks = []
        ended = False
        while True:
            try:
                chunk = tls.read(CHUNK)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLZeroReturnError:  # the client's close_notify
                ended = True
                break
            except (ssl.SSLError, OSError) as exc:
                log.warning("source %s: closing TLS connection from %s: %s",
                            self.runtime.name, self.peer.source_ip, exc)
                ended = True
                break
            if not chunk:
                break
            chunks.append(chunk)
        self._send()  # session tickets, key updates
        if chunks:
            super().data_received(b"".join(chunks))
        if ended:
            self.eof_received()
            if self.transport is not None:
                self.transport.close()

    def eof_received(self) -> bool:
        if self.handshaking or self.tls is None:
            return False
        return super().eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        super().connection_lost(exc)


async def start(runtime: SourceRuntime) -> TlsListener:
    listen = runtime.config.listen
    loop = asyncio.get_running_loop()
    context = tls_context(runtime.config)
    holder: list[TlsListener] = []
    server = await loop.create_server(
        lambda: TlsProtocol(runtime, holder), listen.host, listen.port,
        reuse_address=True, backlog=1024)
    addresses = []
    for sock in server.sockets:
        host, port = sock.getsockname()[:2]
        addresses.append(f"tls://{host}:{port}")
    holder.append(TlsListener(server, addresses, runtime, context))
    return holder[0]
