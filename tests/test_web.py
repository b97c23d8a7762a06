"""The web destination end to end: a real relay, a TCP sender and EventSource-like clients."""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterator

import pytest
from relayproc import RelayProcess, lines_of, need, wait_for
from sse import Streams

from relay.config import WebConfig, loads
from relay.destinations.web import WebDestination, event
from relay.errors import ConfigError
from relay.flow import FlowControl
from relay.message import LogMessage

CONFIG = """
[metrics]
listen = "127.0.0.1:0"

[[source]]
name = "s_tcp"
listen = "tcp://127.0.0.1:0"
protocol = "rfc3164"

[[destination]]
name = "d_json"
type = "file"
path = "messages.json"

[[destination]]
name = "d_web"
type = "web"
listen = "127.0.0.1:0"
ring_lines = {ring}
{extra}

[[log]]
source = ["s_tcp"]
destination = ["d_json", "d_web"]
"""


def line(i: int) -> bytes:
    program = "beta" if i % 3 == 0 else "alpha"
    return b"<14>Dec  3 10:00:00 web1 %s[%d]: line %d\n" % (program.encode(), 100 + i, i)


class Sender:
    def __init__(self, address: tuple[str, int]):
        self.sock = socket.create_connection(address)
        self.count = 0

    def __enter__(self) -> Sender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def send(self, n: int) -> None:
        self.sock.sendall(b"".join(line(self.count + i + 1) for i in range(n)))
        self.count += n


@pytest.fixture
def relay(tmp_path: object) -> Iterator[RelayProcess]:
    workdir = str(tmp_path)
    with RelayProcess(CONFIG.format(ring=5000, extra=""), workdir, expect_addresses=3) as proc:
        yield proc
        assert proc.stop() == 0
        assert "Traceback" not in proc.stderr(), proc.stderr()


def url(relay: RelayProcess, path: str) -> str:
    host, port = relay.address("d_web")
    return f"http://{host}:{port}{path}"


def written(relay: RelayProcess) -> list[bytes]:
    return lines_of(os.path.join(relay.workdir, "messages.json"))


@pytest.mark.asyncio
async def test_events_carry_every_line_with_rising_ids_and_filters_narrow(
        relay: RelayProcess) -> None:
    async with Streams() as client:
        every = client.stream(url(relay, "/events"))
        beta = client.stream(url(relay, '/events?filter=program("beta")'))
        for stream in (every, beta):
            response = await stream.open()
            assert response.status == 200
            assert response.headers["Content-Type"] == "text/event-stream"
        wait_for(lambda: b"relay_subscribers{destination=\"d_web\"} 2.0" in metrics(relay),
                 what="both clients to be connected")
        with Sender(relay.address("s_tcp")) as sender:
            sender.send(300)
            got = await every.take(300)
            wait_for(lambda: len(written(relay)) == 300, what="the file to hold every line")
            assert [e.id for e in got] == [str(i) for i in range(1, 301)]
            assert [e.data.encode() for e in got] == written(relay)  # the format-json line
            betas = await beta.take(100)
            assert [e.id for e in betas] == [str(i) for i in range(3, 301, 3)]
            assert all('"PROGRAM":"beta"' in e.data for e in betas)
            sender.send(3)  # lines 301..303: only 303 is beta, and comes next
            assert (await beta.next()).id == "303"
            scraped = metrics(relay)
            assert b'relay_destination_written_total{destination="d_web"} 404.0' in scraped
            assert b'relay_destination_dropped_total{destination="d_web"} 0.0' in scraped


def metrics(relay: RelayProcess) -> bytes:
    import urllib.request

    host, port = relay.address("metrics")
    with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=5) as response:
        return bytes(response.read())


