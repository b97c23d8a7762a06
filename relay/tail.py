"""``relay tail``: a subscriber client for people, at the far end of the data path.

It connects to a subscribers destination, sends the filter expression (if any) as its
first line, and prints each JSON line the relay sends as ``time host program[pid]:
message``, coloured by severity on a terminal, plain through a pipe, or as the raw JSON
lines with ``--json``.  When the relay goes away it says so on stderr and reconnects with
backoff, sending the filter again.  The relay answers a bad filter with one ``error: ...``
line: that is printed and the exit status is 2.  Ctrl-C exits 0.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import time
from typing import TextIO

import orjson

from relay.facts.names import SEVERITY_CODES

DEFAULT_ADDRESS = "127.0.0.1:5515"
BACKOFF_FIRST = 0.1  # seconds before the first reconnection attempt
BACKOFF_MAX = 5.0
EXIT_BAD_FILTER = 2

# by severity code (emerg..debug): bold red, red, red, red, yellow, bold, plain, dim
COLOURS = ("\x1b[1;31m", "\x1b[1;31m", "\x1b[31m", "\x1b[31m", "\x1b[33m", "\x1b[1m", "",
           "\x1b[2m")
RESET = "\x1b[0m"
# a message may hold anything: never let it move the cursor or retitle the terminal
CONTROLS = {c: f"\\x{c:02x}" for c in [*range(0x20), 0x7F] if c != 0x09} | {0x0A: "\\n"}


class BadFilter(Exception):
    """The relay refused the filter expression."""


def parse_address(text: str) -> tuple[int, str | tuple[str, int]]:
    """(address family, address) of ``HOST:PORT``, ``[V6]:PORT``, ``tcp://...`` or
    ``unix-stream:///path``; a bare HOST gets the default port."""
    if text.startswith("unix-stream://"):
        return socket.AF_UNIX, text[len("unix-stream://"):]
    text = text.removeprefix("tcp://")
    host, port = text, DEFAULT_ADDRESS.rsplit(":", 1)[1]
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            port = rest.removeprefix(":")
    elif text.count(":") == 1:
        host, port = text.split(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"bad port in {text!r}")
    return socket.AF_INET6 if ":" in host else socket.AF_INET, (host or "127.0.0.1", int(port))


def format_event(line: bytes, colour: bool = False) -> str:
    """One readable line for one JSON line: ``time host program[pid]: message``.

    A line that is no JSON object (a subscribers destination with its own template) is
    printed as it came."""
    try:
        event = orjson.loads(line)
    except orjson.JSONDecodeError:
        event = None
    if not isinstance(event, dict):
        return line.decode("utf-8", "replace").translate(CONTROLS)

    def field(name: str) -> str:
        value = event.get(name)
        return "" if value is None else str(value)

    stamp = field("ISODATE") or field("DATE") or "-"
    host = field("HOST") or field("HOST_FROM") or "-"
    program, pid = field("PROGRAM"), field("PID")
    header = f"{program}[{pid}]: " if program and pid else f"{program}: " if program else ""
    text = f"{stamp} {host} {header}{field('MESSAGE')}".translate(CONTROLS)
    severity = SEVERITY_CODES.get(field("PRIORITY"))
    if colour and severity is not None and COLOURS[severity]:
        return f"{COLOURS[severity]}{text}{RESET}"
    return text


class Tail:
    def __init__(self, family: int, address: str | tuple[str, int], filter_expr: str | None,
                 raw: bool, colour: bool, out: TextIO, err: TextIO):
        self.family, self.address = family, address
        if isinstance(address, str):
            self.where = f"unix-stream://{address}"
        else:
            host, port = address
            self.where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        self.filter_expr = filter_expr
        self.raw, self.colour = raw, colour
        self.out, self.err = out, err

    def say(self, text: str) -> None:
        print(f"relay tail: {text}", file=self.err, flush=True)

    def run(self) -> int:
        delay = BACKOFF_FIRST
        connected_before = False
        failing = False  # one message per outage, not one per attempt
        while True:
            try:
                sock = self.connect()
            except OSError as exc:
                if not failing:
                    self.say(f"cannot connect to {self.where}: {exc.strerror or exc}; "
                             "retrying with backoff")
                    failing = True
                time.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            self.say(f"{'reconnected' if connected_before else 'connected'} to {self.where}")
            connected_before, failing, delay = True, False, BACKOFF_FIRST
            try:
                reason = self.follow(sock)
            except BadFilter as exc:
                self.say(f"the relay refused the filter: {exc}")
                return EXIT_BAD_FILTER
            finally:
                sock.close()
            self.say(f"lost the connection to {self.where} ({reason}); reconnecting")
            failing = True

    def connect(self) -> socket.socket:
        sock = socket.socket(self.family, socket.SOCK_STREAM)
        try:
            sock.settimeout(5.0)
            sock.connect(self.address)
            sock.settimeout(None)
            if self.family != socket.AF_UNIX:
                # a relay host that vanished without a FIN is noticed, eventually
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            if self.filter_expr:
                sock.sendall(self.filter_expr.encode() + b"\n")
        except OSError:
            sock.close()
            raise
        return sock

    def follow(self, sock: socket.socket) -> str:
        """Print what arrives until the connection ends; return why it ended."""
        buffer = b""
        while True:
            try:
                data = sock.recv(65536)
            except OSError as exc:
                return exc.strerror or str(exc)
            if not data:
                return "closed by the relay"
            buffer += data
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                if self.filter_expr and line.startswith(b"error: "):
                    # the subscribers destination's one reply, to our filter line
                    raise BadFilter(line[len(b"error: "):].decode("utf-8", "replace"))
                if self.raw:
                    self.out.write(line.decode("utf-8", "replace") + "\n")
                elif line:
                    self.out.write(format_event(line, self.colour) + "\n")
            self.out.flush()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="relay tail", description="Follow a relay's subscribers destination: one "
        "readable line per message, coloured by severity on a terminal.")
    parser.add_argument("address", nargs="?", default=DEFAULT_ADDRESS, metavar="HOST:PORT",
                        help=f"the subscribers destination (default {DEFAULT_ADDRESS}); "
                        "also [V6]:PORT or unix-stream:///path")
    parser.add_argument("--filter", "-f", metavar="EXPR",
                        help="a filter expression in syslog-ng's language, run by the relay")
    parser.add_argument("--json", action="store_true", help="print the JSON lines as they come")
    args = parser.parse_args(argv)
    try:
        family, address = parse_address(args.address)
    except ValueError as exc:
        parser.error(str(exc))
    colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    tail = Tail(family, address, args.filter, args.json, colour, sys.stdout, sys.stderr)
    try:
        return tail.run()
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:
        # the reader went away (| head): not an error; keep Python from complaining at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
