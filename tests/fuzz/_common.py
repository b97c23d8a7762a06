"""What the fuzz harnesses share: the relay imported under atheris's instrumentation, a
message to evaluate against, and the runner.  Run by ``make fuzz`` (see the README), never
collected by pytest (the harnesses are named fuzz_*.py)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import atheris

with atheris.instrument_imports(include=["relay"]):
    from relay.parse import Parser, Peer

NOW = 1740830400 * 1_000_000_000
PEER = Peer("192.0.2.1", "192.0.2.1", 17)
SAMPLES = [
    b'<14>1 2024-05-06T07:08:09.5+02:00 h\xc3\xa9 app 12 ID [x@1 a="\\"\xff" b="]"] msg',
    b"<13>Oct 11 22:14:15 host1 prog[12]: text \xff\x00 end",
    b'{"MESSAGE":"m","a":{"b":"\\u0000"},"PROGRAM":"p"}',
]
MESSAGES = [Parser("auto", "s").parse(s, PEER, NOW) for s in SAMPLES[:2]]
MESSAGES.append(Parser("json", "s").parse(SAMPLES[2], PEER, NOW))


def run(test_one_input: Callable[[bytes], None], seeds: list[bytes]) -> None:
    """Fuzz TEST_ONE_INPUT, from a corpus under .fuzz/ seeded with SEEDS."""
    name = os.path.splitext(os.path.basename(sys.argv[0]))[0]
    corpus = os.path.join(".fuzz", "corpus", name)
    os.makedirs(corpus, exist_ok=True)
    for i, seed in enumerate(seeds):
        path = os.path.join(corpus, f"seed-{i}")
        if not os.path.exists(path):
            with open(path, "wb") as f:
                f.write(seed)
    crashes = os.path.join(".fuzz", "crashes", name)
    os.makedirs(crashes, exist_ok=True)
    args = [sys.argv[0], f"-artifact_prefix={crashes}/", *sys.argv[1:], corpus]
    atheris.Setup(args, test_one_input)
    atheris.Fuzz()
