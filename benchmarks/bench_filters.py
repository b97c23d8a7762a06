"""Cost per message of a realistic five-filter pipeline (µs), parse excluded.

    .venv/bin/python benchmarks/bench_filters.py
"""

from __future__ import annotations

import time

from relay.filter import compile_filter
from relay.parse import Parser, Peer

FRAMES = [
    b"<38>Mar  1 12:00:01 web1 sshd[1234]: Accepted publickey for alice from 10.0.0.5",
    b"<86>Mar  1 12:00:02 web1 sshd(pam_unix)[4321]: session opened for user root",
    b"<13>Mar  1 12:00:04 db-2 postgres[25001]: LOG:  checkpoint starting: time",
    b"<11>Mar  1 12:00:05 db-2 postgres[987]: ERROR:  relation does not exist",
    b"<134>Mar  1 12:00:10 lb1 haproxy[30000]: 10.1.2.3:5555 GET /index.html 200",
    b"<165>1 2025-03-01T12:00:12.000Z mymachine evntslog 777 ID47 "
    b'[exampleSDID@32473 iut="3"] An application event',
]
FILTERS = {
    "f_auth": 'facility(auth, authpriv) and level(warning..emerg) and not program("sudo")',
    "f_errors": "level(err..emerg)",
    "f_web": 'program("^(nginx|haproxy)$") and message("GET|POST")',
    "f_bigpid": '"${PID}" > 20000',
    "f_local": "netmask(127.0.0.0/8) and not message(\"checkpoint\" flags(ignore-case))",
}


def main() -> None:
    parser = Parser("auto", "s_net")
    peer = Peer("127.0.0.1", "127.0.0.1", 17)
    msgs = [parser.parse(f, peer, time.time_ns()) for f in FRAMES]
    fns = [compile_filter(e, name=n) for n, e in FILTERS.items()]
    rounds = 20000
    start = time.perf_counter()
    for _ in range(rounds):
        for msg in msgs:
            for fn in fns:
                fn(msg)
    per_msg = (time.perf_counter() - start) / (rounds * len(msgs)) * 1e6
    print(f"{len(fns)} filters: {per_msg:.2f} µs per message")


if __name__ == "__main__":
    main()
