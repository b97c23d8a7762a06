"""Allow lists, the .tls.x509_* pairs, the new source keys and bounded filter lines, with no
sockets (the end-to-end checks are in test_limits.py)."""

from __future__ import annotations

import pytest

from relay.config import loads
from relay.errors import ConfigError
from relay.facts.allow import AllowList, peer_address
from relay.sources.tls import x509_pairs


def test_an_allow_list_matches_networks_and_mapped_ipv4() -> None:
    allow = AllowList(["10.0.0.0/8", "127.0.0.1/32", "::1/128"])
    assert allow("10.200.3.4") and allow("127.0.0.1") and allow("::1")
    assert allow("::ffff:10.1.2.3")  # a dual-stack socket's IPv4 peer
    assert not allow("127.0.0.2") and not allow("::ffff:127.0.0.2") and not allow("2001:db8::1")
    assert not allow("11.0.0.1")
    assert allow("local") and allow("")  # not an IP address: a unix socket
    assert AllowList([])("192.0.2.1") and not AllowList([])


def test_peer_address_drops_a_zone_index() -> None:
    assert str(peer_address("fe80::1%eth0")) == "fe80::1"
    assert peer_address("nope") is None


def _subject(*rdns: tuple[str, str]) -> dict[str, object]:
    return {"subject": tuple(((name, value),) for name, value in rdns)}


def test_x509_pairs_take_the_first_of_each_name_cut_as_syslog_ng_cuts() -> None:
    cert = _subject(("countryName", "HU"), ("organizationName", "Example"),
                    ("organizationalUnitName", "Ops"), ("organizationalUnitName", "Night"),
                    ("commonName", "c" * 70))
    assert x509_pairs(cert) == {".tls.x509_cn": "c" * 63, ".tls.x509_o": "Example",
                                ".tls.x509_ou": "Ops"}
    assert x509_pairs(_subject(("commonName", "only"))) == {
        ".tls.x509_cn": "only", ".tls.x509_o": "", ".tls.x509_ou": ""}
    # a 32-byte buffer holds 31 bytes: a cut inside a character keeps its first bytes
    assert x509_pairs(_subject(("organizationalUnitName", "x" * 30 + "é")))[".tls.x509_ou"] \
        == "x" * 30 + "\udcc3"
    assert x509_pairs({}) is None and x509_pairs({"subject": ()}) is None


def _source(extra: str, listen: str = "tcp://127.0.0.1:0") -> str:
    return f'[[source]]\nname = "s"\nlisten = "{listen}"\n{extra}\n'


TLS = 'tls_cert = "c.pem"\ntls_key = "k.pem"\n'


def test_source_limits_and_tls_verify_are_read() -> None:
    s = loads(_source('allow = ["10.0.0.0/8", "::1"]\nmax_connections = 5\nidle_timeout = 2.5'
                      )).sources[0]
    assert (s.allow, s.max_connections, s.idle_timeout) == (("10.0.0.0/8", "::1"), 5, 2.5)
    assert loads(_source("")).sources[0].max_connections == 1000
    tls = loads(_source(TLS + 'tls_ca = "ca.pem"', "tls://127.0.0.1:0")).sources[0]
    assert tls.tls_verify == "required"
    assert loads(_source(TLS, "tls://127.0.0.1:0")).sources[0].tls_verify == "none"
    optional = _source(TLS + 'tls_ca = "ca.pem"\ntls_verify = "optional"', "tls://h:1")
    assert loads(optional).sources[0].tls_verify == "optional"


@pytest.mark.parametrize("text,message", [
    (_source('allow = ["10.0.0.0/33"]'), "line 4: [[source]] #1 key 'allow'"),
    (_source('allow = ["10.0.0.0/8"]', "unix-stream:///tmp/x"), "only applies to tcp://"),
    (_source("max_connections = 0"), "key 'max_connections' must be at least 1"),
    (_source("idle_timeout = -1"), "key 'idle_timeout' cannot be negative"),
    (_source("idle_timeout = 5", "udp://127.0.0.1:0"), "only applies to stream sources"),
    (_source('tls_verify = "maybe"'), "must be one of required, optional, none"),
    (_source(TLS + 'tls_verify = "required"', "tls://h:1"), "needs tls_ca"),
    (_source('tls_verify = "none"'), "only applies to a tls:// source"),
])
def test_source_limit_errors_name_the_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=None) as err:
        loads(text)
    assert message in str(err.value)


