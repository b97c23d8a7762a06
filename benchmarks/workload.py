"""The benchmark workload: real-world-shaped RFC 3164 syslog lines, generated on demand.

These are the micro-benchmarks' input (``benchmarks.micro``) and the harness's
``synthetic`` corpus (``benchmarks.corpus``), which needs no data set in place.

The lines are synthetic: a seeded generator writes them from templates of what sshd,
sudo, CRON, postfix, the kernel, nginx, systemd, dhclient and named log on Debian hosts,
with addresses from the documentation ranges (RFC 5737) and made-up names.  No log data
set is copied, so there is no licence to note.  The same seed and count always give the
same bytes.  Each line is ``<PRI>Mmm dd hh:mm:ss HOST TAG: MESSAGE``, mostly 80-250 bytes
(137 on average); ``workload_sample.log`` holds the first 40 lines of the default seed.

    .venv/bin/python -m benchmarks.workload [--lines N] [--seed S] [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import random
import string
import sys
import tempfile
from collections.abc import Callable

VERSION = 1  # bump when the generator changes, so that cached files are rebuilt
DEFAULT_LINES = 300_000
DEFAULT_SEED = 3164

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_USERS = ("alice", "bob", "carol", "deploy", "ansible", "jenkins", "postgres", "www-data",
          "backup", "mfischer", "tkowalski", "root")
_BAD_USERS = ("admin", "test", "oracle", "ubuntu", "user", "guest", "ftpuser", "git", "pi",
              "support", "nagios", "hadoop", "minecraft", "teamspeak")
_DOMAINS = ("example.com", "example.net", "example.org", "shop.example.com",
            "api.example.net", "mail.example.org", "cdn.example.com")
_PATHS = ("/", "/index.html", "/favicon.ico", "/api/v1/items", "/api/v1/items/4711",
          "/api/v2/orders?page=3&limit=50", "/static/js/app.3f9c1e.js", "/login",
          "/static/css/site.css", "/wp-login.php", "/robots.txt", "/health",
          "/images/products/2231-large.jpg", "/search?q=blue+widgets")
_AGENTS = ("Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0",
           "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
           "Chrome/122.0.0.0 Safari/537.36",
           "curl/7.88.1", "Go-http-client/1.1", "kube-probe/1.28", "python-requests/2.31.0",
           "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")
_CRON_CMDS = ("   cd / && run-parts --report /etc/cron.hourly",
              "command -v debian-sa1 > /dev/null && debian-sa1 1 1",
              "/usr/local/bin/backup.sh --incremental >/dev/null 2>&1",
              "[ -x /usr/lib/php/sessionclean ] && if [ ! -d /run/systemd/system ]; then "
              "/usr/lib/php/sessionclean; fi",
              "/usr/bin/certbot renew --quiet", "test -x /usr/sbin/anacron || ( cd / && "
              "run-parts --report /etc/cron.daily )")
_SUDO_CMDS = ("/usr/bin/systemctl restart nginx", "/usr/bin/apt-get update",
              "/usr/bin/journalctl -u postfix --since today", "/bin/cat /var/log/auth.log",
              "/usr/bin/docker ps -a", "/usr/sbin/ufw status verbose",
              "/usr/bin/tail -n 200 /var/log/nginx/error.log")
_UNITS = ("logrotate.service", "apt-daily.service", "apt-daily-upgrade.service",
          "man-db.service", "fstrim.service", "certbot.service", "phpsessionclean.service",
          "systemd-tmpfiles-clean.service", "e2scrub_all.service")
_UNIT_DESCS = ("Rotate log files", "Daily apt download activities",
               "Daily apt upgrade and clean activities", "Daily man-db regeneration",
               "Discard unused blocks on filesystems from /etc/fstab", "Certbot",
               "Clean php session files", "Cleanup of Temporary Directories")


class _Generator:
    """One seeded stream of lines; per-host daemons keep their PIDs, sessions do not."""

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self.stamp = 5 * 86400 + 6 * 3600 + 25 * 60  # seconds into the year: Jan  6 06:25:00
        self.uptime = 1_234_567.0
        self._pids: dict[tuple[str, str], int] = {}
        self._qids: list[str] = []
        self.kinds: list[tuple[Callable[[], tuple[int, str, str, str]], int]] = [
            (self.sshd, 20), (self.sudo, 5), (self.cron, 10), (self.postfix, 14),
            (self.kernel, 8), (self.nginx, 15), (self.systemd, 10), (self.dhclient, 5),
            (self.named, 13),
        ]
        self._funcs = [f for f, _ in self.kinds]
        self._weights = [w for _, w in self.kinds]

    # -- pieces -----------------------------------------------------------------------------
    def ip(self) -> str:
        net = self.r.choice(("192.0.2", "198.51.100", "203.0.113"))
        return f"{net}.{self.r.randint(1, 254)}"

    def lan_ip(self) -> str:
        return f"10.{self.r.randint(0, 3)}.{self.r.randint(0, 9)}.{self.r.randint(2, 250)}"

    def port(self) -> int:
        return self.r.randint(1024, 65535)

    def pid(self, host: str, prog: str) -> int:
        key = (host, prog)
        if key not in self._pids:
            self._pids[key] = self.r.randint(300, 99999)
        return self._pids[key]

    def new_pid(self) -> int:
        return self.r.randint(1000, 4_194_303)

    def qid(self) -> str:
        if self._qids and self.r.random() < 0.7:
            return self.r.choice(self._qids)
        q = "".join(self.r.choices("0123456789ABCDEF", k=self.r.choice((10, 11))))
        self._qids = (self._qids + [q])[-40:]
        return q

    def word(self, k: int) -> str:
        return "".join(self.r.choices(string.ascii_lowercase + string.digits, k=k))

    def host(self, pool: tuple[str, ...]) -> str:
        return self.r.choice(pool)

    # -- programs: each returns (PRI, HOST, TAG, MESSAGE) -----------------------------------
    def sshd(self) -> tuple[int, str, str, str]:
        h = self.host(("bastion", "web-01", "web-02", "db-1", "build-7", "gw-edge"))
        tag = f"sshd[{self.new_pid()}]"
        ip, port = self.ip(), self.port()
        u, bad = self.r.choice(_USERS), self.r.choice(_BAD_USERS)
        key = "".join(self.r.choices(string.ascii_letters + string.digits + "+/", k=43))
        pri, msg = self.r.choice((
            (38, f"Accepted publickey for {u} from {ip} port {port} ssh2: ED25519 SHA256:{key}"),
            (38, f"Failed password for invalid user {bad} from {ip} port {port} ssh2"),
            (38, f"Invalid user {bad} from {ip} port {port}"),
            (38, f"Connection closed by authenticating user root {ip} port {port} [preauth]"),
            (38, f"Received disconnect from {ip} port {port}:11: Bye Bye [preauth]"),
            (38, f"Disconnected from user {u} {ip} port {port}"),
            (86, f"pam_unix(sshd:session): session opened for user {u}(uid="
                 f"{self.r.randint(1000, 1010)}) by (uid=0)"),
            (86, f"pam_unix(sshd:session): session closed for user {u}"),
            (35, "error: kex_exchange_identification: Connection closed by remote host"),
            (38, f"Connection reset by {ip} port {port} [preauth]"),
        ))
        return pri, h, tag, msg

    def sudo(self) -> tuple[int, str, str, str]:
        h = self.host(("bastion", "web-01", "web-02", "db-1", "mail-1"))
        u = self.r.choice(_USERS[:6])
        if self.r.random() < 0.6:
            tty = f"pts/{self.r.randint(0, 4)}"
            cmd = self.r.choice(_SUDO_CMDS)
            return 85, h, "sudo", f"   {u} : TTY={tty} ; PWD=/home/{u} ; USER=root ; COMMAND={cmd}"
        return 86, h, "sudo", (f"pam_unix(sudo:session): session opened for user root(uid=0) "
                               f"by {u}(uid={self.r.randint(1000, 1010)})")

    def cron(self) -> tuple[int, str, str, str]:
        h = self.host(("web-01", "web-02", "db-1", "mail-1", "ns1", "ns2", "build-7"))
        tag = f"CRON[{self.new_pid()}]"
        x = self.r.random()
        if x < 0.5:
            return 78, h, tag, f"(root) CMD ({self.r.choice(_CRON_CMDS)})"
        if x < 0.75:
            return 86, h, tag, ("pam_unix(cron:session): session opened for user root(uid=0) "
                                "by (uid=0)")
        return 86, h, tag, "pam_unix(cron:session): session closed for user root"

    def postfix(self) -> tuple[int, str, str, str]:
        h = self.host(("mail-1", "mail-2", "mx-edge"))
        ip, q = self.ip(), self.qid()
        rcpt = f"{self.r.choice(_USERS)}@{self.r.choice(_DOMAINS)}"
        sender = f"{self.word(8)}@{self.r.choice(_DOMAINS)}"
        x = self.r.random()
        if x < 0.35:
            tag = f"postfix/smtpd[{self.new_pid()}]"
            msg = self.r.choice((
                f"connect from unknown[{ip}]",
                f"{q}: client=mail-{self.word(6)}.example.net[{ip}]",
                f"disconnect from unknown[{ip}] ehlo=1 mail=1 rcpt=0/1 data=0/1 rset=1 quit=1 "
                f"commands=4/6",
                f"NOQUEUE: reject: RCPT from unknown[{ip}]: 554 5.7.1 <{rcpt}>: Relay access "
                f"denied; from=<{sender}> to=<{rcpt}> proto=ESMTP helo=<{self.word(7)}>",
                f"warning: hostname {self.word(9)}.example.org does not resolve to address {ip}",
            ))
            return 22, h, tag, msg
        if x < 0.55:
            tag = f"postfix/qmgr[{self.pid(h, 'qmgr')}]"
            size = self.r.randint(900, 250_000)
            return 22, h, tag, f"{q}: from=<{sender}>, size={size}, nrcpt=1 (queue active)"
        if x < 0.7:
            tag = f"postfix/cleanup[{self.new_pid()}]"
            return 22, h, tag, f"{q}: message-id=<{self.word(16)}@{self.r.choice(_DOMAINS)}>"
        tag = f"postfix/smtp[{self.new_pid()}]"
        d = [self.r.randint(0, 90) / 100 for _ in range(4)]
        return 22, h, tag, (
            f"{q}: to=<{rcpt}>, relay=mx{self.r.randint(1, 4)}.{self.r.choice(_DOMAINS)}[{ip}]:25,"
            f" delay={sum(d):.2f}, delays={d[0]:.2g}/{d[1]:.2g}/{d[2]:.2g}/{d[3]:.2g}, "
            f"dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as {self.word(12).upper()})")

    def kernel(self) -> tuple[int, str, str, str]:
        h = self.host(("gw-edge", "web-01", "web-02", "db-1", "build-7"))
        self.uptime += self.r.random() * 3
        up = f"[{self.uptime:12.6f}]"
        x = self.r.random()
        if x < 0.6:
            mac = ":".join(f"{self.r.randint(0, 255):02x}" for _ in range(14))
            proto, flags = self.r.choice((("TCP", "SYN URGP=0"), ("UDP", "")))
            tail = f"WINDOW={self.r.choice((1024, 29200, 65535))} RES=0x00 {flags}" \
                if proto == "TCP" else f"LEN={self.r.randint(20, 500)}"
            return 4, h, "kernel", (
                f"{up} [UFW BLOCK] IN=eth0 OUT= MAC={mac} SRC={self.ip()} DST={self.lan_ip()} "
                f"LEN={self.r.randint(40, 1500)} TOS=0x00 PREC=0x00 TTL={self.r.randint(30, 250)}"
                f" ID={self.r.randint(1, 65535)} PROTO={proto} SPT={self.port()} "
                f"DPT={self.r.choice((22, 23, 80, 443, 3389, 5900, 8080))} {tail}".rstrip())
        return self.r.choice((
            (4, h, "kernel", f"{up} TCP: request_sock_TCP: Possible SYN flooding on port 443. "
                             "Sending cookies.  Check SNMP counters."),
            (6, h, "kernel", f"{up} EXT4-fs (sda1): mounted filesystem with ordered data mode. "
                             "Quota mode: none."),
            (3, h, "kernel", f"{up} Out of memory: Killed process {self.new_pid()} (java) "
                             f"total-vm:{self.r.randint(10**6, 9 * 10**6)}kB, anon-rss:"
                             f"{self.r.randint(10**5, 10**6)}kB, file-rss:0kB, shmem-rss:0kB"),
            (6, h, "kernel", f"{up} eth0: Link is Up - 10Gbps/Full - flow control rx/tx"),
        ))

    def nginx(self) -> tuple[int, str, str, str]:
        h = self.host(("web-01", "web-02", "lb-1"))
        path = self.r.choice(_PATHS)
        stamp = self._clock()
        if self.r.random() < 0.8:
            method = self.r.choice(("GET", "GET", "GET", "POST", "HEAD"))
            status = self.r.choice((200, 200, 200, 200, 304, 301, 404, 499, 502))
            return 190, h, "nginx", (
                f'{self.ip()} - - [{stamp[1]:02d}/{_MONTHS[stamp[0]]}/2024:{stamp[2]} +0000] '
                f'"{method} {path} HTTP/1.1" {status} {self.r.randint(0, 60000)} "-" '
                f'"{self.r.choice(_AGENTS)}"')
        wpid = self.pid(h, "nginx")
        return 187, h, "nginx", (
            f"2024/{stamp[0] + 1:02d}/{stamp[1]:02d} {stamp[2]} [error] {wpid}#{wpid}: "
            f"*{self.r.randint(1, 10**7)} open() \"/var/www/html{path.split('?')[0]}\" failed "
            f"(2: No such file or directory), client: {self.ip()}, server: "
            f"{self.r.choice(_DOMAINS)}")

    def systemd(self) -> tuple[int, str, str, str]:
        h = self.host(("web-01", "web-02", "db-1", "mail-1", "ns1", "ns2", "bastion"))
        i = self.r.randrange(len(_UNIT_DESCS))
        u = self.r.choice(_USERS)
        x = self.r.random()
        if x < 0.3:
            return 30, h, "systemd[1]", f"Starting {_UNIT_DESCS[i]}..."
        if x < 0.5:
            return 30, h, "systemd[1]", f"{_UNITS[i]}: Deactivated successfully."
        if x < 0.7:
            return 30, h, "systemd[1]", f"Finished {_UNIT_DESCS[i]}."
        if x < 0.85:
            n = self.r.randint(1000, 99999)
            return 30, h, "systemd[1]", f"Started session-{n}.scope - Session {n} of User {u}."
        tag = f"systemd-logind[{self.pid(h, 'logind')}]"
        return 38, h, tag, f"New session {self.r.randint(1000, 99999)} of user {u}."

    def dhclient(self) -> tuple[int, str, str, str]:
        h = self.host(("build-7", "db-1", "ns2", "lb-1"))
        tag = f"dhclient[{self.pid(h, 'dhclient')}]"
        me, gw = self.lan_ip(), "10.0.0.1"
        return 30, h, tag, self.r.choice((
            f"DHCPREQUEST for {me} on eth0 to {gw} port 67 (xid=0x{self.r.getrandbits(32):x})",
            f"DHCPACK of {me} from {gw} (xid=0x{self.r.getrandbits(32):x})",
            f"bound to {me} -- renewal in {self.r.randint(600, 43200)} seconds.",
        ))

    def named(self) -> tuple[int, str, str, str]:
        h = self.host(("ns1", "ns2"))
        tag = f"named[{self.pid(h, 'named')}]"
        d = self.r.choice(_DOMAINS)
        client = f"client @0x7f{self.r.getrandbits(40):010x} {self.ip()}#{self.port()}"
        x = self.r.random()
        if x < 0.75:
            qt = self.r.choice(("A", "AAAA", "MX", "TXT", "PTR", "NS"))
            return 30, h, tag, f"{client} ({d}): query: {d} IN {qt} +E(0)K (10.0.0.53)"
        if x < 0.9:
            return 28, h, tag, f"{client} ({d}): query (cache) '{d}/A/IN' denied"
        return 30, h, tag, f"zone {d}/IN: loaded serial 2024{self.r.randint(10000, 99999):05d}"

    # -- lines ------------------------------------------------------------------------------
    def _clock(self) -> tuple[int, int, str]:
        """(month index, day, "hh:mm:ss") of the current stamp."""
        days = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
        day, rest = divmod(self.stamp, 86400)
        month = 0
        while day >= days[month]:
            day -= days[month]
            month = (month + 1) % 12
        hh, rest = divmod(rest, 3600)
        return month, day + 1, f"{hh:02d}:{rest // 60:02d}:{rest % 60:02d}"

    def line(self) -> bytes:
        if self.r.random() < 0.02:
            self.stamp += 1
        pri, host, tag, msg = self.r.choices(self._funcs, self._weights)[0]()
        month, day, hms = self._clock()
        return f"<{pri}>{_MONTHS[month]} {day:2d} {hms} {host} {tag}: {msg}\n".encode()


def generate(lines: int = DEFAULT_LINES, seed: int = DEFAULT_SEED) -> list[bytes]:
    """``lines`` newline-terminated RFC 3164 lines, the same for the same seed."""
    g = _Generator(seed)
    return [g.line() for _ in range(lines)]


def cache_dir() -> str:
    path = os.path.join(tempfile.gettempdir(), "relay-bench")
    os.makedirs(path, exist_ok=True)
    return path


def workload_file(lines: int = DEFAULT_LINES, seed: int = DEFAULT_SEED,
                  directory: str | None = None) -> str:
    """The path of the workload file, written first if it is not there yet."""
    path = os.path.join(directory or cache_dir(), f"workload-v{VERSION}-s{seed}-n{lines}.log")
    if not os.path.exists(path):
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            f.writelines(generate(lines, seed))
        os.replace(tmp, path)
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Write the benchmark workload file.")
    ap.add_argument("--lines", type=int, default=DEFAULT_LINES)
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--out", help="write here (default: the cache file, whose path is printed)")
    args = ap.parse_args(argv)
    if args.out:
        data = generate(args.lines, args.seed)
        with open(args.out, "wb") as f:
            f.writelines(data)
        path = args.out
    else:
        path = workload_file(args.lines, args.seed)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