@pytest.mark.asyncio
async def test_a_client_that_reconnects_gets_exactly_what_it_missed(relay: RelayProcess) -> None:
    async with Streams() as client:
        stream = client.stream(url(relay, "/events"))
        await stream.open()
        with Sender(relay.address("s_tcp")) as sender:
            sender.send(10)
            first = await stream.take(10)
            stream.close()  # the browser loses its connection
            sender.send(1000)
            wait_for(lambda: len(written(relay)) == 1010, what="1,010 lines through the relay")
            assert stream.last_event_id == "10"
            await stream.open()  # EventSource reconnects with Last-Event-ID: 10
            missed = await stream.take(1000)
            sender.send(5)
            live = await stream.take(5)
            ids = [int(e.id) for e in first + missed + live]
            assert ids == list(range(1, 1016))
            lines = written(relay)
            wait_for(lambda: len(written(relay)) == 1015, what="the last lines")
            assert [e.data.encode() for e in missed] == lines[10:1010]

            # ?since=N is the same for a client that cannot send the header
            since = client.stream(url(relay, "/events?since=1012"))
            await since.open()
            assert [e.id for e in await since.take(3)] == ["1013", "1014", "1015"]


@pytest.mark.asyncio
async def test_backlog_starts_with_the_last_lines_after_the_filter(relay: RelayProcess) -> None:
    with Sender(relay.address("s_tcp")) as sender:
        sender.send(100)
        wait_for(lambda: len(written(relay)) == 100, what="100 lines through the relay")
        async with Streams() as client:
            stream = client.stream(url(relay, "/events?backlog=10"))
            await stream.open()
            assert [e.id for e in await stream.take(10)] == [str(i) for i in range(91, 101)]
            sender.send(1)
            assert (await stream.next()).id == "101"
            betas = client.stream(url(relay, '/events?backlog=4&filter=program("beta")'))
            await betas.open()
            assert [e.id for e in await betas.take(4)] == ["90", "93", "96", "99"]


@pytest.mark.asyncio
async def test_a_bad_filter_is_a_400_naming_the_column(relay: RelayProcess) -> None:
    async with Streams() as client:
        for path in ("/events", "/check"):
            async with client.session.get(url(relay, path), params={
                    "filter": 'program("beta" and'}) as response:
                assert response.status == 400
                text = await response.text()
                assert "line 1, column 16" in text, text
        async with client.session.get(url(relay, "/check"),
                               params={"filter": 'program("beta")'}) as response:
            assert response.status == 200
        async with client.session.get(url(relay, "/")) as response:
            assert response.status == 200
            assert "EventSource" in await response.text()


def test_a_web_client_that_never_reads_blocks_nobody(tmp_path: object) -> None:
    config = CONFIG.format(ring=100, extra='buffer_bytes = "64KiB"\nstall_timeout = 1.0')
    with RelayProcess(config, str(tmp_path), expect_addresses=3) as relay:
        host, port = relay.address("d_web")
        slow = socket.socket()
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.connect((host, port))
        slow.sendall(b"GET /events HTTP/1.1\r\nHost: relay\r\n\r\n")  # and never reads
        gauge = b'relay_subscribers{destination="d_web"}'
        wait_for(lambda: gauge + b" 1.0" in metrics(relay), what="the slow client")
        with Sender(relay.address("s_tcp")) as sender:
            sender.send(20000)
            wait_for(lambda: len(written(relay)) == 20000, 30, "every line in the file")
        # the slow client lost lines (counted) and is let go after stall_timeout
        wait_for(lambda: gauge + b" 0.0" in metrics(relay), 10, "the stalled client to go")
        scraped = metrics(relay).decode()
        dropped = re.search(r'relay_destination_dropped_total\{destination="d_web"\} (\d+)',
                            scraped)
        assert dropped is not None and int(dropped.group(1)) > 10000, scraped
        slow.close()
        assert relay.stop() == 0
        assert "disconnecting" in relay.stderr() and "stalled" in relay.stderr()
        assert "Traceback" not in relay.stderr(), relay.stderr()


@pytest.mark.asyncio
async def test_https_with_tls_cert_and_tls_key(tmp_path: object) -> None:
    import ssl
    import subprocess

    openssl = need("openssl")
    d = str(tmp_path)
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-keyout", f"{d}/key.pem", "-out",
                    f"{d}/cert.pem"], check=True, capture_output=True, timeout=60)
    extra = f'tls_cert = "{d}/cert.pem"\ntls_key = "{d}/key.pem"'
    with RelayProcess(CONFIG.format(ring=100, extra=extra), d, expect_addresses=3) as relay:
        assert any(a.startswith("https://") for a, owner in relay.addresses if owner == "d_web")
        context = ssl.create_default_context(cafile=f"{d}/cert.pem")
        context.check_hostname = False
        async with Streams() as client:
            stream = client.stream(url(relay, "/events").replace("http:", "https:"))
            with Sender(relay.address("s_tcp")) as sender:
                stream.ssl = context
                await stream.open()
                sender.send(2)
                assert [e.id for e in await stream.take(2)] == ["1", "2"]
        assert relay.stop() == 0


