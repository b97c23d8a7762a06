"""Where frames came from: the sender's side of a message.

Part of parsing (framing -> **parse** -> pipeline): a source makes one ``Peer`` per
connection (or per UDP sender address) and hands it to the parser with every frame; the
parser copies it into the message's SOURCEIP, HOST_FROM, PROTO, DESTIP and DESTPORT.
"""

from __future__ import annotations

import os
from typing import NamedTuple


class Peer(NamedTuple):
    """Where frames came from: one per connection, or per UDP sender address.

    For local sources (unix sockets, stdin, pipes) syslog-ng has no IP address: pass
    ``local_peer()``, whose SOURCEIP is "127.0.0.1" (what syslog-ng prints for a non-IP
    sender), HOST_FROM the short local host name and PROTO 0.  PROTO 0 is also what marks
    a message as local (syslog-ng's LP_LOCAL): such messages take SEQNUM from the
    destination's counter, and a kernel-facility message without a stamp gets PROGRAM
    "kernel".
    """

    source_ip: str  # SOURCEIP
    host_from: str  # HOST_FROM: with use_dns(no), the sender's address
    proto: int  # PROTO: 17 udp, 6 tcp, 0 unix/stdin
    dest_ip: str = ""  # DESTIP (syslog-ng prints "127.0.0.1" when there is none)
    dest_port: int = 0  # DESTPORT


def local_peer() -> Peer:
    """The peer of a local source (unix socket, stdin)."""
    return Peer("127.0.0.1", os.uname().nodename.split(".", 1)[0], 0)