def test_subscribers_over_tls_need_a_certificate() -> None:
    base = _source("") + '[[destination]]\nname = "d"\ntype = "subscribers"\n'
    with pytest.raises(ConfigError, match="tls_cert' and tls_key are required"):
        loads(base + 'listen = "tls://127.0.0.1:0"\n')
    with pytest.raises(ConfigError, match="only applies to subscribers that listen on tls"):
        loads(base + 'listen = "tcp://127.0.0.1:0"\ntls_cert = "c"\n')
    d = loads(base + 'listen = "tls://127.0.0.1:0"\n' + TLS).destinations[0]
    assert d.tls_cert == "c.pem"  # type: ignore[attr-defined]


class _Transport:
    def __init__(self) -> None:
        self.written = b""
        self.closed = False

    def is_closing(self) -> bool:
        return self.closed

    def write(self, data: bytes) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True


def _subscriber() -> tuple[object, _Transport]:
    from relay.destinations.subscribers import Subscriber

    class Owner:
        name = "d"
        named_filters: dict[str, object] = {}

        def regroup(self) -> None:
            pass

    sub = Subscriber(Owner())  # type: ignore[arg-type]
    transport = _Transport()
    sub.transport = transport  # type: ignore[assignment]
    return sub, transport


def test_a_filter_line_past_64_kib_closes_the_subscriber_and_is_not_kept() -> None:
    from relay.destinations.subscribers import MAX_FILTER_LINE, Subscriber

    sub, transport = _subscriber()
    assert isinstance(sub, Subscriber)
    for _ in range(MAX_FILTER_LINE // 4096):
        sub.data_received(b"x" * 4096)
    assert not transport.closed and len(sub._inbuf) == MAX_FILTER_LINE
    sub.data_received(b"x")
    assert transport.closed and transport.written.startswith(b"error: filter line longer")
    assert len(sub._inbuf) == 0
    sub.data_received(b"y" * 100000)  # nothing more is read once it is closing
    assert len(sub._inbuf) == 0


def test_filter_lines_split_across_reads_and_a_long_line_with_its_newline() -> None:
    from relay.destinations.subscribers import MAX_FILTER_LINE, Subscriber

    sub, transport = _subscriber()
    assert isinstance(sub, Subscriber)
    sub.data_received(b'program("ss')
    sub.data_received(b'hd")\nlevel(err')
    assert sub.filter is not None and bytes(sub._inbuf) == b"level(err"
    sub.data_received(b")\n\n")
    assert sub.filter is None and not transport.closed  # the empty line cleared it
    sub.data_received(b"x" * (MAX_FILTER_LINE + 1) + b"\n")
    assert transport.closed


def test_a_filter_from_the_network_reads_no_file_and_no_environment(tmp_path: object) -> None:
    from relay.errors import FilterError
    from relay.filter import compile_filter

    listed = f"{tmp_path}/names"
    with open(listed, "w") as f:
        f.write("root\n")
    trusted = f'in-list("{listed}", value("PROGRAM"))'
    compile_filter(trusted)  # a config's filter may read a file
    for expr in (trusted, '"$(env HOME)" ne ""', '"$(if (\\"$(env HOME)\\" ne \\"\\") a b)" eq a',
                 'message("x") or "$(echo $(env PATH))" eq ""'):
        with pytest.raises(FilterError, match="not allowed in a filter from the network"):
            compile_filter(expr, untrusted=True)
    # found by the fuzzer (tests/fuzz/fuzz_filter.py): a NUL in the file name
    with pytest.raises(FilterError, match="cannot read in-list file"):
        compile_filter('in-list("a\x00b", value("PROGRAM"))')


def test_a_subscriber_cannot_read_files_with_its_filter() -> None:
    sub, transport = _subscriber()
    sub.data_received(b'in-list("/etc/passwd", value("PROGRAM"))\n')  # type: ignore[attr-defined]
    assert transport.written.startswith(b"error: ") and b"not allowed" in transport.written
    assert sub.filter is None  # type: ignore[attr-defined]