# -- the ring, without HTTP --------------------------------------------------------------

def _destination(ring: int) -> WebDestination:
    config = loads(f'[[source]]\nname = "s"\nlisten = "udp://127.0.0.1:0"\n'
                   f'[[destination]]\nname = "w"\ntype = "web"\nring_lines = {ring}\n')
    dest = config.destinations[0]
    assert isinstance(dest, WebConfig)
    return WebDestination(dest, lambda msg: msg.values["MESSAGE"].encode() + b"\n",
                          FlowControl())


def _message(text: str) -> LogMessage:
    msg = LogMessage()
    msg.values["MESSAGE"] = text
    return msg


def test_replay_after_an_id_says_how_many_lines_are_gone() -> None:
    dest = _destination(ring=5)
    for i in range(1, 9):
        dest.send(_message(f"m{i}"))
    assert list(dest.ring)[0][0] == 4  # 8 sent, the last 5 kept
    assert dest.replay(6, 0, None) == [event(7, b"m7\n"), event(8, b"m8\n")]
    assert dest.replay(3, 0, None) == [event(i, b"m%d\n" % i) for i in range(4, 9)]
    assert dest.replay(1, 0, None)[0] == b"event: gap\ndata: 2\n\n"
    assert dest.replay(8, 0, None) == []
    assert dest.replay(50, 0, None) == []  # ids of an earlier run: nothing to replay
    assert dest.replay(None, 2, None) == [event(7, b"m7\n"), event(8, b"m8\n")]
    assert dest.replay(None, 0, None) == []


def test_an_event_keeps_inner_line_breaks_as_data_fields() -> None:
    assert event(3, b"a\nb\r\nc\n") == b"id: 3\ndata: a\ndata: b\ndata: c\n\n"


def test_web_config_is_checked() -> None:
    base = '[[source]]\nname = "s"\nlisten = "udp://127.0.0.1:0"\n[[destination]]\n' \
           'name = "w"\ntype = "web"\n'
    for bad, key in (('listen = "tcp://127.0.0.1:1"', "listen"),
                     ('tls_cert = "c.pem"', "tls_key"),
                     ("ring_lines = 0", "ring_lines"),
                     ('allow = ["10.0.0.300/8"]', "allow"),
                     ('path = "x"', "path")):
        with pytest.raises(ConfigError, match=key):
            loads(base + bad + "\n")


@pytest.mark.asyncio
async def test_the_websocket_carries_the_same_feed(relay: RelayProcess) -> None:
    import aiohttp
    import orjson

    async with aiohttp.ClientSession() as session:
        with Sender(relay.address("s_tcp")) as sender:
            sender.send(30)
            wait_for(lambda: len(written(relay)) == 30, what="30 lines through the relay")
            lines = written(relay)
            async with session.ws_connect(url(relay, '/ws?filter=program("beta")&since=20')
                                          ) as ws:
                got = [orjson.loads((await ws.receive(timeout=10)).data) for _ in range(4)]
                assert [m["id"] for m in got[:3]] == [21, 24, 27]
                assert [m["data"].encode() for m in got[:3]] == [lines[20], lines[23], lines[26]]
                assert got[3]["id"] == 30
                sender.send(3)  # 31..33: only 33 is beta
                assert orjson.loads((await ws.receive(timeout=10)).data)["id"] == 33
            async with session.ws_connect(url(relay, "/ws?backlog=2")) as ws:
                got = [orjson.loads((await ws.receive(timeout=10)).data) for _ in range(2)]
                assert [m["id"] for m in got] == [32, 33]
            async with session.get(url(relay, "/ws?filter=program(")) as bad:
                assert bad.status == 400
